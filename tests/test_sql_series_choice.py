"""The SQL engine on several series per group and ``skip when`` (docs/semantics.md, "Skipping a series
dose", "Choosing among series"): it agrees with the reference interpreter, and its fast path agrees
with its exact recursive walk, on rulesets written to reach every kind of skip condition, chains of
skips, start windows, series the student is too young for, rejects in one series only, and the
``valid``/``invalid`` relations of a group that chooses.

``VAXDSL_AGREE_EXAMPLES`` sets the number of examples per ruleset (default 100).
"""

from __future__ import annotations

import os
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings

from vaxdsl import engine
from vaxdsl.compiler import compile_ruleset
from vaxdsl.loader import load_text
from vaxdsl.records import Dose, Student

from test_compiler_series import _fast_and_walked as fast_and_walked
from test_engines_agree import assert_agree, build_db, check_agreement, populations

EXAMPLES = int(os.environ.get("VAXDSL_AGREE_EXAMPLES", "100"))

POLIO = '''
product IPV cvx 10 "IPV" counts Polio
product OPV cvx 2 "OPV" counts Polio
product Combo cvx 110 "DTaP-HepB-IPV" counts Polio, Other
product Other cvx 20 "Other" counts Other

vaccine Polio {
  series "Polio 4-dose" {
    dose 1 { min age 6 weeks - 4 days }
    dose 2 { min age 10 weeks - 4 days  min interval 4 weeks - 4 days }
    dose 3 {
      min age 14 weeks - 4 days
      min interval 4 weeks - 4 days
      skip when age >= 4 years
      skip when age >= 4 years - 4 days and since last dose >= 6 months - 4 days
    }
    dose 4 { min age 4 years - 4 days  min interval 6 months - 4 days }
  }
  series "Polio 5-dose" {
    dose 1 { min age 6 weeks - 4 days }
    dose 2 { min interval 4 weeks - 4 days }
    dose 3 { min interval 4 weeks - 4 days }
    dose 4 { min interval 4 weeks - 4 days  skip when age >= 4 years }
    dose 5 { min age 4 years - 4 days  min interval 6 months - 4 days  allow IPV, Combo }
  }
  series "Polio adult" {
    start from age 18 years
    dose 1 { min age 18 years }
    dose 2 { min interval 4 weeks }
  }
  rule "4 doses" => compliant when at least 4 valid doses and last dose at age >= 4 years - 4 days
  rule "3 doses" => in_process when exactly 3 valid doses and since last dose < 6 months
  rule "first" => in_grace_period when dose 1 at age < 1 year and interval from first dose to last dose >= 2 months
  otherwise non_compliant
}

vaccine Other {
  series { dose 1 { } dose 2 { min interval 2 months } }
  rule "2" => compliant when at least 2 valid doses
  otherwise non_compliant
}
'''

HIB = '''
product Hib cvx 17 "Hib" counts Hib
product PRP cvx 49 "PRP-OMP" counts Hib
product Combo cvx 50 "DTaP-Hib" counts Hib

predicate second_late(S) :- valid(S, Hib, D, 2), dose(S, D, T, _), birth(S, Born), T >= Born + 1 year.
predicate two_valid(S) :- student(S), count { D : valid(S, Hib, D, _) } >= 2.

vaccine Hib {
  series "start at 2 months" {
    start before age 7 months - 4 days
    dose 1 { min age 6 weeks - 4 days  max age 5 years }
    dose 2 {
      min age 10 weeks - 4 days  max age 5 years  min interval 4 weeks - 4 days
      skip when age >= 15 months - 4 days
    }
    dose 3 {
      min age 14 weeks - 4 days  max age 5 years  min interval 4 weeks - 4 days
      skip when age >= 12 months
      skip when age >= 12 months - 4 days and since last dose >= 8 weeks - 4 days
    }
    dose 4 { min age 12 months - 4 days  max age 5 years  min interval 8 weeks - 4 days }
  }
  series "PRP-OMP" {
    dose 1 { min age 6 weeks - 4 days  allow PRP }
    dose 2 { min interval 4 weeks - 4 days  allow PRP }
    dose 3 { min age 12 months - 4 days  min interval 8 weeks - 4 days }
  }
  series "start at 7 months" {
    start from age 7 months - 4 days
    start before age 12 months - 4 days
    dose 1 { min age 7 months - 4 days }
    dose 2 { min interval 4 weeks - 4 days  skip when age >= 15 months }
    dose 3 { min age 12 months - 4 days  min interval 8 weeks - 4 days }
  }
  series "start at 15 months" {
    start from age 15 months - 4 days
    dose 1 { min age 15 months - 4 days  max age 5 years }
  }
  rule "complete" => compliant when at least 3 valid doses or (at least 1 valid dose and dose 1 at age >= 15 months)
  rule "late second" => in_grace_period when second_late(student) and not two_valid(student) or age < 1 month
  rule "some" => in_process when at least 1 valid dose of Hib, Combo or two_valid(student)
  otherwise non_compliant
}
'''

