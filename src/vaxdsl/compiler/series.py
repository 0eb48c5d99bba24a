"""Pass 3: dose validity, the series walks of docs/semantics.md ("Dose validity: the series",
"Skipping a series dose", "Choosing among series").

Each student's doses of a group arrive as one string of fixed-width **chunks**, in ``(date, id)``
order: the day number (``julianday - 0.5``, seven digits for any year 1-9999) + the product's group
code in :attr:`ProductCatalog.width` digits (+ the dose id in 12 digits where the walk needs it).
Chunk i of string s is ``substr(s, (i-1)*W + 1, W)``.

**Virtual walks.** A group with several series walks the same chunk string once per series (allow
lists, skips and rejects are the series' own; the chunks carry the group's product codes, which every
series of the group shares). Each (group, series) is a *virtual walk*; a group without a series is
one virtual walk that finds every dose valid. The group then takes the **chosen** series
(:func:`choice_score`): the one with the highest score ``cand * 2^30 + complete * 2^29 + n * 256 +
(255 - k)`` (k its declaration index), which orders the series exactly as the semantics do: start
window first (so when no series is a candidate, all tie on it), then complete, then most valid
doses, then the first declared. Everything downstream (rule conditions, ``valid``/``invalid``, the
listed doses) reads the chosen walk only. A series that starts ``from age A`` when the student is
younger than A on E is never a candidate (every dose the walk sees is on or before E); when another
series of the group is a candidate whatever the doses (no ``from age``, and no ``before age B`` or
the student younger than B on E), it can never be chosen, and neither path walks it.

**Fast path** (every student, no recursion). A *segment* ``(p, F, s)`` assumes that the walk reaches
dose p with the doses before p valid except the failed positions F, and ``s`` targets skipped: before
each dose i >= p of the segment, n = i - 1 - |F| valid doses (chunks 1..i-1 without F, so valid dose
k is a known chunk) and the target is t = n + 1 + s. Let S be the series' last reachable dose
(:func:`max_valid`) and ``imax = S - s + |F|`` the last position whose target exists. The segment
judges doses p..min(c, imax) in order; for each, first the skip lines of target t (step 0), then the
tests of steps 1-4 and 6 with anchors at the chunks the assumption names. The first dose where one
holds is the segment's **event**:

* skips at dose i: the walk moves to target t + 1 *for the same dose* and tests its skip lines in
  turn (a **chain**); where the chain stops (the first target whose lines do not hold), segment
  ``(i, F, s')`` continues with that target, its skip lines known not to hold at dose i;
* a failure at dose i: segment ``(i + 1, F + {i}, s)``;
* no event: the walk ends with ``min(c, imax) - |F|`` valid doses, complete iff ``c >= imax``.

*Claim.* Along the chain of segments from ``(1, {}, 0)`` picked by the events, the walk's state on
reaching each segment's first dose is the segment's assumption, and its verdicts are the segment's.
*Proof* (induction on the doses). Before dose 1, n = 0, t = 1 and no dose is valid: the assumption
of ``(1, {}, 0)``. Suppose the assumption holds before dose i of a segment. Step 0 tests the skip
lines of target t with the state as of dose i: the fast path evaluated the same condition over the
same chunks (valid dose k, the doses before i, n - constants along the segment), so if one holds the
walk is at target t + 1 on dose i and tests that target's lines with the same state, as the chain
does, until one target's lines do not hold: the assumption of ``(i, F, s')``, whose first test is
the failure test of that target. Otherwise steps 1-4 and 6 run against target t with anchors valid
doses of the assumption - or, for an interval from the previous dose at the first dose after the
failure F = {i - 1}, dose i - 1 itself when it failed for a reason that keeps it an anchor (its
interval, age or product: :meth:`SeriesChecks.fails_as_anchor`): the segment after a failure
carries that test (``retry``) to its first dose, chains there included; every later dose of it
follows a valid one. These are the fast path's tests. A failure leaves n and t, and the walk reaches
dose i + 1 with the assumption of ``(i + 1, F + {i}, s)``; a pass makes dose i valid dose n + 1 with
t + 1, which is the same segment's assumption at dose i + 1. Once t > S (position > imax) there is
no series dose t: every later dose is extraneous whatever else holds, so n stays and the walk is
complete. QED.

Tests fold to constants where the assumption decides them: n is a constant along a segment (so
``skip when at least 5 valid doses`` is 0 or 1 there), and once a skip line implying an age held
(``age >= 7 years``), every later dose is at least that old (doses are in date order; see
:func:`.skips.age_floor`), which folds later age tests. A test that folds to 1 is a certain event:
it ends the segment's list (nothing after it is reached) and a chain that starts certain does not
branch.

**Prefix.** The leading doses that fail series dose 1 with nothing valid and no skip of dose 1 (the
adult series for a child, a product-specific series for other products, a series starting at 12
months for the infant doses) leave the state at n = 0, t = 1: the walk from dose a + 1 is the walk
of a fresh state over the rest, so :func:`prefix_sql` finds a by one scan of series dose 1's tests
and the tree runs on chunks a + 1, a + 2, ... (decoded from the string at the offset; only skip
conditions counting the doses before a dose look back into the prefix). All doses failing is n = 0.
The one thing a prefix leaves behind is an anchor, when an interval from the previous dose applies
with nothing valid (CDSi's dose 1 of a catch-up series: :attr:`SeriesChecks.anchored`): then the
prefix stops (open) at a dose passed over as an anchor (an inadvertent vaccine, one too old), so
dose a is the anchor of dose a + 1, which the tree after the prefix is told (``after_prefix``).

The tree of segments is cut short: a second failure settles the walk only when it is the last dose
(n stays, target t <= S: incomplete), and chains that do not start certain are followed at most
``max_skips`` times (fewer for series whose tree would pass :data:`TREE_BUDGET` characters of SQL,
or that SQLite's parser refuses: :meth:`.fast_path.FastPath.fit_parser`);
the rest is left **open**, as is a prefix running past the decoded chunks. Rejects are not tested:
a student a ``reject`` predicate may apply to is **forced**, and one with two doses of a group on
different days closer than a ``reject ... within W after not valid dose`` is open
(:meth:`.fast_path.FastPath._near_doses_sql`). Open and forced students go to the exact
walk. The fast path's answer per virtual walk is one integer ``n + R*j + R^2*complete + R^3*a +
R^4*open`` (:func:`fast_parts`; j the first failure after the prefix, 0 for none: the only failed
position that can precede a valid dose, since a second failure is the last dose), from which valid
dose k is chunk ``a + k + (1 <= j <= k)``.

**Exact walk**: a ``WITH RECURSIVE`` over the chunk positions of each (student, virtual walk) that
keeps n, t, the string ``vs`` of valid chunks so far, the day ``pa`` of a later dose not valid but
still an anchor (0: none; the anchor of an interval from the previous dose), a running counter per
filtered ``QTY doses`` test of a skip condition, and, when a series rejects doses after a dose not
valid, the days ``nv``/``nv0`` of the latest dose not valid and of the latest on an earlier day,
alternating a judging row (phase 0 -> 1: t moved past the targets whose skip lines hold, then the
reason against target t, written once) and an applying row (phase 1 -> 0: count and append a valid
dose, t + 1, pa, counters, nv). The chosen walk's ``n`` and ``vs`` are then the input of the rule
conditions (for the fast path, the chosen integer plays that part).
"""

