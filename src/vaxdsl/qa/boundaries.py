"""Boundary fixtures: students at every age and interval threshold a ruleset mentions.

For each vaccine group, every threshold written in the ruleset gets three students:

- series: each dose's ``min age``, ``max age`` and ``min interval`` (the dose given around it);
- the ``applies`` condition and every rule: ``age ...`` and ``age in A .. B`` (the student's age on
  the effective date), ``dose k at age ...``, ``... doses at age ...`` (the dose given around it),
  ``interval from dose j to dose k ...`` and ``since dose k ...`` (the effective date around it).

The three points are offsets in days from the **nominal** value N (the duration as written, less a
trailing grace written into it, such as the ``- 4 days`` of ``min age 12 months - 4 days``):
the last day on one side of the **edge** and the first on the other, and N itself. The edge is N
moved by the written grace and by the rule's tolerance T in the direction that relaxes the test
(docs/semantics.md): ``min age 12 months - 4 days`` gives -5, -4, 0; ``dose 4 at age >= 4 years``
with T = 4 gives -5, -4, 0; ``since last dose < 4 weeks`` with T = 4 gives 0, +3, +4; a threshold
without grace or tolerance (``age < 3 months``, ``max age 5 years``) gives -1, 0, +1.

Each student is made plausible for what the threshold tests: the doses before the tested one on
the earliest valid schedule (each dose at its nominal minimum age and interval), products the
series allows at that age, a grade and an age on the effective date that the rule asks for
(its sibling conditions: ``grade in KG``, ``age in 60 months .. 84 months``, ``exactly 2 valid
doses``, ``dose 1 at age >= 7 years``, ``since last dose < 4 weeks``), else the grade usual for the
age. Cases carry no expectations: they are meant for ``vaxdsl snapshot record``. The output is
deterministic: the same ruleset and effective date give the same files byte for byte.

Not covered: thresholds inside derived predicates (Datalog ``Date >= Birth + ...``), product age
windows (``allow ... from age``/``before age``), ``effective date``/``active`` windows, series
requirements that ended on a date (``given before``: the cases are dated near the effective date),
and a ``min interval`` on dose 1 (it counts from an earlier dose not valid for its timing, which the
earliest valid schedule does not have).

>>> from vaxdsl.loader import load_text
>>> ruleset = load_text('''
... product MMR cvx 3 "MMR" counts MMR
... vaccine MMR "MMR" {
...   series { dose 1 { min age 12 months - 4 days } }
...   rule "1 dose Compliant" => compliant when at least 1 valid dose
...   otherwise non_compliant
... }''').ruleset
>>> [(t.source, t.text, t.offsets) for t in thresholds(ruleset)]
[('series', 'dose 1 min age 12 months - 4 days', (-5, -4, 0))]
>>> files = generate(ruleset, date(2025, 9, 2))
>>> sorted(files)
['mmr.toml']
>>> print(files["mmr.toml"].split("[[case]]")[1].strip())
name = "series: dose 1 min age 12 months - 4 days: dose 1 at 12 months - 5 days [fails]"
note = "dose 1 given 5 days before the nominal 12 months (edge -4 days: grace 4, tolerance 0)"
birth_date = 2024-08-02
doses = [
  { age = "12 months - 5 days", cvx = 3 },  # dose 1: MMR
]
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import attrs

from .. import ast
from ..dates import add, add_months, calendar_difference, duration_text, months_and_days
from ..fixtures import add_age
from ..formatter import condition_text
from ..grades import GradeIndex
from ..records import Dose, resolve_product

DEFAULT_AS_OF = date(2025, 9, 2)
LOWER = (">=", ">")
UPPER = ("<", "<=")


# ---- thresholds --------------------------------------------------------------------------------------------


@attrs.frozen
class Context:
    """What the conditions beside a threshold ask of the student (best effort, for plausibility)."""

    grades: tuple[str, ...] | None = None  # None: any grade; (): no grade
    lows: tuple[ast.Duration, ...] = ()  # age on E at least
    highs: tuple[ast.Duration, ...] = ()  # age on E below
    count: int | None = None  # valid doses wanted
    products: tuple[str, ...] = ()  # of these products
    dose_min_ages: tuple[tuple[int, ast.Duration], ...] = ()  # dose k at age >= A
    intervals: tuple[tuple[int, int, ast.Duration], ...] = ()  # dose k >= dose j + I
    recent: ast.Duration | None = None  # since last dose < I


@attrs.frozen
class Threshold:
    vaccine: str
    source: str  # "series", "applies" or "rule 'NAME'"
    text: str  # the test as written, e.g. "dose 4 at age >= 4 years"
    kind: str  # "dose_age" (a dose's age), "interval" (dose k after dose j), "since" (E after dose k), "age" (age on E)
    op: str
    nominal: ast.Duration
    edge: int  # days from the nominal value where the test flips (see the module doc)
    grace: int  # written into the duration
    tolerance: int
    offsets: tuple[int, ...]
    dose: int = 0  # the dose tested (dose_age, interval, since)
    anchor: int = 0  # interval: the dose counted from
    total: int | None = None  # doses the student gets (None: the schedule up to the age)
    context: Context = Context()
    series_test: str = ""  # for series thresholds: "min age", "max age", "min interval from N"
    series: ast.Series | None = attrs.field(default=None, eq=False)  # whose schedule the students follow

    def holds(self, offset: int) -> bool:
        return _holds(self.op, self.edge, offset)


def _holds(op: str, edge: int, offset: int) -> bool:
    return {">=": offset >= edge, ">": offset > edge, "<": offset < edge, "<=": offset <= edge,
            "=": offset == 0, "!=": offset != 0}[op]


def split_grace(duration: ast.Duration, op: str) -> tuple[ast.Duration, int]:
    """(nominal, grace): trailing day parts that relax the test are the grace written into it.

    >>> d = ast.Duration((ast.DurationPart(1, 12, "months"), ast.DurationPart(-1, 4, "days")))
    >>> nominal, grace = split_grace(d, ">=")
    >>> duration_text(nominal), grace
    ('12 months', -4)
    >>> split_grace(d, "<")[1]
    0
    """
    want = -1 if op in LOWER else 1 if op in UPPER else 0
    parts, grace = list(duration.parts), 0
    while (want and len(parts) > 1 and parts[-1].unit == "days" and parts[-1].sign == want
           and any(part.unit != "days" for part in parts[:-1])):
        grace += want * parts.pop().amount
    return ast.Duration(tuple(parts)), grace


def offsets_for(op: str, edge: int) -> tuple[int, ...]:
    """The three offsets: both sides of the edge, and the nominal value (or one more day past the edge).

    >>> offsets_for(">=", -4), offsets_for("<", 4), offsets_for("<", 0), offsets_for(">", 0), offsets_for("<=", 0)
    ((-5, -4, 0), (0, 3, 4), (-1, 0, 1), (-1, 0, 1), (-1, 0, 1))
    """
    if op in (">=", "<"):
        pair, beyond = (edge - 1, edge), edge + 1
    elif op in (">", "<="):
        pair, beyond = (edge, edge + 1), edge - 1
    else:
        return (-1, 0, 1)
    points = set(pair)
    points.add(beyond if 0 in points else 0)
    return tuple(sorted(points))


def _threshold(vaccine, source, text, kind, op, duration, tolerance, context=Context(), **extra) -> Threshold:
    nominal, grace = split_grace(duration, op)
    relax = -tolerance if op in LOWER else tolerance if op in UPPER else 0
    edge = grace + relax
    return Threshold(vaccine, source, text, kind, op, nominal, edge, abs(grace), tolerance,
                     offsets_for(op, edge), context=context, **extra)


def thresholds(ruleset: ast.Ruleset) -> list[Threshold]:
    """Every threshold of every vaccine group, in ruleset order (series, applies, rules)."""
    found: list[Threshold] = []
    default_tolerance = ruleset.settings.tolerance_days or 0
    grades = GradeIndex.of(ruleset)
    for vaccine in ruleset.vaccines:
        found.extend(_series_thresholds(vaccine))
        applies = (vaccine.applies,) if vaccine.applies is not None else ()
        if vaccine.applies is not None:
            found.extend(_condition_thresholds(vaccine.id, "applies", vaccine.applies, (), default_tolerance, grades))
        for rule in vaccine.rules:
            tolerance = rule.tolerance_days if rule.tolerance_days is not None else default_tolerance
            found.extend(_condition_thresholds(vaccine.id, f"rule '{rule.name}'", rule.condition, applies,
                                               tolerance, grades))
    return found


def _series_thresholds(vaccine: ast.Vaccine):
    for series in vaccine.all_series:
        yield from _thresholds_of_series(vaccine, series)


def _thresholds_of_series(vaccine: ast.Vaccine, series: ast.Series):
    where = f"series '{series.name}'" if series.name else "series"
    for dose in series.doses:
        k = dose.number
        min_age = dose.current_min_age
        if min_age is not None:
            yield _threshold(vaccine.id, where, f"dose {k} min age {duration_text(min_age)}", "dose_age",
                             ">=", min_age, 0, dose=k, total=k, series_test="min age", series=series)
        if dose.max_age is not None:
            yield _threshold(vaccine.id, where, f"dose {k} max age {duration_text(dose.max_age)}", "dose_age",
                             "<", dose.max_age, 0, dose=k, total=k, series_test="max age", series=series)
        for interval in dose.current_intervals:
            anchor = _ref_number(interval.start, k) if interval.start is not None else k - 1
            if not 1 <= anchor < k:
                continue
            text = f"dose {k} min interval {duration_text(interval.duration)}"
            if interval.start is not None:
                text += f" from dose {anchor}"
            yield _threshold(vaccine.id, where, text, "interval", ">=", interval.duration, 0, dose=k,
                             anchor=anchor, total=k, series_test=f"min interval from {anchor}", series=series)


def _ref_number(ref: ast.DoseRef | None, last: int) -> int:
    if ref is None or ref.kind == "last":
        return last
    if ref.kind == "first":
        return 1
    return ref.number


def _leaves(condition, siblings=()):
    """(leaf, the conditions it is and-ed with) for every leaf; an or's alternatives are not siblings."""
    if isinstance(condition, ast.And):
        for index, item in enumerate(condition.items):
            yield from _leaves(item, siblings + condition.items[:index] + condition.items[index + 1:])
    elif isinstance(condition, ast.Or):
        for item in condition.items:
            yield from _leaves(item, siblings)
    elif isinstance(condition, ast.Not):
        yield from _leaves(condition.item, siblings)
    elif condition is not None:
        yield condition, siblings