# every kind of skip condition, chains, a skip on dose 1, an empty series,
# rejects in one series, and valid/invalid read by predicates
SKIPS = '''
product PA cvx 1 "A" live counts G, H
product PB cvx 2 "B" counts G
product PC cvx 3 "C" live counts G, H
product PD cvx 4 "D" counts H

predicate live_conflict(S, D)
  :- dose(S, D, Given, P), live(P), dose(S, _, Before, Q), live(Q), P != Q,
     Before < Given, Given < Before + 28 days.
predicate third_valid_late(S)
  :- valid(S, G, D, 3), dose(S, D, T, _), birth(S, B), T >= B + 2 years.
predicate any_too_soon(S) :- invalid(S, H, _, too_soon).

vaccine G {
  series "long" {
    dose 1 { min age 4 weeks  skip when age >= 6 years }
    dose 2 { min interval 4 weeks  skip when age >= 6 years or at least 3 doses at age < 1 year }
    dose 3 {
      min interval 4 weeks
      skip when age in 3 years .. 6 years and not (at least 1 valid dose of PB)
      skip when dose 1 at age >= 2 years and interval from dose 1 to dose 2 >= 6 months
    }
    dose 4 {
      min age 2 years  min interval 6 months
      skip when at least 3 valid doses and since dose 2 >= 1 year
      skip when exactly 2 valid doses of PA, PC at age >= 1 year
    }
    dose 5 { min interval 6 months  skip when at least 4 valid doses  skip when more than 5 doses of PB }
    dose 6 { min age 6 years  skip when last dose at age >= 5 years }
    dose 7 { min age 7 years  allow PA, PB }
  }
  series "short" {
    start before age 2 years
    dose 1 { min age 6 weeks  allow PA, PB }
    dose 2 { min interval 8 weeks  skip when always }
    dose 3 { min age 1 year  min interval 2 months  skip when no valid doses of PA  skip when since first dose < 3 months }
    reject live_virus_conflict when live_conflict(student, dose)
  }
  series "from one year" {
    start from age 1 year
    dose 1 { min age 1 year }
    dose 2 { min interval 1 month  skip when fewer than 2 doses }
    dose 3 { }
  }
  series "empty" { }
  rule "long done" => compliant when at least 5 valid doses
  rule "late third" => in_process when third_valid_late(student)
  rule "two" => in_grace_period when at least 2 valid doses and last dose at age < 6 years
  otherwise non_compliant
}

vaccine H {
  series "H main" {
    dose 1 { min age 2 months  skip when at most 0 doses of PD }
    dose 2 { min interval 4 weeks  skip when exactly 1 doses of PD at age >= 6 months }
    dose 3 { min interval 3 months }
  }
  series "H alt" {
    dose 1 { allow PD }
    dose 2 { min interval 1 month  allow PD, PA }
  }
  rule "soon" => in_process when any_too_soon(student)
  rule "done" => compliant when at least 2 valid doses
  otherwise non_compliant
}
'''

