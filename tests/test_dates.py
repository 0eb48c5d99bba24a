"""CDSi date arithmetic (docs/semantics.md, "Date arithmetic") and ages in words."""

from datetime import date, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from vaxdsl import ast
from vaxdsl.dates import add, calendar_difference, describe_age, describe_span, duration_text, months_and_days
from vaxdsl.errors import VaxError
from vaxdsl.parser import parse


def duration(text: str) -> ast.Duration:
    """Parse a duration as the language writes it, e.g. ``"1 month - 4 days"``."""
    vaccine = parse(f'vaccine X {{ rule "r" => compliant when age >= {text} }}').vaccines[0]
    return vaccine.rules[0].condition.duration


@pytest.mark.parametrize("start, text, expected", [
    # the examples of semantics.md
    ("2000-03-31", "6 months", "2000-10-01"),
    ("2020-01-31", "1 month - 4 days", "2020-02-26"),
    # month ends: a day the month lacks rolls forward to the 1st of the next month
    ("2020-01-31", "1 month", "2020-03-01"),
    ("2019-01-29", "1 month", "2019-03-01"),
    ("2020-01-29", "1 month", "2020-02-29"),
    ("2020-01-28", "1 month", "2020-02-28"),
    ("2020-12-31", "2 months", "2021-03-01"),
    ("2020-08-31", "1 month", "2020-10-01"),
    ("2019-05-31", "1 year + 1 month", "2020-07-01"),
    # leap days
    ("2020-02-29", "1 year", "2021-03-01"),
    ("2020-02-29", "4 years", "2024-02-29"),
    ("2020-02-29", "12 months - 4 days", "2021-02-25"),
    ("2019-02-28", "1 year", "2020-02-28"),
    ("2020-02-29", "1 day", "2020-03-01"),
    # negative parts, and year boundaries
    ("2020-03-31", "0 days - 1 month", "2020-03-01"),  # Feb 31 -> Mar 1, even going backwards
    ("2021-03-29", "0 days - 1 month", "2021-03-01"),
    ("2021-01-15", "0 days - 1 month", "2020-12-15"),
    ("2020-12-15", "1 month", "2021-01-15"),
    ("2021-01-01", "0 days - 1 day", "2020-12-31"),
    ("2020-01-31", "1 year - 1 month", "2020-12-31"),
    # years and months are summed before moving: +1 month -1 month is no move at all
    ("2020-01-31", "1 month - 1 month", "2020-01-31"),
    # weeks and days come after the months, whatever the order they are written in
    ("2020-01-28", "3 days + 1 month", "2020-03-02"),
    ("2020-01-31", "4 weeks - 4 days", "2020-02-24"),
    ("2015-05-02", "4 years - 4 days", "2019-04-28"),
    ("2015-03-01", "24 weeks", "2015-08-16"),
])
def test_add(start, text, expected):
    assert add(date.fromisoformat(start), duration(text)) == date.fromisoformat(expected)


def test_add_takes_months_and_days_and_a_sign():
    assert add(date(2020, 1, 31), (1, -4)) == date(2020, 2, 26)
    assert add(date(2020, 3, 26), duration("1 month - 4 days"), -1) == date(2020, 3, 1)  # Feb 30 -> Mar 1, + 4 days
    assert months_and_days(duration("1 year - 2 months + 1 week - 3 days")) == (10, 4)


def test_add_out_of_range_is_a_clear_error():
    with pytest.raises(VaxError, match="out of range"):
        add(date(9999, 12, 1), (1, 0))
    with pytest.raises(VaxError, match="out of range"):
        add(date(9999, 12, 31), (0, 1))


def test_subtracting_does_not_undo_adding():
    # The roll-forward loses information: Jan 31 + 1 month = Mar 1, and Mar 1 - 1 month = Feb 1.
    assert add(add(date(2020, 1, 31), (1, 0)), (1, 0), -1) == date(2020, 2, 1)


def test_adding_months_is_not_injective():
    # Three different birth dates reach "1 month" on the same day: monotonic, but not strictly.
    assert {add(date(2019, 1, d), (1, 0)) for d in (29, 30, 31)} == {date(2019, 3, 1)}
    assert add(date(2019, 2, 1), (1, 0)) == date(2019, 3, 1)


dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
any_duration = st.tuples(st.integers(-240, 240), st.integers(-400, 400))
non_negative = st.tuples(st.integers(0, 240), st.integers(0, 400))


@given(dates, dates, any_duration)
@example(date(2019, 1, 31), date(2019, 2, 1), (1, 0))
@example(date(2020, 3, 30), date(2020, 3, 31), (-1, 0))
def test_add_is_monotonic_even_with_negative_parts(d1, d2, shift):
    """d1 <= d2 implies add(d1, x) <= add(d2, x): within a month, the days that do not exist in the
    target month all map to its next 1st, which is where the next month's 1st maps too."""
    low, high = sorted((d1, d2))
    assert add(low, shift) <= add(high, shift)


@given(dates, non_negative)
def test_adding_a_non_negative_duration_never_goes_back(day, shift):
    assert add(day, shift) >= day


@given(dates, st.integers(-240, 240))
def test_moving_months_keeps_the_day_or_rolls_to_the_first(day, months):
    moved = add(day, (months, 0))
    assert moved.day == day.day or (moved.day == 1 and moved.month != (day.month + months - 1) % 12 + 1)


@given(dates, st.integers(0, 240), st.integers(-400, 400))
def test_days_are_added_after_the_months(day, months, days):
    assert add(day, (months, days)) == add(day, (months, 0)) + timedelta(days=days)


@given(dates, dates)
def test_calendar_difference_agrees_with_add(start, end):
    start, end = sorted((start, end))
    years, months, days = calendar_difference(start, end)
    assert 0 <= months < 12 and days >= 0
    assert add(start, (12 * years + months, days)) == end
    # and it is the largest whole number of months: one more overshoots
    assert add(start, (12 * years + months + 1, 0)) > end


@pytest.mark.parametrize("birth, on, words", [
    ("2018-03-10", "2019-03-01", "11 months 19 days"),
    ("2015-05-02", "2019-05-02", "4 years"),
    ("2015-05-02", "2019-04-28", "3 years 11 months 26 days"),
    ("2020-01-31", "2020-02-29", "29 days"),  # one month after Jan 31 is Mar 1
    ("2020-01-31", "2020-03-01", "1 month"),
    ("2019-01-01", "2020-02-02", "1 year 1 month 1 day"),
    ("2020-02-29", "2021-02-28", "11 months 30 days"),
    ("2020-02-29", "2021-03-01", "1 year"),
    ("2020-02-29", "2020-02-29", "0 days"),
])
def test_describe_age(birth, on, words):
    assert describe_age(date.fromisoformat(birth), date.fromisoformat(on)) == words


def test_describe_age_before_birth_and_backwards_spans():
    assert describe_age(date(2020, 1, 10), date(2020, 1, 1)).startswith("not yet born")
    assert describe_span(date(2020, 1, 10), date(2020, 1, 1)) == "-9 days"


@pytest.mark.parametrize("text", ["12 months - 4 days", "1 year", "4 weeks - 4 days", "1 day", "2 years + 1 month"])
def test_duration_text_writes_what_was_parsed(text):
    assert duration_text(duration(text)) == text


def test_duration_text_of_a_pair():
    assert duration_text((12, -4)) == "12 months - 4 days"
    assert duration_text((0, 0)) == "0 days"
    assert duration_text((-1, 0)) == "-1 month"