def _condition_thresholds(vaccine: str, source: str, condition, outer, tolerance: int, grades: GradeIndex):
    for leaf, siblings in _leaves(condition):
        context = _context(siblings + tuple(outer), grades)
        text = condition_text(leaf)
        if isinstance(leaf, ast.AgeCompare):
            yield _threshold(vaccine, source, text, "age", leaf.op, leaf.duration, 0, context, total=context.count)
        elif isinstance(leaf, ast.AgeBetween):
            yield _threshold(vaccine, source, f"{text} (from)", "age", ">=", leaf.low, 0, context, total=context.count)
            yield _threshold(vaccine, source, f"{text} (before)", "age", "<", leaf.high, 0, context, total=context.count)
        elif isinstance(leaf, (ast.DoseAge, ast.CountDoses)):
            if isinstance(leaf, ast.DoseAge):
                age, k = leaf.filter, _ref_number(leaf.dose, max(context.count or 1, 1))
                total = max(k, context.count or 0)
                products = context.products
            else:
                if leaf.age is None:
                    continue
                age, k = leaf.age, leaf.count if leaf.op in (">=", "=") and leaf.count >= 1 else max(context.count or 1, 1)
                total, products = k, leaf.products or context.products
            context = attrs.evolve(context, products=products)
            if age.op == "..":
                yield _threshold(vaccine, source, f"{text} (from)", "dose_age", ">=", age.low, tolerance, context,
                                 dose=k, total=total)
                yield _threshold(vaccine, source, f"{text} (before)", "dose_age", "<", age.high, tolerance, context,
                                 dose=k, total=total)
            else:
                yield _threshold(vaccine, source, text, "dose_age", age.op, age.low, tolerance, context,
                                 dose=k, total=total)
        elif isinstance(leaf, ast.IntervalCompare):
            last = max(context.count or 1, 1)
            k, j = _ref_number(leaf.end, last), _ref_number(leaf.start, last)
            if 1 <= j < k:
                yield _threshold(vaccine, source, text, "interval", leaf.op, leaf.duration, tolerance, context,
                                 dose=k, anchor=j, total=max(k, context.count or 0))
        elif isinstance(leaf, ast.SinceDose):
            k = _ref_number(leaf.dose, max(context.count or 1, 1))
            yield _threshold(vaccine, source, text, "since", leaf.op, leaf.duration, tolerance,
                             attrs.evolve(context, recent=None), dose=k, total=max(k, context.count or 0))


