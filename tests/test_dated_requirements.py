"""``given from DATE`` / ``given before DATE`` on a series dose's ``min age`` and ``min interval``: a
requirement in force only for doses given in a window, as CDSi's effective and cessation dates (the
last polio dose before 2009-08-07). The language, the checker, both engines, what a student still
needs, and Minnesota's polio records from before the change."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from vaxdsl.checker import check
from vaxdsl.errors import VaxSyntaxError
from vaxdsl.formatter import format_ruleset, format_source
from vaxdsl.interpreter import evaluate_student, explain_text
from vaxdsl.interpreter.needs import series_need
from vaxdsl.loader import load, load_text
from vaxdsl.parser import parse
from vaxdsl.records import Dose, Student

from test_engines_agree import assert_agree

CHANGE = date(2009, 8, 7)
SOURCE = '''
product IPV cvx 10 "IPV" counts Polio

vaccine Polio {
  series {
    dose 1 { min age 6 weeks - 4 days }
    dose 2 { min age 10 weeks - 4 days  min interval 4 weeks - 4 days }
    dose 3 { min age 14 weeks - 4 days  min interval 4 weeks - 4 days }
    dose 4 {
      min age 18 weeks - 4 days given before 2009-08-07
      min age 4 years - 4 days given from 2009-08-07
      min interval 4 weeks - 4 days given before 2009-08-07
      min interval 6 months - 4 days given from 2009-08-07
    }
  }
  rule "4 doses" => compliant when series complete
  otherwise non_compliant
}
'''
RULESET = load_text(SOURCE, "polio.vax").ruleset
SERIES = RULESET.vaccines[0].series[0]


def course(birth: date, *days: int) -> tuple[Student, list[Dose]]:
    """A student born on ``birth`` and IPV doses ``days`` after birth."""
    return Student("p1", birth, None), [Dose(k, "p1", birth + timedelta(days=day), 10)
                                        for k, day in enumerate(days, start=1)]


def the_course_with_dose_4_on(day: date) -> tuple[Student, list[Dose]]:
    """Doses at 2, 4 and 6 months, and dose 4 on ``day`` at about 18 months (a week after dose 3 when
    ``day`` is early)."""
    birth = day - timedelta(days=548)
    return course(birth, 61, 122, 183, 548)


def verdicts(student, doses, as_of=date(2010, 1, 1), ruleset=RULESET):
    result = evaluate_student(ruleset, student, doses, [], as_of)
    return [(d.valid, d.reason) for d in result.doses]


# ---- the language ----------------------------------------------------------------------------------


def test_windows_parse_and_round_trip():
    dose = SERIES.doses[3]
    assert [(m.given.start, m.given.before) for m in dose.min_ages] == [(None, CHANGE), (CHANGE, None)]
    assert [(i.given.start, i.given.before) for i in dose.intervals] == [(None, CHANGE), (CHANGE, None)]
    text = format_ruleset(RULESET)
    assert "      min age 18 weeks - 4 days given before 2009-08-07\n" in text
    assert "      min interval 6 months - 4 days given from 2009-08-07\n" in text
    assert parse(text).vaccines == parse(SOURCE).vaccines


def test_a_window_with_both_ends_and_an_anchor():
    source = SOURCE.replace("min interval 4 weeks - 4 days given before",
                            "min interval 4 weeks - 4 days from dose 2 given from 2001-01-01 before")
    interval = parse(source).vaccines[0].series[0].doses[3].intervals[0]
    assert (interval.start.number, interval.given.start, interval.given.before) == (2, date(2001, 1, 1), CHANGE)
    assert "min interval 4 weeks - 4 days from dose 2 given from 2001-01-01 before 2009-08-07  # old\n" in \
        format_source(source.replace("before 2009-08-07\n      min interval 6", "before 2009-08-07  # old\n"
                                     "      min interval 6"))


def test_a_bad_date_in_a_window_is_reported_where_it_is():
    source = SOURCE.replace("given before 2009-08-07\n      min age 4", "given before 2009-02-30\n      min age 4")
    with pytest.raises(VaxSyntaxError) as raised:
        load_text(source, "polio.vax")
    assert "polio.vax:10:46: error[E101]: '2009-02-30' is not a calendar date" in str(raised.value)


def test_two_minimum_ages_in_force_on_one_day_are_an_error():
    overlapping = SOURCE.replace("given from 2009-08-07\n      min interval 4",
                                 "given from 2009-08-06\n      min interval 4")
    found = [(d.code, d.line, d.message) for d in check(load_text(overlapping, "polio.vax"))]
    assert ("E239", 11, "dose 4 has two minimum ages for doses given on or after 2009-08-06 and before "
                        "2009-08-07: give each a 'given from/before DATE' window that does not overlap") in found
    unwindowed = SOURCE.replace(" given from 2009-08-07\n      min interval 4", "\n      min interval 4")
    assert "E239" in [d.code for d in check(load_text(unwindowed, "polio.vax"))]
    assert not [d for d in check(load_text(SOURCE, "polio.vax")) if d.severity == "error"]


def test_an_empty_window_is_a_warning():
    source = SOURCE.replace("min interval 6 months - 4 days given from 2009-08-07",
                            "min interval 6 months - 4 days given from 2009-08-07 before 2009-08-07")
    found = [(d.code, d.line, d.column) for d in check(load_text(source, "polio.vax"))]
    assert ("W215", 13, 38) in found


# ---- both engines --------------------------------------------------------------------------------


def test_the_old_minimums_hold_for_a_dose_given_before_the_change():
    student, doses = the_course_with_dose_4_on(CHANGE - timedelta(days=1))
    assert verdicts(student, doses) == [(True, None)] * 4
    assert_agree(RULESET, [student], doses, [], date(2010, 1, 1))


def test_the_new_minimums_hold_from_the_change():
    student, doses = the_course_with_dose_4_on(CHANGE)
    assert verdicts(student, doses)[3] == (False, "too_young")
    assert_agree(RULESET, [student], doses, [], date(2010, 1, 1))


@pytest.mark.parametrize("gap, valid", [(24, True), (23, False)])
def test_the_old_interval_holds_before_the_change(gap, valid):
    # dose 4 at 18 months, 4 weeks - 4 days after dose 3 (or a day less), before the change
    birth = date(2007, 1, 1)
    student, doses = course(birth, 61, 122, 548 - gap, 548)
    assert verdicts(student, doses)[3] == ((True, None) if valid else (False, "too_soon"))
    assert_agree(RULESET, [student], doses, [], date(2010, 1, 1))


def test_explain_names_the_window_of_the_requirement_a_dose_failed():
    student, doses = the_course_with_dose_4_on(CHANGE)
    result = evaluate_student(RULESET, student, doses, [], date(2010, 1, 1))
    text = explain_text(result, RULESET, student, date(2010, 1, 1))
    assert "minimum age of 4 years - 4 days for doses given on or after 2009-08-07 (at 1 year 6 months" in text


def test_the_next_dose_is_judged_by_the_rules_in_force_when_it_can_be_given():
    def need(birth, as_of, *days):
        dates = [birth + timedelta(days=day) for day in days]
        return series_need("Polio", SERIES, 4, dates, birth, as_of)

    # born 2008-01-01, three doses by 6 months: before the change dose 4 is due at once
    early = need(date(2008, 1, 1), date(2009, 7, 1), 61, 122, 183)
    assert early.earliest == date(2008, 7, 26)  # 4 weeks - 4 days after dose 3 (18 weeks came first)
    # born 2009-05-01: the old minimum age (18 weeks - 4 days) falls after the change, so the new one counts
    late = need(date(2009, 5, 1), date(2009, 7, 1), 42, 70)
    assert late.earliest == date(2013, 4, 27)  # 4 years - 4 days
    assert "at age 4 years - 4 days" in late.words


# ---- Minnesota ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def minnesota():
    return load("minnesota").ruleset


def polio(ruleset, student, doses, as_of):
    result = evaluate_student(ruleset, student, doses, [], as_of)
    group = next(g for g in result.groups if g.vaccine == "Polio")
    return [(d.valid, d.reason) for d in result.doses if d.vaccine == "Polio"], (group.status, group.rule)


def test_a_polio_series_finished_at_18_months_before_2009_is_complete_but_not_compliant(minnesota):
    # CDSi: dose 4 at 18 months on 2009-07-01 is valid, and a 5th dose is then past the series. The law
    # still asks for a dose from age 4: without one the student is not compliant
    student = Student("p1", date(2008, 1, 1), "04")
    doses = [Dose(k, "p1", student.birth_date + timedelta(days=day), 10)
             for k, day in enumerate([61, 122, 183, 547], start=1)]
    as_of = date(2017, 9, 5)
    assert polio(minnesota, student, doses, as_of) == ([(True, None)] * 4, ("non_compliant", "Default PK-12 Non-compliant"))
    assert_agree(minnesota, [student], doses, [], as_of)
    # the same record with a dose at 4 years: compliant
    booster = doses + [Dose(5, "p1", date(2012, 1, 2), 10)]
    verdicts, status = polio(minnesota, student, booster, as_of)
    assert status == ("compliant", "4 doses Compliant")
    assert verdicts[:4] == [(True, None)] * 4
    assert_agree(minnesota, [student], booster, [], as_of)
