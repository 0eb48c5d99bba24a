"""``inadvertent`` products of a series dose (CDSi's inadvertent vaccines: Tdap as an infant's DTaP
dose, PPSV23 in the childhood pneumococcal series, OPV in the Polio series): such a dose is not valid,
``not_allowable``, judged before its interval and age, so it is never a timing failure and never the
anchor of the next dose's interval (docs/semantics.md, "Dose validity: the series", step 1)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from vaxdsl.checker import check
from vaxdsl.fixtures import read_fixture_text
from vaxdsl.formatter import format_source
from vaxdsl.interpreter import evaluate_student
from vaxdsl.interpreter.needs import next_needs
from vaxdsl.loader import load_text
from vaxdsl.parser import parse
from vaxdsl.qa import boundaries
from vaxdsl.qa.runner import run_case
from vaxdsl.records import Dose, Student

from test_engines_agree import assert_agree

AS_OF = date(2026, 9, 8)
BORN = date(2025, 1, 1)

SOURCE = '''
product T cvx 115 "Alpha" counts Alpha
product A cvx 20 "Ay" counts Alpha

vaccine Alpha {
  series {
    dose 1 { min age 6 weeks  inadvertent T }
    dose 2 { min interval 4 weeks  inadvertent T }
    dose 3 { min interval 4 weeks  min age 6 months }
  }
  rule "complete" => compliant when series complete
  otherwise non_compliant
}
'''
RULESET = load_text(SOURCE, "t.vax").ruleset
# the same series with T merely not allowed for doses 1 and 2: checked last, as a product
NOT_ALLOWED = load_text(SOURCE.replace("inadvertent T", "allow A"), "t.vax").ruleset

STUDENT = Student("s1", BORN, None)


def days(n: int) -> date:
    return BORN + timedelta(days=n)


def doses(*given: tuple[int, str]) -> list[Dose]:
    cvx = {"A": 20, "T": 115}
    return [Dose(k, "s1", days(day), cvx[product]) for k, (day, product) in enumerate(given, start=1)]


def verdicts(history: list[Dose], ruleset=RULESET) -> list[tuple[bool, str | None]]:
    result = evaluate_student(ruleset, STUDENT, history, [], AS_OF)
    return [(d.valid, d.reason) for d in result.doses]


# T two weeks after dose 1 (too soon as well), then A four weeks after dose 1
TOO_SOON = doses((60, "A"), (74, "T"), (88, "A"))
# T a month after dose 1 (its interval holds), then A three days after T
ON_TIME = doses((60, "A"), (92, "T"), (95, "A"))


def test_an_inadvertent_dose_is_not_allowable_whatever_its_timing():
    assert verdicts(TOO_SOON)[1] == (False, "not_allowable")
    assert verdicts(TOO_SOON, NOT_ALLOWED)[1] == (False, "too_soon")


def test_an_inadvertent_dose_sets_no_interval_clock():
    # the next dose counts from dose 1, not from the inadvertent one two weeks before it
    assert verdicts(TOO_SOON) == [(True, None), (False, "not_allowable"), (True, None)]
    # merely not allowed, it failed for its timing first, so it was the next dose's anchor
    assert verdicts(TOO_SOON, NOT_ALLOWED) == [(True, None), (False, "too_soon"), (False, "too_soon")]


def test_unlike_a_product_not_allowed_an_inadvertent_one_given_on_time_is_no_anchor():
    # CDSi measures from the previous dose evaluated Valid or Not Valid, not an inadvertent one
    assert verdicts(ON_TIME) == [(True, None), (False, "not_allowable"), (True, None)]
    assert verdicts(ON_TIME, NOT_ALLOWED) == [(True, None), (False, "not_allowable"), (False, "too_soon")]


def test_an_inadvertent_dose_1_too_young_is_not_allowable():
    assert verdicts(doses((20, "T"), (50, "A"))) == [(False, "not_allowable"), (True, None)]


def test_the_explanation_names_the_inadvertent_vaccine():
    walk = evaluate_student(RULESET, STUDENT, TOO_SOON, [], AS_OF).groups[0].walk
    assert walk.chosen.verdicts[1].words == (
        "T cannot count as dose 2: it is not a vaccine for that dose (an inadvertent vaccine), whatever its timing")


def test_what_the_student_needs_leaves_the_inadvertent_product_out():
    result = evaluate_student(RULESET, STUDENT, doses((60, "A")), [], AS_OF)
    need = next_needs(RULESET, result, STUDENT, AS_OF)["Alpha"]
    assert need.dose_number == 2
    assert need.words.endswith("; not Alpha")  # T, by its display name


@pytest.mark.parametrize("history", [
    TOO_SOON,  # the fast path: the failure is not a timing failure
    ON_TIME,  # only the product fails: no anchor if inadvertent, the anchor if merely not allowed
    doses((20, "T"), (50, "A"), (90, "A"), (200, "A")),  # in the prefix of dose 1
    doses((60, "A"), (74, "T"), (80, "T"), (88, "A"), (200, "A")),  # two failures: the exact walk
    doses((60, "A"), (74, "A"), (80, "T"), (102, "A")),  # a timing failure, then an inadvertent dose
    doses((60, "A"), (90, "A"), (200, "T")),  # dose 3 has no inadvertent line: T is valid there
], ids=["too-soon", "on-time", "prefix", "exact-walk", "after-a-timing-failure", "allowed-later"])
@pytest.mark.parametrize("ruleset", [RULESET, NOT_ALLOWED], ids=["inadvertent", "not-allowed"])
def test_both_engines_agree(ruleset, history):
    assert_agree(ruleset, [STUDENT], history, [], AS_OF)


def test_the_formatter_keeps_inadvertent_lines():
    source = ('product A cvx 20 "A" counts V\nproduct T cvx 115 "T" counts V\n'
              'vaccine V {\n  series {\n    dose 1 { inadvertent T }\n  }\n  otherwise compliant\n}\n')
    formatted = format_source(source, "t.vax")
    assert "dose 1 { inadvertent T }" in formatted
    assert parse(formatted, "t.vax") == parse(source, "t.vax")


def codes(source: str) -> list[str]:
    return [d.code for d in check(load_text(source, "t.vax"))]


def test_an_unknown_inadvertent_product_is_an_error():
    assert "E202" in codes(SOURCE.replace("dose 1 { min age 6 weeks  inadvertent T }",
                                          "dose 1 { min age 6 weeks  inadvertent Tee }"))


def test_a_product_both_allowed_and_inadvertent_is_a_warning():
    found = codes(SOURCE.replace("dose 2 { min interval 4 weeks  inadvertent T }",
                                 "dose 2 { min interval 4 weeks  allow A, T  inadvertent T }"))
    assert found == ["W216"]
    assert codes(SOURCE) == []


def test_boundary_cases_never_give_an_inadvertent_product():
    """`vaxdsl fixtures boundaries` picks each dose's product among those the dose can take: with no
    `allow` line, any product of the group but an inadvertent one (T, named like the group, would come first)."""
    files = boundaries.generate(RULESET, AS_OF)
    held = 0
    for case in read_fixture_text(files["alpha.toml"], "alpha.toml").cases:
        found = re.match(r"series: dose (\d) (min age|min interval)", case.name)
        if found and case.name.endswith("[holds]"):
            doses_given = run_case(RULESET, case, evaluate_student).evaluation.doses
            assert doses_given[int(found.group(1)) - 1].valid, case.name
            held += 1
    assert held >= 3
