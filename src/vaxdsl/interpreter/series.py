"""Dose validity: the series walk of docs/semantics.md, "Dose validity: the series".

The walk keeps ``n``, the number of valid doses so far, and ``t``, the target series dose; each
dose first passes over the targets its ``skip`` lines make unnecessary (step 0), then is judged
against target ``t``. :func:`inadvertent_failure` and :func:`timing_failure` (steps 1-4),
:func:`reject_failure` (step 5) and :func:`product_failure` (step 6) return the reason *and the words
for it*, kept on the verdict for the explanation; the ``reject ... when`` predicates and ``skip``
conditions are answered by the caller (they need the student's relations and the rule condition
tests). A group with several series walks each and :func:`choose` picks one
("Choosing among series"); a group with several antigens does that per antigen and :func:`combine`
joins their verdicts ("Antigens").
"""

from __future__ import annotations

from datetime import date
from typing import Callable

import attrs

from .. import ast
from ..dates import add, describe_age, describe_days, describe_span, duration_text
from ..walk import series_length, series_targets
from .student_facts import KnownDose
from .wording import REASON_WORDS, product_list


@attrs.frozen
class Failure:
    reason: str  # one of ast.INVALID_REASONS, or ast.INADVERTENT (reported as not_allowable)
    words: str  # "given before the minimum age of 12 months - 4 days (at 11 months 20 days)"


@attrs.frozen
class Verdict:
    known: KnownDose
    valid: bool
    reason: str | None = None
    number: int | None = None  # the valid dose's number in the series (the ordinal among valid doses)
    target: int | None = None  # the series dose it was judged as (None: the series was complete)
    words: str = ""  # why it is not valid, in words (empty for a valid dose)


@attrs.frozen
class SkippedDose:
    """Series dose ``number`` was not required: ``skip`` held for the dose given on ``given``."""

    number: int
    given: date
    skip: ast.Skip


@attrs.frozen
class SeriesWalk:
    """One series walked over a group's doses."""

    series: ast.Series
    verdicts: tuple[Verdict, ...]
    skipped: tuple[SkippedDose, ...]
    next_target: int  # the series dose the next dose would be judged as
    candidate: bool  # the start window holds (docs/semantics.md, "Choosing among series")
    start_age: date | None  # the day the window was tested on: the first valid dose, else E
    retried: date | None = None  # the next dose's interval counts from it (:func:`anchor_of`)
    left_out: bool = False  # ``only with`` products the student has no dose of: not walked, never chosen

    @property
    def complete(self) -> bool:
        """The walk ended past the series' last dose (given again or not, when it is recurring)."""
        return self.next_target > series_length(self.series)

    @property
    def valid_count(self) -> int:
        return sum(1 for verdict in self.verdicts if verdict.valid)

    @property
    def last_not_valid(self) -> date | None:
        """The day of the latest dose the walk found not valid."""
        return max((verdict.known.dose.date for verdict in self.verdicts if not verdict.valid), default=None)


@attrs.frozen
class AntigenWalk:
    """Every series of one antigen walked over the antigen's doses, and the one chosen."""

    antigen: ast.Antigen
    walks: tuple[SeriesWalk, ...]
    chosen: SeriesWalk

    @property
    def complete(self) -> bool:
        return self.chosen.complete


@attrs.frozen
class GroupWalk:
    """A group's antigens walked (none when the group has no series) and the group's verdicts.

    ``dose_dates`` are the days of the group's valid doses 1, 2, ...: with one antigen, the valid
    doses' own dates; with several, dose n is the day every antigen had n valid doses (docs/semantics.md,
    "Antigens")."""

    antigens: tuple[AntigenWalk, ...]
    verdicts: tuple[Verdict, ...]
    dose_dates: tuple[date, ...]

    @property
    def complete(self) -> bool:
        return bool(self.antigens) and all(antigen.complete for antigen in self.antigens)

    @property
    def walks(self) -> tuple[SeriesWalk, ...]:
        """Every series walk, of every antigen."""
        return tuple(series_walk for antigen in self.antigens for series_walk in antigen.walks)

    @property
    def chosen(self) -> SeriesWalk | None:
        """The chosen series of a group walked as one antigen."""
        return self.antigens[0].chosen if len(self.antigens) == 1 else None