from __future__ import annotations

from typing import Callable

import attrs

from .. import ast
from ..walk import max_valid, series_length, series_targets
from .dates import DateExpr, compare_shift, jd_literal, months_days
from .skips import Judged, SkipCompiler, age_floor
from .sql import all_of, any_of, lit, member, not_

DATE_WIDTH = 7  # a day number: CAST(julianday(date) AS INTEGER)
ID_WIDTH = 12
MAX_SKIP_EVENTS = 2  # chains of skips the fast path follows on one trajectory; more: the exact walk
TREE_BUDGET = 400_000  # characters of SQL per fast-path tree: past it, follow fewer skip events


def targets(series: ast.Series) -> dict[int, ast.SeriesDose]:
    found: dict[int, ast.SeriesDose] = {}
    for dose in series.doses:
        found.setdefault(dose.number, dose)
    return found


def group_limit(vaccine: ast.Vaccine) -> int | None:
    """The most valid doses the group can have (None: no series, every dose valid): the most any
    series can reach; with antigens, the antigen whose best is least (docs/semantics.md, "Antigens")."""
    if not vaccine.has_series:
        return None
    return min(max((max_valid(series) for series in antigen.series), default=0)
               for antigen in vaccine.walked_antigens)


class Reasons:
    """Reason codes: 0 is valid; the rest index :attr:`names`, the walk's reasons (``ast.INADVERTENT``
    among them: its own code, since it decides the anchor, :attr:`reported` as ``not_allowable``)."""

    def __init__(self, ruleset: ast.Ruleset):
        names = [*ast.INVALID_REASONS, ast.INADVERTENT]
        for vaccine in ruleset.vaccines:
            for reject in vaccine.rejects:
                if reject.reason not in names:
                    names.append(reject.reason)
        self.names = tuple(names)
        self.reported = tuple(ast.reported_reason(name) for name in names)

    def code(self, name: str) -> int:
        return self.names.index(name) + 1

    def name(self, code: int | None) -> str | None:
        """The reason a code is reported as."""
        return None if not code else self.reported[code - 1]


