"""``skip when C`` conditions as SQL, read as of the dose being judged (docs/semantics.md, "Skipping a
series dose").

A skip condition is compiled against a :class:`Judged` - the dose being judged and the series'
history before it - which both walks provide, the fast path with constants where it can (the number
of valid doses so far and the chunk positions of the valid doses are fixed along each of its
trajectories, so ``at least 2 valid doses`` folds to 0 or 1) and the exact walk with columns of its
recursive rows:

* ``age OP A`` / ``age in A .. B``: the dose's day against ``birth + A`` (a per-birth-date column,
  like ``min age``);
* ``QTY valid doses [of P] [at age ...]``: ``n``, or a sum over valid doses 1..limit;
* ``QTY doses [of P] [at age ...]``: the group's doses walked before this one, valid or not
  (:meth:`Judged.before`: a sum over the chunks before it in the fast path, a running counter in
  the walk);
* ``dose k at age ...``, ``interval from dose j to dose k OP I``, ``since dose k OP I``: valid doses
  of the series so far (dose k exists when ``k <= n``); "since" measures up to the dose's date.

Tolerance is 0. The other tests (grades, exemptions, the effective date, predicates) cannot appear:
the checker reports them (E226); reaching one here is an error.
"""

from __future__ import annotations

from typing import Callable

import attrs

from .. import ast
from ..errors import VaxError
from .dates import DateExpr, compare_shift, months_days
from .sql import all_of, any_of, member, not_

_SQL_OP = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@attrs.frozen
class Judged:
    """The dose being judged and the series' history before it, as SQL.

    ``n`` (valid doses so far) is an int where the caller knows it (fast path) or SQL (walk).
    ``valid_date(k)``/``valid_pid(k)`` reach valid dose k (k an int, or SQL equal to ``n`` for the
    last one); callers only ask for doses that exist. ``before(test)`` counts the group's doses before
    this one for which ``test(date: DateExpr, pid_sql) -> SQL 0/1`` holds; ``before_all`` counts them
    all."""

    date: DateExpr
    pid: str
    dose_id: str | None
    n: int | str
    valid_date: Callable
    valid_pid: Callable
    before: Callable
    before_all: int | str
    floors: tuple = ()  # (months, days) ages the dose is known to be given at or after (fast path)
    # (SQL 0/1, date) of a dose since the last valid one, not valid but still an anchor: an interval
    # from the previous dose counts from it when the SQL holds (docs/semantics.md, step 2)
    retried: tuple[str, DateExpr] | None = None
    # (SQL 0/1, date) of the latest dose on a day before this one's that the walk found not valid, for
    # ``reject ... after not valid dose`` (the exact walk's; None where no such reject can apply)
    not_valid: tuple[str, DateExpr] | None = None

    def at_least(self, duration) -> bool:
        """Known: the dose was given at ``birth + duration`` or later. ``birth + (m, d)`` never
        decreases as m or d grows (CDSi months keep the day or roll to the 1st of the next month), so
        a known floor (m', d') with m <= m' and d <= d' implies it."""
        months, days = months_days(duration) if not isinstance(duration, tuple) else duration
        return any(months <= m and days <= d for m, d in self.floors)

    def has(self, k: int) -> str:
        """SQL 0/1: valid dose k exists (1 <= k <= n)."""
        if k < 1:
            return "0"
        if isinstance(self.n, int):
            return "1" if k <= self.n else "0"
        return f"({self.n} >= {k})"

    def last(self) -> int | str:
        return self.n


def age_floor(condition) -> tuple[int, int] | None:
    """An age (months, days) the judged dose is given at or after whenever ``condition`` holds, if the
    condition says so (``age >= A``, ``age in A .. B``, an ``and`` with such a part, an ``or`` of such:
    the smaller parts)."""
    c = condition
    if isinstance(c, ast.AgeCompare) and c.op in (">=", ">", "="):
        return months_days(c.duration)
    if isinstance(c, ast.AgeBetween):
        return months_days(c.low)
    if isinstance(c, ast.And):
        found = [f for f in (age_floor(item) for item in c.items) if f is not None]
        return max(found) if found else None
    if isinstance(c, ast.Or):
        found = [age_floor(item) for item in c.items]
        if not found or any(f is None for f in found):
            return None
        return min(f[0] for f in found), min(f[1] for f in found)
    return None