@attrs.frozen
class Anchor:
    """The dose an interval counts from: its date, and how to name it."""

    date: date
    words: str  # "dose 2", "the previous dose (not valid)"


def anchor_of(interval: ast.MinInterval, valid_dates: list[date], retried: date | None = None) -> Anchor | None:
    """The dose an interval counts from, or None when it does not exist yet. ``retried`` is the latest
    dose after the last valid one (or before the first) that was not valid for a reason that keeps it
    an anchor (not ``ast.NOT_ANCHORING_REASONS``): an interval from the previous dose counts from it,
    even before any dose is valid (CDSi's dose 1 of a catch-up series, measured from an earlier dose
    that series did not count)."""
    if interval.start is None or interval.start.kind == "last":
        number = len(valid_dates)
        if retried is not None:
            return Anchor(retried, "the previous dose (not valid)")
    elif interval.start.kind == "first":
        number = 1
    else:
        number = interval.start.number
    if 1 <= number <= len(valid_dates):
        return Anchor(valid_dates[number - 1], f"dose {number}")
    return None


def gap_words(start: date, end: date, duration: ast.Duration) -> str:
    """A gap in the unit the rule uses: days for ``28 days``, calendar words for ``6 months``."""
    return describe_days(start, end) if duration.in_days_if_exact() is not None else describe_span(start, end)


def timing_failure(target: ast.SeriesDose | None, given: date, birth: date, valid_dates: list[date],
                   retried: date | None = None) -> Failure | None:
    """Steps 1-4: is there a target dose, and was this dose given at an interval and age it allows?

    The interval is judged before the age: a dose that fails both is ``too_soon``, the reason the
    CDC's test cases give for it (docs/semantics.md)."""
    if target is None:
        return Failure("extraneous", f"an extra dose: the series ({_doses(len(valid_dates))}) was already complete")
    for interval in target.intervals_on(given):
        anchor = anchor_of(interval, valid_dates, retried)
        if anchor is None:
            continue  # no anchor yet: nothing to measure from
        if given < add(anchor.date, interval.duration):
            return Failure("too_soon", (
                f"given too soon: {gap_words(anchor.date, given, interval.duration)} after {anchor.words} "
                f"({anchor.date.isoformat()}); the minimum interval is {duration_text(interval.duration)}"
                f"{window_words(interval.given)}"))
    age = describe_age(birth, given)
    min_age = target.min_age_on(given)
    if min_age is not None and given < add(birth, min_age.duration):
        return Failure("too_young", f"given before the minimum age of {duration_text(min_age.duration)}"
                                    f"{window_words(min_age.given)} (at {age})")
    if target.max_age is not None and given >= add(birth, target.max_age):
        return Failure("too_old", f"given at or after the maximum age of {duration_text(target.max_age)} (at {age})")
    return None


def window_words(window: ast.GivenWindow | None) -> str:
    """How an explanation names the doses a dated requirement is for: " for doses given before 2009-08-07"."""
    return "" if window is None else f" for doses given {window.days_text()}"


def reject_failure(rejects: tuple[ast.SeriesReject, ...], known: KnownDose, not_valid_days: list[date],
                   rejected: Rejected) -> Failure | None:
    """Step 5: the first ``reject`` line that holds for the dose. ``not_valid_days``: the days of the
    doses this walk found not valid so far, in order."""
    given = known.dose.date
    for reject in rejects:
        if isinstance(reject, ast.RejectAfterNotValid):
            # the latest earlier day is the nearest: if any is in the window, it is
            day = next((day for day in reversed(not_valid_days) if day < given), None)
            if day is not None and given < add(day, reject.within):
                return Failure(reject.reason, (
                    f"{REASON_WORDS.get(reject.reason, reject.reason)}: given {gap_words(day, given, reject.within)} "
                    f"after a dose not valid ({day.isoformat()}), less than {duration_text(reject.within)} after it"))
        elif rejected(reject, known):
            return Failure(reject.reason, "")  # the explanation words it from the predicate
    return None