class SeriesChecks:
    """SQL for the tests of steps 0-6 of one series of group g."""

    def __init__(self, series: ast.Series, g: int, catalog, reasons: Reasons, age, reject_sql=None):
        self.series = series
        self.g = g
        self.catalog = catalog
        self.reasons = reasons
        self.age = age  # duration -> SQL of the jd of birth + duration
        self.reject_sql = reject_sql  # (call, dose id sql) -> SQL 0/1
        self.targets = targets(series)
        self.limit = series_length(series)  # the walk is complete past it
        self.target = series_targets(series)  # target number -> the series dose it is judged as
        self.recurring = self.limit > 0 and self.target(self.limit + 1) is not None
        self.skipping = [t for t in range(1, self.limit + 1) if self.targets[t].skips]
        self.skip_compiler = SkipCompiler(catalog, g, self.limit, age)
        self.anchored = self._anchored_before_valid()

    def _anchored_before_valid(self) -> bool:
        """Can an interval from the previous dose apply before any dose is valid (a target the walk
        reaches with n = 0: dose 1, and the next while the one before has skip lines)? Then a dose
        failing such a target for its timing or product is the next one's anchor even with nothing
        valid, and the fast path follows it (:func:`prefix_sql`)."""
        t = 1
        while (target := self.target(t)) is not None:
            if any(interval.start is None or interval.start.kind == "last" for interval in target.intervals):
                return True
            if t > self.limit or not target.skips:
                return False
            t += 1
        return False

    def skips(self, number: int, judged: Judged) -> str:
        """SQL 0/1: one of the skip lines of series dose ``number`` holds for the judged dose."""
        target = self.targets.get(number)
        if target is None or number > self.limit:
            return "0"
        return any_of([self.skip_compiler.compile(skip.condition, judged) for skip in target.skips])

    def skip_floor(self, number: int) -> tuple[int, int] | None:
        """An age the dose is given at or after whenever a skip line of series dose ``number`` holds."""
        target = self.targets.get(number)
        if target is None or not target.skips:
            return None
        return age_floor(ast.Or(tuple(skip.condition for skip in target.skips)))

    def anchors(self, interval: ast.MinInterval, judged: Judged) -> list[tuple[str, DateExpr]]:
        """(exists, date) of the doses an interval may count from: the valid dose it names and, for
        the previous dose, a later dose not valid but an anchor (``judged.retried``; with no valid
        dose yet, it alone). The later one is the anchor when it exists; since it is later, a dose too
        soon after the valid one is too soon after it too, so "too soon after either" is the test."""
        start = interval.start
        previous = start is None or start.kind == "last"
        if previous:
            exists, number = judged.has(1), judged.last()
        else:
            number = 1 if start.kind == "first" else start.number
            exists = judged.has(number)
        found = [] if exists == "0" else [(exists, judged.valid_date(number))]
        if previous and judged.retried is not None and judged.retried[0] != "0":
            if judged.retried[0] == "1":
                return [("1", judged.retried[1])]
            found.append(judged.retried)
        return found

    def fails_as_anchor(self, number: int, dose: Judged) -> str:
        """SQL 0/1: the first step the dose fails against series dose ``number`` keeps it the anchor of
        the next dose's interval from the previous dose: its interval, age or product (any reason but
        ``ast.NOT_ANCHORING_REASONS``; rejects aside, as everywhere on the fast path)."""
        # the first failing step gives the reason: an anchoring step counts only when no step passed
        # over failed before it (an inadvertent product, tested first, given too soon is no anchor)
        runs: list[tuple[list[str], list[str]]] = []  # (the steps passed over before, anchoring steps)
        earlier: list[str] = []
        for reason, cond in self.failures(number, dose, with_rejects=False):
            if reason in ast.NOT_ANCHORING_REASONS:
                earlier.append(cond)
            elif runs and len(runs[-1][0]) == len(earlier):
                runs[-1][1].append(cond)
            else:
                runs.append((list(earlier), [cond]))
        return any_of([all_of([not_(any_of(before)), any_of(anchoring)]) if before else any_of(anchoring)
                       for before, anchoring in runs])

    def fails_passed_over(self, number: int, dose: Judged) -> str:
        """SQL 0/1: a step that leaves the dose no anchor fails (an inadvertent product, a maximum age),
        read where the dose is known not to fail first for an anchoring reason."""
        return any_of([cond for reason, cond in self.failures(number, dose, with_rejects=False)
                       if reason in ast.NOT_ANCHORING_REASONS])

    def _inadvertent(self, number: int, dose: Judged) -> str | None:
        """SQL 0/1: the dose's product is one target ``number`` lists as ``inadvertent`` (None: none is)."""
        target = self.target(number)
        codes = self.catalog.codes_of(self.g, sorted(target.inadvertent)) if target is not None else ()
        return member(dose.pid, codes) if codes else None

    def failures(self, number: int, dose: Judged, with_rejects: bool) -> list[tuple[str, str]]:
        """(reason, SQL condition) in the walk's order for a dose judged against series dose ``number``."""
        target = self.target(number)
        if target is None:
            return [("extraneous", "1")]
        inadvertent = self._inadvertent(number, dose)
        out = [] if inadvertent is None else [(ast.INADVERTENT, inadvertent)]
        given = dose.date.jd_sql()
        soon = []
        for interval in target.intervals:
            months, days = months_days(interval.duration)
            for exists, date in self.anchors(interval, dose):
                soon.append(all_of([given_in(interval.given, given), exists,
                                    not_(compare_shift(dose.date, ">=", date, months, days))]))
        if soon:
            out.append(("too_soon", any_of(soon)))
        young = [all_of([given_in(m.given, given), f"({given} < {self.age(m.duration)})"])
                 for m in target.min_ages if not dose.at_least(m.duration)]
        if young:
            out.append(("too_young", any_of(young)))
        if target.max_age is not None:
            out.append(("too_old", "1" if dose.at_least(target.max_age) else f"({given} >= {self.age(target.max_age)})"))
        if with_rejects:
            for reject in self.series.rejects:
                if isinstance(reject, ast.Reject):
                    out.append((reject.reason, self.reject_sql(reject.call, dose.dose_id)))
                elif dose.not_valid is not None:
                    exists, day = dose.not_valid
                    out.append((reject.reason, all_of([exists, not_(compare_shift(
                        dose.date, ">=", day, *months_days(reject.within)))])))
        if target.allows:
            windows = []
            for allow in target.allows:
                codes = self.catalog.codes_of(self.g, allow.products)
                if not codes:
                    continue
                parts = [member(dose.pid, codes)]
                if allow.from_age is not None and not dose.at_least(allow.from_age):
                    parts.append(f"{given} >= {self.age(allow.from_age)}")
                if allow.before_age is not None:
                    parts.append("0" if dose.at_least(allow.before_age) else f"{given} < {self.age(allow.before_age)}")
                windows.append(all_of(parts))
            out.append(("not_allowable", not_(any_of(windows))))
        return out

    def fails(self, number: int, dose: Judged) -> str:
        return any_of([cond for _, cond in self.failures(number, dose, with_rejects=False)])

    def reason(self, number: int, dose: Judged) -> str:
        """CASE giving the reason code of the first failing step (0: valid)."""
        failures = self.failures(number, dose, with_rejects=True)
        if not failures:
            return "0"
        arms = []
        for reason, cond in failures:
            if cond == "0":
                continue
            if cond == "1":
                arms.append(f"ELSE {self.reasons.code(reason)}")
                break
            arms.append(f"WHEN {cond} THEN {self.reasons.code(reason)}")
        if not arms:
            return "0"
        if arms[0].startswith("ELSE"):
            return arms[0][5:]
        if not arms[-1].startswith("ELSE"):
            arms.append("ELSE 0")
        return f"(CASE {' '.join(arms)} END)"


