"""Grade codes in declaration order and the named sets: what ``grade in ...`` means.

>>> from vaxdsl.parser import parse
>>> index = GradeIndex.of(parse('grades { KG "K" 01 "1" 02 "2" set early = KG }'))
>>> sorted(index.expand(("early", ast.GradeRange("01", "02"))))
['01', '02', 'KG']
"""

from __future__ import annotations

import attrs

from . import ast


@attrs.frozen
class GradeIndex:
    """Declared grade codes in order, and the named sets, to answer ``grade in``."""

    order: tuple[str, ...]
    sets: dict

    @classmethod
    def of(cls, ruleset: ast.Ruleset) -> "GradeIndex":
        return cls(tuple(g.code for g in ruleset.grade_decls), {s.name: s.items for s in ruleset.grade_sets})

    def expand(self, items) -> set[str]:
        return set(self.codes(items))

    def codes(self, items, seen: frozenset = frozenset()) -> list[str]:
        """The codes ``grade in ITEMS`` stands for, in the order written, each once."""
        codes: list[str] = []
        for item in items:
            if isinstance(item, ast.GradeRange):
                if item.low in self.order and item.high in self.order:
                    codes.extend(self.order[self.order.index(item.low): self.order.index(item.high) + 1])
            elif item in self.order:
                codes.append(item)
            elif item in self.sets and item not in seen:
                codes.extend(self.codes(self.sets[item], seen | {item}))
            else:
                codes.append(item)  # an undeclared code still matches itself (the checker reports it)
        return list(dict.fromkeys(codes))

    @property
    def bits(self) -> dict[str, int]:
        """A bit per declared code (first declaration), when they fit a 63-bit mask (the SQL
        engine tests ``grade in`` as a mask)."""
        if len(set(self.order)) > 62:
            return {}
        out: dict[str, int] = {}
        for code in self.order:
            out.setdefault(code, 1 << len(out))
        return out
