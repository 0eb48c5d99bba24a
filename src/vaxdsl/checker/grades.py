"""Grade codes and grade sets: declarations, references, and what a ``grade in`` list covers.

A range ``PA..PJ`` means the declared codes from PA to PJ in declaration order, both included.

>>> from vaxdsl.loader import load_text
>>> from vaxdsl.checker.context import Context
>>> ctx = Context(load_text('grades { KG "K" 1 "1st" 2 "2nd" 3 "3rd" set lower = 01..02 }'))
>>> sorted(GradeTable(ctx).expand(("KG", "lower")))
['01', '02', 'KG']
>>> GradeTable(ctx).expand(("K",)) is None
True
"""

from __future__ import annotations

from .. import ast
from .context import Context, did_you_mean
from ..walk import atoms, conditions


class GradeTable:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.order: dict[str, int] = {}
        for decl in ctx.ruleset.grade_decls:
            self.order.setdefault(decl.code, len(self.order))
        self.sets: dict[str, ast.GradeSet] = {}
        for grade_set in ctx.ruleset.grade_sets:
            self.sets.setdefault(grade_set.name, grade_set)

    def expand(self, items, _seen: frozenset[str] = frozenset()) -> frozenset[str] | None:
        """The codes a list of grade items covers, or None when any item is unknown or circular."""
        codes: set[str] = set()
        codes_in_order = list(self.order)
        for item in items:
            if isinstance(item, ast.GradeRange):
                if item.low not in self.order or item.high not in self.order:
                    return None
                codes.update(codes_in_order[self.order[item.low]:self.order[item.high] + 1])
            elif item in self.order:
                codes.add(item)
            elif item in self.sets and item not in _seen:
                inner = self.expand(self.sets[item].items, _seen | {item})
                if inner is None:
                    return None
                codes |= inner
            else:
                return None
        return frozenset(codes)


def check_grades(ctx: Context) -> None:
    table = GradeTable(ctx)
    _check_declarations(ctx)
    for grade_set in ctx.ruleset.grade_sets:
        _check_items(ctx, table, grade_set.items, grade_set.span, after="=")
        if _refers_to_itself(table, grade_set.name, grade_set.items, frozenset()):
            ctx.error(grade_set.span, "E218", f"grade set '{grade_set.name}' includes itself")
    for vaccine in ctx.ruleset.vaccines:
        for condition, _rule in conditions(vaccine):
            for atom in atoms(condition):
                if isinstance(atom, ast.GradeIn):
                    _check_items(ctx, table, atom.items, atom.span, after="in")


def _check_declarations(ctx: Context) -> None:
    seen: dict[str, ast.Span] = {}
    for decl in ctx.ruleset.grade_decls:
        if decl.code in seen:
            ctx.error(decl.span, "E215", f"grade code '{decl.code}' is declared twice (first on line {seen[decl.code].line})")
        else:
            seen[decl.code] = decl.span
    for grade_set in ctx.ruleset.grade_sets:
        if grade_set.name in seen:
            what = "grade code" if grade_set.name in {d.code for d in ctx.ruleset.grade_decls} else "grade set"
            ctx.error(grade_set.span, "E215",
                      f"grade set '{grade_set.name}' has the name of a {what} declared on line {seen[grade_set.name].line}")
        else:
            seen[grade_set.name] = grade_set.span


def _check_items(ctx: Context, table: GradeTable, items, span: ast.Span, after: str) -> None:
    known = list(table.order) + list(table.sets)
    seen: set = set()
    for item in items:
        if isinstance(item, ast.GradeRange):
            _check_range(ctx, table, item)
        elif item not in table.order and item not in table.sets:
            ctx.error(ctx.locate(span, item, after=after), "E205",
                      f"unknown grade code or grade set '{item}'{did_you_mean(item, known)}")
        if item in seen:
            where = item.span if isinstance(item, ast.GradeRange) else ctx.locate(span, item, nth=1, after=after)
            shown = f"{item.low}..{item.high}" if isinstance(item, ast.GradeRange) else item
            ctx.warning(where, "W206", f"'{shown}' is listed twice")
        seen.add(item)


def _check_range(ctx: Context, table: GradeTable, item: ast.GradeRange) -> None:
    ends_known = True
    for end in (item.low, item.high):
        if end in table.sets:
            ctx.error(item.span, "E205", f"'{end}' is a grade set; a range runs between two grade codes")
            ends_known = False
        elif end not in table.order:
            ctx.error(item.span, "E205", f"unknown grade code '{end}'{did_you_mean(end, table.order)}")
            ends_known = False
    if ends_known and table.order[item.low] > table.order[item.high]:
        ctx.error(item.span, "E206",
                  f"grade range {item.low}..{item.high} is empty: '{item.high}' is declared before '{item.low}'")


def _refers_to_itself(table: GradeTable, name: str, items, path: frozenset[str]) -> bool:
    for item in items:
        if isinstance(item, str) and item in table.sets:
            if item == name:
                return True
            if item not in path and _refers_to_itself(table, name, table.sets[item].items, path | {item}):
                return True
    return False