def given_in(window: ast.GivenWindow | None, given: str) -> str:
    """SQL 0/1: a dose given on day ``given`` (julianday SQL) is in a dated requirement's window."""
    if window is None:
        return "1"
    return all_of(([f"{given} >= {jd_literal(window.start)}"] if window.start else [])
                  + ([f"{given} < {jd_literal(window.before)}"] if window.before else []))


# ---- the fast path ------------------------------------------------------------------------------------


def radix(limit: int) -> int:
    """R of the fast path's integer: above every chunk position and count it records."""
    r = 64
    while r <= 2 * limit + 3:
        r *= 2
    return r


def prefix_sql(checks: SeriesChecks, judged_at: Callable[[int, tuple], Judged], c: str, last: int) -> str:
    """The **prefix** a of a virtual walk: how many leading doses fail series dose 1 with nothing valid
    and no skip of dose 1 holding for them (the walk's state does not change over them). -1 when they
    run past position ``last`` (decoded chunks), where the fast path stops looking.

    When an interval from the previous dose applies with nothing valid (``checks.anchored``), each
    prefix dose is the next one's anchor as long as it failed for its timing or product; one passed
    over (an inadvertent vaccine, one too old) leaves the anchor further back: -1 too, the exact walk
    decides. So the dose after the prefix counts such an interval from dose a (``retried`` of the
    tree after it)."""
    if checks.limit == 0:
        return c  # no series dose 1: every dose is extraneous
    arms = []
    for i in range(1, last + 1):
        judged = judged_at(i, tuple(range(1, i)))
        if checks.anchored and i >= 2:
            judged = attrs.evolve(judged, retried=("1", judged_at(i - 1, ()).date))
        event = any_of([checks.skips(1, judged), not_(checks.fails(1, judged))])
        if event != "0":
            arms.append(f"WHEN {all_of([f'{c} >= {i}', event])} THEN {i - 1}")
        if event == "1":
            break
        if checks.anchored:
            other = not_(checks.fails_as_anchor(1, judged))
            if other != "0":
                arms.append(f"WHEN {all_of([f'{c} >= {i}', other])} THEN -1")
    if arms and arms[0] == f"WHEN {c} >= 1 THEN 0":
        return "0"
    all_fail = f"(CASE WHEN {c} <= {last} THEN {c} ELSE -1 END)"
    if not arms:  # no dose can ever be valid as dose 1 (say, no product of the group is allowed)
        return all_fail
    return f"(CASE {' '.join(arms)} ELSE {all_fail} END)"


