"""Every condition kind, with tolerance in each direction, and what the trace says about it."""

from datetime import date

import pytest

from vaxdsl.interpreter import evaluate_student
from vaxdsl.loader import load_text
from vaxdsl.records import Dose, Exemption, Student

HEADER = """
grades { EC "Early Childhood" PA "Pre-K A" PB "Pre-K B" KG "Kindergarten" 01 "Grade 1" 02 "Grade 2" 03 "Grade 3"
         set early "Early childhood" = EC, PA..PB }
product MMR cvx 03 "MMR" live counts MMR
product MMRV cvx 94 "MMRV" live counts MMR
predicate has_mmrv(S) :- dose(S, _, _, MMRV).
predicate dosed_on(S, Day) :- dose(S, _, Day, _).
"""
SERIES = "series { dose 1 { min age 12 months - 4 days } dose 2 { min interval 4 weeks - 4 days } }"
BIRTH = date(2020, 1, 15)  # 12 months on 2021-01-15, 15 months on 2021-04-15


def outcome(condition: str, doses=(), *, tolerance=0, grade="KG", as_of=date(2030, 1, 1), exemptions=(), applies=""):
    text = HEADER + f"""
    vaccine MMR {{
      {f"applies when {applies}" if applies else ""}
      {SERIES}
      rule "r" => compliant tolerance {tolerance} days when {condition}
      otherwise non_compliant
    }}"""
    ruleset = load_text(text).ruleset
    records = [Dose(i, "S", date.fromisoformat(when), cvx) for i, (when, cvx) in enumerate(doses, start=1)]
    result = evaluate_student(ruleset, Student("S", BIRTH, grade), records, list(exemptions), as_of)
    return result.groups[0]


def holds(condition: str, doses=(), **kwargs) -> bool:
    return outcome(condition, doses, **kwargs).status == "compliant"


def one_dose(when: str):
    return [(when, 3)]


# ---- the student's age on E: never relaxed -------------------------------------------------------


@pytest.mark.parametrize("condition, as_of, expected", [
    ("age >= 12 months", "2021-01-15", True),
    ("age >= 12 months", "2021-01-14", False),
    ("age < 12 months", "2021-01-14", True),
    ("age < 12 months", "2021-01-15", False),
    ("age > 12 months", "2021-01-15", False),
    ("age <= 12 months", "2021-01-15", True),
    ("age != 12 months", "2021-01-15", False),
    ("age = 12 months", "2021-01-15", True),
    ("age in 12 months .. 24 months", "2021-01-14", False),
    ("age in 12 months .. 24 months", "2021-01-15", True),
    ("age in 12 months .. 24 months", "2022-01-14", True),
    ("age in 12 months .. 24 months", "2022-01-15", False),
])
def test_age_on_the_effective_date_ignores_tolerance(condition, as_of, expected):
    assert holds(condition, tolerance=30, as_of=date.fromisoformat(as_of)) is expected


def test_effective_date():
    assert holds("effective date >= 2021-01-01", as_of=date(2021, 1, 1))
    assert not holds("effective date >= 2021-01-01", tolerance=30, as_of=date(2020, 12, 31))
    assert holds("effective date < 2021-01-01", as_of=date(2020, 12, 31))


# ---- tests on a dose's date: relaxed the easy way -------------------------------------------------


