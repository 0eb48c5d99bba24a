"""An interval from the previous dose on a target reached before any dose is valid (series dose 1, or
a later one after skips) counts from an earlier dose not valid for its timing or product, as CDSi's
catch-up series have it: Hib's start-at-7/12/15-months series and PCV's start-at-12/24-months series
give dose 1 a minimum interval from the previous dose given, one those series do not count (docs/semantics.md,
"Dose validity", step 2). Both engines, the SQL fast path (its prefix), the dose listing, the
explanation, and what the student still needs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from vaxdsl.interpreter import evaluate_student
from vaxdsl.interpreter.needs import next_needs
from vaxdsl.loader import load, load_text
from vaxdsl.records import Dose, Student

from test_engines_agree import assert_agree

AS_OF = date(2026, 9, 8)
BORN = date(2024, 1, 1)

RULESET = load_text('''
product A cvx 48 "Alpha" counts Alpha
product B cvx 49 "Alpha B" counts Alpha

vaccine Alpha {
  series {
    dose 1 { min age 12 months - 4 days  min interval 8 weeks - 4 days  allow A }
    dose 2 { min interval 8 weeks - 4 days }
  }
  rule "complete" => compliant when series complete
  otherwise non_compliant
}
''', "t.vax").ruleset

# target 2 reached with nothing valid: dose 1 is skipped once two doses were given
SKIPPING = load_text('''
product A cvx 48 "Alpha" counts Alpha

vaccine Alpha {
  series {
    dose 1 { min age 6 weeks  skip when at least 2 doses }
    dose 2 { min interval 4 weeks }
  }
  rule "complete" => compliant when series complete
  otherwise non_compliant
}
''', "skipping.vax").ruleset

# dose 1 skipped by the first dose itself: it is judged as dose 2 with nothing before it
SKIPPED_AT_ONCE = load_text('''
product A cvx 48 "Alpha" counts Alpha

vaccine Alpha {
  series {
    dose 1 { skip when age >= 1 year }
    dose 2 { min age 18 months  min interval 8 weeks }
  }
  rule "complete" => compliant when series complete
  otherwise non_compliant
}
''', "skipped-at-once.vax").ruleset

STUDENT = Student("s1", BORN, None)
YEAR = 366  # 2024 is a leap year: day 366 is the first birthday


def days(n: int) -> date:
    return BORN + timedelta(days=n)


def doses(*given: tuple[int, str]) -> list[Dose]:
    cvx = {"A": 48, "B": 49}
    return [Dose(k, "s1", days(day), cvx[product]) for k, (day, product) in enumerate(given, start=1)]


def verdicts(history: list[Dose], ruleset=RULESET) -> list[tuple[bool, str | None]]:
    result = evaluate_student(ruleset, STUDENT, history, [], AS_OF)
    return [(d.valid, d.reason) for d in result.doses]


def test_dose_1_too_soon_after_a_dose_too_young_for_it():
    # at 11 months (too young), then at 12 months 3 weeks after it: too soon; 8 weeks - 4 days later: valid
    history = doses((YEAR - 31, "A"), (YEAR - 10, "A"), (YEAR - 10 + 52, "A"))
    assert verdicts(history) == [(False, "too_young"), (False, "too_soon"), (True, None)]
    walk = evaluate_student(RULESET, STUDENT, history, [], AS_OF).groups[0].walk
    assert walk.chosen.verdicts[1].words == (
        f"given too soon: 21 days after the previous dose (not valid) ({days(YEAR - 31).isoformat()}); "
        "the minimum interval is 8 weeks - 4 days")


def test_dose_1_a_full_interval_after_the_invalid_dose_is_valid():
    history = doses((YEAR - 60, "A"), (YEAR, "A"))
    assert verdicts(history) == [(False, "too_young"), (True, None)]


def test_the_anchor_moves_to_the_latest_dose_failing_for_its_timing():
    # too young, then too soon after it, then 6 weeks after the first but 3 after the second: too soon
    history = doses((YEAR - 42, "A"), (YEAR - 20, "A"), (YEAR + 1, "A"))
    assert verdicts(history) == [(False, "too_young"), (False, "too_soon"), (False, "too_soon")]


def test_a_dose_of_a_product_not_allowed_is_an_anchor_too():
    # too young, then B, old enough and 67 days later but not allowed as dose 1 (evaluated Not Valid,
    # so CDSi's reference dose), then dose 1 three days after B: too soon after B
    history = doses((YEAR - 70, "A"), (YEAR - 3, "B"), (YEAR, "A"))
    assert verdicts(history) == [(False, "too_young"), (False, "not_allowable"), (False, "too_soon")]


def test_a_dose_of_a_product_not_allowed_given_too_soon_is_an_anchor():
    # the interval is tested before the product: B, too soon after the first dose, is the next one's anchor
    history = doses((YEAR - 30, "A"), (YEAR - 3, "B"), (YEAR, "A"))
    assert verdicts(history) == [(False, "too_young"), (False, "too_soon"), (False, "too_soon")]


def test_after_a_skip_with_nothing_valid_the_interval_counts_from_the_invalid_dose():
    # two doses too young for dose 1, then a third skips it: dose 2's interval counts from the second
    assert verdicts(doses((10, "A"), (20, "A"), (35, "A")), SKIPPING) == [
        (False, "too_young"), (False, "too_young"), (False, "too_soon")]
    assert verdicts(doses((10, "A"), (20, "A"), (48, "A")), SKIPPING) == [
        (False, "too_young"), (False, "too_young"), (True, None)]


def test_a_first_dose_too_young_after_a_skip_is_the_anchor():
    # at 17 months (dose 1 skipped, too young for dose 2), then at 18 months 2 weeks later: too soon
    seventeen, eighteen = (date(2025, 6, 1) - BORN).days, (date(2025, 7, 1) - BORN).days
    history = doses((seventeen, "A"), (eighteen + 1, "A"), (eighteen + 60, "A"))
    assert verdicts(history, SKIPPED_AT_ONCE) == [(False, "too_young"), (False, "too_soon"), (True, None)]
    assert_agree(SKIPPED_AT_ONCE, [STUDENT], history, [], AS_OF)
    assert_agree(SKIPPED_AT_ONCE, [STUDENT], history[:2], [], AS_OF)  # not complete


def test_what_the_student_still_needs_counts_from_the_invalid_dose():
    history = doses((YEAR - 20, "A"),)
    result = evaluate_student(RULESET, STUDENT, history, [], AS_OF)
    need = next_needs(RULESET, result, STUDENT, AS_OF)["Alpha"]
    assert need.dose_number == 1
    assert need.earliest == days(YEAR - 20 + 52)  # later than the minimum age, 12 months - 4 days
    assert "after the previous dose (not valid)" in need.words


@pytest.mark.parametrize("history", [
    doses((YEAR - 31, "A"), (YEAR - 10, "A"), (YEAR - 10 + 52, "A"), (YEAR + 200, "A")),  # prefix of two
    doses((YEAR - 60, "A"), (YEAR, "A"), (YEAR + 20, "A"), (YEAR + 80, "A")),  # dose 1 after the prefix
    doses((YEAR - 42, "A"), (YEAR - 20, "A"), (YEAR + 1, "A")),  # every dose in the prefix
    doses((YEAR - 70, "A"), (YEAR - 3, "B"), (YEAR, "A")),  # not allowed in the prefix: an anchor too
    doses((YEAR - 30, "A"), (YEAR - 3, "B"), (YEAR, "A"), (YEAR + 60, "A")),
    doses((YEAR + 5, "A"), (YEAR + 20, "A")),  # no prefix: the first tree
], ids=["prefix", "after-prefix", "all-prefix", "product-in-prefix", "product-too-soon", "no-prefix"])
def test_both_engines_agree(history):
    assert_agree(RULESET, [STUDENT], history, [], AS_OF)


@pytest.mark.parametrize("history", [
    doses((10, "A"), (20, "A"), (35, "A")),
    doses((10, "A"), (20, "A"), (48, "A"), (50, "A")),
    doses((10, "A"), (50, "A"), (60, "A")),
], ids=["too-soon", "valid", "dose-1-valid"])
def test_both_engines_agree_after_a_skip(history):
    assert_agree(SKIPPING, [STUDENT], history, [], AS_OF)


def test_minnesota_hib_catch_up_series_dose_1_counts_from_an_earlier_dose():
    # Hib at 6 months 18 days (too young for the start-at-7-months series' dose 1), then 20 days later,
    # then at 8 months and 12 months: the 7-month series finds the second dose too soon after the
    # first, as CDSi does, so it has the third and fourth valid and is not complete
    minnesota = load("minnesota").ruleset
    born = date(2023, 3, 10)
    student = Student("s1", born, "PK")
    given = [born + timedelta(days=d) for d in (202, 222, 250, 370)]
    history = [Dose(k, "s1", day, 48) for k, day in enumerate(given, start=1)]
    result = evaluate_student(minnesota, student, history, [], AS_OF)
    hib = next(g for g in result.groups if g.vaccine == "Hib")
    walk = next(w for w in hib.walk.walks if w.series.name == "Hib start at 7 months 3-dose series")
    assert [(v.valid, v.reason) for v in walk.verdicts] == [
        (False, "too_young"), (False, "too_soon"), (True, None), (True, None)]
    assert_agree(minnesota, [student], history, [], AS_OF)