def fast_tree_sql(checks: SeriesChecks, judged_at: Callable[[int, tuple], Judged], c: str, R: int, opened: int,
                  max_skips: int = MAX_SKIP_EVENTS, after_prefix: bool = False) -> str:
    """The fast path of one virtual walk from a fresh state (n = 0, t = 1) as one integer
    ``n + R*j + R^2*complete`` (``opened`` when it leaves the walk open; module docstring).
    ``judged_at(i, F)`` is dose chunk i with the chunks before it valid except F; ``c`` the number of
    doses. ``after_prefix``: the walk starts after a prefix (:func:`prefix_sql`), so ``judged_at(0, ())``,
    the last prefix dose, failed as an anchor: the first dose's anchor when ``checks.anchored``.

    Each segment is one searched CASE whose arms are its doses' events in the walk's order, so the
    first that holds is the walk's next event and its THEN the rest of the walk. A **chain** of skips
    at one dose (step 0 passing over several targets) is one event: the arm tests the first skip and
    its THEN picks where the chain ends (the first target whose skip lines do not hold), continuing in
    a segment that starts at the same dose with that target, its skip lines already known not to hold.
    A chain whose first skip is not certain counts against ``max_skips`` (past it: open); so does a
    second failure before the last dose (open) - at the last dose it settles the walk. Once a skip
    line implying an age holds (``age >= 7 years``), every later dose is at least that old
    (:func:`.skips.age_floor`), which folds later tests."""
    S = checks.limit
    memo: dict = {}  # the same test at the same dose under the same assumption recurs across branches

    def skips(t: int, i: int, F: tuple, floors: tuple) -> str:
        key = ("skip", t, i, F, floors)
        if key not in memo:
            memo[key] = checks.skips(t, attrs.evolve(judged_at(i, F), floors=floors))
        return memo[key]

    def judged(i: int, F: tuple, floors: tuple, retry: str) -> Judged:
        judged = attrs.evolve(judged_at(i, F), floors=floors)
        if retry == "1":  # dose i - 1 failed as an anchor: an interval from the previous dose counts from it
            judged = attrs.evolve(judged, retried=("1", judged_at(i - 1, ()).date))
        return judged

    def fails(t: int, i: int, F: tuple, floors: tuple, retry: str = "0") -> str:
        key = ("fail", t, i, F, floors, retry)
        if key not in memo:
            memo[key] = checks.fails(t, judged(i, F, floors, retry))
        return memo[key]

    def fails_as_anchor(t: int, i: int, floors: tuple, retry: str) -> str:
        return checks.fails_as_anchor(t, judged(i, (), floors, retry))

    def fails_passed_over(t: int, i: int, floors: tuple, retry: str) -> str:
        return checks.fails_passed_over(t, judged(i, (), floors, retry))

    def settle(F: tuple, s: int) -> str:
        imax = S - s + len(F)
        j = R * F[0] if F else 0
        settled = f"(min({c}, {imax}) - {len(F)} + {j} + {R * R} * ({c} >= {imax}))"
        if checks.recurring:  # the doses past the last target are judged as it again: the exact walk's
            return f"(CASE WHEN {c} > {imax} THEN {opened} ELSE {settled} END)"
        return settled

    def chain(i: int, F: tuple, s: int, used: int, floors: tuple, retry: str) -> str:
        """After the skip lines of target t held at dose i: where the chain ends, and the rest."""
        t = i - len(F) + s
        floor = checks.skip_floor(t)
        floors = floors + ((floor,) if floor is not None else ())
        arms = []
        number = t + 1
        while True:
            rest = segment(i, F, s + number - t, used, floors, checked=True, retry=retry)
            stop = not_(skips(number, i, F, floors))
            if stop == "1" or number > S:
                arms.append(f"ELSE {rest}")
                break
            if stop != "0":
                arms.append(f"WHEN {stop} THEN {rest}")
            floor = checks.skip_floor(number)
            floors = floors + ((floor,) if floor is not None else ())
            number += 1
        if len(arms) == 1:
            return arms[0][5:]
        return f"(CASE {' '.join(arms)} END)"

    def segment(p: int, F: tuple, s: int, used: int, floors: tuple, checked: bool = False, retry: str = "0") -> str:
        """``retry``: "1" when dose p - 1 failed as an anchor (then dose p's interval from the
        previous dose counts from it), else "0"."""
        imax = S - s + len(F)
        arms = []
        for i in range(p, imax + 1):
            t = i - len(F) + s
            here = retry if i == p else "0"
            skip = "0" if (checked and i == p) else skips(t, i, F, floors)
            if skip != "0":
                cost = 0 if skip == "1" else 1
                after = str(opened) if used + cost > max_skips else chain(i, F, s, used + cost, floors, here)
                arms.append(f"WHEN {all_of([f'{c} >= {i}', skip])} THEN {after}")
                if skip == "1":
                    break  # certain: later tests are never reached (or c < i and none holds)
            failed = fails(t, i, F, floors, here)
            if failed != "0":
                if F:  # a second failure: settled when it is the last dose
                    after = f"(CASE WHEN {c} > {i} THEN {opened} ELSE {i - 1 - len(F) + R * F[0]} END)"
                    arms.append(f"WHEN {all_of([f'{c} >= {i}', failed])} THEN {after}")
                else:
                    # a failure that keeps dose i an anchor makes it the next one's: its own arm, so
                    # the test is not nested into the rest (SQLite's parser has a fixed stack)
                    # (with nothing valid yet, n = 0 at dose 1, an anchor counts only when anchored)
                    anchor = fails_as_anchor(t, i, floors, here) if i >= 2 or checks.anchored else "0"
                    rest = failed
                    if anchor not in ("0", failed):
                        arms.append(f"WHEN {all_of([f'{c} >= {i}', anchor])} THEN "
                                    f"{segment(i + 1, (i,), s, used, floors, retry='1')}")
                        # past that arm the dose is no anchor: test only the steps passed over, not the
                        # timing tests a second time (they are most of the cost)
                        rest = fails_passed_over(t, i, floors, here)
                    if rest != "0":
                        after = segment(i + 1, (i,), s, used, floors, retry="1" if anchor == failed else "0")
                        arms.append(f"WHEN {all_of([f'{c} >= {i}', rest])} THEN {after}")
                if failed == "1":
                    break
        if not arms:
            return settle(F, s)
        return f"(CASE {' '.join(arms)} ELSE {settle(F, s)} END)"

    return segment(1, (), 0, 0, (), retry="1" if after_prefix and checks.anchored else "0")