@pytest.mark.parametrize("condition, given, tolerance, expected", [
    # >= : threshold 2021-04-15 moves 4 days earlier
    ("dose 1 at age >= 15 months", "2021-04-11", 4, True),
    ("dose 1 at age >= 15 months", "2021-04-10", 4, False),
    ("dose 1 at age >= 15 months", "2021-04-14", 0, False),
    ("dose 1 at age >= 15 months", "2021-04-15", 0, True),
    # > : earlier too
    ("dose 1 at age > 15 months", "2021-04-12", 4, True),
    ("dose 1 at age > 15 months", "2021-04-11", 4, False),
    # < and <= : 4 days later
    ("dose 1 at age < 15 months", "2021-04-18", 4, True),
    ("dose 1 at age < 15 months", "2021-04-19", 4, False),
    ("dose 1 at age <= 15 months", "2021-04-19", 4, True),
    ("dose 1 at age <= 15 months", "2021-04-20", 4, False),
    # = and != are not relaxed
    ("dose 1 at age = 15 months", "2021-04-15", 4, True),
    ("dose 1 at age = 15 months", "2021-04-14", 4, False),
    ("dose 1 at age != 15 months", "2021-04-15", 4, False),
    ("dose 1 at age != 15 months", "2021-04-14", 4, True),
    # a range: the low end earlier, the high end later (15 months .. 18 months = 2021-04-15 .. 2021-07-15)
    ("dose 1 at age 15 months .. 18 months", "2021-04-11", 4, True),
    ("dose 1 at age 15 months .. 18 months", "2021-04-10", 4, False),
    ("dose 1 at age 15 months .. 18 months", "2021-07-18", 4, True),
    ("dose 1 at age 15 months .. 18 months", "2021-07-19", 4, False),
    ("dose 1 at age 15 months .. 18 months", "2021-07-15", 0, False),
    # first and last dose are the same single valid dose
    ("first dose at age >= 15 months", "2021-04-11", 4, True),
    ("last dose at age < 15 months", "2021-04-18", 4, True),
])
def test_dose_age_with_tolerance(condition, given, tolerance, expected):
    assert holds(condition, one_dose(given), tolerance=tolerance) is expected


def test_dose_age_of_a_dose_that_does_not_exist():
    assert not holds("dose 2 at age >= 1 day", one_dose("2021-04-11"))
    assert not holds("last dose at age >= 1 day")
    assert holds("not dose 2 at age >= 1 day", one_dose("2021-04-11"))


@pytest.mark.parametrize("condition, second, expected", [
    # 8 weeks after 2021-02-01 is 2021-03-29
    ("interval from dose 1 to dose 2 >= 8 weeks", "2021-03-25", True),
    ("interval from dose 1 to dose 2 >= 8 weeks", "2021-03-24", False),
    ("interval from dose 1 to dose 2 < 8 weeks", "2021-04-01", True),
    ("interval from dose 1 to dose 2 < 8 weeks", "2021-04-02", False),
    ("interval from first dose to last dose >= 8 weeks", "2021-03-25", True),
    ("interval from dose 1 to dose 3 >= 1 day", "2021-03-25", False),
])
def test_interval_with_tolerance(condition, second, expected):
    assert holds(condition, [("2021-02-01", 3), (second, 3)], tolerance=4) is expected


@pytest.mark.parametrize("condition, as_of, expected", [
    # the last dose 2021-02-01, + 28 days = 2021-03-01
    ("since last dose < 28 days", "2021-03-04", True),
    ("since last dose < 28 days", "2021-03-05", False),
    ("since last dose >= 28 days", "2021-02-25", True),
    ("since last dose >= 28 days", "2021-02-24", False),
    ("since dose 1 <= 28 days", "2021-03-05", True),
    ("since dose 2 < 1 year", "2021-03-01", False),
])
def test_since_with_tolerance(condition, as_of, expected):
    assert holds(condition, one_dose("2021-02-01"), tolerance=4, as_of=date.fromisoformat(as_of)) is expected


# ---- counting doses ---------------------------------------------------------------------------------

# 2020-06-01 is too young (invalid); the other two are valid doses 1 and 2.
THREE = [("2020-06-01", 3), ("2021-01-11", 94), ("2021-02-10", 3)]


@pytest.mark.parametrize("condition, expected", [
    ("at least 3 doses", True),
    ("at least 3 valid doses", False),
    ("at least 2 valid doses", True),
    ("at most 2 valid doses", True),
    ("at most 2 doses", False),
    ("exactly 2 valid doses", True),
    ("exactly 3 doses", True),
    ("fewer than 3 valid doses", True),
    ("fewer than 3 doses", False),
    ("more than 2 doses", True),
    ("more than 2 valid doses", False),
    ("no valid doses", False),
    ("at least 1 valid dose of MMRV", True),
    ("at least 2 valid doses of MMRV", False),
    ("at least 2 doses of MMR", True),
    ("exactly 1 valid dose of MMR", True),
    # 2021-01-11 is 12 months - 4 days: counted at age >= 12 months only with the tolerance
    ("at least 2 valid doses at age >= 12 months", False),
    ("at least 1 valid dose at age 1 month .. 12 months", True),
])
def test_counting_doses(condition, expected):
    assert holds(condition, THREE) is expected