RULESETS = {"polio": POLIO, "hib": HIB, "skips": SKIPS}
_CACHE: dict = {}


def ruleset_named(name: str):
    if name not in _CACHE:
        _CACHE[name] = load_text(RULESETS[name], f"{name}.vax").ruleset
    return _CACHE[name]


@pytest.mark.parametrize("name", sorted(RULESETS))
def test_engines_agree_on_series_choice_and_skips(name):
    check_agreement(ruleset_named(name))


@pytest.mark.parametrize("name", sorted(RULESETS))
def test_fast_path_is_the_exact_walk(name):
    ruleset = ruleset_named(name)

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.data_too_large])
    @given(populations(ruleset))
    def check(population):
        fast, walked = fast_and_walked(ruleset, *population)
        assert fast == walked

    check()


def _polio_student(*ages_in_days, birth=date(2015, 1, 1), cvx=10):
    from datetime import timedelta

    student = Student("P", birth, None)
    return student, [Dose(i, "P", birth + timedelta(days=days), cvx) for i, days in enumerate(ages_in_days, start=1)]


@pytest.mark.parametrize("ages, expected", [
    # 2, 4, 6 months and 4 years 2 months: the 4-dose series, complete
    ((61, 122, 183, 1521), (4, [1, 2, 3, 4])),
    # the 3rd dose at 4 years: dose 3 is skipped, it counts as the 3rd valid dose for target 4
    ((61, 122, 1470, 1680), (4, [1, 2, 3, 4])),
    # a 4th dose too early for the 4-dose series; the 5-dose series counts it and needs a 5th
    ((61, 122, 183, 300), (4, [1, 2, 3, 4])),
    ((61, 122, 183, 300, 1521), (5, [1, 2, 3, 4, 5])),
])
def test_polio_examples(ages, expected):
    ruleset = ruleset_named("polio")
    student, doses = _polio_student(*ages)
    as_of = date(2022, 9, 1)
    assert_agree(ruleset, [student], doses, [], as_of)
    conn = build_db([student], doses, [])
    polio = next(g for g in engine.evaluate(ruleset, conn, as_of) if g.vaccine == "Polio")
    listed = [d.dose_number for d in engine.evaluate_doses(ruleset, conn, as_of) if d.vaccine == "Polio" and d.valid]
    conn.close()
    assert (polio.valid_doses, listed) == expected


def test_a_predicate_reads_only_the_exact_walk_of_a_student_the_fast_path_left_open():
    # "start at 2 months" is chosen (PRP valid); three doses at 5 years leave its fast path open. The
    # "start at 7 months" walk finds the first of them valid: the fast path's choice among the walks it
    # did settle must not add that dose to `valid`, or two_valid(student) would hold (found by hypothesis)
    ruleset = ruleset_named("hib")
    student = Student("S00", date(2002, 1, 1), None)
    doses = [Dose(2, "S00", date(2002, 2, 8), 17, None, "PRP"), Dose(3, "S00", date(2002, 2, 8), 17)]
    doses += [Dose(k, "S00", date(2007, 2, 9), 17) for k in (5, 6, 7)]
    as_of = date(2024, 2, 29)
    assert_agree(ruleset, [student], doses, [], as_of)
    conn = build_db([student], doses, [])
    hib = next(g for g in engine.evaluate(ruleset, conn, as_of) if g.vaccine == "Hib")
    conn.close()
    assert (hib.status, hib.rule) == ("non_compliant", None)


def test_skip_chains_compile_within_the_parser_limits():
    """Deep chains of skips with many series: the main statement prepares (SQLite's parser stack is
    fixed) and stays a reasonable size."""
    ruleset = ruleset_named("skips")
    compiled = compile_ruleset(ruleset, date(2024, 1, 1))
    conn = build_db([], [], [])
    prepared = engine.Prepared(conn, compiled)
    conn.execute("EXPLAIN " + compiled.main_sql("all")).fetchall()
    assert len(compiled.main_sql("all")) < 2_000_000
    prepared.close()
