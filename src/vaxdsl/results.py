"""What evaluation produces: the same records from the reference interpreter and the SQL engine.

The interpreter also fills ``trace`` (why each rule did or did not match) and ``walk`` (the series
walks behind the dose verdicts); they are left out of equality so the two engines' results compare
directly.
"""

from __future__ import annotations

from datetime import date

import attrs

# Worst first: the overall status of a student is the first of these among its groups.
STATUS_SEVERITY = ("non_compliant", "in_process", "in_grace_period", "exempt", "compliant", "no_requirement")


def worst_status(statuses) -> str:
    """
    >>> worst_status(["compliant", "in_grace_period", "no_requirement"])
    'in_grace_period'
    >>> worst_status([])
    'no_requirement'
    """
    present = set(statuses)
    return next((status for status in STATUS_SEVERITY if status in present), "no_requirement")


@attrs.frozen
class DoseEvaluation:
    """One dose in one vaccine group it counts toward."""

    student_id: str
    dose_id: int
    date: date
    cvx: int
    vaccine: str
    product: str | None
    valid: bool
    reason: str | None  # None when valid; else one of ast.INVALID_REASONS
    dose_number: int | None  # the valid dose's number in the series


@attrs.frozen
class ConditionCheck:
    """One condition the interpreter tested, in words, with what it looked at."""

    text: str  # the condition as written, e.g. "dose 4 at age >= 4 years"
    holds: bool
    observed: str  # e.g. "dose 4 was given 2019-05-02, at 3 years 11 months"


@attrs.frozen
class RuleTrace:
    rule: str
    active: bool
    matched: bool
    checks: tuple[ConditionCheck, ...] = ()


@attrs.frozen
class GroupEvaluation:
    student_id: str
    vaccine: str
    status: str
    rule: str | None
    valid_doses: int
    trace: tuple[RuleTrace, ...] = attrs.field(default=(), eq=False)
    # the interpreter's series walks (interpreter.series.GroupWalk): every series, the chosen one,
    # skips and the words for each invalid dose, for explanations
    walk: object = attrs.field(default=None, eq=False)


@attrs.frozen
class StudentEvaluation:
    student_id: str
    groups: tuple[GroupEvaluation, ...]
    doses: tuple[DoseEvaluation, ...]

    @property
    def overall(self) -> str:
        return worst_status(group.status for group in self.groups)