def test_counting_doses_at_an_age_uses_the_tolerance():
    assert holds("at least 2 valid doses at age >= 12 months", THREE, tolerance=4)
    assert holds("no doses")
    assert not holds("no doses", THREE)


# ---- grades ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("condition, grade, expected", [
    ("grade in KG..02", "KG", True),
    ("grade in KG..02", "02", True),
    ("grade in KG..02", "03", False),
    ("grade in KG..02", None, False),
    ("grade in 03, early", "PB", True),
    ("grade in 03, early", "EC", True),
    ("grade in 03, early", "KG", False),
    ("grade in 03, early", "03", True),
    ("grade in 02..KG", "KG", False),  # a range against declaration order holds nothing
    ("no grade", None, True),
    ("no grade", "KG", False),
])
def test_grades(condition, grade, expected):
    assert holds(condition, grade=grade) is expected


# ---- exemptions, predicates, logic ------------------------------------------------------------------


def test_exempt_conditions_in_applies():
    # An exemption for the group decides it before any rule, so 'exempt' matters in 'applies' (which comes first).
    conscientious = [Exemption("S", "MMR", "conscientious")]
    assert outcome("always", applies="not exempt (conscientious)", exemptions=conscientious).status == "no_requirement"
    assert outcome("always", applies="not exempt (medical)", exemptions=conscientious).status == "exempt"
    assert outcome("always", applies="not exempt", exemptions=conscientious).status == "no_requirement"
    later = [Exemption("S", "MMR", "conscientious", date(2031, 1, 1))]
    assert outcome("always", applies="not exempt", exemptions=later).status == "compliant"
    other_group = [Exemption("S", "DTaP", "medical")]
    assert outcome("always", applies="not exempt", exemptions=other_group).status == "compliant"


def test_predicate_calls():
    assert holds("has_mmrv(student)", THREE)
    assert not holds("has_mmrv(student)", one_dose("2021-02-01"))
    assert holds("dosed_on(student, 2021-02-01)", one_dose("2021-02-01"))
    assert not holds("dosed_on(student, 2021-02-02)", one_dose("2021-02-01"))


def test_and_or_not_and_always():
    assert holds("always")
    assert holds("grade in KG and (no grade or at least 1 dose)", THREE)
    assert not holds("grade in KG and (no grade or at least 4 doses)", THREE)
    assert holds("not (no grade or at least 4 doses)", THREE)
    assert holds("no grade or grade in KG and at least 1 dose", THREE)  # 'and' binds tighter


# ---- the trace --------------------------------------------------------------------------------------


def test_trace_has_one_check_per_conjunct_in_plain_words():
    group = outcome("grade in KG..02 and at least 3 valid doses and dose 2 at age >= 4 years "
                    "and (since last dose < 28 days or no grade)", THREE, tolerance=4)
    assert group.status == "non_compliant"
    (rule,) = group.trace
    assert (rule.rule, rule.active, rule.matched) == ("r", True, False)
    texts = [(c.text, c.holds, c.observed) for c in rule.checks]
    assert texts[0] == ("grade in KG..02", True, "is in grade KG")
    assert texts[1] == ("at least 3 valid doses", False, "has 2 (2021-01-11, 2021-02-10)")
    assert texts[2] == ("dose 2 at age >= 4 years", False,
                        "dose 2 was given 2021-02-10, at 1 year 26 days (with 4 days' tolerance)")
    assert texts[3][0] == "since last dose < 28 days or no grade"
    assert texts[3][1] is False
    assert texts[3][2] == ("since last dose < 28 days: last dose (2021-02-10) was 3247 days before 2030-01-01 "
                           "(with 4 days' tolerance); no grade: is in grade KG")


def test_trace_words_for_missing_doses_and_ages():
    group = outcome("interval from dose 1 to dose 2 >= 28 days and age < 12 months and not has_mmrv(student)",
                    THREE, as_of=date(2021, 3, 1))
    observed = [c.observed for c in group.trace[0].checks]
    assert observed == [
        "dose 2 (2021-02-10) was given 30 days after dose 1 (2021-01-11)",
        "is 1 year 1 month 14 days old on 2021-03-01 (12 months old on 2021-01-15)",
        "it holds",
    ]
    assert [c.holds for c in group.trace[0].checks] == [True, False, False]
    assert [c.text for c in group.trace[0].checks][2] == "not has_mmrv(student)"
