"""``only with P, ...`` on a series: the series is left out for a student with no dose of those
products, so it is never chosen for them (docs/semantics.md, "Choosing among series"). CDSi's
Heplisav-B secondary and tertiary hepatitis B series need a Heplisav-B dose to be chosen at all; the
clause lets the SQL engine skip their walks for everyone else. The language, the checker, the
reference interpreter, both SQL paths and Minnesota's mixed Heplisav-B courses."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaxdsl.checker import check
from vaxdsl.formatter import format_ruleset, format_source
from vaxdsl.interpreter import evaluate_student, explain_text
from vaxdsl.loader import load, load_text
from vaxdsl.parser import parse
from vaxdsl.records import Dose, Student

from test_engines_agree import assert_agree

AS_OF = date(2026, 9, 8)
BORN = date(2020, 1, 1)
STUDENT = Student("s1", BORN, None)

SOURCE = '''
product A cvx 10 "Alpha" counts Alpha
product H cvx 11 "Heplike" counts Alpha

vaccine Alpha {
  series "main" {
    start before age 5 years
    dose 1 { min age 6 weeks }
    dose 2 { min interval 8 weeks }
    dose 3 { min interval 8 weeks }
  }
  series "mixed" {
    only with H
    dose 1 { }
    dose 2 { allow H }
    dose 3 { min interval 4 weeks }
  }
  rule "complete" => compliant when series complete
  otherwise non_compliant
}
'''
RULESET = load_text(SOURCE, "t.vax").ruleset
WITHOUT_CLAUSE = load_text(SOURCE.replace("    only with H\n", ""), "t.vax").ruleset


def history(*given: tuple[int, str]) -> list[Dose]:
    cvx = {"A": 10, "H": 11}
    return [Dose(k, "s1", BORN + timedelta(days=day), cvx[product]) for k, (day, product) in enumerate(given, start=1)]


def explain_student(ruleset, student, doses, exemptions, as_of) -> str:
    return explain_text(evaluate_student(ruleset, student, doses, exemptions, as_of), ruleset, student, as_of)


def verdicts(doses: list[Dose], ruleset=RULESET) -> list[tuple[bool, str | None, int | None]]:
    result = evaluate_student(ruleset, STUDENT, doses, [], AS_OF)
    return [(d.valid, d.reason, d.dose_number) for d in result.doses]


def test_the_clause_parses_formats_and_round_trips():
    series = parse(SOURCE).vaccines[0].series[1]
    assert series.only_with == ("H",)
    text = format_ruleset(RULESET)
    assert '  series "mixed" {\n    only with H\n    dose 1 {}' in text
    assert parse(text).vaccines[0].series == parse(SOURCE).vaccines[0].series


def test_comments_stay_with_the_clause():
    source = SOURCE.replace("    only with H\n", "    # why\n    only with H  # Heplike only\n")
    assert '    # why\n    only with H  # Heplike only\n    dose 1 {}' in format_source(source)


def test_the_first_series_cannot_be_only_with():
    source = SOURCE.replace('  series "main" {\n', '  series "main" {\n    only with A\n')
    codes = [d.code for d in check(load_text(source, "t.vax"))]
    assert "E238" in codes


def test_only_with_names_declared_products():
    source = SOURCE.replace("only with H", "only with Hx")
    found = [(d.code, d.line, d.column) for d in check(load_text(source, "t.vax"))]
    assert ("E202", 13, 15) in found


def test_a_student_with_no_dose_of_the_products_is_left_out():
    # one dose too young for "main": without the clause "mixed" (no minimum age) wins with 1 valid dose;
    # with it, "main" is chosen though it is no candidate (no valid dose, and 6 years old on E)
    too_young = history((20, "A"))
    assert verdicts(too_young, WITHOUT_CLAUSE) == [(True, None, 1)]
    assert verdicts(too_young) == [(False, "too_young", None)]


def test_a_student_with_a_dose_of_them_may_choose_the_series():
    mixed = history((60, "A"), (90, "H"), (120, "A"))  # "main" finds the 2nd dose too soon
    assert verdicts(mixed) == [(True, None, 1), (True, None, 2), (True, None, 3)]
    result = evaluate_student(RULESET, STUDENT, mixed, [], AS_OF)
    assert [(g.status, g.rule) for g in result.groups] == [("compliant", "complete")]


def test_explain_says_why_a_series_was_left_out():
    text = explain_student(RULESET, STUDENT, history((60, "A"), (130, "A")), [], AS_OF)
    assert "  Series: 'main' (not complete, 2 valid doses); 'mixed' left out (no dose of H)\n" in text


@pytest.mark.parametrize("given", [
    [(20, "A")],  # the fast path, the series left out
    [(60, "A"), (90, "H"), (120, "A")],  # the fast path, the series chosen
    [(60, "A"), (70, "A"), (80, "A"), (90, "A"), (200, "A")],  # the exact walk, left out
    [(60, "A"), (70, "A"), (80, "H"), (90, "A"), (95, "H"), (200, "A")],  # the exact walk, chosen
    [],
], ids=["fast-left-out", "fast-chosen", "exact-left-out", "exact-chosen", "no-doses"])
def test_both_engines_agree(given):
    doses = history(*given)
    assert_agree(RULESET, [STUDENT], doses, [], AS_OF)
    assert_agree(WITHOUT_CLAUSE, [STUDENT], doses, [], AS_OF)


# ---- Minnesota: CDSi's Heplisav-B secondary and tertiary series ------------------------------------------

ADULT = Student("a1", date(1980, 3, 15), None)
ENGERIX, HEPLISAV = 43, 189


def adult_course(*given: tuple[date, int]) -> list[Dose]:
    return [Dose(k, "a1", day, cvx) for k, (day, cvx) in enumerate(given, start=1)]


@pytest.fixture(scope="module")
def minnesota():
    return load("minnesota").ruleset


def hepb(ruleset, doses):
    result = evaluate_student(ruleset, ADULT, doses, [], AS_OF)
    return [(d.valid, d.reason, d.dose_number) for d in result.doses if d.vaccine == "HepB"]


def chosen_series(ruleset, doses) -> str:
    text = explain_student(ruleset, ADULT, doses, [], AS_OF)
    return text.split("  Series: '", 1)[1].split("'", 1)[0]


def test_a_mixed_course_with_heplisav_b_second_is_valid(minnesota):
    # any hepatitis B vaccine, then Heplisav-B, then any, 4 weeks apart: valid in CDSi's secondary
    # series, and in the 19+ 4-dose series (no interval before its dose 3), declared first
    start = date(2024, 1, 10)
    doses = adult_course((start, ENGERIX), (start + timedelta(weeks=4), HEPLISAV),
                         (start + timedelta(weeks=8), ENGERIX))
    assert hepb(minnesota, doses) == [(True, None, 1), (True, None, 2), (True, None, 3)]
    assert_agree(minnesota, [ADULT], doses, [], AS_OF)


def test_the_secondary_series_dose_4_needs_only_the_allowable_interval(minnesota):
    # CDSi's dose 4 asks for 8 weeks - 4 days after dose 2 and 16 weeks - 4 days after dose 1, or else its
    # allowable 4 weeks - 4 days after dose 2: a Heplisav-B dose 4 at 9 weeks (5 after dose 2) is valid
    start = date(2024, 1, 10)
    doses = adult_course((start, ENGERIX), (start + timedelta(weeks=4), HEPLISAV),
                         (start + timedelta(weeks=8), ENGERIX), (start + timedelta(weeks=9), HEPLISAV))
    assert hepb(minnesota, doses) == [(True, None, 1), (True, None, 2), (True, None, 3), (True, None, 4)]
    assert chosen_series(minnesota, doses) == "HepB Heplisav-B secondary 4-dose series"  # 19+ 4-dose: too soon
    assert_agree(minnesota, [ADULT], doses, [], AS_OF)


def test_two_heplisav_b_doses_make_dose_4_unnecessary(minnesota):
    # tertiary series: Heplisav-B, any, Heplisav-B; a 4th dose is then past the series (skip)
    start = date(2024, 1, 10)
    doses = adult_course((start, HEPLISAV), (start + timedelta(weeks=4), ENGERIX),
                         (start + timedelta(weeks=8), HEPLISAV), (start + timedelta(weeks=12), ENGERIX))
    assert hepb(minnesota, doses)[:3] == [(True, None, 1), (True, None, 2), (True, None, 3)]
    assert hepb(minnesota, doses)[3] == (False, "extraneous", None)
    assert chosen_series(minnesota, doses) == "HepB Heplisav-B tertiary 4-dose series"  # complete, 3 valid
    assert_agree(minnesota, [ADULT], doses, [], AS_OF)


def test_a_child_course_never_reaches_the_heplisav_b_series(minnesota):
    child = Student("a1", date(2019, 5, 2), "KG")
    doses = [Dose(k, "a1", child.birth_date + timedelta(days=days), cvx)
             for k, (days, cvx) in enumerate([(0, 8), (61, 110), (122, 110), (183, 110)], start=1)]
    text = explain_student(minnesota, child, doses, [], AS_OF)
    assert ("'HepB Heplisav-B secondary 4-dose series' and 'HepB Heplisav-B tertiary 4-dose series' left out "
            "(no dose of HepB_adjuvanted)") in text
    assert_agree(minnesota, [child], doses, [], AS_OF)


@st.composite
def adult_hepb_courses(draw):
    """Adults with hepatitis B courses that mix Heplisav-B with the other adult vaccines, days apart
    around the series' minimum intervals, so that a Heplisav-B series is at times the chosen one."""
    students, doses = [], []
    for number in range(draw(st.integers(1, 8))):
        sid = f"A{number}"
        birth = date(draw(st.integers(1960, 2008)), draw(st.integers(1, 12)), draw(st.integers(1, 28)))
        students.append(Student(sid, birth, None))
        day = birth + timedelta(days=draw(st.integers(17 * 365, 40 * 365)))
        for _ in range(draw(st.integers(1, 5))):
            doses.append(Dose(len(doses) + 1, sid, day, draw(st.sampled_from([HEPLISAV, HEPLISAV, ENGERIX, 8, 104, 220]))))
            day += timedelta(days=draw(st.sampled_from([0, 23, 24, 27, 28, 28, 28, 35, 52, 56, 56, 108, 112, 180])))
    return students, doses


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(adult_hepb_courses())
def test_both_engines_agree_on_mixed_heplisav_b_courses(minnesota, course):
    students, doses = course
    assert_agree(minnesota, students, doses, [], AS_OF)
