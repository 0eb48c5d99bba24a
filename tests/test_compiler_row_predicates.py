"""Predicates about one group's valid doses, compiled over the student's row (compiler/row_predicates.py):
which predicates qualify, what that saves, and that the answers do not change at the thresholds."""

from __future__ import annotations

from datetime import date

import pytest

from vaxdsl.compiler import compile_ruleset
from vaxdsl.interpreter import evaluate_student
from vaxdsl.loader import load, load_text
from vaxdsl.records import Dose, Student

from test_engines_agree import assert_agree

AS_OF = date(2026, 9, 8)

PRODUCTS = '''
product A cvx 10 "Alpha" counts Alpha
product AB cvx 11 "Alpha B" counts Alpha
product M cvx 20 "Measles" counts Mu
'''
ALPHA = '''
vaccine Alpha {
  series {
    dose 1 { min age 6 weeks }
    dose 2 { min interval 4 weeks }
    dose 3 { min interval 8 weeks }
  }
  rule "spaced" => compliant when spaced(student)
  otherwise non_compliant
}
'''
SPACED = '''
predicate spaced(S)
  :- birth(S, Born), valid(S, Alpha, D1, 1), valid(S, Alpha, D3, 3), dose(S, D1, First, _), dose(S, D3, Third, _),
     Third >= First + 6 months - 4 days, Born + 1 year <= Third.
predicate spaced(S) :- valid(S, Alpha, _, 3), valid(S, Alpha, D2, 2), dose(S, D2, T, _), birth(S, Bd), T < Bd + 3 months.
'''


def compiled(text: str):
    return compile_ruleset(load_text(text, "t.vax").ruleset, AS_OF)


def test_minnesotas_complete_hepatitis_b_series_is_read_off_the_walk():
    query = compile_ruleset(load("minnesota").ruleset, AS_OF)
    assert set(query.row_predicates) == {"hepb_series_complete"}
    labels = [step.label for step in query.steps("all")]
    # no pass over the doses to walk HepB before the main statement, no table of its valid doses
    assert "valid doses (fast path)" not in labels
    assert not any(label.startswith("predicate hepb_series_complete") for label in labels)
    # and the dose facts hold the live-virus products only, not every hepatitis B dose
    assert "'HepB'" not in query.datalog.dose_products_sql(query.sources("all"))


def test_the_clauses_become_one_condition():
    query = compiled(PRODUCTS + SPACED + ALPHA)
    sql = query.row_predicates["spaced"]
    assert sql.startswith("(((n_1 >= 1) AND (n_1 >= 3) AND ") and ") OR ((n_1 >= 3) AND (n_1 >= 2) AND " in sql
    assert "vj_1_3" in sql and "vj_1_1" in sql and "ba_" in sql
    assert "spaced" not in query.datalog.materialized


@pytest.mark.parametrize("clause, why", [
    ("spaced(S) :- valid(S, Alpha, D, N), N >= 2, dose(S, D, T, _), birth(S, B), T >= B + 1 year.", "a variable dose number"),
    ("spaced(S) :- valid(S, Alpha, D, 2), dose(S, D, T, A), birth(S, B), T >= B + 1 year.", "a product"),
    ("spaced(S) :- valid(S, Alpha, _, 2), not valid(S, Alpha, _, 3).", "a negation"),
    ("spaced(S) :- student(S), count { D : valid(S, Alpha, D, _) } >= 2.", "a count"),
    ("spaced(S) :- valid(S, Alpha, D, 1), dose(S, D, T, _), dose(S, _, T2, _), T2 > T + 1 year.", "a dose not valid"),
    ("spaced(S) :- valid(S, Alpha, D, 1), dose(S, D, T, _), birth(S, B), B + 1 year >= T - 2 days.", "shifts both sides"),
    ("spaced(S) :- valid(S, Alpha, D, 1), dose(S, D, T, _), as_of(E), T > E - 1 year.", "the effective date"),
    ("spaced(S) :- valid(S, Mu, D, 1), dose(S, D, T, _), birth(S, B), T >= B + 1 year.", "a group with antigens"),
])
def test_other_shapes_stay_datalog(clause, why):
    mu = ('vaccine Mu { antigen Measles of M { series { dose 1 { } dose 2 { min interval 4 weeks } } }\n'
          '  rule "x" => compliant when at least 1 valid dose }\n')
    query = compiled(PRODUCTS + "predicate " + clause + "\n" + ALPHA + mu)
    assert "spaced" not in query.row_predicates, why
    assert "spaced" in query.datalog.materialized, why


def test_a_predicate_other_code_needs_as_a_relation_stays_datalog():
    used_by_another = "predicate both(S) :- spaced(S), birth(S, _).\n"
    rule = '  rule "both" => compliant when both(student)\n'
    query = compiled(PRODUCTS + SPACED + used_by_another + ALPHA.replace("  otherwise", rule + "  otherwise"))
    assert query.row_predicates == {}
    called_with_a_constant = '''
product P cvx 30 "P" counts Alpha
predicate late(S, P) :- valid(S, Alpha, D, 1), dose(S, D, T, _), birth(S, B), T > B + 1 year.
'''
    query = compiled(PRODUCTS + called_with_a_constant + ALPHA.replace("spaced(student)", "late(student, P)"))
    assert query.row_predicates == {}


def _agreed_status(born: date, *ages_in_days: int) -> str:
    """Both engines on one student with Alpha doses at these ages; the status they agree on."""
    ruleset = load_text(PRODUCTS + SPACED + ALPHA, "t.vax").ruleset
    student = Student("S1", born, "KG")
    doses = [Dose(i, "S1", date.fromordinal(born.toordinal() + days), 10) for i, days in enumerate(ages_in_days, 1)]
    assert_agree(ruleset, [student], doses, [], AS_OF)
    return evaluate_student(ruleset, student, doses, [], AS_OF).groups[0].status


def test_both_engines_agree_around_the_month_threshold():
    """Dose 1 at 6 weeks, dose 3 around 6 months - 4 days after it, across the day it holds
    (born on Jan 31: the month arithmetic meets month ends)."""
    born = date(2019, 1, 31)
    statuses = [_agreed_status(born, 200, 260, 200 + third) for third in range(176, 186)]
    assert statuses[0] == "non_compliant" and statuses[-1] == "compliant"
    assert statuses == sorted(statuses, key=lambda status: status == "compliant")  # one change, at the threshold


@pytest.mark.parametrize("born", [date(2019, 1, 31), date(2020, 2, 29)])
def test_both_engines_agree_around_the_first_birthday(born):
    # dose 3 a year after dose 1 (interval met); around the first birthday
    statuses = [_agreed_status(born, 42, 102, third) for third in range(362, 369)]
    assert statuses[0] == "non_compliant" and statuses[-1] == "compliant"
    assert statuses == sorted(statuses, key=lambda status: status == "compliant")
