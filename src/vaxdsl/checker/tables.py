"""Rule tables: active windows, tolerances, a default outcome, and conditions that can never hold.

>>> from vaxdsl.loader import load_text
>>> from vaxdsl.checker.context import Context
>>> ctx = Context(load_text('vaccine V { rule "old" => compliant active from 2025-07-01 to 2024-06-30 }'))
>>> check_tables(ctx); [(d.code, d.severity) for d in ctx.diagnostics]
[('W201', 'warning'), ('E217', 'error')]
"""

from __future__ import annotations

from .. import ast
from .context import Context
from .grades import GradeTable
from .implication import duration_point, surely_le
from .shadowing import is_unconditional, window_is_empty
from ..walk import atoms, conditions, dose_refs

MAX_TOLERANCE_DAYS = 30


def check_tables(ctx: Context) -> None:
    settings = ctx.ruleset.settings
    if settings.tolerance_days is not None:
        _check_tolerance(ctx, settings.tolerance_days, settings.span, "the settings' tolerance")
    grades = GradeTable(ctx).expand
    for vaccine in ctx.ruleset.vaccines:
        for rule in vaccine.rules:
            _check_window(ctx, rule)
            if rule.tolerance_days is not None:
                _check_tolerance(ctx, rule.tolerance_days, rule.span, f"rule '{rule.name}' has a tolerance that")
        if vaccine.otherwise is None and not any(is_unconditional(rule, grades) for rule in vaccine.rules):
            ctx.error(vaccine.span, "E217",
                      f"vaccine group '{vaccine.id}' has no default outcome: add 'otherwise OUTCOME' or a last rule "
                      f"with no 'when' (students no rule matches would be non_compliant without saying so)")
        _check_conditions(ctx, vaccine)
    _check_placements(ctx)


def _check_tolerance(ctx: Context, days: int, span: ast.Span, what: str) -> None:
    if not 0 <= days <= MAX_TOLERANCE_DAYS:
        where = ctx.locate(span, "tolerance")
        ctx.error(where, "E216", f"{what} is {days} days, outside 0..{MAX_TOLERANCE_DAYS} days")


def _check_window(ctx: Context, rule: ast.Rule) -> None:
    start, end = rule.active_start, rule.active_end
    where = ctx.locate(rule.span, "active")
    if window_is_empty(rule):
        ctx.warning(where, "W201", f"rule '{rule.name}' can never be active: its window ends ({end}) "
                                   f"before it starts ({start})")
    elif start is not None and start == end:
        ctx.warning(where, "W202", f"rule '{rule.name}' is active on a single day ({start}); "
                                   f"'to' is inclusive, so this is rarely what is meant")


def _check_placements(ctx: Context) -> None:
    """``before``/``after`` only means something in ``extend vaccine``; elsewhere the loader ignores it."""
    for layer in ctx.loaded.layers:
        for vaccine in layer.vaccines:
            if vaccine.extends_existing:
                continue
            for rule in vaccine.rules:
                if rule.placement is not None:
                    ctx.warning(rule.placement.span, "W212",
                                f"'{rule.placement.where} \"{rule.placement.rule}\"' is ignored here: rules of a "
                                f"'vaccine' declaration keep the order they are written in (placement is for "
                                f"'extend vaccine')")


def series_length(vaccine: ast.Vaccine) -> int | None:
    """How many valid doses the group can have (the longest series; with several antigens, the
    antigen whose longest series is shortest), when each series is numbered 1..n."""
    if not vaccine.has_series:
        return None
    lengths = []
    for antigen in vaccine.walked_antigens:
        longest = 0
        for series in antigen.series:
            numbers = [dose.number for dose in series.doses]
            if numbers != list(range(1, len(numbers) + 1)):
                return None
            longest = max(longest, len(numbers))
        lengths.append(longest)
    return min(lengths)


def _check_conditions(ctx: Context, vaccine: ast.Vaccine) -> None:
    length = series_length(vaccine)
    for condition, rule in conditions(vaccine):
        for atom in atoms(condition):
            if isinstance(atom, ast.Exempt) and rule is not None:
                ctx.warning(atom.span, "W207", "'exempt' never holds in a rule: a student with an exemption for "
                                               f"'{vaccine.id}' gets the exemption outcome before any rule is tried")
            for ref in dose_refs(atom):
                if ref.kind == "nth" and (ref.number < 1 or (length is not None and ref.number > length)):
                    ctx.warning(ref.span, "W205", f"dose {ref.number} never exists: {_doses(vaccine, length)}")
            if isinstance(atom, ast.SeriesComplete) and not vaccine.has_series:
                ctx.warning(atom.span, "W205", f"never holds: '{vaccine.id}' has no series to complete")
            if isinstance(atom, ast.CountDoses):
                least = {">=": atom.count, ">": atom.count + 1, "=": atom.count}.get(atom.op)
                most = {"<=": atom.count, "<": atom.count - 1, "=": atom.count}.get(atom.op)
                if most is not None and most < 0:
                    ctx.warning(atom.span, "W205", "never holds: there is never a negative number of doses")
                elif atom.valid and length is not None and least is not None and least > length:
                    ctx.warning(atom.span, "W205", f"never holds: {_doses(vaccine, length)}")
            for low, high, span in _age_ranges(atom):
                if surely_le(duration_point(high), duration_point(low)):
                    ctx.warning(span, "W213", "this age range is empty: its upper end is not above its lower end")


def _age_ranges(atom):
    """``A .. B`` ranges of an atom (half-open: at least A, below B)."""
    if isinstance(atom, ast.AgeBetween):
        yield atom.low, atom.high, atom.span
    age = atom.filter if isinstance(atom, ast.DoseAge) else getattr(atom, "age", None)
    if isinstance(age, ast.AgeFilter) and age.op == ".." and age.high is not None:
        yield age.low, age.high, age.span


def _doses(vaccine: ast.Vaccine, length: int | None) -> str:
    if length is None:
        return "doses are numbered from 1"
    return f"the series of '{vaccine.id}' has {length} dose{'s' if length != 1 else ''}"
