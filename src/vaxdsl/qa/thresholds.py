"""The thresholds of a ruleset: every age and interval a series or a rule tests, and the days around
each that boundary fixtures (:mod:`vaxdsl.qa.boundaries`) put a student on.

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

>>> from vaxdsl.loader import load_text
>>> ruleset = load_text('''
... product DTaP cvx 20 "DTaP" counts DTaP
... vaccine DTaP {
...   rule "booster at 4" => compliant
...     tolerance 4 days
...     when dose 2 at age >= 4 years
...   otherwise non_compliant
... }''').ruleset
>>> [(t.source, t.text, t.offsets) for t in thresholds(ruleset)]
[("rule 'booster at 4'", 'dose 2 at age >= 4 years', (-5, -4, 0))]
"""

from __future__ import annotations

import attrs

from .. import ast
from ..dates import duration_text
from ..formatter import condition_text
from ..grades import GradeIndex

LOWER = (">=", ">")
UPPER = ("<", "<=")


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
            anchor = ref_number(interval.start, k) if interval.start is not None else k - 1
            if not 1 <= anchor < k:
                continue
            text = f"dose {k} min interval {duration_text(interval.duration)}"
            if interval.start is not None:
                text += f" from dose {anchor}"
            yield _threshold(vaccine.id, where, text, "interval", ">=", interval.duration, 0, dose=k,
                             anchor=anchor, total=k, series_test=f"min interval from {anchor}", series=series)


def ref_number(ref: ast.DoseRef | None, last: int) -> int:
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
                age, k = leaf.filter, ref_number(leaf.dose, max(context.count or 1, 1))
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
            k, j = ref_number(leaf.end, last), ref_number(leaf.start, last)
            if 1 <= j < k:
                yield _threshold(vaccine, source, text, "interval", leaf.op, leaf.duration, tolerance, context,
                                 dose=k, anchor=j, total=max(k, context.count or 0))
        elif isinstance(leaf, ast.SinceDose):
            k = ref_number(leaf.dose, max(context.count or 1, 1))
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
    found["dose_min_ages"] = [(ref_number(ref, last), age) for ref, age in doses]
    found["intervals"] = [(ref_number(start, last), ref_number(end, last), duration)
                          for start, end, duration in intervals
                          if ref_number(start, last) < ref_number(end, last)]
    return Context(found["grades"], tuple(found["lows"]), tuple(found["highs"]), found["count"],
                   tuple(found["products"]), tuple(found["dose_min_ages"]), tuple(found["intervals"]), found["recent"])
