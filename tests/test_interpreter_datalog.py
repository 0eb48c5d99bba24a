"""The Datalog layer of the interpreter: joins, negation, counts, recursion, stratification, safety."""

from datetime import date

import pytest

from vaxdsl.errors import VaxError
from vaxdsl.interpreter import datalog, evaluate_student, fixpoint, strata
from vaxdsl.interpreter.student_facts import gather
from vaxdsl.loader import load_text
from vaxdsl.records import Dose, Exemption, Student

PRODUCTS = """
product MMR cvx 03 "MMR" live counts MMR
product VAR cvx 21 "Varicella" live counts Varicella
product DTaP cvx 20 "DTaP" counts DTaP
vaccine MMR { rule "r" => compliant }
vaccine Varicella { rule "r" => compliant }
vaccine DTaP { rule "r" => compliant }
"""
KID = Student("S", date(2018, 1, 1), "KG")


def derive(predicates: str, doses=(), exemptions=(), as_of=date(2024, 1, 1)) -> dict:
    """All relations after running every stratum over KID's facts (no series walk: valid/invalid stay empty)."""
    ruleset = load_text(PRODUCTS + predicates).ruleset
    program = datalog.compile_program(ruleset)
    relations = gather(ruleset, KID, list(doses), list(exemptions), as_of).relations
    fixpoint.run(program, program.before_walk + program.after_walk, relations)
    return relations


def dose(number: int, when: str, cvx: int) -> Dose:
    return Dose(number, "S", date.fromisoformat(when), cvx)


def test_built_in_relations_hold_the_students_facts():
    relations = derive("", [dose(1, "2019-02-01", 3), dose(2, "2025-01-01", 3), dose(3, "2019-03-01", 999)],
                       [Exemption("S", "DTaP", "medical"), Exemption("S", "MMR", "conscientious", date(2030, 1, 1))])
    assert relations["dose"] == {("S", 1, date(2019, 2, 1), "MMR")}  # not after E, not unresolved
    assert relations["exemption"] == {("S", "DTaP", "medical")}  # the 2030 one does not count yet
    assert relations["grade"] == {("S", "KG")}
    assert relations["live"] == {("MMR",), ("VAR",)}
    assert ("VAR", "Varicella") in relations["counts"]
    assert relations["as_of"] == {(date(2024, 1, 1),)}


def test_join_with_constants_and_date_arithmetic():
    relations = derive("""
        predicate conflict(S, D) :- dose(S, D, Date, P), live(P), dose(S, E, Before, Q), live(Q), P != Q,
                                    Before < Date, Date < Before + 28 days.
        predicate had_mmr(S) :- dose(S, _, _, MMR).
        predicate had_something(S, Mmr) :- dose(S, _, _, Mmr).
    """, [dose(1, "2019-02-01", 3), dose(2, "2019-02-28", 21), dose(3, "2019-03-01", 21), dose(4, "2019-01-01", 20)])
    # VAR on Feb 28 is 27 days after the MMR: conflict; Mar 1 is 28 days after: no conflict.
    assert relations["conflict"] == {("S", 2)}
    assert relations["had_mmr"] == {("S",)}
    # 'Mmr' is not a declared name, so it is a variable: every product the student had
    assert relations["had_something"] == {("S", "MMR"), ("S", "VAR"), ("S", "DTaP")}


def test_a_minus_sign_governs_only_the_first_part():
    # 2019-03-01 - 1 month - 4 days = 2019-01-28 (not 2019-02-05, which "- (1 month - 4 days)" would give)
    relations = derive("predicate back(S, D) :- dose(S, E, Later, _), dose(S, D, Earlier, _), "
                       "Earlier = Later - 1 month - 4 days.",
                       [dose(1, "2019-01-28", 3), dose(2, "2019-02-05", 3), dose(3, "2019-03-01", 3)])
    assert relations["back"] == {("S", 1)}


def test_date_shift_inside_an_atom_waits_for_its_variable():
    relations = derive("""
        predicate four_weeks_later(S, D) :- dose(S, E, Before + 28 days, _), dose(S, D, Before, _).
    """, [dose(1, "2019-02-01", 3), dose(2, "2019-03-01", 21)])
    assert relations["four_weeks_later"] == {("S", 1)}


