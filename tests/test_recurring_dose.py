"""A recurring series dose (``dose N recurring``, CDSi's recurringDose): once the walk is past the
series' last dose, a later dose is judged as that dose again instead of being extraneous - every Td or
Tdap booster after dose 11 of CDSi's Diphtheria series. The language, the checker, the reference
interpreter, both SQL paths (the fast path leaves such students to the exact walk) and the bound."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from vaxdsl.checker import check
from vaxdsl.dates import add_months
from vaxdsl.formatter import format_ruleset
from vaxdsl.interpreter import evaluate_student
from vaxdsl.interpreter.needs import next_needs
from vaxdsl.loader import load, load_text
from vaxdsl.parser import parse
from vaxdsl.records import Dose, Student
from vaxdsl.walk import RECURRENCES

from test_engines_agree import assert_agree

AS_OF = date(2026, 9, 8)
BORN = date(2000, 1, 1)
STUDENT = Student("s1", BORN, None)

SOURCE = '''
product A cvx 10 "Alpha" counts Alpha
product B cvx 11 "Alpha booster" counts Alpha

vaccine Alpha {
  series {
    dose 1 { min age 6 weeks }
    dose 2 { min interval 4 weeks }
    dose 3 recurring { min interval 5 years  allow B }
  }
  rule "boosted" => compliant when at least 2 valid doses of B and series complete
  rule "complete" => in_grace_period when series complete
  otherwise non_compliant
}
'''
RULESET = load_text(SOURCE, "t.vax").ruleset


def history(*given: tuple[int, str]) -> list[Dose]:
    cvx = {"A": 10, "B": 11}
    return [Dose(k, "s1", BORN + timedelta(days=day), cvx[product]) for k, (day, product) in enumerate(given, start=1)]


def verdicts(doses: list[Dose]) -> list[tuple[bool, str | None, int | None]]:
    result = evaluate_student(RULESET, STUDENT, doses, [], AS_OF)
    return [(d.valid, d.reason, d.dose_number) for d in result.doses]


YEAR = 366

PRIMED = [(60, "A"), (120, "A")]
BOOSTERS = [(120 + 6 * YEAR, "B"), (120 + 12 * YEAR, "B"), (120 + 14 * YEAR, "B"), (120 + 20 * YEAR, "A")]


def test_the_keyword_parses_formats_and_round_trips():
    dose = parse(SOURCE).vaccines[0].series[0].doses[2]
    assert dose.recurring and dose.number == 3
    text = format_ruleset(RULESET)
    assert "dose 3 recurring { min interval 5 years  allow B }" in text
    assert parse(text).vaccines[0].series[0].doses == parse(SOURCE).vaccines[0].series[0].doses


def test_only_the_last_dose_can_recur():
    ruleset = load_text('vaccine V { series { dose 1 recurring { } dose 2 { } } rule "r" => compliant }', "v.vax")
    codes = [(d.code, d.line) for d in check(ruleset)]
    assert ("E237", 1) in codes


def test_later_doses_are_judged_as_the_last_one_again():
    # the 3rd booster comes 2 years after the 2nd: too soon for the recurring dose's 5 years; the 4th is
    # a product the dose does not allow
    assert verdicts(history(*PRIMED, *BOOSTERS)) == [
        (True, None, 1), (True, None, 2), (True, None, 3), (True, None, 4), (False, "too_soon", None),
        (False, "not_allowable", None)]


def test_the_series_is_complete_from_the_first_time_the_last_dose_is_valid():
    result = evaluate_student(RULESET, STUDENT, history(*PRIMED, BOOSTERS[0]), [], AS_OF)
    assert (result.groups[0].status, result.groups[0].rule) == ("in_grace_period", "complete")
    result = evaluate_student(RULESET, STUDENT, history(*PRIMED, *BOOSTERS[:2]), [], AS_OF)
    assert (result.groups[0].status, result.groups[0].rule) == ("compliant", "boosted")


def test_the_next_booster_is_what_the_student_still_needs():
    doses = history(*PRIMED, BOOSTERS[0])
    result = evaluate_student(RULESET, STUDENT, doses, [], AS_OF)
    need = next_needs(RULESET, result, STUDENT, AS_OF)["Alpha"]
    assert need.dose_number == 4
    assert need.earliest == add_months(doses[-1].date, 5 * 12)  # the recurring dose's 5 years


def test_past_the_bound_a_dose_is_extraneous():
    # dose 3, then RECURRENCES more as dose 3 again, then one too many (a long-lived test patient)
    boosters = [(120 + 6 * YEAR * k, "B") for k in range(1, RECURRENCES + 3)]
    result = evaluate_student(RULESET, STUDENT, history(*PRIMED, *boosters), [], date(2200, 1, 1))
    got = [(d.valid, d.reason) for d in result.doses]
    assert got == [(True, None)] * (3 + RECURRENCES) + [(False, "extraneous")]
    assert_agree(RULESET, [STUDENT], history(*PRIMED, *boosters), [], date(2200, 1, 1))


@pytest.mark.parametrize("given", [
    PRIMED + BOOSTERS[:1],  # the fast path: no dose past the last one
    PRIMED + BOOSTERS,  # the exact walk: doses past it
    PRIMED + BOOSTERS[:2] + [(130, "A")],  # a failure before the boosters
    [(10, "A")] + PRIMED + BOOSTERS[:3],  # a prefix dose (too young)
], ids=["fast-path", "exact-walk", "failure-first", "prefix"])
def test_both_engines_agree(given):
    doses = sorted(history(*given), key=lambda d: d.date)
    assert_agree(RULESET, [STUDENT], doses, [], AS_OF)


def test_every_td_booster_after_dose_11_is_valid_in_minnesota():
    # CDSi's Diphtheria dose 11 recurs with no minimum interval: an adult's catch-up (doses 7-9), the
    # adolescent booster (dose 10) and Td boosters every 10 years are all valid
    ruleset = load("minnesota").ruleset
    adult = Student("a", date(1970, 1, 1), None)
    given = [date(1990, 1, 1), date(1990, 2, 1), date(1990, 9, 1), date(2000, 9, 1), date(2010, 9, 1),
             date(2020, 9, 1), date(2021, 9, 1)]
    doses = [Dose(k, "a", day, 9) for k, day in enumerate(given, start=1)]  # CVX 9: Td (adult)
    result = evaluate_student(ruleset, adult, doses, [], AS_OF)
    dtap = [d for d in result.doses if d.vaccine == "DTaP"]
    assert [(d.valid, d.dose_number) for d in dtap] == [(True, k) for k in range(1, 8)]
    assert_agree(ruleset, [adult], doses, [], AS_OF)
