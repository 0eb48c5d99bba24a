"""Pass 5: rule conditions -> SQL predicates over one student's wide row (docs/semantics.md, "Conditions").

Every condition compiles to an expression that is 0 or 1, never NULL (so ``not`` is plain negation),
over the columns of the student's row:

* ``bk`` (the month key of the birth date), ``ba_<i>`` (julian day of birth + a duration, from the
  per-birth-date table ``vx_birth``), ``grade`` and ``gb`` (a bit per declared grade code);
* per group g: ``c_g`` (doses counting toward it), ``n_g`` (valid doses), ``x_g`` (bits of the
  exemption kinds counting on E);
* ``vj_g_k``/``vp_g_k`` (julian day / group code of valid dose k; ``k = 0`` is the last one):
  placeholders, replaced by the series pass with expressions over the decoded chunks (evaluated only
  when a rule gets that far);
* ``q_<i>``: counts over all of a group's doses with product or age filters, aggregated while the
  doses are read (:class:`Row.aggregate`).

Tests of E against the birth date use the month-key form of :mod:`.dates` (E is a constant, so
``age >= 12 months`` is ``bk <= constant``); tests of a dose date against birth + A use ``ba_<i>``;
tolerance moves thresholds by whole days (``relax``).
"""

from __future__ import annotations

from datetime import date

from .. import ast
from ..grades import GradeIndex
from .dates import DateExpr, compare_shift, months_days, relax
from .series import group_limit
from .sql import all_of, any_of, lit, member, not_

KIND_BITS = {kind: 1 << index for index, kind in enumerate(ast.EXEMPTION_KINDS)}
OTHER_KIND_BIT = 1 << len(ast.EXEMPTION_KINDS)
_SQL_OP = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class Row:
    """What the conditions need from the wide row; filled while conditions compile."""

    def __init__(self, catalog, as_of: date, grades: GradeIndex):
        self.catalog = catalog
        self.as_of = as_of
        self.grades = grades
        self.ages: dict[tuple[int, int], str] = {}  # (months, days) -> column of vx_birth
        self.aggregates: dict[str, str] = {}  # Stage A expression -> column
        self.valid_dates: set[tuple[int, int]] = set()  # (g, k); k = 0: last valid dose
        self.valid_pids: set[tuple[int, int]] = set()
        # counts of valid doses of some products in a group with antigens: (g, products, age test with
        # "{JD}" for the dose's julian day, or None); placeholder vq_<index>
        self.valid_counts: list[tuple[int, tuple[str, ...], str | None]] = []

    def age(self, duration) -> str:
        key = months_days(duration) if not isinstance(duration, tuple) else duration
        if key not in self.ages:
            self.ages[key] = f"ba_{len(self.ages)}"
        return self.ages[key]

    def aggregate(self, expression: str) -> str:
        if expression not in self.aggregates:
            self.aggregates[expression] = f"q_{len(self.aggregates)}"
        return self.aggregates[expression]

    def valid_date(self, g: int, k: int) -> DateExpr:
        """Valid dose k (0: the last) of group g; ``vj_g_k`` is a placeholder the series pass replaces."""
        self.valid_dates.add((g, k))
        return DateExpr(jd=f"vj_{g}_{k}")

    def valid_pid(self, g: int, k: int) -> str:
        self.valid_pids.add((g, k))
        return f"vp_{g}_{k}"

    def valid_count(self, g: int, products, age_template: str | None) -> str:
        """``QTY valid doses of P`` in group g with antigens: its doses' own verdicts (a placeholder)."""
        key = (g, tuple(products), age_template)
        if key not in self.valid_counts:
            self.valid_counts.append(key)
        return f"vq_{self.valid_counts.index(key)}"