def test_negation_with_a_wildcard_means_none_at_all():
    text = "predicate no_medical(S) :- student(S), not exemption(S, _, medical)."
    assert derive(text)["no_medical"] == {("S",)}
    assert derive(text, exemptions=[Exemption("S", "DTaP", "conscientious")])["no_medical"] == {("S",)}
    assert derive(text, exemptions=[Exemption("S", "MMR", "medical")])["no_medical"] == set()


@pytest.mark.parametrize("op, bound, expected", [
    (">=", 2, True), (">=", 3, False), ("=", 2, True), ("=", 3, False), ("<", 2, False), ("<=", 2, True),
    (">", 1, True), ("!=", 0, True), ("!=", 2, False),
])
def test_count_compares_the_number_of_distinct_values(op, bound, expected):
    # three doses of two products: the count of distinct products is 2
    relations = derive(f"predicate c(S) :- student(S), count {{ P : dose(S, _, _, P) }} {op} {bound}.",
                       [dose(1, "2019-02-01", 3), dose(2, "2019-03-01", 21), dose(3, "2019-04-01", 21)])
    assert (("S",) in relations["c"]) is expected


def test_count_of_nothing_is_zero_and_shares_only_the_clause_variables():
    relations = derive("""
        predicate none_live(S) :- student(S), count { D : dose(S, D, _, P), live(P) } = 0.
        predicate no_varicella(S) :- student(S), count { D : dose(S, D, _, VAR) } = 0.
        predicate per_product(S, P) :- dose(S, _, _, P), count { D : dose(S, D, _, P) } = 1.
        predicate overall(S, N) :- dose(S, _, _, P), as_of(N), count { D : dose(S, D, _, Q) } = 3.
    """, [dose(1, "2019-02-01", 20), dose(2, "2019-03-01", 20), dose(3, "2019-03-02", 3)])
    assert relations["none_live"] == set()
    assert relations["no_varicella"] == {("S",)}
    # P is shared with the clause: the count is per product (DTaP twice, MMR once) ...
    assert relations["per_product"] == {("S", "MMR")}
    # ... while Q occurs only inside the count: it counts every dose
    assert relations["overall"] == {("S", date(2024, 1, 1))}


def test_equality_in_a_body():
    relations = derive("predicate same_day(S, D, E) :- dose(S, D, T, _), dose(S, E, U, _), T = U, D < E.",
                       [dose(1, "2019-02-01", 3), dose(2, "2019-02-01", 21), dose(3, "2019-03-01", 20)])
    assert relations["same_day"] == {("S", 1, 2)}


def test_positive_recursion_reaches_the_fixpoint():
    doses = [dose(i, day, 20) for i, day in enumerate(
        ["2019-01-01", "2019-01-20", "2019-02-10", "2019-06-01", "2019-06-15"], start=1)]
    relations = derive("""
        predicate follows(S, D, E) :- dose(S, D, T1, _), dose(S, E, T2, _), T1 < T2, T2 < T1 + 4 weeks.
        predicate chain(S, D, E) :- follows(S, D, E).
        predicate chain(S, D, F) :- chain(S, D, E), follows(S, E, F).
    """, doses)
    assert relations["follows"] == {("S", 1, 2), ("S", 2, 3), ("S", 4, 5)}
    assert relations["chain"] == {("S", 1, 2), ("S", 2, 3), ("S", 1, 3), ("S", 4, 5)}


def test_mutual_recursion_is_one_stratum():
    text = """
        predicate even(S, D) :- dose(S, D, _, _), not has_earlier(S, D).
        predicate even(S, D) :- odd(S, E), next(S, E, D).
        predicate odd(S, D) :- even(S, E), next(S, E, D).
        predicate has_earlier(S, D) :- dose(S, D, T, _), dose(S, _, U, _), U < T.
        predicate next(S, D, E) :- dose(S, D, T, _), dose(S, E, U, _), T < U, not between(S, T, U).
        predicate between(S, T, U) :- dose(S, _, T, _), dose(S, _, U, _), dose(S, _, M, _), T < M, M < U.
    """
    relations = derive(text, [dose(i, f"2019-0{i}-01", 20) for i in range(1, 6)])
    assert {row[1] for row in relations["even"]} == {1, 3, 5}
    assert {row[1] for row in relations["odd"]} == {2, 4}
    program = datalog.compile_program(load_text(PRODUCTS + text).ruleset)
    assert ("even", "odd") in program.before_walk
    assert program.recursive == {"even", "odd"}


