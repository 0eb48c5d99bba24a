"""Boundary fixtures: students at every age and interval threshold a ruleset mentions
(:mod:`vaxdsl.qa.thresholds` finds the thresholds and the days around each).

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
and a ``min interval`` on dose 1 and the window of a ``reject ... within W after not valid dose``
(both count from an earlier dose not valid, which the earliest valid schedule does not have).

>>> from vaxdsl.loader import load_text
>>> ruleset = load_text('''
... product MMR cvx 3 "MMR" counts MMR
... vaccine MMR "MMR" {
...   series { dose 1 { min age 12 months - 4 days } }
...   rule "1 dose Compliant" => compliant when at least 1 valid dose
...   otherwise non_compliant
... }''').ruleset
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
from ..grades import GradeIndex
from ..records import Dose, resolve_product
from .thresholds import Context, Threshold, code_for_school_year, ref_number, school_year, split_grace, thresholds

DEFAULT_AS_OF = date(2025, 9, 2)


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
                anchor = ref_number(interval.start, k) if interval.start is not None else k - 1
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
        inadvertent = dose.inadvertent if dose is not None else frozenset()
        pool = [name for name in dict.fromkeys(pool) if name in self.products and name not in inadvertent]
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
