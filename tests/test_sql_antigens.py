"""The SQL engine on groups that declare antigens (docs/semantics.md, "Antigens"), one small example per
rule, with the expected values worked out from the semantics:

1. each antigen walks its series over the group's doses of the products it names, and only those;
2. a dose is valid when every antigen walking it finds it valid, else the first antigen (declaration
   order) that does not gives the reason; a product no antigen names is ``not_allowable``; a valid
   dose's number is the first walking antigen's;
3. the group's valid doses: as many as the antigen with fewest, group dose k dated the day the last
   antigen got its k-th; a count ``of P`` counts the doses themselves;
4. ``series complete`` when every antigen's chosen series is;
5. ``valid``/``invalid`` are the combined verdicts of rule 2.

Each example runs as the engine runs it (the fast path decides a student whose doses of the group are
all of products every antigen names, the exact walk the others) and with the exact walk forced.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from vaxdsl import engine
from vaxdsl.compiler import compile_ruleset
from vaxdsl.loader import load_text
from vaxdsl.records import Dose, Student

from test_engines_agree import build_db

# Only MMR and varicella are live here, so the reject (Measles only) applies to an MMR dose after a
# varicella dose alone.
PRODUCTS = '''
product MMR cvx 3 "MMR" live counts MMR
product MR cvx 4 "M/R" counts MMR
product Measles cvx 5 "Measles" counts MMR
product Rubella cvx 6 "Rubella" counts MMR
product Mumps cvx 7 "Mumps" counts MMR
product Stray cvx 8 "No antigen" counts MMR
product VAR cvx 21 "Varicella" live counts Varicella

predicate live_conflict(S, D)
  :- dose(S, D, Given, P), live(P), dose(S, _, Before, Q), live(Q), P != Q,
     Before < Given, Given < Before + 28 days.
predicate second_valid(S) :- valid(S, MMR, _, 2).
predicate numbered(S, P, N) :- valid(S, MMR, D, N), dose(S, D, _, P).
predicate too_soon(S) :- invalid(S, MMR, _, too_soon).
predicate stray(S) :- invalid(S, MMR, _, not_allowable).

vaccine Varicella { rule "any" => compliant when always }
'''

ANTIGENS = '''
  antigen Measles of MMR, MR, Measles {
    series "Measles" {
      dose 1 { min age 12 months - 4 days }
      dose 2 { min interval 4 weeks - 4 days }
      reject live_virus_conflict when live_conflict(student, dose)
    }
  }
  antigen Mumps of MMR, Mumps {
    series "Mumps" { dose 1 { min age 12 months - 4 days } dose 2 { min interval 4 weeks - 4 days } }
  }
  antigen Rubella of MMR, MR, Rubella {
    series "Rubella" { dose 1 { min age 15 months } dose 2 { min interval 4 weeks - 4 days } }
  }
'''

BIRTH = date(2015, 1, 1)
D = date(2016, 6, 1)  # 17 months: old enough for every antigen's dose 1
FAR = date(2025, 1, 1)


def ruleset(rules: str):
    text = PRODUCTS + "vaccine MMR {\n" + ANTIGENS + rules + "\n  otherwise non_compliant\n}\n"
    return load_text(text, "antigens.vax").ruleset


def doses_of(*given: tuple[date, int]) -> list[Dose]:
    return [Dose(index, "S1", day, cvx) for index, (day, cvx) in enumerate(given, start=1)]


def run(rules: str, doses: list[Dose], as_of: date = FAR, walked: bool = False):
    """The MMR group's evaluation and dose records of student S1 (``walked``: by the exact walk, for
    every student)."""
    rs = ruleset(rules)
    conn = build_db([Student("S1", BIRTH, None)], doses, [])
    try:
        compiled = compile_ruleset(rs, as_of)
        prepared = engine.Prepared(conn, compiled)
        prepared.run("all")
        if walked:  # every student through the exact walk, as a forced or open one goes
            conn.execute("UPDATE vx_result SET slow = 1")
            prepared.run_steps(compiled.slow_steps())
        group = next(g for g in prepared.results() if g.vaccine == "MMR")
        records = [d for d in engine.evaluate_doses(rs, conn, as_of) if d.vaccine == "MMR"]
        prepared.close()
    finally:
        conn.close()
    return group, [(d.dose_id, d.valid, d.reason, d.dose_number) for d in records]


WAYS = pytest.mark.parametrize("walked", [False, True], ids=["engine", "walked"])
MEASLES, MUMPS, RUBELLA = 5, 7, 6


# ---- rules 1 and 3: each antigen walks its own products; the group's doses are the antigens' together


@WAYS
def test_three_singles_on_one_day_are_one_group_dose(walked):
    group, records = run('rule "one" => in_process when exactly 1 valid dose',
                         doses_of((D, MEASLES), (D, MUMPS), (D, RUBELLA)), walked=walked)
    assert group.valid_doses == 1 and group.rule == "one"
    # no single is "too soon" after another: each is its own antigen's dose 1
    assert records == [(1, True, None, 1), (2, True, None, 1), (3, True, None, 1)]


@WAYS
def test_measles_single_after_mmr_counts_for_measles_only(walked):
    group, records = run('rule "one" => in_process when exactly 1 valid dose',
                         doses_of((D, 3), (D + timedelta(weeks=4), MEASLES)), walked=walked)
    # Measles has 2 valid doses, Mumps and Rubella 1: the group has 1
    assert group.valid_doses == 1 and group.rule == "one"
    assert records == [(1, True, None, 1), (2, True, None, 2)]


@WAYS
def test_group_dose_is_dated_when_the_last_antigen_got_it(walked):
    # M/R (measles, rubella) on D, mumps 30 days later: one group dose, dated the mumps day
    rules = '''rule "recent" => in_grace_period when since last dose < 28 days
  rule "first" => in_process when dose 1 at age >= 18 months'''
    later = D + timedelta(days=30)  # 18 months and a day
    group, _ = run(rules, doses_of((D, 4), (later, MUMPS)), as_of=later + timedelta(days=10), walked=walked)
    assert (group.valid_doses, group.rule) == (1, "recent")  # 10 days since the mumps day, not 40
    group, _ = run(rules, doses_of((D, 4), (later, MUMPS)), as_of=later + timedelta(days=60), walked=walked)
    assert group.rule == "first"  # dose 1 dated the mumps day, 18 months old


@WAYS
def test_count_of_products_counts_the_doses_themselves(walked):
    rules = '''rule "two MMR" => compliant when at least 2 valid doses of MMR
  rule "one MMR" => in_process when exactly 1 valid dose of MMR
  rule "no MMR" => in_grace_period when no valid doses of MMR and at least 1 valid dose'''
    ok = D + timedelta(weeks=5)
    group, _ = run(rules, doses_of((D, 3), (ok, 3)), walked=walked)
    assert (group.rule, group.valid_doses) == ("two MMR", 2)
    # a mumps dose 9 days before the MMR: Mumps finds the MMR too soon, so the MMR dose is not valid,
    # though Measles and Rubella count it (the group has its 1 dose: Mumps' single, with them)
    group, records = run(rules, doses_of((D, MUMPS), (D + timedelta(days=9), 3)), walked=walked)
    assert (group.rule, group.valid_doses) == ("no MMR", 1)
    assert records == [(1, True, None, 1), (2, False, "too_soon", None)]


# ---- rule 2: the combined verdict of a dose


@WAYS
def test_the_first_antigen_that_rejects_a_dose_gives_the_reason(walked):
    # at 13 months: Measles and Mumps accept dose 1, Rubella (15 months) finds it too young
    young = date(2016, 2, 1)
    _, records = run("", doses_of((young, 3)), walked=walked)
    assert records == [(1, False, "too_young", None)]
    # a mumps single first: the MMR dose is too soon for Mumps and too young for Rubella; Mumps is
    # declared first
    _, records = run("", doses_of((young - timedelta(days=5), MUMPS), (young, 3)), walked=walked)
    assert records == [(1, True, None, 1), (2, False, "too_soon", None)]


@WAYS
def test_a_valid_dose_takes_the_first_walking_antigens_number(walked):
    # Measles single, then MMR: the MMR dose is Measles' dose 2 but Mumps' and Rubella's dose 1
    group, records = run("", doses_of((D, MEASLES), (D + timedelta(weeks=6), 3)), walked=walked)
    assert records == [(1, True, None, 1), (2, True, None, 2)]
    assert group.valid_doses == 1


@WAYS
def test_a_product_of_no_antigen_is_not_allowable(walked):
    group, records = run('rule "stray" => non_compliant when stray(student)\n'
                         '  rule "one" => in_process when exactly 1 valid dose',
                         doses_of((D, 8), (D, 3)), walked=walked)
    assert records == [(1, False, "not_allowable", None), (2, True, None, 1)]
    assert group.rule == "stray"


def test_a_reject_in_one_antigen_invalidates_the_dose():
    # a varicella dose 10 days before the MMR: live_conflict holds for the MMR dose, which Measles
    # rejects (the student takes the exact walk); Mumps and Rubella accept it
    group, records = run('rule "one" => in_process when at least 1 valid dose',
                         doses_of((D, 21), (D + timedelta(days=10), 3)))
    assert records == [(2, False, "live_virus_conflict", None)]
    assert group.valid_doses == 0 and group.rule is None


# ---- rule 4: series complete


@WAYS
def test_series_complete_needs_every_antigen(walked):
    rules = 'rule "done" => compliant when series complete'
    group, _ = run(rules, doses_of((D, 3), (D + timedelta(weeks=5), 3)), walked=walked)
    assert (group.rule, group.valid_doses) == ("done", 2)
    # the second dose is M/R: Mumps has 1 dose, so neither the series nor the group's 2nd dose
    group, _ = run(rules, doses_of((D, 3), (D + timedelta(weeks=5), 4)), walked=walked)
    assert (group.rule, group.valid_doses) == (None, 1)


# ---- rule 5: valid / invalid


@WAYS
def test_valid_and_invalid_relations_are_the_combined_verdicts(walked):
    rules = '''rule "measles 2" => in_grace_period when numbered(student, Measles, 2)
  rule "second" => compliant when second_valid(student)
  rule "soon" => in_process when too_soon(student)'''
    # MMR then MMR 5 weeks later: dose 2 is valid, number 2
    group, _ = run(rules, doses_of((D, 3), (D + timedelta(weeks=5), 3)), walked=walked)
    assert (group.rule, group.valid_doses) == ("second", 2)
    # mumps single then MMR 9 days later: the MMR dose is invalid, too soon (Mumps)
    group, _ = run(rules, doses_of((D, MUMPS), (D + timedelta(days=9), 3)), walked=walked)
    assert group.rule == "soon"
    # MMR then a measles single: valid, numbered 2 by Measles (the first antigen walking it), though
    # the group has 1 valid dose (Mumps and Rubella have 1)
    group, _ = run(rules, doses_of((D, 3), (D + timedelta(weeks=5), MEASLES)), walked=walked)
    assert (group.rule, group.valid_doses) == ("measles 2", 1)


# ---- which students the fast path decides


@pytest.mark.parametrize("given, decided", [
    ([3, 94, 3], True),  # MMR and MMRV: every antigen walks every dose, over the group's own string
    ([3, MEASLES], False),  # a single-antigen dose: the exact walk
    ([8], False),  # a product no antigen names
    ([21, 3], False),  # a varicella dose 10 days before: the Measles reject may apply (forced)
])
def test_the_fast_path_decides_students_with_doses_every_antigen_walks(given, decided):
    rs = ruleset('rule "one" => in_process when at least 1 valid dose')
    gap = timedelta(days=10 if 21 in given else 60)
    doses = doses_of(*((D + gap * i, cvx) for i, cvx in enumerate(given)))
    conn = build_db([Student("S1", BIRTH, None)], doses, [])
    prepared = engine.Prepared(conn, compile_ruleset(rs, FAR))
    prepared.run("all")
    assert conn.execute("SELECT count(*) FROM vx_slow").fetchone()[0] == (0 if decided else 1)
    prepared.close()
    conn.close()


def test_antigens_of_the_same_shape_share_one_fast_walk():
    """Three antigens with the same series (names aside) are one walk in the fast path, as the group's
    own series were."""
    same = '''
  antigen Measles of MMR, MR, Measles { series "Measles" { dose 1 { min age 1 year } dose 2 { min interval 4 weeks } } }
  antigen Mumps of MMR, Mumps { series "Mumps" { dose 1 { min age 1 year } dose 2 { min interval 4 weeks } } }
  antigen Rubella of MMR, MR, Rubella { series "Rubella" { dose 1 { min age 1 year } dose 2 { min interval 4 weeks } } }
'''
    text = PRODUCTS + "vaccine MMR {\n" + same + 'rule "two" => compliant when at least 2 valid doses of MMR }\n'
    compiled = compile_ruleset(load_text(text, "same.vax").ruleset, FAR)
    main = compiled.main_sql("all")
    units = list(compiled.antigens.units)
    assert f"wk_{units[0]}" in main and not any(f"wk_{u}" in main for u in units[1:])
