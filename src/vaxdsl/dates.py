"""Calendar arithmetic as CDSi does it, and ages and durations in words.

``add`` is the one place a duration meets a date (docs/semantics.md, "Date arithmetic"): years
and months move the month keeping the day of month, a day the month lacks rolls forward to the 1st
of the next month, and only then are weeks and days added.

>>> add(date(2000, 3, 31), (6, 0))
datetime.date(2000, 10, 1)
>>> add(date(2020, 1, 31), (1, -4))
datetime.date(2020, 2, 26)
>>> describe_age(date(2018, 3, 10), date(2019, 3, 1))
'11 months 19 days'
>>> duration_text(ast.Duration((ast.DurationPart(1, 12, "months"), ast.DurationPart(-1, 4, "days"))))
'12 months - 4 days'
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from . import ast
from .errors import VaxError

# The dates vaxdsl works with: every living person's birth and any planning date fit, and a date plus
# the longest duration a ruleset may write stays inside Python's calendar (years 1 to 9999).
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)
LONGEST_YEARS = 150  # no age or interval in a school rule comes near it


def outside_range(day: date) -> str | None:
    """Why ``day`` is not a date vaxdsl works with, or None.

    >>> outside_range(date(1899, 12, 31))
    'is before 1900-01-01'
    """
    if day < EARLIEST:
        return f"is before {EARLIEST}"
    if day > LATEST:
        return f"is after {LATEST}"
    return None


def months_and_days(duration) -> tuple[int, int]:
    """A duration as signed (months, days): years count 12 months, weeks 7 days."""
    if isinstance(duration, tuple):
        months, days = duration
        return int(months), int(days)
    months = days = 0
    for part in duration.parts:
        amount = part.sign * part.amount
        if part.unit == "years":
            months += 12 * amount
        elif part.unit == "months":
            months += amount
        elif part.unit == "weeks":
            days += 7 * amount
        else:
            days += amount
    return months, days


def signed_shift(sign: int, duration: ast.Duration) -> tuple[int, int]:
    """(months, days) of ``Date - 1 month - 4 days`` as written: the sign before the duration is the
    first part's sign, and the later parts keep their own (it is not ``Date - (1 month - 4 days)``).

    >>> signed_shift(-1, ast.Duration((ast.DurationPart(1, 1, "months"), ast.DurationPart(-1, 4, "days"))))
    (-1, -4)
    """
    first, *rest = duration.parts
    return months_and_days(ast.Duration((ast.DurationPart(sign * first.sign, first.amount, first.unit), *rest)))


def add_months(day: date, months: int) -> date:
    """Move ``months`` calendar months keeping the day of month; a missing day rolls to the 1st of the next month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    _check_year(year)
    if day.day <= calendar.monthrange(year, month)[1]:
        return date(year, month, day.day)
    # Feb 30 is Mar 1, not Feb 28: CDSi rolls forward, never back.
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    _check_year(year)
    return date(year, month, 1)


def add(day: date, duration, sign: int = 1) -> date:
    """``day + duration`` (or ``- duration`` with ``sign=-1``) by the CDSi rule.

    ``duration`` is an :class:`ast.Duration` or a ``(months, days)`` pair. Subtracting a duration
    negates every part and applies the same rule, so ``add(add(d, x), x, -1)`` need not be ``d``.
    """
    months, days = months_and_days(duration)
    shifted = add_months(day, sign * months)
    try:
        return shifted + timedelta(days=sign * days)
    except OverflowError:
        raise VaxError(f"date arithmetic out of range: {day} + {months} months {days} days") from None


def _check_year(year: int) -> None:
    if not 1 <= year <= 9999:
        raise VaxError(f"date arithmetic out of range (year {year})")


# ---- in words --------------------------------------------------------------------------------


def calendar_difference(start: date, end: date) -> tuple[int, int, int]:
    """(years, months, days) from ``start`` to ``end`` (``start <= end``), counted with :func:`add`.

    The months are the most whole months m with ``add(start, m months) <= end``; the days are what
    is left, so the words agree with the arithmetic the rules use: a child born on Jan 31 is
    "1 month" old on Mar 1 (non-leap year), not on Feb 28.
    """
    if end < start:
        raise ValueError(f"{end} is before {start}")
    months = (end.year - start.year) * 12 + end.month - start.month
    while months > 0 and add_months(start, months) > end:
        months -= 1
    days = (end - add_months(start, months)).days
    return months // 12, months % 12, days


def _plural(amount: int, unit: str) -> str:
    return f"{amount} {unit}" if amount == 1 else f"{amount} {unit}s"


def describe_age(birth: date, on: date) -> str:
    """Age on a date in words: ``"3 years 11 months 20 days"``, ``"0 days"``; before birth, ``"not yet born"``."""
    if on < birth:
        return f"not yet born ({(birth - on).days} days before birth)"
    return describe_span(birth, on)


def describe_span(start: date, end: date) -> str:
    """The calendar time from ``start`` to ``end`` in words, zero parts left out."""
    if end < start:
        return "-" + describe_span(end, start)
    years, months, days = calendar_difference(start, end)
    words = [_plural(amount, unit) for amount, unit in ((years, "year"), (months, "month"), (days, "day")) if amount]
    return " ".join(words) or "0 days"


def describe_days(start: date, end: date) -> str:
    """``"20 days"``: for gaps the rules measure in days or weeks."""
    return _plural((end - start).days, "day")


def duration_text(duration) -> str:
    """A duration as the language writes it: ``"4 weeks - 4 days"``, ``"1 year"``."""
    if isinstance(duration, tuple):
        months, days = duration
        parts = [(1 if months >= 0 else -1, abs(months), "months"), (1 if days >= 0 else -1, abs(days), "days")]
        parts = [p for p in parts if p[1]] or [(1, 0, "days")]
    else:
        parts = [(p.sign, p.amount, p.unit) for p in duration.parts]
    text = ""
    for index, (sign, amount, unit) in enumerate(parts):
        word = _plural(amount, unit.rstrip("s"))
        if index == 0:
            text = ("-" if sign < 0 else "") + word
        else:
            text += (" - " if sign < 0 else " + ") + word
    return text
