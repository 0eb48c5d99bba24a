"""``reject REASON within D after not valid dose`` (docs/semantics.md, "Dose validity", step 5): a dose
given after the day of a dose the same walk found not valid, and before that day + D, is not valid.
CDSi's live-virus conflict between two doses of the same vaccine ends 24 days after a valid dose (the
series' own interval here) but 28 days after one evaluated not valid. The reference interpreter, the
SQL engine (the fast path leaves such students to the exact walk), the explanation, what the student
still needs, the formatter and the checker; then the bundled Minnesota ruleset."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from vaxdsl import engine
from vaxdsl.checker import check
from vaxdsl.compiler import compile_ruleset
from vaxdsl.formatter import format_ruleset
from vaxdsl.interpreter import evaluate_student
from vaxdsl.interpreter.needs import next_needs
from vaxdsl.loader import load, load_text
from vaxdsl.records import Dose, Student

from test_engines_agree import assert_agree, build_db

AS_OF = date(2027, 6, 1)
BORN = date(2025, 1, 1)
YEAR_OLD = date(2026, 1, 1) - timedelta(days=4)  # the minimum age of dose 1

SOURCE = '''
product M cvx 3 "MMR" live counts Measles

vaccine Measles {
  series {
    dose 1 { min age 12 months - 4 days }
    dose 2 { min age 13 months - 4 days  min interval 4 weeks - 4 days }
    reject live_virus_conflict within 28 days after not valid dose
  }
  rule "two" => compliant when at least 2 valid doses
  otherwise non_compliant
}
'''
RULESET = load_text(SOURCE, "t.vax").ruleset
STUDENT = Student("s1", BORN, None)


def doses(*given: date, cvx: int = 3) -> list[Dose]:
    return [Dose(k, "s1", day, cvx) for k, day in enumerate(given, start=1)]


def verdicts(history: list[Dose]) -> list[tuple[bool, str | None]]:
    result = evaluate_student(RULESET, STUDENT, history, [], AS_OF)
    return [(d.valid, d.reason) for d in result.doses]


TOO_YOUNG = YEAR_OLD - timedelta(days=1)


@pytest.mark.parametrize("gap, expected", [
    (1, (False, "live_virus_conflict")),
    (24, (False, "live_virus_conflict")),
    (27, (False, "live_virus_conflict")),
    (28, (True, None)),
], ids=["1-day", "24-days", "27-days", "28-days"])
def test_a_dose_within_the_window_after_a_dose_not_valid_is_rejected(gap, expected):
    history = doses(TOO_YOUNG, TOO_YOUNG + timedelta(days=gap))
    assert verdicts(history) == [(False, "too_young"), expected]


def test_a_dose_the_same_day_is_not_in_the_window():
    # the same day: judged on its own (too young as well); the window starts the day after
    later = TOO_YOUNG + timedelta(days=30)
    history = doses(TOO_YOUNG, TOO_YOUNG, later)
    assert verdicts(history) == [(False, "too_young"), (False, "too_young"), (True, None)]


def test_after_a_valid_dose_the_series_interval_decides():
    # 25 days after a valid dose 1: past the 4 weeks - 4 days of dose 2, so valid (CDSi's 24 days)
    history = doses(YEAR_OLD + timedelta(days=40), YEAR_OLD + timedelta(days=65))
    assert verdicts(history) == [(True, None), (True, None)]


def test_any_earlier_dose_not_valid_opens_a_window_not_only_the_latest():
    # two doses the same day 10 days after one too young: both in its window, so is the third
    first = TOO_YOUNG
    history = doses(first, first + timedelta(days=10), first + timedelta(days=10))
    assert verdicts(history) == [(False, "too_young"), (False, "live_virus_conflict"),
                                 (False, "live_virus_conflict")]


def test_a_timing_failure_comes_first():
    # the third dose is 15 days after the second (too soon after valid dose 1), so both too soon after
    # it (step 2) and in its window (step 5): too soon is reported
    first = YEAR_OLD + timedelta(days=40)
    history = doses(first, first + timedelta(days=10), first + timedelta(days=25))
    assert verdicts(history) == [(True, None), (False, "too_soon"), (False, "too_soon")]


def test_the_explanation_names_the_dose_not_valid():
    history = doses(TOO_YOUNG, TOO_YOUNG + timedelta(days=26))
    walk = evaluate_student(RULESET, STUDENT, history, [], AS_OF).groups[0].walk
    assert walk.chosen.verdicts[1].words == (
        f"live virus conflict: given 26 days after a dose not valid ({TOO_YOUNG.isoformat()}), less than "
        f"28 days after it")


def test_the_next_dose_is_due_after_the_window():
    history = doses(TOO_YOUNG + timedelta(days=-20), TOO_YOUNG)
    result = evaluate_student(RULESET, STUDENT, history, [], TOO_YOUNG + timedelta(days=1))
    need = next_needs(RULESET, result, STUDENT, TOO_YOUNG + timedelta(days=1))["Measles"]
    assert (need.dose_number, need.earliest) == (1, TOO_YOUNG + timedelta(days=28))
    assert f"28 days after a dose not valid ({TOO_YOUNG.isoformat()})" in need.words


HISTORIES = {
    "conflict": doses(TOO_YOUNG, TOO_YOUNG + timedelta(days=26)),
    "after-window": doses(TOO_YOUNG, TOO_YOUNG + timedelta(days=28), TOO_YOUNG + timedelta(days=70)),
    "same-day": doses(TOO_YOUNG, TOO_YOUNG, TOO_YOUNG + timedelta(days=10), TOO_YOUNG + timedelta(days=40)),
    "valid-then-25-days": doses(YEAR_OLD + timedelta(days=40), YEAR_OLD + timedelta(days=65)),
    "too-soon-then-window": doses(YEAR_OLD, YEAR_OLD + timedelta(days=10), YEAR_OLD + timedelta(days=30),
                                  YEAR_OLD + timedelta(days=60)),
    "many": doses(*(TOO_YOUNG + timedelta(days=d) for d in (0, 5, 27, 60, 61, 80))),
}


@pytest.mark.parametrize("history", HISTORIES.values(), ids=HISTORIES.keys())
def test_both_engines_agree(history):
    assert_agree(RULESET, [STUDENT], history, [], AS_OF)


@pytest.mark.parametrize("gaps, decided", [
    ((40, 100), True),  # no two doses less than 28 days apart: the reject cannot apply
    ((40, 40), True),  # the same day is no pair
    ((40, 60), False),  # 20 days apart: the exact walk decides
    ((40, 100, 130, 170), False),  # more doses than the fast path decodes
])
def test_the_fast_path_leaves_only_near_doses_to_the_exact_walk(gaps, decided):
    conn = build_db([STUDENT], doses(*(YEAR_OLD + timedelta(days=g) for g in gaps)), [])
    prepared = engine.Prepared(conn, compile_ruleset(RULESET, AS_OF))
    try:
        prepared.run("all")
        assert conn.execute("SELECT count(*) FROM vx_slow").fetchone()[0] == (0 if decided else 1)
    finally:
        prepared.close()
        conn.close()


def test_the_formatter_writes_it_back():
    text = format_ruleset(RULESET)
    assert "    reject live_virus_conflict within 28 days after not valid dose\n" in text
    assert format_ruleset(load_text(text, "again.vax").ruleset) == text


def test_a_window_of_a_day_never_rejects():
    loaded = load_text(SOURCE.replace("within 28 days", "within 1 day"), "t.vax")
    found = [(d.code, d.line) for d in check(loaded)]
    assert found == [("W217", 8)]  # the line of the reject, SOURCE starting with a newline


# ---- the Minnesota ruleset: CDSi's conflictEndInterval between two MMR or two varicella doses ----------------


@pytest.fixture(scope="module")
def minnesota():
    return load("minnesota").ruleset


@pytest.mark.parametrize("cvx, group", [(3, "MMR"), (21, "Varicella")])
def test_minnesota_rejects_a_repeat_within_28_days_of_a_dose_too_young(minnesota, cvx, group):
    student = Student("s1", BORN, None)
    history = doses(TOO_YOUNG, TOO_YOUNG + timedelta(days=25), TOO_YOUNG + timedelta(days=60), cvx=cvx)
    result = evaluate_student(minnesota, student, history, [], AS_OF)
    assert [(d.valid, d.reason) for d in result.doses if d.vaccine == group] == [
        (False, "too_young"), (False, "live_virus_conflict"), (True, None)]
    assert_agree(minnesota, [student], history, [], AS_OF)