def test_strata_put_dependencies_first_and_split_at_the_walk():
    program = datalog.compile_program(load_text(PRODUCTS + """
        predicate two_valid(S) :- student(S), count { D : valid(S, MMR, D, _) } >= 2.
        predicate complete(S) :- two_valid(S), not flagged(S).
        predicate flagged(S) :- student(S), not live_dose(S).
        predicate live_dose(S) :- dose(S, _, _, P), live(P).
    """).ruleset)
    assert program.before_walk == (("live_dose",), ("flagged",))
    assert program.after_walk == (("two_valid",), ("complete",))


@pytest.mark.parametrize("text, message", [
    ("predicate p(S) :- student(S), not q(S). predicate q(S) :- student(S), not p(S).", "cannot be stratified"),
    ("predicate p(S) :- student(S), count { X : p(X) } >= 1.", "cannot be stratified"),
    ("predicate p(S, X) :- student(S).", "'X' in the head"),
    ("predicate p(S) :- student(S), not dose(S, D, _, _), D = 1.", "unsafe: 'D'"),
    ("predicate p(S) :- student(S), X < 3.", "unsafe: 'X'"),
    ("predicate p(S) :- student(S), count { D : dose(S, D, _, _) } >= N.", "unsafe: 'N'"),
    ("predicate p(S) :- student(S), count { D : student(S) } >= 1.", "counted variable 'D'"),
    ("predicate p(S) :- nosuch(S).", "no predicate or built-in relation named 'nosuch'"),
    ("predicate p(S) :- dose(S, D).", "takes 4 arguments"),
    ("predicate p(S) :- student(S). predicate p(S, T) :- birth(S, T).", "2 parameters here but 1"),
    ("predicate birth(S, T) :- student(S), as_of(T).", "built-in"),
])
def test_programs_that_cannot_be_evaluated_are_clear_errors(text, message):
    with pytest.raises(VaxError, match=message):
        datalog.compile_program(load_text(PRODUCTS + text).ruleset)


def test_a_reject_may_not_depend_on_the_walk():
    text = PRODUCTS.replace('vaccine MMR { rule "r" => compliant }', """
        vaccine MMR { series { dose 1 { } reject too_soon when again(student, dose) } rule "r" => compliant }
    """) + "predicate again(S, D) :- valid(S, MMR, D, _)."
    with pytest.raises(VaxError, match="would depend on itself"):
        datalog.compile_program(load_text(text).ruleset)


def test_comparing_values_of_different_types_is_an_error():
    with pytest.raises(VaxError, match="cannot compare the date 2019-02-01 with the number 3"):
        derive("predicate p(S) :- dose(S, _, T, _), T < 3.", [dose(1, "2019-02-01", 3)])
    assert derive("predicate p(S) :- dose(S, D, T, _), T != D.", [dose(1, "2019-02-01", 3)])["p"] == {("S",)}
    with pytest.raises(VaxError, match="not a date"):
        derive("predicate p(S) :- dose(S, D, T, _), T < D + 1 day.", [dose(1, "2019-02-01", 3)])


def test_predicates_see_valid_and_invalid_after_the_walk():
    ruleset = load_text("""
        product MMR cvx 03 "MMR" live counts MMR
        predicate two_valid(S) :- student(S), count { D : valid(S, MMR, D, _) } >= 2.
        predicate had_too_young(S) :- invalid(S, MMR, _, too_young).
        vaccine MMR {
          series { dose 1 { min age 12 months } dose 2 { min interval 28 days } }
          rule "two" => compliant when two_valid(student)
          rule "young" => in_process when had_too_young(student)
          otherwise non_compliant
        }
    """).ruleset
    young = [Dose(1, "S", date(2018, 6, 1), 3), Dose(2, "S", date(2019, 2, 1), 3)]
    result = evaluate_student(ruleset, KID, young, [], date(2024, 1, 1))
    assert (result.groups[0].status, result.groups[0].rule) == ("in_process", "young")
    both = young + [Dose(3, "S", date(2019, 3, 1), 3)]
    result = evaluate_student(ruleset, KID, both, [], date(2024, 1, 1))
    assert (result.groups[0].status, result.groups[0].rule) == ("compliant", "two")


def test_stratify_on_its_own():
    assert strata.stratify({"a": {("b", False)}, "b": {("a", False), ("dose", True)}}) == [("a", "b")]
    with pytest.raises(VaxError):
        strata.stratify({"a": {("a", True)}})