def allow_window_holds(allow: ast.Allow, given: date, birth: date) -> bool:
    if allow.from_age is not None and given < add(birth, allow.from_age):
        return False
    if allow.before_age is not None and given >= add(birth, allow.before_age):
        return False
    return True


def inadvertent_failure(target: ast.SeriesDose | None, product: ast.Product) -> Failure | None:
    """Step 1, after the target is known: a product the target lists as ``inadvertent`` is never that
    dose, whatever its timing."""
    if target is None or product.id not in target.inadvertent:
        return None
    return Failure(ast.INADVERTENT, f"{product.id} cannot count as dose {target.number}: it is not a vaccine "
                                    f"for that dose (an inadvertent vaccine), whatever its timing")


def product_failure(target: ast.SeriesDose | None, product: ast.Product, given: date, birth: date) -> Failure | None:
    """Step 6: when the target dose lists allowed products, this one must be among them, in its age window."""
    if target is None or not target.allows:
        return None
    listing = [allow for allow in target.allows if product.id in allow.products]
    if any(allow_window_holds(allow, given, birth) for allow in listing):
        return None
    if not listing:
        allowed = product_list(p for allow in target.allows for p in allow.products)
        return Failure("not_allowable", f"{product.id} is not an allowed product for dose {target.number} "
                                        f"(allowed: {allowed})")
    windows = " or ".join(_window(allow) for allow in listing)
    return Failure("not_allowable", (f"{product.id} is allowed for dose {target.number} only {windows} "
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


SkipHolds = Callable[[ast.Skip, KnownDose, tuple[Verdict, ...]], bool]
Rejected = Callable[[ast.Reject, KnownDose], bool]


def walk(vaccine: ast.Vaccine, doses: list[KnownDose], birth: date, as_of: date,
         rejected: Rejected, skip_holds: SkipHolds) -> GroupWalk:
    """Judge ``doses`` (those counting toward the group, in order) in every series of every antigen,
    choose a series per antigen, and combine the antigens' verdicts.

    ``rejected(reject, dose)`` answers whether a series ``reject`` predicate holds for the dose;
    ``skip_holds(skip, dose, verdicts so far)`` whether a ``skip when`` condition holds for it."""
    antigens = vaccine.walked_antigens
    if not antigens:
        # No series: every dose of the group's products is valid, numbered in order.
        verdicts = tuple(Verdict(known, True, None, index, index) for index, known in enumerate(doses, start=1))
        return GroupWalk((), verdicts, tuple(known.dose.date for known in doses))
    antigen_walks = tuple(walk_antigen(antigen, doses, birth, as_of, rejected, skip_holds) for antigen in antigens)
    if not vaccine.antigens:  # the group walked as its own antigen, over all its doses
        verdicts = antigen_walks[0].chosen.verdicts
        return GroupWalk(antigen_walks, verdicts, tuple(v.known.dose.date for v in verdicts if v.valid))
    return GroupWalk(antigen_walks, combine(antigen_walks, doses), group_dose_dates(antigen_walks))


def walk_antigen(antigen: ast.Antigen, doses: list[KnownDose], birth: date, as_of: date,
                 rejected: Rejected, skip_holds: SkipHolds) -> AntigenWalk:
    own = [known for known in doses if antigen.walks(known.product.id)]
    # ``only with`` asks for a dose of the group, walked by this antigen or not (docs/semantics.md)
    walks = tuple(left_out(series, doses) or walk_series(series, own, birth, as_of, rejected, skip_holds)
                  for series in antigen.series)
    return AntigenWalk(antigen, walks, choose(walks))


def combine(antigen_walks: tuple[AntigenWalk, ...], doses: list[KnownDose]) -> tuple[Verdict, ...]:
    """A dose is valid when every antigen that walks it finds it valid; the first antigen (in the
    order declared) that does not gives the reason, and the first that does gives its number."""
    verdicts = []
    for known in doses:
        judged = [(w.antigen, v) for w in antigen_walks for v in w.chosen.verdicts if v.known is known]
        failed = next(((antigen, v) for antigen, v in judged if not v.valid), None)
        if not judged:
            verdicts.append(Verdict(known, False, "not_allowable", words=(
                f"{known.product.id} is a product of no antigen this group walks")))
        elif failed is not None:
            antigen, verdict = failed
            counted = "; ".join(f"valid for {a.name} (its dose {v.number})" for a, v in judged if v.valid)
            words = "; ".join(part for part in (f"{antigen.name}: {verdict.words}" if verdict.words else "", counted)
                              if part)
            verdicts.append(attrs.evolve(verdict, words=words))
        else:
            verdicts.append(judged[0][1])
    return tuple(verdicts)


def group_dose_dates(antigen_walks: tuple[AntigenWalk, ...]) -> tuple[date, ...]:
    """Group dose n is given on the day the last antigen gets its valid dose n."""
    dates = [[v.known.dose.date for v in w.chosen.verdicts if v.valid] for w in antigen_walks]
    return tuple(max(days) for days in zip(*dates))


def walk_series(series: ast.Series, doses: list[KnownDose], birth: date, as_of: date,
                rejected: Rejected, skip_holds: SkipHolds) -> SeriesWalk:
    by_number = {dose.number: dose for dose in reversed(series.doses)}  # the first of a number wins
    judged_as = series_targets(series)
    verdicts: list[Verdict] = []
    skipped: list[SkippedDose] = []
    valid_dates: list[date] = []
    retried: date | None = None  # the latest dose since the last valid one that is an anchor (anchor_of)
    not_valid_days: list[date] = []
    target = 1
    for known in doses:
        given = known.dose.date
        while target in by_number:  # step 0: targets this dose makes unnecessary
            skip = next((s for s in by_number[target].skips if skip_holds(s, known, tuple(verdicts))), None)
            if skip is None:
                break
            skipped.append(SkippedDose(target, given, skip))
            target += 1
        judged = judged_as(target)
        failure = (inadvertent_failure(judged, known.product)
                   or timing_failure(judged, given, birth, valid_dates, retried))
        if failure is None:
            failure = reject_failure(series.rejects, known, not_valid_days, rejected)
        if failure is None:
            failure = product_failure(judged, known.product, given, birth)
        if failure is None:
            valid_dates.append(given)
            retried = None
            verdicts.append(Verdict(known, True, None, len(valid_dates), judged.number))
            target += 1
        else:
            if failure.reason not in ast.NOT_ANCHORING_REASONS:
                retried = given
            not_valid_days.append(given)
            verdicts.append(Verdict(known, False, ast.reported_reason(failure.reason), None,
                                    judged.number if judged else None, failure.words))
    first_valid = next((v.known.dose.date for v in verdicts if v.valid), None)
    start_day = first_valid or as_of
    candidate = start_window_holds(series, birth, start_day)
    return SeriesWalk(series, tuple(verdicts), tuple(skipped), target, candidate, start_day, retried)


def left_out(series: ast.Series, doses: list[KnownDose]) -> SeriesWalk | None:
    """The walk of a series ``only with`` products none of ``doses`` is of: empty, never chosen."""
    if not series.only_with or any(known.product.id in series.only_with for known in doses):
        return None
    return SeriesWalk(series, (), (), 1, False, None, left_out=True)


def start_window_holds(series: ast.Series, birth: date, day: date) -> bool:
    if series.start_from is not None and day < add(birth, series.start_from):
        return False
    if series.start_before is not None and day >= add(birth, series.start_before):
        return False
    return True


def choose(walks: tuple[SeriesWalk, ...]) -> SeriesWalk:
    """Among the candidates (all walks not left out when none is one): complete, then most valid doses,
    then the first declared."""
    kept = [order for order, w in enumerate(walks) if not w.left_out]  # the first is never left out (E238)
    pool = [order for order in kept if walks[order].candidate] or kept
    best = min(pool, key=lambda order: (not walks[order].complete, -walks[order].valid_count, order))
    return walks[best]
