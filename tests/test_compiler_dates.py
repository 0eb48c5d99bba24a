"""The SQL forms of CDSi date arithmetic (vaxdsl.compiler.dates) against vaxdsl.dates.add, on many dates:
month ends, leap days, year ends, and random ones, with months and days of both signs."""

from __future__ import annotations

import itertools
import sqlite3
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxdsl.compiler.dates import (DateExpr, compare_shift, jd, jd_literal, key_of_number, month_key, month_span, sql_add,
                                   sql_key_of_text)
from vaxdsl.dates import add

OPS = ("<", "<=", "=", "!=", ">=", ">")


def _month_ends(first_year: int, last_year: int):
    for year in range(first_year, last_year + 1):
        for month in range(1, 13):
            start = date(year, month, 1)
            following = date(year + (month == 12), month % 12 + 1, 1)
            for back in (1, 2, 3, 4):
                yield following - timedelta(days=back)
            yield start


EDGE_DATES = sorted(set(_month_ends(1999, 2005)) | {date(2000, 2, 29), date(2100, 2, 28), date(1900, 3, 1),
                                                     date(2024, 2, 29), date(2023, 12, 31)})
SHIFTS = [(m, d) for m in (-25, -13, -12, -6, -1, 0, 1, 2, 6, 11, 12, 13, 18, 48, 216) for d in (-31, -4, -1, 0, 1, 4, 28)]


@pytest.fixture(scope="module")
def conn():
    connection = sqlite3.connect(":memory:")
    yield connection
    connection.close()


def _scalar(conn, sql: str, params=()):
    return conn.execute(f"SELECT {sql}", params).fetchone()[0]


def test_docs_examples(conn):
    assert _scalar(conn, f"date({sql_add(jd_literal(date(2000, 3, 31)), 6, 0)})") == "2000-10-01"
    assert _scalar(conn, f"date({sql_add(jd_literal(date(2020, 1, 31)), 1, -4)})") == "2020-02-26"
    # SQLite's own month arithmetic overflows instead of rolling to the 1st
    assert _scalar(conn, "date('2020-01-31', '+1 month')") == "2020-03-02"


def test_julian_days_match_ordinals(conn):
    for day in EDGE_DATES:
        assert _scalar(conn, "julianday(?)", (day.isoformat(),)) == jd(day)


def test_sql_add_on_every_month_end(conn):
    conn.execute("DROP TABLE IF EXISTS cases")
    conn.execute("CREATE TEMP TABLE cases(day TEXT, months INT, days INT, expected TEXT)")
    rows = [(d.isoformat(), m, n, add(d, (m, n)).isoformat()) for d in EDGE_DATES for m, n in SHIFTS]
    conn.executemany("INSERT INTO cases VALUES (?, ?, ?, ?)", rows)
    wrong = []
    for (m, n) in SHIFTS:  # the SQL form has the duration as constants, as the compiler writes it
        expression = f"date({sql_add('julianday(day)', m, n)})"
        wrong += conn.execute(f"SELECT day, {m}, {n}, {expression}, expected FROM cases "
                              f"WHERE months = {m} AND days = {n} AND {expression} IS NOT expected").fetchall()
    assert wrong == []


def test_month_key_of_text(conn):
    for day in EDGE_DATES:
        assert _scalar(conn, sql_key_of_text(":d"), {"d": day.isoformat()}) == month_key(day)


def _check_compare(conn, u: date, op: str, a: date, months: int, days: int, forms):
    expected = {"<": u < add(a, (months, days)), "<=": u <= add(a, (months, days)),
                "=": u == add(a, (months, days)), "!=": u != add(a, (months, days)),
                ">=": u >= add(a, (months, days)), ">": u > add(a, (months, days))}[op]
    params = {"u": u.isoformat(), "a": a.isoformat()}
    for left, right in forms:
        sql = compare_shift(left, op, right, months, days)
        got = conn.execute(f"SELECT {sql}", params).fetchone()[0]
        assert bool(got) == expected, (u, op, a, months, days, sql)


def _forms(u: date, a: date):
    """Every representation the compiler uses for the two sides."""
    text_u, text_a = DateExpr(text=":u"), DateExpr(text=":a")
    jd_u, jd_a = DateExpr(jd="julianday(:u)"), DateExpr(jd="julianday(:a)")
    key_a = DateExpr(key=sql_key_of_text(":a"), jd="julianday(:a)")

    def keyed(name: str) -> DateExpr:  # as the fast path has them: a day number and a month-key maker
        day = f"julianday(:{name})"
        return DateExpr(jd=day, keyer=lambda shift: key_of_number(f"CAST(strftime('%Y%m%d', {day}{-shift:+d}) AS INTEGER)"))

    key_only_a = DateExpr(key=sql_key_of_text(":a"))  # as rules have the birth date: E against its month key
    return [(text_u, text_a), (jd_u, jd_a), (keyed("u"), keyed("a")), (DateExpr.constant(u), key_a),
            (DateExpr.constant(u), key_only_a),
            (DateExpr.constant(u), text_a), (text_u, DateExpr.constant(a)), (DateExpr.constant(u), DateExpr.constant(a))]


def test_compare_shift_around_every_threshold(conn):
    anchors = [date(2000, 1, 31), date(2000, 2, 29), date(2001, 1, 29), date(2003, 8, 31), date(2004, 12, 30)]
    for a, (months, days) in itertools.product(anchors, [(1, 0), (1, -4), (12, -4), (6, -4), (-1, 4), (13, 0), (0, 28)]):
        threshold = add(a, (months, days))
        for delta in (-2, -1, 0, 1, 2):
            u = threshold + timedelta(days=delta)
            for op in OPS:
                _check_compare(conn, u, op, a, months, days, _forms(u, a))


dates_strategy = st.dates(min_value=date(1950, 1, 1), max_value=date(2060, 12, 31))


@settings(max_examples=300, deadline=None)
@given(a=dates_strategy, months=st.integers(-60, 240), days=st.integers(-60, 60), delta=st.integers(-40, 40),
       op=st.sampled_from(OPS))
def test_compare_shift_random(a, months, days, delta, op):
    conn = sqlite3.connect(":memory:")
    u = add(a, (months, days)) + timedelta(days=delta)
    _check_compare(conn, u, op, a, months, days, _forms(u, a))
    assert conn.execute(f"SELECT date({sql_add(jd_literal(a), months, days)})").fetchone()[0] == \
        add(a, (months, days)).isoformat()


@settings(max_examples=500, deadline=None)
@given(a=st.dates(min_value=date(30, 1, 1), max_value=date(9000, 12, 31)), months=st.integers(-300, 300))
def test_month_span_bounds_every_date(a, months):
    """The day-difference shortcut of compare_shift is sound: a + months is within month_span days."""
    lo, hi = month_span(months)
    span = (add(a, (months, 0)) - a).days
    assert lo <= span <= hi