# ---- context ------------------------------------------------------------------------------------------------


def code_for_school_year(grades: GradeIndex, year: int) -> str | None:
    """The declared code of kindergarten (0) or grade ``year`` (1..12), if declared."""
    wanted = ("KG", "K") if year == 0 else (f"{year:02d}", str(year))
    return next((code for code in wanted if code in grades.order), None)


def school_year(code: str) -> int | None:
    """0 for kindergarten, 1..12 for a numbered grade, None for anything else."""
    if code.upper() in ("KG", "K"):
        return 0
    return int(code) if code.isdigit() and 1 <= int(code) <= 12 else None


def _count_wanted(condition: ast.CountDoses) -> int:
    return {">=": condition.count, "=": condition.count, "<=": condition.count,
            "<": max(condition.count - 1, 0), ">": condition.count + 1}.get(condition.op, condition.count)


def _context(conditions, grades: GradeIndex) -> Context:
    found: dict = {"grades": None, "lows": [], "highs": [], "count": None, "products": (), "dose_min_ages": [],
                   "intervals": [], "recent": None}

    def visit(condition):
        if isinstance(condition, ast.And):
            for item in condition.items:
                visit(item)
        elif isinstance(condition, ast.Or):
            visit(condition.items[0])
        elif isinstance(condition, ast.GradeIn):
            if found["grades"] is None:
                found["grades"] = tuple(code for code in grades.codes(condition.items) if code in grades.order)
        elif isinstance(condition, ast.NoGrade):
            if found["grades"] is None:
                found["grades"] = ()
        elif isinstance(condition, ast.AgeCompare):
            if condition.op in LOWER:
                found["lows"].append(condition.duration)
            elif condition.op in UPPER:
                found["highs"].append(condition.duration)
        elif isinstance(condition, ast.AgeBetween):
            found["lows"].append(condition.low)
            found["highs"].append(condition.high)
        elif isinstance(condition, ast.CountDoses):
            if condition.age is None and found["count"] is None:
                found["count"] = _count_wanted(condition)
                found["products"] = condition.products
        elif isinstance(condition, ast.DoseAge):
            if condition.filter.op in (">=", ">", ".."):
                doses.append((condition.dose, condition.filter.low))
        elif isinstance(condition, ast.IntervalCompare):
            if condition.op in LOWER:
                intervals.append((condition.start, condition.end, condition.duration))
        elif isinstance(condition, ast.SinceDose):
            if condition.op in UPPER and condition.dose.kind == "last" and found["recent"] is None:
                found["recent"] = condition.duration

    doses, intervals = [], []
    for condition in conditions:
        visit(condition)
    # "last dose" is the last of the doses the conditions ask for (known once every count is seen).
    last = max(found["count"] or 1, 1)
    found["dose_min_ages"] = [(_ref_number(ref, last), age) for ref, age in doses]
    found["intervals"] = [(_ref_number(start, last), _ref_number(end, last), duration)
                          for start, end, duration in intervals
                          if _ref_number(start, last) < _ref_number(end, last)]
    return Context(found["grades"], tuple(found["lows"]), tuple(found["highs"]), found["count"],
                   tuple(found["products"]), tuple(found["dose_min_ages"]), tuple(found["intervals"]), found["recent"])