def fast_parts(wk: str, R: int) -> tuple[str, str, str, str]:
    """(n, j, complete, a) of a fast-path integer ``n + R*j + R^2*complete + R^3*a + R^4*open``."""
    return f"({wk} % {R})", f"({wk} / {R} % {R})", f"({wk} / {R * R} % 2)", f"({wk} / {R ** 3} % {R})"


def choice_score(series: ast.Series, k: int, n: str, complete: str, first_jd: str, age, e_at_least) -> str:
    """The score of series k of its group (module docstring): ``first_jd`` is the day of the series'
    first valid dose (used when n >= 1), ``age(d)`` the jd of birth + d, and ``e_at_least(d)`` SQL
    0/1 for "the age on E is at least d"."""
    cand = "1"
    if series.start_from is not None or series.start_before is not None:
        at_dose, on_e = [], []
        if series.start_from is not None:
            at_dose.append(f"{first_jd} >= {age(series.start_from)}")
            on_e.append(e_at_least(series.start_from))
        if series.start_before is not None:
            at_dose.append(f"{first_jd} < {age(series.start_before)}")
            on_e.append(not_(e_at_least(series.start_before)))
        cand = f"(CASE WHEN {n} >= 1 THEN {all_of(at_dose)} ELSE {all_of(on_e)} END)"
    return f"({cand} * 1073741824 + {complete} * 536870912 + {n} * 256 + {255 - k})"


