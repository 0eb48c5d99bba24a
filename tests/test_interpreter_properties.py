"""Properties of the interpreter that hold for any student: order independence, numbering, the trace."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from vaxdsl import ast
from vaxdsl.interpreter import evaluate_student, explain_text
from vaxdsl.interpreter.tables import APPLIES
from vaxdsl.loader import load_text
from vaxdsl.records import Dose, Exemption, Student

RULESET = load_text("""
settings { tolerance 4 days }
grades { PA "Pre-K" KG "Kindergarten" 01 "Grade 1" }
product MMR cvx 03 "MMR" live counts MMR
product MMRV cvx 94 "MMRV" live counts MMR, Varicella
product VAR cvx 21 "Varicella" live counts Varicella
product DTaP cvx 20 "DTaP" counts DTaP
product Td cvx 09 "Td" counts DTaP
predicate live_conflict(S, D) :- dose(S, D, Given, P), live(P), dose(S, _, Before, Q), live(Q), P != Q,
                                 Before < Given, Given < Before + 28 days.
predicate two_mmr(S) :- student(S), count { D : valid(S, MMR, D, _) } >= 2.
vaccine MMR {
  applies when age >= 12 months
  series {
    dose 1 { min age 12 months - 4 days allow MMR, MMRV before age 13 years }
    dose 2 { min interval 4 weeks - 4 days }
    reject live_virus_conflict when live_conflict(student, dose)
  }
  rule "two" => compliant when two_mmr(student)
  rule "one, recent" => in_grace_period when exactly 1 valid dose and since last dose < 28 days
  otherwise non_compliant
}
vaccine Varicella {
  series { dose 1 { min age 12 months - 4 days } dose 2 { min interval 12 weeks - 4 days }
           reject live_virus_conflict when live_conflict(student, dose) }
  rule "two" => compliant when at least 2 valid doses
  rule "old rule" => compliant active to 2015-06-30 when at least 1 valid dose
  otherwise non_compliant
}
vaccine DTaP {
  series {
    dose 1 { min age 6 weeks - 4 days max age 7 years allow DTaP }
    dose 2 { min interval 4 weeks - 4 days }
    dose 3 { min interval 4 weeks - 4 days }
  }
  rule "KG 3" => compliant when grade in KG and at least 3 valid doses and last dose at age >= 4 years
  rule "3" => compliant when at least 3 valid doses
  rule "recent" => in_grace_period when since last dose < 6 months
}
""").ruleset

BIRTH = date(2010, 3, 31)
students = st.builds(Student, st.just("S"), st.just(BIRTH), st.sampled_from([None, "PA", "KG", "01"]))
dose_rows = st.lists(st.tuples(st.integers(0, 365 * 9), st.sampled_from([3, 94, 21, 20, 9, 999])), max_size=9)
exemption_rows = st.lists(st.builds(Exemption, st.just("S"), st.sampled_from(["MMR", "DTaP"]),
                                    st.sampled_from(ast.EXEMPTION_KINDS),
                                    st.one_of(st.none(), st.dates(date(2012, 1, 1), date(2020, 1, 1)))), max_size=2)
as_of_dates = st.dates(date(2012, 1, 1), date(2020, 12, 31))


def doses_of(rows):
    return [Dose(i, "S", BIRTH + timedelta(days=days), cvx) for i, (days, cvx) in enumerate(rows, start=1)]


@settings(max_examples=150, deadline=None)
@given(students, dose_rows, exemption_rows, as_of_dates, st.randoms(use_true_random=False))
def test_evaluation_invariants(student, rows, exemptions, as_of, random):
    doses = doses_of(rows)
    evaluation = evaluate_student(RULESET, student, doses, exemptions, as_of)

    # the order the records come in does not matter
    shuffled = list(doses)
    random.shuffle(shuffled)
    assert evaluate_student(RULESET, student, shuffled, exemptions, as_of) == evaluation

    for group in evaluation.groups:
        rows_of_group = [d for d in evaluation.doses if d.vaccine == group.vaccine]
        # walked by (date, id); valid ones numbered 1, 2, ... and counted
        assert rows_of_group == sorted(rows_of_group, key=lambda d: (d.date, d.dose_id))
        assert [d.dose_number for d in rows_of_group if d.valid] == list(range(1, group.valid_doses + 1))
        assert all(d.reason is None if d.valid else d.reason in ast.INVALID_REASONS for d in rows_of_group)
        # the trace ends where the decision was made
        entries = [t for t in group.trace if t.rule != APPLIES]
        if group.rule is not None:
            assert entries[-1].rule == group.rule and entries[-1].matched
        assert not any(t.matched for t in entries[:-1])
        assert all(not t.checks for t in entries if not t.active)
    # nothing after E; unresolved rows once each, last
    assert all(d.date <= as_of for d in evaluation.doses)
    unresolved = [d for d in evaluation.doses if d.product is None]
    assert unresolved == list(evaluation.doses[len(evaluation.doses) - len(unresolved):])
    assert all(d.vaccine == "" and not d.valid for d in unresolved)

    text = explain_text(evaluation, RULESET, student, as_of)
    assert all(d.date.isoformat() in text for d in evaluation.doses)


@settings(max_examples=60, deadline=None)
@given(students, dose_rows, as_of_dates, st.integers(1, 400))
def test_a_later_dose_changes_nothing_before_it_is_given(student, rows, as_of, days_later):
    doses = doses_of(rows)
    later = Dose(99, "S", as_of + timedelta(days=days_later), 3)
    assert (evaluate_student(RULESET, student, doses + [later], [], as_of)
            == evaluate_student(RULESET, student, doses, [], as_of))
