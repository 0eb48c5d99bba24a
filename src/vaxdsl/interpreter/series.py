"""Dose validity: the series walk of docs/semantics.md, "Dose validity: the series".

The walk keeps ``n``, the number of valid doses so far, and judges each dose against series dose
``n + 1``. :func:`timing_failure` (steps 1-4) and :func:`product_failure` (step 6) return the reason
*and the words for it*, so the explanation replays exactly the test the walk made; the ``reject``
predicates (step 5) sit between them and are answered by the caller.
"""

from __future__ import annotations

from datetime import date
from typing import Callable

import attrs

from .. import ast
from ..dates import add, describe_age, describe_days, describe_span, duration_text
from .student_facts import KnownDose
from .wording import product_list


@attrs.frozen
class Failure:
    reason: str  # one of ast.INVALID_REASONS
    words: str  # "given before the minimum age of 12 months - 4 days (at 11 months 20 days)"


@attrs.frozen
class Verdict:
    known: KnownDose
    valid: bool
    reason: str | None = None
    number: int | None = None  # the valid dose's number in the series


def target_dose(series: ast.Series, number: int) -> ast.SeriesDose | None:
    return next((dose for dose in series.doses if dose.number == number), None)


def anchor_of(interval: ast.MinInterval, valid_dates: list[date]) -> tuple[int, date] | None:
    """(valid dose number, date) an interval counts from, or None when that dose does not exist yet."""
    if interval.start is None or interval.start.kind == "last":
        number = len(valid_dates)
    elif interval.start.kind == "first":
        number = 1
    else:
        number = interval.start.number
    if 1 <= number <= len(valid_dates):
        return number, valid_dates[number - 1]
    return None


def gap_words(start: date, end: date, duration: ast.Duration) -> str:
    """A gap in the unit the rule uses: days for ``28 days``, calendar words for ``6 months``."""
    return describe_days(start, end) if duration.in_days_if_exact() is not None else describe_span(start, end)


def timing_failure(series: ast.Series, given: date, birth: date, valid_dates: list[date]) -> Failure | None:
    """Steps 1-4: is there a target dose, and was this dose given at an age and interval it allows?"""
    target = target_dose(series, len(valid_dates) + 1)
    if target is None:
        return Failure("extraneous", f"an extra dose: the series ({_doses(len(valid_dates))}) was already complete")
    age = describe_age(birth, given)
    if target.min_age is not None and given < add(birth, target.min_age):
        return Failure("too_young", f"given before the minimum age of {duration_text(target.min_age)} (at {age})")
    if target.max_age is not None and given >= add(birth, target.max_age):
        return Failure("too_old", f"given at or after the maximum age of {duration_text(target.max_age)} (at {age})")
    for interval in target.intervals:
        anchor = anchor_of(interval, valid_dates)
        if anchor is None:
            continue  # no anchor yet: nothing to measure from
        number, anchor_date = anchor
        if given < add(anchor_date, interval.duration):
            return Failure("too_soon", (
                f"given too soon: {gap_words(anchor_date, given, interval.duration)} after dose {number} "
                f"({anchor_date.isoformat()}); the minimum interval is {duration_text(interval.duration)}"))
    return None


def allow_window_holds(allow: ast.Allow, given: date, birth: date) -> bool:
    if allow.from_age is not None and given < add(birth, allow.from_age):
        return False
    if allow.before_age is not None and given >= add(birth, allow.before_age):
        return False
    return True


def product_failure(series: ast.Series, product: ast.Product, given: date, birth: date, number: int) -> Failure | None:
    """Step 6: when the target dose lists allowed products, this one must be among them, in its age window."""
    target = target_dose(series, number)
    if target is None or not target.allows:
        return None
    listing = [allow for allow in target.allows if product.id in allow.products]
    if any(allow_window_holds(allow, given, birth) for allow in listing):
        return None
    if not listing:
        allowed = product_list(p for allow in target.allows for p in allow.products)
        return Failure("not_allowable", f"{product.id} is not an allowed product for dose {number} "
                                        f"(allowed: {allowed})")
    windows = " or ".join(_window(allow) for allow in listing)
    return Failure("not_allowable", (f"{product.id} is allowed for dose {number} only {windows} "
                                     f"(given at {describe_age(birth, given)})"))


def _window(allow: ast.Allow) -> str:
    parts = []
    if allow.from_age is not None:
        parts.append(f"from age {duration_text(allow.from_age)}")
    if allow.before_age is not None:
        parts.append(f"before age {duration_text(allow.before_age)}")
    return " ".join(parts)


def _doses(count: int) -> str:
    return "1 dose" if count == 1 else f"{count} doses"


def walk(vaccine: ast.Vaccine, doses: list[KnownDose], birth: date,
         rejected: Callable[[ast.Reject, KnownDose], bool]) -> list[Verdict]:
    """Judge ``doses`` (those counting toward the group, in order). ``rejected(reject, dose)`` answers
    whether a series ``reject`` predicate holds for the dose."""
    if vaccine.series is None:
        # No series: every dose of the group's products is valid, numbered in order.
        return [Verdict(known, True, None, index) for index, known in enumerate(doses, start=1)]
    series = vaccine.series
    verdicts: list[Verdict] = []
    valid_dates: list[date] = []
    for known in doses:
        given = known.dose.date
        failure = timing_failure(series, given, birth, valid_dates)
        if failure is None:
            reason = next((r.reason for r in series.rejects if rejected(r, known)), None)
            if reason is not None:
                failure = Failure(reason, "")
        if failure is None:
            failure = product_failure(series, known.product, given, birth, len(valid_dates) + 1)
        if failure is None:
            valid_dates.append(given)
            verdicts.append(Verdict(known, True, None, len(valid_dates)))
        else:
            verdicts.append(Verdict(known, False, failure.reason, None))
    return verdicts