# ---- the exact walk -------------------------------------------------------------------------------------


def walk_target_sql(checks: SeriesChecks, judged: Judged, t: str) -> str:
    """Step 0 in the walk: target ``t`` moved past the series doses whose skip lines hold."""
    if not checks.skipping:
        return t
    arms = []
    for start in checks.skipping:
        chain, number = [], start
        while number <= checks.limit and number in checks.skipping:
            chain.append(f"WHEN {not_(checks.skips(number, judged))} THEN {number}")
            number += 1
        arms.append(f"WHEN {start} THEN (CASE {' '.join(chain)} ELSE {number} END)")
    return f"(CASE {t} {' '.join(arms)} ELSE {t} END)"


def walk_reason_sql(checks: SeriesChecks, judged_with: Callable[[int | None], Judged], t: str, extraneous: int) -> str:
    """The reason code of the judged dose against target ``t`` (after step 0). ``judged_with(n)`` is
    the judged dose with n valid doses so far (None: the walk's column; a series without skips has
    n = t - 1, a constant in each arm)."""
    arms = []
    for number in range(1, checks.limit + 1):
        judged = judged_with(None if checks.skipping else number - 1)
        arms.append(f"WHEN {number} THEN {checks.reason(number, judged)}")
    if not arms:
        return str(extraneous)
    past = str(extraneous)
    if checks.recurring:  # past the last dose, the last one again (n is the walk's column there)
        again = checks.reason(checks.limit, judged_with(None))
        past = f"(CASE WHEN {t} <= {max_valid(checks.series)} THEN {again} ELSE {extraneous} END)"
    return f"(CASE {t} {' '.join(arms)} ELSE {past} END)"