class GroupConditions:
    """Compiles the conditions of one vaccine group."""

    def __init__(self, row: Row, vaccine: ast.Vaccine, g: int, call_sql):
        self.row = row
        self.vaccine = vaccine
        self.g = g
        self.call_sql = call_sql  # ast.Call -> SQL 0/1
        self.has_series = vaccine.has_series  # its own or its antigens'
        self.antigens = bool(vaccine.antigens)
        self.limit = group_limit(vaccine)
        self.E = DateExpr.constant(row.as_of)
        self.birth = DateExpr(key="bk")

    # ---- dose references

    def dose(self, ref: ast.DoseRef) -> tuple[str, DateExpr]:
        """(exists, date) of a valid dose reference."""
        n = f"n_{self.g}"
        if ref.kind == "last":
            return f"({n} >= 1)", self.row.valid_date(self.g, 0)
        k = 1 if ref.kind == "first" else ref.number
        if k < 1 or (self.limit is not None and k > self.limit):
            return "0", DateExpr(jd="NULL")
        return f"({n} >= {k})", self.row.valid_date(self.g, k)

    # ---- the tests

    def compile(self, condition, tolerance: int) -> str:
        c = condition
        if isinstance(c, ast.And):
            return all_of([self.compile(item, tolerance) for item in c.items])
        if isinstance(c, ast.Or):
            return any_of([self.compile(item, tolerance) for item in c.items])
        if isinstance(c, ast.Not):
            return not_(self.compile(c.item, tolerance))
        if isinstance(c, ast.Always):
            return "1"
        if isinstance(c, ast.AgeCompare):
            months, days = months_days(c.duration)
            return compare_shift(self.E, c.op, self.birth, months, days)
        if isinstance(c, ast.AgeBetween):
            low, high = months_days(c.low), months_days(c.high)
            return all_of([compare_shift(self.E, ">=", self.birth, *low), compare_shift(self.E, "<", self.birth, *high)])
        if isinstance(c, ast.GradeIn):
            return self.grade_in(c.items)
        if isinstance(c, ast.NoGrade):
            return "(grade IS NULL OR grade = '')"
        if isinstance(c, ast.CountDoses):
            return self.count(c, tolerance)
        if isinstance(c, ast.DoseAge):
            exists, given = self.dose(c.dose)
            if exists == "0":
                return "0"
            return all_of([exists, self.at_age(given.jd_sql(), c.filter, tolerance)])
        if isinstance(c, ast.IntervalCompare):
            start_exists, start = self.dose(c.start)
            end_exists, end = self.dose(c.end)
            if "0" in (start_exists, end_exists):
                return "0"
            months, days = months_days(c.duration)
            return all_of([start_exists, end_exists,
                           compare_shift(end, c.op, start, months, relax(c.op, days, tolerance))])
        if isinstance(c, ast.SinceDose):
            exists, given = self.dose(c.dose)
            if exists == "0":
                return "0"
            months, days = months_days(c.duration)
            return all_of([exists, compare_shift(self.E, c.op, given, months, relax(c.op, days, tolerance))])
        if isinstance(c, ast.Exempt):
            return self.exempt(c.kinds)
        if isinstance(c, ast.SeriesComplete):
            return f"sc_{self.g}" if self.has_series else "0"  # placed by CompiledQuery._placeholders
        if isinstance(c, ast.EffectiveDate):
            return "1" if _compare(self.row.as_of, c.op, c.value) else "0"
        if isinstance(c, ast.Call):
            return self.call_sql(c)
        raise TypeError(f"not a condition: {c!r}")

    def grade_in(self, items) -> str:
        codes = self.row.grades.expand(items)
        bits = self.row.grades.bits
        mask = sum(bits[code] for code in codes if code in bits)
        loose = sorted(code for code in codes if code not in bits)
        tests = []
        if mask:
            tests.append(f"(coalesce(gb, 0) & {mask} <> 0)")
        if loose:
            tests.append(f"coalesce(grade IN ({', '.join(lit(code) for code in loose)}), 0)")
        return any_of(tests)

    def exempt(self, kinds) -> str:
        column = f"coalesce(x_{self.g}, 0)"
        if not kinds:
            return f"({column} <> 0)"
        known = sum(KIND_BITS[k] for k in set(kinds) if k in KIND_BITS)  # a kind listed twice is one bit
        tests = [f"({column} & {known} <> 0)"] if known else []
        unknown = [k for k in kinds if k not in KIND_BITS]
        if unknown:
            tests.append(
                f"EXISTS (SELECT 1 FROM exemptions e WHERE e.student_id = sid AND e.vaccine = {lit(self.vaccine.id)} "
                f"AND e.kind IN ({', '.join(lit(k) for k in unknown)}) "
                f"AND (e.date IS NULL OR e.date <= {lit(self.row.as_of.isoformat())}))")
        return any_of(tests)

    def at_age(self, given_jd: str, filter: ast.AgeFilter, tolerance: int) -> str:
        """A dose date against birth + A, relaxed by the tolerance."""
        if filter.op == "..":
            low = f"{self.row.age(filter.low)}{-tolerance:+d}" if tolerance else self.row.age(filter.low)
            high = f"{self.row.age(filter.high)}{tolerance:+d}" if tolerance else self.row.age(filter.high)
            return f"({given_jd} >= {low} AND {given_jd} < {high})"
        shift = relax(filter.op, 0, tolerance)
        threshold = self.row.age(filter.low)
        if shift:
            threshold = f"{threshold}{shift:+d}"
        return f"({given_jd} {_SQL_OP[filter.op]} {threshold})"

    def count(self, c: ast.CountDoses, tolerance: int) -> str:
        g = self.g
        pids = self.row.catalog.pids_of(c.products) if c.products else None
        if pids is None and c.age is None:
            counted = f"n_{g}" if (c.valid or not self.has_series) else f"c_{g}"
        elif c.valid and self.antigens and pids is not None:
            # the doses themselves, each valid when every antigen walking it finds it valid
            template = self.at_age("{JD}", c.age, tolerance) if c.age is not None else None
            counted = self.row.valid_count(g, c.products, template)
        elif c.valid and self.has_series:
            terms = []
            for k in range(1, (self.limit or 0) + 1):
                parts = [f"n_{g} >= {k}"]
                if pids is not None:
                    parts.append(member(self.row.valid_pid(g, k), self.row.catalog.codes_of(g, c.products)))
                if c.age is not None:
                    parts.append(self.at_age(self.row.valid_date(g, k).jd_sql(), c.age, tolerance))
                terms.append(f"({all_of(parts)})")
            counted = "(" + " + ".join(terms) + ")" if terms else "0"
        else:
            # all doses (a group without a series counts every dose as valid): aggregated while reading
            parts = [f"m.g = {g}"]
            if pids is not None:
                parts.append(f"m.pid IN ({', '.join(map(str, pids))})" if pids else "0")
            if c.age is not None:
                parts.append(self.at_age("julianday(d.date)", c.age, tolerance).replace("ba_", "b.ba_"))
            counted = self.row.aggregate(f"count(*) FILTER (WHERE {' AND '.join(parts)})")
        return f"({counted} {_SQL_OP[c.op]} {c.count})"


def _compare(left, op, right) -> bool:
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right,
            "=": left == right, "!=": left != right}[op]