def compare(left: str, op: str, right) -> str:
    if isinstance(left, int) or (isinstance(left, str) and left.lstrip("-").isdigit()):
        value = int(left)
        return "1" if {"<": value < right, "<=": value <= right, ">": value > right, ">=": value >= right,
                       "=": value == right, "!=": value != right}[op] else "0"
    return f"({left} {_SQL_OP[op]} {right})"


class SkipCompiler:
    """Compiles skip conditions of one series against a :class:`Judged`."""

    def __init__(self, catalog, g: int, limit: int, age):
        self.catalog = catalog
        self.g = g
        self.limit = limit  # the most valid doses the series can reach
        self.age = age  # duration -> SQL jd of birth + duration

    def compile(self, condition, judged: Judged) -> str:
        c = condition
        if isinstance(c, ast.And):
            return all_of([self.compile(item, judged) for item in c.items])
        if isinstance(c, ast.Or):
            return any_of([self.compile(item, judged) for item in c.items])
        if isinstance(c, ast.Not):
            return not_(self.compile(c.item, judged))
        if isinstance(c, ast.Always):
            return "1"
        given = judged.date.jd_sql()
        if isinstance(c, ast.AgeCompare):
            if c.op in (">=", "<") and judged.at_least(c.duration):
                return "1" if c.op == ">=" else "0"
            return f"({given} {_SQL_OP[c.op]} {self.age(c.duration)})"
        if isinstance(c, ast.AgeBetween):
            if judged.at_least(c.low):
                return f"({given} < {self.age(c.high)})" if not judged.at_least(c.high) else "0"
            return f"({given} >= {self.age(c.low)} AND {given} < {self.age(c.high)})"
        if isinstance(c, ast.CountDoses):
            return compare(self.count(c, judged), c.op, c.count)
        if isinstance(c, ast.DoseAge):
            k = self.number(c.dose, judged)
            if k is None:
                return "0"
            exists, date = k
            return all_of([exists, self.at_age(date.jd_sql(), c.filter)])
        if isinstance(c, ast.IntervalCompare):
            start, end = self.number(c.start, judged), self.number(c.end, judged)
            if start is None or end is None:
                return "0"
            months, days = months_days(c.duration)
            return all_of([start[0], end[0], compare_shift(end[1], c.op, start[1], months, days)])
        if isinstance(c, ast.SinceDose):
            k = self.number(c.dose, judged)
            if k is None:
                return "0"
            months, days = months_days(c.duration)
            return all_of([k[0], compare_shift(judged.date, c.op, k[1], months, days)])
        raise VaxError(f"a 'skip when' condition cannot use {type(c).__name__} (run vaxdsl check: E226)")

    def number(self, ref: ast.DoseRef, judged: Judged) -> tuple[str, DateExpr] | None:
        """(exists, date) of a valid dose reference, or None when it can never exist."""
        if ref.kind == "last":
            exists = judged.has(1)
            if exists == "0":
                return None
            return exists, judged.valid_date(judged.last())
        k = 1 if ref.kind == "first" else ref.number
        exists = judged.has(k) if k <= self.limit else "0"
        if exists == "0":
            return None
        return exists, judged.valid_date(k)

    def at_age(self, given_jd: str, filter: ast.AgeFilter) -> str:
        if filter.op == "..":
            return f"({given_jd} >= {self.age(filter.low)} AND {given_jd} < {self.age(filter.high)})"
        return f"({given_jd} {_SQL_OP[filter.op]} {self.age(filter.low)})"

    def count(self, c: ast.CountDoses, judged: Judged) -> int | str:
        codes = self.catalog.codes_of(self.g, c.products) if c.products else None

        def test(date: DateExpr, pid: str) -> str:
            parts = []
            if codes is not None:
                parts.append(member(pid, codes))
            if c.age is not None:
                parts.append(self.at_age(date.jd_sql(), c.age))
            return all_of(parts)

        if codes is None and c.age is None:
            return judged.n if c.valid else judged.before_all
        if not c.valid:
            return judged.before(test)
        terms = []
        for k in range(1, self.limit + 1):
            exists = judged.has(k)
            if exists == "0":
                break
            term = all_of([exists, test(judged.valid_date(k), judged.valid_pid(k))])
            if term != "0":
                terms.append(term)
        if not terms:
            return 0
        return "(" + " + ".join(terms) + ")"
