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

    def expand(self, items, seen: frozenset = frozenset()) -> set[str]:
        codes: set[str] = set()
        for item in items:
            if isinstance(item, ast.GradeRange):
                if item.low in self.order and item.high in self.order:
                    codes.update(self.order[self.order.index(item.low): self.order.index(item.high) + 1])
            elif item in self.order:
                codes.add(item)
            elif item in self.sets and item not in seen:
                codes |= self.expand(self.sets[item], seen | {item})
            else:
                codes.add(item)  # an undeclared code still matches itself (the checker reports it)
        return codes

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
