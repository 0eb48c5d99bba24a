"""What a student still needs: the next series dose and the earliest date it would be valid.

The earliest date is the latest of ``birth + min age`` and ``anchor + interval`` for each of the
target dose's intervals whose anchor exists, exactly the thresholds the series walk tests, moved
later when no product the dose allows is allowed yet at that age, and past the window of a ``reject
... within D after not valid dose`` after the latest dose not valid; the products listed are those
still allowed on that day. A ``reject ... when`` predicate (a live-virus conflict) can still turn a
dose given then away: it depends on doses not yet given, so it is not forecast.
"""

from __future__ import annotations

from datetime import date

import attrs

from .. import ast
from ..dates import add, duration_text
from ..records import Student
from ..results import GroupEvaluation, StudentEvaluation
from ..walk import series_target
from .series import anchor_of
from .wording import product_list

SATISFIED = ("compliant", "exempt", "no_requirement")


@attrs.frozen
class Need:
    vaccine: str
    dose_number: int | None  # the series dose still needed, when there is one
    earliest: date | None  # the earliest date that dose would be valid (None: no limit, or none possible)
    words: str  # "dose 3, valid from 2021-05-01 (at age 24 weeks; 8 weeks after dose 2 (2021-03-06))"


def next_needs(ruleset: ast.Ruleset, evaluation: StudentEvaluation, student: Student, as_of: date) -> dict[str, Need]:
    """One :class:`Need` per vaccine group of the evaluation."""
    vaccines = {vaccine.id: vaccine for vaccine in ruleset.vaccines}
    names = {product.id: product.name or product.id for product in ruleset.products}
    needs = {}
    for group in evaluation.groups:
        valid_dates = [d.date for d in sorted(
            (d for d in evaluation.doses if d.vaccine == group.vaccine and d.valid), key=lambda d: d.dose_number)]
        needs[group.vaccine] = need_for_group(vaccines[group.vaccine], group, valid_dates, student.birth_date,
                                              as_of, names)
    return needs


def need_for_group(vaccine: ast.Vaccine, group: GroupEvaluation, valid_dates: list[date],
                   birth: date, as_of: date, product_names: dict[str, str] | None = None) -> Need:
    if group.status in SATISFIED:
        return Need(vaccine.id, None, None, "nothing")
    if not vaccine.has_series:
        return Need(vaccine.id, None, None,
                    "more doses (this group has no series to say which); see the rules it does not meet")
    walk = group.walk
    if walk is not None and len(walk.antigens) > 1:
        return _antigens_need(vaccine, walk, birth, as_of, product_names)
    chosen = walk.chosen if walk is not None else None
    series = chosen.series if chosen is not None else vaccine.all_series[0]
    number = chosen.next_target if chosen is not None else len(valid_dates) + 1
    retried = chosen.retried if chosen is not None else None
    not_valid = chosen.last_not_valid if chosen is not None else None
    return series_need(vaccine.id, series, number, valid_dates, birth, as_of, product_names, retried, not_valid)


def _antigens_need(vaccine: ast.Vaccine, walk, birth: date, as_of: date, product_names) -> Need:
    """Each antigen's next dose; the group is done on the latest of their earliest dates."""
    needs = []
    for antigen_walk in walk.antigens:
        chosen = antigen_walk.chosen
        if not chosen.complete:
            dates = [v.known.dose.date for v in chosen.verdicts if v.valid]
            need = series_need(vaccine.id, chosen.series, chosen.next_target, dates, birth, as_of, product_names,
                               chosen.retried, chosen.last_not_valid)
            needs.append((antigen_walk.antigen.name, need))
    if not needs:
        return Need(vaccine.id, None, None, "no further series dose (every antigen's series is complete), "
                                            "but the rules it does not meet")
    earliest = [need.earliest for _, need in needs]
    return Need(vaccine.id, needs[0][1].dose_number, None if None in earliest else max(earliest),
                "; ".join(f"{name} {need.words}" for name, need in needs))


