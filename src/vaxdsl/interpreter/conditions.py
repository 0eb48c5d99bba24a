"""Rule conditions (docs/semantics.md, "Conditions"), each answered with what was looked at.

:func:`judge` returns whether a condition holds and one :class:`ConditionCheck` per conjunct of
its top-level ``and``: the conjunct as written, whether it held, and the observation in plain
words ("has 4", "dose 4 was given 2019-05-02, at 3 years 11 months 20 days"). An explanation can
then say ``needs <text>, <observed>`` for each failed conjunct. A conjunct that is itself an
``or``/``not`` of several tests lists every test's observation, so nothing is hidden.

Every test runs (no short cut), so the trace is the same whatever the order of the conjuncts.
"""

from __future__ import annotations

from datetime import date, timedelta

import attrs

from .. import ast
from ..dates import add, describe_age, duration_text
from ..grades import GradeIndex
from ..records import Exemption, Student
from ..results import ConditionCheck
from .series import Verdict, gap_words
from .values import compare, same
from ..formatter import condition_text, dose_ref_text
from .wording import doc_summary, missing_dose_text


@attrs.frozen
class GroupView:
    """What a condition about one student and one vaccine group may look at."""

    student: Student
    as_of: date
    vaccine: ast.Vaccine
    verdicts: tuple[Verdict, ...]  # every dose counting toward the group, in order
    exemptions: tuple[Exemption, ...]  # for this group, counting on E, highest priority first
    relations: dict
    grades: GradeIndex
    predicate_docs: dict  # predicate name -> doc string
    series_complete: bool = False  # the chosen series was complete (``series complete``)
    # The group's valid doses 1, 2, ... when they are not simply its valid verdicts: with several
    # antigens, dose n is the day every antigen had n valid doses (interpreter.series.GroupWalk).
    dose_dates: tuple[date, ...] | None = None

    @property
    def valid_dates(self) -> list[date]:
        if self.dose_dates is not None:
            return list(self.dose_dates)
        return [v.known.dose.date for v in self.verdicts if v.valid]


def judge(condition, view: GroupView, tolerance: int) -> tuple[bool, tuple[ConditionCheck, ...]]:
    conjuncts = condition.items if isinstance(condition, ast.And) else (condition,)
    checks = []
    for conjunct in conjuncts:
        holds, observations = _evaluate(conjunct, view, tolerance)
        if _is_leaf(conjunct) or (isinstance(conjunct, ast.Not) and _is_leaf(conjunct.item)):
            observed = observations[0][1]
        else:
            observed = "; ".join(f"{text}: {seen}" for text, seen in observations)
        checks.append(ConditionCheck(condition_text(conjunct), holds, observed))
    return all(check.holds for check in checks), tuple(checks)


def _is_leaf(condition) -> bool:
    return not isinstance(condition, (ast.And, ast.Or, ast.Not))


def _evaluate(condition, view: GroupView, tolerance: int) -> tuple[bool, list[tuple[str, str]]]:
    """Whether ``condition`` holds, and (test as written, observation) for every test in it."""
    if isinstance(condition, (ast.And, ast.Or)):
        results = [_evaluate(item, view, tolerance) for item in condition.items]
        combine = all if isinstance(condition, ast.And) else any
        return combine(holds for holds, _ in results), [seen for _, found in results for seen in found]
    if isinstance(condition, ast.Not):
        holds, observations = _evaluate(condition.item, view, tolerance)
        return not holds, observations
    holds, observed = _test(condition, view, tolerance)
    return holds, [(condition_text(condition), observed)]


# ---- the tests ---------------------------------------------------------------------------------------


def relaxed(given: date, op: str, threshold: date, tolerance: int) -> bool:
    """``given OP threshold`` with the threshold moved ``tolerance`` days the easy way (``=``/``!=`` stay)."""
    if op in (">=", ">"):
        threshold -= timedelta(days=tolerance)
    elif op in ("<", "<="):
        threshold += timedelta(days=tolerance)
    return compare(given, op, threshold)


def at_age(given: date, filter: ast.AgeFilter, birth: date, tolerance: int) -> bool:
    if filter.op == "..":
        low = add(birth, filter.low) - timedelta(days=tolerance)
        high = add(birth, filter.high) + timedelta(days=tolerance)
        return low <= given < high
    return relaxed(given, filter.op, add(birth, filter.low), tolerance)


def dose_by_ref(ref: ast.DoseRef, valid_dates: list[date]) -> date | None:
    index = {"first": 0, "last": len(valid_dates) - 1}.get(ref.kind, ref.number - 1)
    return valid_dates[index] if 0 <= index < len(valid_dates) else None


