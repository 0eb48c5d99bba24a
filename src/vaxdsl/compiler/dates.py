"""CDSi calendar arithmetic as SQL expressions (docs/semantics.md, "Date arithmetic").

Three representations of a date are used in the compiled SQL:

* **text**: ISO ``YYYY-MM-DD``, as the fact database stores it (and as dose chunks carry it);
* **jd**: SQLite's ``julianday(text)``, a REAL ending in ``.5`` (``2000-01-01`` is ``2451544.5``);
  day arithmetic is plain addition, and because a jd is never a whole number it never equals an
  integer, which keeps Datalog's "values of different types are never equal" for free;
* **K**: the month key ``(year * 12 + month - 1) * 100 + day``, an integer whose order is the date order.

Adding months is where SQLite's own ``date(d, '+1 month')`` goes wrong: it overflows Jan 31 + 1 month
to Mar 3, where CDSi rolls forward to Mar 1. Two exact forms are used instead.

**Exact jd form** (:func:`sql_add`): with ``F`` the first of the target month,
``min(F + (day - 1), first of the month after F) + days``. Starting from the first of the month,
SQLite's month modifiers never overflow, so both terms are exact.

**Comparison form** (:func:`compare_shift`), much cheaper when only a comparison is needed:

    u >= a + M months            <=>   K(u) >= K(a) + 100 * M                          (1)

*Proof.* ``K(a) + 100 M`` is the key of the "virtual" date V = (year and month of a moved M months,
day of a): adding M to ``year * 12 + month - 1`` is adding ``100 M`` to K. If V exists, a + M months
is V and K order is date order. If V does not exist (day d > days in that month), CDSi gives X = the
1st of the next month. For any real date u: if u is in V's month or before, K(u) <= key of that
month's last day < K(V) and u < X, so both sides are false; if u is in a later month, K(u) >=
(month index + 1) * 100 + 1 > K(V) (a day is below 100) and u >= X, so both sides are true. Only the
day part of V is virtual, so the equivalence holds whichever month V falls in. QED.

Days added after the months move to the other side (dates are integers of days): ``u >= (a + M) + D``
iff ``u - D >= a + M``; strict and negated comparisons reduce to (1) through ``u > x <=> u - 1 >= x``
and ``u < x <=> not (u >= x)``. So every test ``u OP a + duration`` costs one key of a shifted date.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta

import attrs

from .. import dates as cdsi
from ..errors import VaxError

JD_OFFSET = 1721424.5  # julianday(d) = d.toordinal() + JD_OFFSET


def jd(day: date) -> float:
    return day.toordinal() + JD_OFFSET


def jd_literal(day: date) -> str:
    return repr(jd(day))


def month_key(day: date) -> int:
    return (day.year * 12 + day.month - 1) * 100 + day.day


def months_days(duration) -> tuple[int, int]:
    """(months, days) of an :class:`ast.Duration` (years as 12 months, weeks as 7 days)."""
    return cdsi.months_and_days(duration)


def sql_key_of_text(text_sql: str) -> str:
    """K of an ISO date text expression."""
    return f"((substr({text_sql},1,4)*12+substr({text_sql},6,2)-1)*100+substr({text_sql},9,2))"


def key_of_number(number_sql: str) -> str:
    """K from ``YYYYMMDD`` as an integer (``strftime('%Y%m%d', ...)``): one call instead of three."""
    n = number_sql
    return f"(({n}/10000*12+{n}/100%100-1)*100+{n}%100)"


def sql_text_of_jd(jd_sql: str) -> str:
    return f"date({jd_sql})"


def sql_add(jd_sql: str, months: int, days: int) -> str:
    """jd of ``date + months + days`` by the CDSi rule, exactly (see the module docstring)."""
    out = jd_sql
    if months:
        first = f"julianday({jd_sql},'start of month','{months:+d} months')"
        following = f"julianday({jd_sql},'start of month','{months + 1:+d} months')"
        out = f"min({first}+(CAST(strftime('%d',{jd_sql}) AS INTEGER)-1),{following})"
    if days:
        out = f"({out}{days:+d})"
    return out


@attrs.frozen
class DateExpr:
    """A date in SQL, by whatever representations are at hand (at least one), or a constant."""

    text: str | None = None  # ISO text
    jd: str | None = None  # julianday
    key: str | None = None  # K
    const: date | None = None
    keyer: object = attrs.field(default=None, eq=False)  # shift -> SQL of K(date - shift), when precomputed

    @classmethod
    def constant(cls, day: date) -> "DateExpr":
        return cls(const=day)

    @property
    def has_jd(self) -> bool:
        """Whether the julian day is at hand (a key alone, such as the birth date's ``bk``, is not)."""
        return self.const is not None or self.jd is not None or self.text is not None

    def jd_sql(self) -> str:
        if self.const is not None:
            return jd_literal(self.const)
        if self.jd is not None:
            return self.jd
        return f"julianday({self.text})"

    def key_sql(self, shift_days: int = 0) -> str:
        """K of this date minus ``shift_days`` days."""
        if self.const is not None:
            return str(month_key(self.const - timedelta(days=shift_days)))
        if self.keyer is not None:
            return self.keyer(shift_days)
        if shift_days == 0:
            if self.key is not None:
                return self.key
            if self.text is not None:
                return sql_key_of_text(self.text)
        base = self.jd_sql()
        shifted = f"{base}{-shift_days:+d}" if shift_days else base
        return (f"(CAST(strftime('%Y',{shifted}) AS INTEGER)*1200+CAST(strftime('%m',{shifted}) AS INTEGER)*100-100"
                f"+CAST(strftime('%d',{shifted}) AS INTEGER))")


_NEGATE = {">=": "<", ">": "<=", "<": ">=", "<=": ">", "=": "!=", "!=": "="}


def relax(op: str, days: int, tolerance: int) -> int:
    """The day part of a threshold moved ``tolerance`` days the easy way for ``op``."""
    if op in (">=", ">"):
        return days - tolerance
    if op in ("<", "<="):
        return days + tolerance
    return days


@functools.lru_cache(maxsize=None)
def month_span(months: int) -> tuple[int, int]:
    """(lo, hi): ``a + months`` (CDSi) is between ``a + lo`` and ``a + hi`` days, for every date a.

    With F(m) the first day of month m, ``a + M months`` is ``F(m + M) + d - 1`` for a on day d of
    month m, or, when month m + M has fewer than d days, ``F(m + M + 1)``, which is at most 2 days
    earlier in the span (d <= 31, months have at least 28 days). So the span is ``F(m + M) - F(m)``
    less 0 to 2 days; the month sums repeat every 400 years (4800 months), which are all tried."""
    first = [date(2000 + k // 12, k % 12 + 1, 1).toordinal() for k in range(4800 + abs(months) + 1)]
    offset = max(0, -months)
    sums = [first[k + offset + months] - first[k + offset] for k in range(4800)]
    return min(sums) - 2, max(sums)


def compare_shift(u: DateExpr, op: str, a: DateExpr, months: int, days: int) -> str:
    """SQL (0/1) for ``u OP a + months + days`` (CDSi arithmetic, the months first)."""
    if (months != 0 and op in (">=", ">", "<", "<=") and u.const is None and a.const is None
            and u.jd is not None and a.jd is not None):
        # between two dates: the day difference decides unless it is within the months' possible
        # lengths (month_span), which is rare; only then the exact form
        lo, hi = month_span(months)
        strict = days + (op in (">", "<="))  # u > x  <=>  u >= x + 1
        exact = _compare_shift(u, ">=" if op in (">=", "<") else ">", a, months, days)
        diff = f"{u.jd}-{a.jd}"
        at_least = f"(CASE WHEN {diff} >= {hi + strict} THEN 1 WHEN {diff} < {lo + strict} THEN 0 ELSE {exact} END)"
        return at_least if op in (">=", ">") else f"(NOT {at_least})"
    return _compare_shift(u, op, a, months, days)


def _compare_shift(u: DateExpr, op: str, a: DateExpr, months: int, days: int) -> str:
    if u.const is not None and a.const is not None:
        threshold = cdsi.add(a.const, (months, days))
        return "1" if _py_compare(u.const, op, threshold) else "0"
    if a.const is not None:
        threshold = cdsi.add(a.const, (months, days))
        return f"({u.jd_sql()} {_sql_op(op)} {jd_literal(threshold)})"
    if months == 0 and u.has_jd and a.has_jd:
        right = a.jd_sql() if days == 0 else f"{a.jd_sql()}{days:+d}"
        return f"({u.jd_sql()} {_sql_op(op)} {right})"
    if u.const is not None and a.key is None:
        return _constant_vs_shift(u.const, op, a, months, days)
    if u.const is None and (u.keyer is None or a.keyer is None):
        return f"({u.jd_sql()} {_sql_op(op)} {sql_add(a.jd_sql(), months, days)})"

    def at_least(shift: int) -> str:  # u - shift >= a + months  (1)
        left, right = u.key_sql(shift), a.key_sql()
        if u.const is not None:  # constant on one side: a single comparison of a's key
            return f"({right} <= {int(left) - 100 * months})"
        return f"({left} >= {right}+{100 * months})"

    if op == ">=":
        return at_least(days)
    if op == ">":
        return at_least(days + 1)
    if op == "<":
        return f"(NOT {at_least(days)})"
    if op == "<=":
        return f"(NOT {at_least(days + 1)})"
    equal = f"({at_least(days)} AND NOT {at_least(days + 1)})"
    return equal if op == "=" else f"(NOT {equal})"


def _constant_vs_shift(e: date, op: str, a: DateExpr, months: int, days: int) -> str:
    """``E OP a + duration`` as a test of ``a`` alone.

    ``f(a) = a + months + days`` never decreases as ``a`` grows (CDSi keeps the day of month or rolls
    to the 1st of the next month: two dates of one month keep their order or meet on that 1st, and a
    later month lands in a later month), so ``f(a) <= E`` holds for every ``a`` up to some last date
    and for none after it: found once here by bisection, it leaves one comparison of ``a``.
    """
    def last(holds) -> date | None:  # the last a with holds(f(a)), or None
        low, high = date.min.toordinal(), date.max.toordinal()
        if not _holds_at(holds, low, months, days):
            return None
        while low < high:
            middle = (low + high + 1) // 2
            if _holds_at(holds, middle, months, days):
                low = middle
            else:
                high = middle - 1
        return date.fromordinal(low)

    upto_le = last(lambda value: value <= e)  # E >= f(a)  <=>  a <= upto_le
    upto_lt = last(lambda value: value < e)  # E > f(a)   <=>  a <= upto_lt
    at_most = lambda bound: "0" if bound is None else f"({a.jd_sql()} <= {jd_literal(bound)})"
    ge, gt = at_most(upto_le), at_most(upto_lt)
    if op == ">=":
        return ge
    if op == ">":
        return gt
    if op == "<":
        return _not(ge)
    if op == "<=":
        return _not(gt)
    equal = f"({ge} AND {_not(gt)})"
    return equal if op == "=" else _not(equal)


def _holds_at(holds, ordinal: int, months: int, days: int) -> bool:
    try:
        return holds(cdsi.add(date.fromordinal(ordinal), (months, days)))
    except (ArithmeticError, ValueError, VaxError):
        # off the calendar: below year 1 near its start (before any E), past 9999 near its end
        return ordinal < date.max.toordinal() // 2


def _not(sql: str) -> str:
    return {"0": "1", "1": "0"}.get(sql, f"(NOT {sql})")


def _sql_op(op: str) -> str:
    return "<>" if op == "!=" else op


def _py_compare(left, op, right) -> bool:
    return {
        "<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right,
        "=": left == right, "!=": left != right,
    }[op]


def negate(op: str) -> str:
    return _NEGATE[op]