def chunk_day(string: str, index_sql: str, width: int) -> str:
    """julianday of chunk ``index`` (1-based, SQL) of ``string`` (decoding a number is cheaper than
    parsing a date: ``julianday(substr(...))`` copies the piece to parse it)."""
    return f"(CAST(substr({string}, ({index_sql}-1)*{width}+1, {DATE_WIDTH}) AS INTEGER)+0.5)"


def day_chunk(date_sql: str) -> str:
    """The chunk field of an ISO date column."""
    return f"CAST(julianday({date_sql}) AS INTEGER)"


def chunk_pid(string: str, index_sql: str, width: int, pid_width: int) -> str:
    return f"CAST(substr({string}, ({index_sql}-1)*{width}+{DATE_WIDTH + 1}, {pid_width}) AS INTEGER)"


def chunk_id(string: str, index_sql: str, width: int, pid_width: int) -> str:
    offset = DATE_WIDTH + 1 + pid_width
    return f"CAST(substr({string}, ({index_sql}-1)*{width}+{offset}, {ID_WIDTH}) AS INTEGER)"


def pad_id(sql: str) -> str:
    return f"substr('000000000000' || {sql}, -{ID_WIDTH})"


def reject_call_sql(call: ast.Call, student_sql: str, dose_sql: str | None, sources, constants) -> str:
    """EXISTS test of a ``reject`` (or condition) call against its relation."""
    conds = []
    for i, arg in enumerate(call.args):
        if isinstance(arg, ast.Student):
            conds.append(f"r.c{i} = {student_sql}")
        elif isinstance(arg, ast.CurrentDose):
            conds.append(f"r.c{i} = {dose_sql}" if dose_sql is not None else "0")
        elif isinstance(arg, ast.Name):
            conds.append(f"r.c{i} = {lit(arg.name)}")
        elif isinstance(arg, ast.DateLit):
            conds.append(f"r.c{i} = {lit(arg.value)}")
        else:
            conds.append(f"r.c{i} = {lit(arg.value)}")
    where = " WHERE " + " AND ".join(conds) if conds else ""
    return f"EXISTS (SELECT 1 FROM {sources(call.name)} AS r{where})"


def forced_students_sql(ruleset: ast.Ruleset, sources, student_filter) -> list[str]:
    """Students a ``reject ... when`` predicate may apply to: they take the exact walk (inserted into
    ``vx_forced``; the fast path opens those a ``reject ... after not valid dose`` may apply to)."""
    out = []
    for vaccine in ruleset.vaccines:
        for reject in vaccine.predicate_rejects:
            call = reject.call
            conds, student, dose = [], None, None
            for i, arg in enumerate(call.args):
                if isinstance(arg, ast.Student):
                    student = f"r.c{i}"
                elif isinstance(arg, ast.CurrentDose):
                    dose = f"r.c{i}"
                elif isinstance(arg, ast.Name):
                    conds.append(f"r.c{i} = {lit(arg.name)}")
                else:
                    conds.append(f"r.c{i} = {lit(arg.value)}")
            where = " AND ".join(conds) or "1"
            source = f"{sources(call.name)} AS r"
            if student is not None:
                out.append(f"INSERT OR IGNORE INTO vx_forced SELECT DISTINCT {student} FROM {source} WHERE {where}")
            elif dose is not None:
                out.append(f"INSERT OR IGNORE INTO vx_forced SELECT DISTINCT d.student_id FROM {source} "
                           f"JOIN doses d ON d.dose_id = {dose} WHERE {where} AND {student_filter('d.student_id')}")
            else:
                out.append(f"INSERT OR IGNORE INTO vx_forced SELECT student_id FROM students "
                           f"WHERE {student_filter('student_id')} AND EXISTS (SELECT 1 FROM {source} WHERE {where})")
    return list(dict.fromkeys(out))  # several series may reject with the same call