def _test(condition, view: GroupView, tolerance: int) -> tuple[bool, str]:
    birth, as_of = view.student.birth_date, view.as_of
    age_now = f"is {describe_age(birth, as_of)} old on {as_of.isoformat()}"
    slack = f" (with {tolerance} days' tolerance)" if tolerance else ""

    if isinstance(condition, ast.Always):
        return True, "always holds"
    if isinstance(condition, ast.AgeCompare):
        threshold = add(birth, condition.duration)
        holds = compare(as_of, condition.op, threshold)
        return holds, f"{age_now} ({duration_text(condition.duration)} old on {threshold.isoformat()})"
    if isinstance(condition, ast.AgeBetween):
        low, high = add(birth, condition.low), add(birth, condition.high)
        return low <= as_of < high, f"{age_now} ({duration_text(condition.low)} on {low.isoformat()}, " \
                                    f"{duration_text(condition.high)} on {high.isoformat()})"
    if isinstance(condition, ast.GradeIn):
        grade = view.student.grade or None
        holds = grade is not None and grade in view.grades.expand(condition.items)
        return holds, f"is in grade {grade}" if grade else "has no grade"
    if isinstance(condition, ast.NoGrade):
        grade = view.student.grade or None
        return grade is None, f"is in grade {grade}" if grade else "has no grade"
    if isinstance(condition, ast.CountDoses):
        return _count(condition, view, tolerance, slack)
    if isinstance(condition, ast.DoseAge):
        given = dose_by_ref(condition.dose, view.valid_dates)
        if given is None:
            return False, missing_dose_text(condition.dose)
        holds = at_age(given, condition.filter, birth, tolerance)
        return holds, (f"{dose_ref_text(condition.dose)} was given {given.isoformat()}, "
                       f"at {describe_age(birth, given)}{slack}")
    if isinstance(condition, ast.IntervalCompare):
        start = dose_by_ref(condition.start, view.valid_dates)
        end = dose_by_ref(condition.end, view.valid_dates)
        if start is None or end is None:
            return False, missing_dose_text(condition.start if start is None else condition.end)
        holds = relaxed(end, condition.op, add(start, condition.duration), tolerance)
        return holds, (f"{dose_ref_text(condition.end)} ({end.isoformat()}) was given "
                       f"{_signed_gap(start, end, condition.duration)} after {dose_ref_text(condition.start)} "
                       f"({start.isoformat()}){slack}")
    if isinstance(condition, ast.SinceDose):
        given = dose_by_ref(condition.dose, view.valid_dates)
        if given is None:
            return False, missing_dose_text(condition.dose)
        holds = relaxed(as_of, condition.op, add(given, condition.duration), tolerance)
        return holds, (f"{dose_ref_text(condition.dose)} ({given.isoformat()}) was "
                       f"{_signed_gap(given, as_of, condition.duration)} before {as_of.isoformat()}{slack}")
    if isinstance(condition, ast.Exempt):
        return _exempt(condition, view)
    if isinstance(condition, ast.SeriesComplete):
        if not view.vaccine.has_series:
            return False, f"{view.vaccine.id} has no series"
        return view.series_complete, "it is complete" if view.series_complete else "it is not complete"
    if isinstance(condition, ast.EffectiveDate):
        return compare(as_of, condition.op, condition.value), f"the effective date is {as_of.isoformat()}"
    if isinstance(condition, ast.Call):
        holds = call_holds(condition, view.relations, view.student.id)
        doc = doc_summary(view.predicate_docs.get(condition.name, ""))
        return holds, ("it holds" if holds else "it does not hold") + (f" ({doc})" if doc else "")
    raise TypeError(f"not a condition: {condition!r}")


def _signed_gap(start: date, end: date, duration: ast.Duration) -> str:
    return gap_words(start, end, duration) if start <= end else "-" + gap_words(end, start, duration)


def _count(condition: ast.CountDoses, view: GroupView, tolerance: int, slack: str) -> tuple[bool, str]:
    if condition.valid and not condition.products:
        days = view.valid_dates  # the group's valid doses (with several antigens, not the doses themselves)
    else:
        days = [v.known.dose.date for v in view.verdicts if (v.valid or not condition.valid)
                and (not condition.products or v.known.product.id in condition.products)]
    birth = view.student.birth_date
    counted = [day for day in days if condition.age is None or at_age(day, condition.age, birth, tolerance)]
    holds = compare(len(counted), condition.op, condition.count)
    listed = f" ({', '.join(d.isoformat() for d in counted)})" if counted else ""
    ages = f", counting ages with {tolerance} days' tolerance" if condition.age is not None and tolerance else ""
    return holds, f"has {len(counted)}{listed}{ages}"


def _exempt(condition: ast.Exempt, view: GroupView) -> tuple[bool, str]:
    matching = [e for e in view.exemptions if not condition.kinds or e.kind in condition.kinds]
    shown = matching or list(view.exemptions)
    if not shown:
        return False, f"has no exemption for {view.vaccine.id}"
    first = shown[0]
    dated = f" dated {first.date.isoformat()}" if first.date else ""
    return bool(matching), f"has a {first.kind} exemption{dated}"


def call_holds(call: ast.Call, relations: dict, student_id: str, dose_id: int | None = None) -> bool:
    """Whether the predicate holds for the call's arguments (``student``, ``dose``, constants)."""
    values = []
    for arg in call.args:
        if isinstance(arg, ast.Student):
            values.append(student_id)
        elif isinstance(arg, ast.CurrentDose):
            values.append(dose_id)
        elif isinstance(arg, ast.Name):
            values.append(arg.name)
        else:
            values.append(arg.value)
    wanted = tuple(values)
    return any(all(same(a, b) for a, b in zip(wanted, row)) for row in relations.get(call.name, ()))