def series_need(vaccine_id: str, series: ast.Series, number: int, valid_dates: list[date], birth: date,
                as_of: date, product_names: dict[str, str] | None = None, retried: date | None = None,
                not_valid: date | None = None) -> Need:
    """Dose ``number`` of ``series``, after the valid doses on ``valid_dates`` (and a dose since, not
    valid but still an anchor, on ``retried``: :func:`.series.anchor_of`; the latest dose not valid on
    ``not_valid``)."""
    target = series_target(series, number)
    if target is None:
        return Need(vaccine_id, None, None,
                    f"no further series dose (all {len(valid_dates)} are valid), but the rules it does not meet")

    limits = _timing_limits(target, as_of, birth, valid_dates, retried)
    if not_valid is not None:
        limits += [(add(not_valid, reject.within), f"{duration_text(reject.within)} after a dose not valid "
                                                   f"({not_valid.isoformat()})")
                   for reject in series.rejects if isinstance(reject, ast.RejectAfterNotValid)]
    earliest = max((when for when, _ in limits), default=None)
    products = ""
    if target.allows:
        day = max(earliest or as_of, as_of)
        opening = _first_allowed_day(target.allows, birth, day)
        if opening is None:
            return Need(vaccine_id, number, None,
                        f"dose {number} can no longer be given in this series: no product it allows is "
                        f"allowed at this age")
        if opening > day:
            limits.append((opening, "when an allowed product's age window opens"))
            earliest = opening
        allowed = [p for allow in target.allows if _allows_on(allow, birth, opening) for p in allow.products
                   if p not in target.inadvertent]
        products = f"; allowed products: {product_list((product_names or {}).get(p, p) for p in allowed)}"
    elif target.inadvertent:
        products = f"; not {product_list((product_names or {}).get(p, p) for p in sorted(target.inadvertent))}"

    if target.max_age is not None:
        too_old_on = add(birth, target.max_age)
        if max(earliest or as_of, as_of) >= too_old_on:
            return Need(vaccine_id, number, None,
                        f"dose {number} can no longer be given in this series: the maximum age of "
                        f"{duration_text(target.max_age)} was reached on {too_old_on.isoformat()}")
        products += f"; before {too_old_on.isoformat()} (age {duration_text(target.max_age)})"
    if earliest is None:
        return Need(vaccine_id, number, None, f"dose {number}, which can be given now{products}")
    why = "; ".join(words for _, words in limits)
    when = "can be given now, valid since" if earliest <= as_of else "valid from"
    return Need(vaccine_id, number, earliest, f"dose {number}, {when} {earliest.isoformat()} ({why}){products}")


def _timing_limits(target: ast.SeriesDose, as_of: date, birth: date, valid_dates: list[date],
                   retried: date | None) -> list[tuple[date, str]]:
    """(earliest day, why) for each minimum age and interval of the next dose, given on or after
    ``as_of``: by the requirements in force on the first day of the next period of dated requirements
    (``given from``/``before``) in which the dose can be valid."""
    days = {w.start for w in _windows(target) if w.start} | {w.before for w in _windows(target) if w.before}
    boundaries = sorted(day for day in days if day > as_of)
    for start, end in zip([as_of, *boundaries], [*boundaries, None]):
        limits: list[tuple[date, str]] = []
        min_age = target.min_age_on(start)
        if min_age is not None:
            limits.append((add(birth, min_age.duration), f"at age {duration_text(min_age.duration)}"))
        for interval in target.intervals_on(start):
            anchor = anchor_of(interval, valid_dates, retried)
            if anchor is not None:
                after = f"{duration_text(interval.duration)} after {anchor.words} ({anchor.date.isoformat()})"
                limits.append((add(anchor.date, interval.duration), after))
        if end is None or max((when for when, _ in limits), default=start) < end:
            return limits
    raise AssertionError("the last period has no end")


def _windows(target: ast.SeriesDose) -> list[ast.GivenWindow]:
    return [r.given for r in (*target.min_ages, *target.intervals) if r.given is not None]


def _allows_on(allow: ast.Allow, birth: date, day: date) -> bool:
    return ((allow.from_age is None or day >= add(birth, allow.from_age))
            and (allow.before_age is None or day < add(birth, allow.before_age)))


def _first_allowed_day(allows, birth: date, day: date) -> date | None:
    """The first day on or after ``day`` when some ``allow`` line admits a product, or None."""
    candidates = [day] + [add(birth, allow.from_age) for allow in allows if allow.from_age is not None]
    open_days = [when for when in candidates if when >= day and any(_allows_on(a, birth, when) for a in allows)]
    return min(open_days, default=None)
