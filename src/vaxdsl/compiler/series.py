"""Pass 3: dose validity, the series walk of docs/semantics.md ("Dose validity: the series").

Each student's doses of a group arrive as one string of fixed-width **chunks**, in ``(date, id)``
order: the day number (``julianday - 0.5``, seven digits for any year 1-9999) + the product's group code in :attr:`ProductCatalog.width` digits (+ the dose id in 12 digits
where the walk needs it). Chunk i of string s is ``substr(s, (i-1)*W + 1, W)``.

**Fast path** (every student, no recursion). Judge dose i against series dose i, taking the
earlier doses as the valid doses 1..i-1 (anchors are chunks of the same string). Let j be the first
dose that fails. Then the walk's answer is known without walking:

*Claim.* Doses 1..j-1 are valid with numbers 1..j-1, and dose j fails with the reason found (if
there is no j, doses 1..min(c, S) are valid and the rest are ``extraneous``).
*Proof* (induction on i < j). Before dose 1 the walk has n = 0 valid doses, as assumed. If before
dose i the walk has exactly doses 1..i-1 valid, then n = i - 1, the target is series dose i, and
its anchors are valid doses 1..i-1 = chunks 1..i-1: the walk runs exactly the fast path's test, so
dose i is valid (i < j) and becomes valid dose i. At i = j the same test runs and fails with the same
reason. Past S, series dose n + 1 does not exist: extraneous, whatever else holds. QED.

So a (student, group) pair is settled by the fast path unless a dose fails and later doses follow
(j < c): only those pairs, and every pair of a student a ``reject`` predicate may apply to (the
fast path does not look at rejects), go to the **exact walk**: a ``WITH RECURSIVE`` over the chunk
positions that keeps n and the string of valid chunks so far, alternating a judging row (phase 0:
the reason for chunk i against target n + 1) and an applying row (phase 1: count it, append it), so
the reason expression is written once. The valid doses of a pair are then the string ``vs`` of their
chunks, the input of the rule conditions either way (for the fast path, ``vs`` is ``s`` itself: its
first n chunks are the valid ones).
"""

from __future__ import annotations

import attrs

from .. import ast
from .dates import DateExpr, compare_shift, months_days
from .sql import all_of, any_of, lit, member, not_

DATE_WIDTH = 7  # a day number: CAST(julianday(date) AS INTEGER)
ID_WIDTH = 12


def targets(series: ast.Series) -> dict[int, ast.SeriesDose]:
    found: dict[int, ast.SeriesDose] = {}
    for dose in series.doses:
        found.setdefault(dose.number, dose)
    return found


def max_valid(series: ast.Series) -> int:
    """The most valid doses a walk can reach: series doses 1, 2, ... while they exist."""
    by_number = targets(series)
    count = 0
    while count + 1 in by_number:
        count += 1
    return count


@attrs.frozen
class DoseRefs:
    """How a check reaches the dose being judged and the valid doses before it."""

    date: DateExpr
    pid: str
    dose_id: str | None  # for reject predicates (walk only)
    anchor: object  # callable: valid dose number -> DateExpr


class Reasons:
    """Reason codes: 0 is valid; the rest index :attr:`names`."""

    def __init__(self, ruleset: ast.Ruleset):
        names = list(ast.INVALID_REASONS)
        for vaccine in ruleset.vaccines:
            for reject in vaccine.series.rejects if vaccine.series else ():
                if reject.reason not in names:
                    names.append(reject.reason)
        self.names = tuple(names)

    def code(self, name: str) -> int:
        return self.names.index(name) + 1

    def name(self, code: int | None) -> str | None:
        return None if not code else self.names[code - 1]


class SeriesChecks:
    """SQL for the tests of steps 1-6, for one group."""

    def __init__(self, vaccine: ast.Vaccine, g: int, catalog, reasons: Reasons, age, reject_sql):
        self.vaccine = vaccine
        self.g = g
        self.series = vaccine.series
        self.catalog = catalog
        self.reasons = reasons
        self.age = age  # duration -> SQL of the jd of birth + duration
        self.reject_sql = reject_sql  # (call, student sql, dose id sql) -> SQL 0/1
        self.targets = targets(self.series)
        self.limit = max_valid(self.series)

    def failures(self, number: int, dose: DoseRefs, with_rejects: bool) -> list[tuple[str, str]]:
        """(reason, SQL condition) in the walk's order for a dose judged as series dose ``number``."""
        target = self.targets.get(number)
        if target is None:
            return [("extraneous", "1")]
        out = []
        given = dose.date.jd_sql()
        if target.min_age is not None:
            out.append(("too_young", f"({given} < {self.age(target.min_age)})"))
        if target.max_age is not None:
            out.append(("too_old", f"({given} >= {self.age(target.max_age)})"))
        soon = []
        for interval in target.intervals:
            anchor_number = self.anchor_number(interval, number - 1)
            if anchor_number is None:
                continue
            months, days = months_days(interval.duration)
            soon.append(not_(compare_shift(dose.date, ">=", dose.anchor(anchor_number), months, days)))
        if soon:
            out.append(("too_soon", any_of(soon)))
        if with_rejects:
            for reject in self.series.rejects:
                out.append((reject.reason, self.reject_sql(reject.call, dose.dose_id)))
        if target.allows:
            windows = []
            for allow in target.allows:
                codes = self.catalog.codes_of(self.g, allow.products)
                if not codes:
                    continue
                parts = [member(dose.pid, codes)]
                if allow.from_age is not None:
                    parts.append(f"{given} >= {self.age(allow.from_age)}")
                if allow.before_age is not None:
                    parts.append(f"{given} < {self.age(allow.before_age)}")
                windows.append(all_of(parts))
            out.append(("not_allowable", not_(any_of(windows))))
        return out

    @staticmethod
    def anchor_number(interval: ast.MinInterval, valid_so_far: int) -> int | None:
        start = interval.start
        if start is None or start.kind == "last":
            number = valid_so_far
        elif start.kind == "first":
            number = 1
        else:
            number = start.number
        return number if 1 <= number <= valid_so_far else None

    def fails(self, number: int, dose: DoseRefs) -> str:
        return any_of([cond for _, cond in self.failures(number, dose, with_rejects=False)])

    def reason(self, number: int, dose: DoseRefs) -> str:
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
    return f"CAST(substr({string}, ({index_sql}-1)*{width}+{DATE_WIDTH + 1 + pid_width}, {ID_WIDTH}) AS INTEGER)"


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
    """Students a ``reject`` may apply to: they take the exact walk (inserted into ``vx_forced``)."""
    out = []
    for vaccine in ruleset.vaccines:
        for reject in vaccine.series.rejects if vaccine.series else ():
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
    return out