# ---- students -------------------------------------------------------------------------------------------------


@attrs.frozen
class DoseLine:
    date: date
    number: int
    product: ast.Product
    age: str  # as written in the fixture (``age = "..."``)


@attrs.frozen
class Student:
    birth: date
    grade: str | None
    doses: tuple[DoseLine, ...]


def _shift(duration: ast.Duration, offset: int) -> str:
    text = duration_text(duration)
    if offset:
        days = abs(offset)
        text += f" {'+' if offset > 0 else '-'} {days} day{'s' if days != 1 else ''}"
    return text


def age_text(birth: date, on: date) -> str:
    """``"1 year + 2 months + 3 days"``: an age the fixture reader turns back into exactly ``on``."""
    years, months, days = calendar_difference(birth, on)
    parts = [f"{amount} {unit}{'s' if amount != 1 else ''}"
             for amount, unit in ((years, "year"), (months, "month"), (days, "day")) if amount]
    return " + ".join(parts) or "0 days"


def _months_up(duration: ast.Duration) -> int:
    months, days = months_and_days(duration)
    return months + (-(-days // 28) if days > 0 else 0)


def _solve(function, target: date, estimate: date) -> date:
    """The date d nearest ``estimate`` with ``function(d) == target`` (else the nearest miss)."""
    best = None
    for distance in range(0, 70):
        for candidate in ((estimate - timedelta(days=distance), estimate + timedelta(days=distance))
                          if distance else (estimate,)):
            miss = abs((function(candidate) - target).days)
            if miss == 0:
                return candidate
            if best is None or miss < best[0]:
                best = (miss, candidate)
    return best[1]


class _Builder:
    """Makes the students of the thresholds of one vaccine group."""

    def __init__(self, ruleset: ast.Ruleset, vaccine: ast.Vaccine, as_of: date, series: ast.Series | None = None):
        self.ruleset, self.vaccine, self.as_of = ruleset, vaccine, as_of
        # the schedule follows the series the threshold belongs to, else the default (first) one
        self.series = series or (vaccine.all_series[0] if vaccine.has_series else None)
        self.products = {}
        for product in ruleset.products:
            self.products.setdefault(product.id, product)
        self.grades = GradeIndex.of(ruleset)

    # -- the schedule --

    def series_dose(self, k: int) -> ast.SeriesDose | None:
        if self.series is not None and 1 <= k <= len(self.series.doses):
            return self.series.doses[k - 1]
        return None

    def _duration(self, duration: ast.Duration, written: bool) -> ast.Duration:
        return duration if written else split_grace(duration, ">=")[0]

    def earliest(self, k: int, dates: list[date], birth: date, context: Context, written=False, skip="") -> date:
        """The earliest date dose k is valid after ``dates`` (doses 1..k-1), nominally (or as written)."""
        lower = birth
        dose = self.series_dose(k)
        if dose is not None:
            if dose.current_min_age is not None and skip != "min age":
                lower = max(lower, add(birth, self._duration(dose.current_min_age, written)))
            for interval in dose.current_intervals:
                anchor = _ref_number(interval.start, k) if interval.start is not None else k - 1
                if 1 <= anchor <= len(dates) and skip != f"min interval from {anchor}":
                    lower = max(lower, add(dates[anchor - 1], self._duration(interval.duration, written)))
        elif dates:
            lower = max(lower, dates[-1] + timedelta(days=28))
        for number, age in context.dose_min_ages:
            if number == k:
                lower = max(lower, add(birth, age))
        for start, end, duration in context.intervals:
            if end == k and 1 <= start <= len(dates):
                lower = max(lower, add(dates[start - 1], duration))
        if dates:
            lower = max(lower, dates[-1])
        return lower

    def schedule(self, birth: date, total: int, context: Context, written=False) -> list[date]:
        dates: list[date] = []
        for k in range(1, total + 1):
            dates.append(self.earliest(k, dates, birth, context, written))
        return dates

    def with_recent(self, dates: list[date], birth: date, context: Context, keep: int) -> tuple[list[date], bool]:
        """Move the last dose (if not one of the first ``keep``) to half the ``recent`` span before E."""
        if context.recent is None or not dates or len(dates) <= keep:
            return dates, True
        span = (self.as_of - add(self.as_of, context.recent, -1)).days
        target = self.as_of - timedelta(days=max(span // 2, 1))
        earliest = self.earliest(len(dates), dates[:-1], birth, context)
        if earliest > target:
            return dates, False
        return dates[:-1] + [target], True

    # -- the students of one threshold --

    def students(self, threshold: Threshold) -> list[tuple[int, Student | None]]:
        """(offset, student) for each offset. Where the effective date is not what is tested, the
        students share one birth date and differ only in the tested dose (or the effective date)."""
        if threshold.kind == "age":
            return [(offset, self._age_student(threshold, offset)) for offset in threshold.offsets]
        if threshold.kind == "since":
            dates_for, margin = self._since_dates(threshold), 0
        else:
            dates_for, margin = self._dose_dates(threshold), None

        def every_offset(birth: date):
            laid = [dates_for(birth, offset) for offset in threshold.offsets]
            return [d for dates, _ in laid for d in dates], all(placed for _, placed in laid)

        birth = self._choose_birth(every_offset, threshold.context, margin_days=margin)
        if birth is None:
            return [(offset, None) for offset in threshold.offsets]
        found = []
        for offset in threshold.offsets:
            dates, _ = dates_for(birth, offset)
            special = {threshold.dose: _shift(threshold.nominal, offset)} if threshold.kind == "dose_age" else {}
            found.append((offset, self._make(birth, dates, threshold.context, special)))
        return found

    def _dose_dates(self, threshold: Threshold):
        k, context = threshold.dose, threshold.context
        total = max(threshold.total or k, k)

        def dates_for(birth: date, offset: int):
            if threshold.kind == "dose_age":
                # The doses before it on the nominal schedule, or, when that leaves too little time before
                # the tested dose at its smallest offset, at the minimums as written: the same for every offset.
                target = add(birth, threshold.nominal) + timedelta(days=offset)
                lowest = add(birth, threshold.nominal) + timedelta(days=min(threshold.offsets))
                prior = self.schedule(birth, k - 1, context)
                if self.earliest(k, prior, birth, context, skip=threshold.series_test) > lowest:
                    prior = self.schedule(birth, k - 1, context, written=True)
            else:
                prior, target = self._interval_layout(threshold, offset, birth)
            dates = prior + [target]
            for number in range(k + 1, total + 1):
                dates.append(self.earliest(number, dates, birth, context))
            return self.with_recent(dates, birth, context, keep=k)

        return dates_for

    def _interval_layout(self, threshold: Threshold, offset: int, birth: date) -> tuple[list[date], date]:
        """Doses 1..k-1 and dose k at ``anchor + N + offset``, the anchor pushed later until nothing but
        this interval decides dose k at the smallest offset."""
        k, j, context = threshold.dose, threshold.anchor, threshold.context
        smallest = min(threshold.offsets)
        push = 0
        for _ in range(24):
            prior = self.schedule(birth, j, context)
            prior[-1] += timedelta(days=push)
            for number in range(j + 1, k):
                prior.append(self.earliest(number, prior, birth, context))
            anchor = prior[j - 1]
            lowest = add(anchor, threshold.nominal) + timedelta(days=smallest)
            needed = self.earliest(k, prior, birth, context, skip=threshold.series_test)
            if needed <= lowest:
                break
            push += (needed - lowest).days
        return prior, add(anchor, threshold.nominal) + timedelta(days=offset)

    def _since_dates(self, threshold: Threshold):
        k, context = threshold.dose, threshold.context
        total = max(threshold.total or k, k)

        def dates_for(birth: date, offset: int):
            estimate = add(self.as_of - timedelta(days=offset), threshold.nominal, -1)
            given = _solve(lambda d: add(d, threshold.nominal) + timedelta(days=offset), self.as_of, estimate)
            prior = self.schedule(birth, k - 1, context)
            if self.earliest(k, prior, birth, context) > given or given < birth:
                return prior + [given], False
            dates = prior + [given]
            for number in range(k + 1, total + 1):
                dates.append(self.earliest(number, dates, birth, context))
            return dates, True

        return dates_for

    def _age_student(self, threshold: Threshold, offset: int) -> Student | None:
        context = threshold.context
        estimate = add(self.as_of - timedelta(days=offset), threshold.nominal, -1)
        birth = _solve(lambda b: add(b, threshold.nominal) + timedelta(days=offset), self.as_of, estimate)
        if birth > self.as_of:
            return None
        if threshold.total is not None:
            dates = self.schedule(birth, threshold.total, context)
        else:
            count = len(self.series.doses) if self.series is not None else 0
            dates = self.schedule(birth, count, context)
        dates, _ = self.with_recent(dates, birth, context, keep=0)
        dates = [d for d in dates if d <= self.as_of]
        return self._make(birth, dates, context, {})

    def _choose_birth(self, dates_for, context: Context, margin_days: int | None = None) -> date | None:
        """The birth date, as a whole number of months before E: old enough for the doses (the last one
        a month before E, or on E or before for a recent dose) and for the context's ages and grade."""
        start = max([_months_up(low) for low in context.lows] + [self._grade_months(context), 0])
        fallback = None
        for months in range(start, start + 12 * 120):
            birth = add_months(self.as_of, -months)
            dates, placed = dates_for(birth)
            if not placed or not dates:
                continue
            margin = (self.as_of - timedelta(days=margin_days) if margin_days is not None
                      else add_months(self.as_of, -1) if context.recent is None else self.as_of)
            if max(dates) > margin or min(dates) < birth:
                continue
            if any(add(birth, low) > self.as_of for low in context.lows):
                continue
            if all(self.as_of < add(birth, high) for high in context.highs):
                return self._closer(birth, dates_for, context) if margin_days is None else birth
            if fallback is None:
                fallback = birth
        return fallback

    def _closer(self, birth: date, dates_for, context: Context) -> date:
        """With a ``since last dose < I`` beside the threshold, a birth up to a month later, day by day, so
        that the last dose falls inside I before E (half of it), and nothing else changes for the worse."""
        if context.recent is None:
            return birth
        span = (self.as_of - add(self.as_of, context.recent, -1)).days
        desired = self.as_of - timedelta(days=max(span // 2, 1))
        gap = (desired - max(dates_for(birth)[0])).days
        for shift in range(min(gap, 62), 0, -1):
            later = birth + timedelta(days=shift)
            dates, placed = dates_for(later)
            if (placed and dates and max(dates) <= desired and min(dates) >= later
                    and all(add(later, low) <= self.as_of for low in context.lows)
                    and all(self.as_of < add(later, high) for high in context.highs)):
                return later
        return birth

    def _grade_months(self, context: Context) -> int:
        if context.grades:
            year = school_year(context.grades[0])
            if year is not None:
                return (5 + year) * 12 + 3
        return 0

    # -- grade, products, rows --

    def grade(self, birth: date, context: Context) -> str | None:
        years = calendar_difference(birth, self.as_of)[0]
        if context.grades == ():
            return None
        if context.grades is None:
            if 5 <= years <= 17:
                return code_for_school_year(self.grades, years - 5)
            return None
        candidates = list(context.grades)
        schooled = [(school_year(code), code) for code in candidates if school_year(code) is not None]
        if years < 5:
            others = [code for code in candidates if school_year(code) is None]
            if others:
                return others[0]
        if not schooled:
            return candidates[0]
        ideal = min(max(years - 5, 0), 12)
        return min(schooled, key=lambda pair: abs(pair[0] - ideal))[1]

    def product(self, k: int, given: date, birth: date, context: Context) -> ast.Product | None:
        dose = self.series_dose(k)
        if dose is not None and dose.allows:
            in_window = [name for allow in dose.allows for name in allow.products
                         if (allow.from_age is None or given >= add(birth, allow.from_age))
                         and (allow.before_age is None or given < add(birth, allow.before_age))]
            pool = in_window or [name for allow in dose.allows for name in allow.products]
        else:
            pool = [p.id for p in self.ruleset.products if self.vaccine.id in p.vaccines]
            # with antigens, a product every antigen walks (MMR rather than measles alone) tests them all
            pool = [name for name in pool if all(a.walks(name) for a in self.vaccine.walked_antigens)] or pool
        pool = [name for name in dict.fromkeys(pool) if name in self.products]
        preferred = [name for name in pool if name in context.products]
        pool = preferred or pool
        if not pool:
            return None
        group = self.vaccine.id.casefold()

        def rank(item):
            index, name = item
            product = self.products[name]
            return (len(product.vaccines) != 1, product.name.casefold() != group and product.id.casefold() != group,
                    group not in product.id.casefold() and group not in product.name.casefold(), index)

        return self.products[min(enumerate(pool), key=rank)[1]]

    def _make(self, birth: date, dates: list[date], context: Context, special: dict) -> Student | None:
        rows = []
        for number, given in enumerate(dates, start=1):
            product = self.product(number, given, birth, context)
            if product is None:
                return None
            text = special.get(number)
            if text is None or add_age(birth, text) != given:
                text = age_text(birth, given)
            rows.append(DoseLine(given, number, product, text))
        return Student(birth, self.grade(birth, context), tuple(rows))


# ---- fixture files ------------------------------------------------------------------------------------------------


def _point(threshold: Threshold, offset: int) -> str:
    shifted = _shift(threshold.nominal, offset)
    if threshold.kind == "dose_age":
        return f"dose {threshold.dose} at {shifted}"
    if threshold.kind == "interval":
        return f"dose {threshold.dose} {shifted} after dose {threshold.anchor}"
    if threshold.kind == "since":
        return f"effective date {shifted} after dose {threshold.dose}"
    return f"age {shifted} on the effective date"


def _note(threshold: Threshold, offset: int) -> str:
    if offset:
        where = f"{abs(offset)} day{'s' if abs(offset) != 1 else ''} {'before' if offset < 0 else 'after'}"
    else:
        where = "at"
    what = {"dose_age": f"dose {threshold.dose} given", "interval": f"dose {threshold.dose} given",
            "since": "effective date", "age": "effective date"}[threshold.kind]
    base = {"dose_age": f"the nominal {duration_text(threshold.nominal)}",
            "interval": f"dose {threshold.anchor} + {duration_text(threshold.nominal)}",
            "since": f"dose {threshold.dose} + {duration_text(threshold.nominal)}",
            "age": f"birth + {duration_text(threshold.nominal)}"}[threshold.kind]
    return (f"{what} {where} {base} (edge {threshold.edge:+d} days: grace {threshold.grace}, "
            f"tolerance {threshold.tolerance})").replace("edge +0 days", "edge 0 days")


def _dose_row(row: DoseLine, products: list[ast.Product]) -> str:
    product = row.product
    fields = [f"age = {json.dumps(row.age)}"]
    cvx = ast.cvx_key(product.cvx)
    probe = Dose(1, "s", row.date, cvx, product.mvx)
    if resolve_product(probe, products) is product:
        fields.append(f"cvx = {cvx}")
        if product.mvx:
            fields.append(f"mvx = {json.dumps(product.mvx)}")
    else:
        fields.append(f"product = {json.dumps(product.id)}")
    return f"  {{ {', '.join(fields)} }},  # dose {row.number}: {product.id}"


def file_name(vaccine: ast.Vaccine, taken: set[str]) -> str:
    base = "".join(char if char.isalnum() or char in "-_" else "_" for char in vaccine.id.lower()) or "group"
    name, number = f"{base}.toml", 2
    while name in taken:
        name, number = f"{base}-{number}.toml", number + 1
    taken.add(name)
    return name


def generate(ruleset: ast.Ruleset, as_of: date = DEFAULT_AS_OF) -> dict[str, str]:
    """{file name: TOML text}: one fixture file per vaccine group that has thresholds."""
    by_group: dict[str, list[Threshold]] = {}
    for threshold in thresholds(ruleset):
        by_group.setdefault(threshold.vaccine, []).append(threshold)
    header = ruleset.header
    title = f"{header.name} {header.version}".strip() if header else (ruleset.file or "the ruleset")
    files, taken = {}, set()
    for vaccine in ruleset.vaccines:
        found = by_group.get(vaccine.id)
        if not found:
            continue
        builders = {None: _Builder(ruleset, vaccine, as_of)}
        for series in vaccine.all_series:
            builders[id(series)] = _Builder(ruleset, vaccine, as_of, series)
        cases, names = [], set()
        for threshold in found:
            builder = builders[id(threshold.series) if threshold.series is not None else None]
            for offset, student in builder.students(threshold):
                if student is None:
                    continue
                name = (f"{threshold.source}: {threshold.text}: {_point(threshold, offset)} "
                        f"[{'holds' if threshold.holds(offset) else 'fails'}]")
                unique, number = name, 2
                while unique in names:
                    unique, number = f"{name} ({number})", number + 1
                names.add(unique)
                cases.append(_case_text(unique, _note(threshold, offset), student, ruleset.products))
        if not cases:
            continue
        count = len({(t.source, t.text) for t in found})
        head = [
            f"# Boundary cases for {vaccine.id} ({vaccine.name or vaccine.id}) of {title}, written by",
            "# `vaxdsl fixtures boundaries`: three students at each of the group's "
            f"{count} age and interval threshold(s),",
            "# just outside and just inside the edge and at the nominal value (docs/snapshots.md).",
            "# No expectations: record the outcomes with `vaxdsl snapshot record`, never edit by hand.",
            "",
            "[defaults]",
            f"as_of = {as_of.isoformat()}",
        ]
        files[file_name(vaccine, taken)] = "\n".join(head) + "\n" + "".join(cases)
    return files


def _case_text(name: str, note: str, student: Student, products) -> str:
    lines = ["", "[[case]]", f"name = {json.dumps(name, ensure_ascii=False)}", f"note = {json.dumps(note)}",
             f"birth_date = {student.birth.isoformat()}"]
    if student.grade is not None:
        lines.append(f"grade = {json.dumps(student.grade)}")
    if student.doses:
        lines.append("doses = [")
        lines.extend(_dose_row(row, products) for row in student.doses)
        lines.append("]")
    return "\n".join(lines) + "\n"
