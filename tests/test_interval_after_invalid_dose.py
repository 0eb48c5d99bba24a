"""An interval from the previous dose counts from a dose that was not valid for its timing or product
(docs/semantics.md, "Dose validity", step 2; CDSi's "immediate previous dose administered"): the
reference interpreter, both SQL paths (the fast path and the exact walk), the dose listing, and what
the student still needs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from vaxdsl.interpreter import evaluate_student
from vaxdsl.interpreter.needs import next_needs
from vaxdsl.loader import load_text
from vaxdsl.records import Dose, Student

from test_engines_agree import assert_agree

AS_OF = date(2026, 9, 8)
BORN = date(2025, 1, 1)

RULESET = load_text('''
product A cvx 10 "Alpha" counts Alpha
product B cvx 11 "Alpha B" counts Alpha

vaccine Alpha {
  series {
    dose 1 { min age 6 weeks }
    dose 2 { min interval 4 weeks  allow A }
    dose 3 { min interval 4 weeks  min age 6 months }
  }
  rule "complete" => compliant when series complete
  otherwise non_compliant
}
''', "t.vax").ruleset

STUDENT = Student("s1", BORN, None)


def days(n: int) -> date:
    return BORN + timedelta(days=n)


def doses(*given: tuple[int, str]) -> list[Dose]:
    cvx = {"A": 10, "B": 11}
    return [Dose(k, "s1", days(day), cvx[product]) for k, (day, product) in enumerate(given, start=1)]


def verdicts(history: list[Dose]) -> list[tuple[bool, str | None]]:
    result = evaluate_student(RULESET, STUDENT, history, [], AS_OF)
    return [(d.valid, d.reason) for d in result.doses]


def test_a_dose_too_soon_after_a_dose_that_was_too_soon_is_too_soon():
    # dose 2 two weeks after dose 1 (too soon); the next, 3 weeks after it and 5 after dose 1
    history = doses((60, "A"), (74, "A"), (95, "A"))
    assert verdicts(history) == [(True, None), (False, "too_soon"), (False, "too_soon")]
    walk = evaluate_student(RULESET, STUDENT, history, [], AS_OF).groups[0].walk
    assert walk.chosen.verdicts[2].words == (
        f"given too soon: 21 days after the previous dose (not valid) ({days(74).isoformat()}); "
        "the minimum interval is 4 weeks")


def test_the_repeat_dose_is_valid_a_full_interval_after_the_invalid_one():
    history = doses((60, "A"), (74, "A"), (74 + 28, "A"))
    assert verdicts(history) == [(True, None), (False, "too_soon"), (True, None)]


def test_a_dose_too_young_is_the_anchor_too():
    # dose 3 at 6 months - 10 days (too young); the next 2 weeks later is past 6 months but too soon after it
    history = doses((45, "A"), (80, "A"), (171, "A"), (185, "A"))
    assert verdicts(history) == [(True, None), (True, None), (False, "too_young"), (False, "too_soon")]


def test_a_dose_of_a_product_not_allowed_is_the_anchor():
    # dose 2 of product B, which dose 2 does not allow: CDSi counts from the previous dose evaluated
    # Not Valid, so the next, 3 days later, is too soon (and the anchor of the one after it)
    history = doses((60, "A"), (92, "B"), (95, "A"), (95 + 28, "A"))
    assert verdicts(history) == [(True, None), (False, "not_allowable"), (False, "too_soon"), (True, None)]
    walk = evaluate_student(RULESET, STUDENT, history, [], AS_OF).groups[0].walk
    assert walk.chosen.verdicts[2].words.startswith(
        f"given too soon: 3 days after the previous dose (not valid) ({days(92).isoformat()})")


def test_a_dose_1_without_an_interval_counts_nothing_from_an_earlier_invalid_dose():
    # too young for dose 1, then dose 1 two weeks later: dose 1 has no interval to count
    # (tests/test_interval_before_first_valid.py: a dose 1 with one)
    history = doses((30, "A"), (44, "A"))
    assert verdicts(history) == [(False, "too_young"), (True, None)]


@pytest.mark.parametrize("history", [
    doses((60, "A"), (74, "A"), (95, "A")),  # fast path: the failure's anchor, then a second failure
    doses((60, "A"), (74, "A"), (102, "A"), (131, "A")),  # the repeat, then dose 3
    doses((60, "A"), (92, "B"), (95, "A"), (190, "A")),  # not allowed: the next one's anchor
    doses((45, "A"), (80, "A"), (171, "A"), (185, "A")),  # too young, then too soon: last dose
    doses((60, "A"), (74, "A"), (80, "A"), (100, "A"), (200, "A")),  # failures in a row: the exact walk
    doses((60, "A"), (74, "A"), (104, "B"), (110, "A"), (200, "A")),  # timing, then product: each anchors
], ids=["too-soon-twice", "repeat", "not-allowed", "too-young", "exact-walk", "exact-walk-product"])
def test_both_engines_agree(history):
    assert_agree(RULESET, [STUDENT], history, [], AS_OF)


def test_a_dose_not_allowed_after_one_too_soon_is_the_next_anchor():
    # B is 30 days after the dose too soon (the interval holds) but not allowed: the dose 6 days after
    # it counts from it
    history = doses((60, "A"), (74, "A"), (104, "B"), (110, "A"), (200, "A"))
    assert verdicts(history) == [(True, None), (False, "too_soon"), (False, "not_allowable"), (False, "too_soon"),
                                 (True, None)]


def test_the_exact_walk_counts_from_the_dose_before():
    # two failures before the last dose: the fast path leaves the student to the exact walk, whose
    # verdicts the agreement test above compares; here what they are
    history = doses((60, "A"), (74, "A"), (80, "A"), (100, "A"), (200, "A"))
    assert verdicts(history) == [(True, None), (False, "too_soon"), (False, "too_soon"), (False, "too_soon"),
                                 (True, None)]


@pytest.mark.parametrize("invalid", [(74, "A"), (92, "B")], ids=["too-soon", "not-allowed"])
def test_the_next_dose_is_due_a_full_interval_after_the_invalid_one(invalid):
    history = doses((60, "A"), invalid)
    result = evaluate_student(RULESET, STUDENT, history, [], AS_OF)
    need = next_needs(RULESET, result, STUDENT, AS_OF)["Alpha"]
    assert need.dose_number == 2
    assert need.earliest == days(invalid[0] + 28)
    assert "after the previous dose (not valid)" in need.words
