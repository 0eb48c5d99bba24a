"""Rules that can never fire because an earlier rule of the table always matches first.

Rule R1 pre-empts a later R2 when (R2's window and condition) imply (R1's window and condition):
every student R2 would match has already been given R1's outcome. See :mod:`.implication` for
what "imply" can prove; anything it cannot prove is never reported.

>>> from vaxdsl.loader import load_text
>>> from vaxdsl.checker.context import Context
>>> ctx = Context(load_text('''vaccine V {
...   rule "young" => no_requirement when age < 3 months
...   rule "younger" => compliant when age < 2 months
...   otherwise non_compliant
... }'''))
>>> check_shadowing(ctx); [(d.code, d.line) for d in ctx.diagnostics]
[('W203', 3)]
"""

from __future__ import annotations

from .. import ast
from .context import Context
from .grades import GradeTable
from .implication import implies, to_dnf
from .names import otherwise_span


def window_is_empty(rule: ast.Rule) -> bool:
    return rule.active_start is not None and rule.active_end is not None and rule.active_end < rule.active_start


def is_unconditional(rule: ast.Rule, grades=None) -> bool:
    """Active forever, and the condition holds for everyone."""
    if rule.active_start is not None or rule.active_end is not None:
        return False
    return implies(((),), to_dnf(rule.condition, grades))


def check_shadowing(ctx: Context) -> None:
    grades = GradeTable(ctx).expand
    for vaccine in ctx.ruleset.vaccines:
        forms = [to_dnf(rule.condition, grades, (rule.active_start, rule.active_end)) for rule in vaccine.rules]
        for later, rule in enumerate(vaccine.rules):
            if window_is_empty(rule):
                continue  # already reported as never active
            for earlier in range(later):
                first = vaccine.rules[earlier]
                if window_is_empty(first):
                    continue
                same_tolerance = ctx.tolerance_of(first) == ctx.tolerance_of(rule)
                if implies(forms[later], forms[earlier], same_tolerance):
                    ctx.warning(rule.span, "W203", f"rule '{rule.name}' can never fire: every student it matches is "
                                                   f"matched first by rule '{first.name}' ({_where(first, rule)})")
                    break
        if vaccine.otherwise is not None:
            catch_all = next((r for r in vaccine.rules if is_unconditional(r, grades)), None)
            if catch_all is not None:
                ctx.warning(otherwise_span(ctx, vaccine), "W204",
                            f"'otherwise {vaccine.otherwise}' is never used: rule '{catch_all.name}' "
                            f"({_where(catch_all, None)}) always matches")


def _where(rule: ast.Rule, other: ast.Rule | None) -> str:
    if other is not None and other.span.file != rule.span.file:
        return f"{rule.span.file}:{rule.span.line}"
    return f"line {rule.span.line}"
