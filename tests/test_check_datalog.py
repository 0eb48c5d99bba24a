"""Clauses: safety, singleton variables (misspelt constants), one student per clause, constants in place."""

from vaxdsl.checker import check
from vaxdsl.loader import load_text

PRELUDE = (
    "product HepB cvx 8 counts HepB\n"  # line 1
    "product MMR cvx 3 live counts MMR\n"  # line 2
    'vaccine HepB { rule "r" => compliant when p(student) otherwise non_compliant }\n'  # line 3
    "vaccine MMR { otherwise compliant }\n"  # line 4
)


def found(clauses):
    return [(d.code, d.line, d.column, d.message) for d in check(load_text(PRELUDE + clauses, "t.vax"))]


def codes(clauses):
    return [(code, line, column) for code, line, column, _ in found(clauses)]


def test_clean_clauses():
    assert codes(
        "predicate p(S) :- dose(S, D, T, P), counts(P, HepB), valid(S, HepB, D, _), as_of(E), T < E - 28 days.\n"
        "predicate p(S) :- count { D : valid(S, HepB, D, _) } >= 2, student(S), not exemption(S, MMR, medical).\n"
    ) == []


def test_head_variable_not_bound():
    [(code, line, column, message)] = found("predicate p(S) :- student(T), T != 1.\n")
    assert (code, line, column) == ("E230", 5, 1)
    assert "'S'" in message


def test_variable_only_in_a_negated_atom():
    assert codes("predicate p(S) :- student(S), not exemption(S, V, medical).\n") == [("E230", 5, 48)]


def test_variable_only_in_a_comparison():
    assert codes("predicate p(S) :- student(S), Date < 2020-01-01.\n") == [("E230", 5, 31)]


def test_count_bound_and_counted_variable():
    assert codes("predicate p(S) :- student(S), count { D : dose(S, D, _, _) } >= N.\n") == [("E230", 5, 65)]
    assert codes("predicate p(S) :- student(S), count { X : dose(S, _, _, _) } >= 1.\n") == [("E230", 5, 31)]


def test_variable_bound_inside_count_is_local_to_it():
    assert codes("predicate p(S) :- student(S), count { D : dose(S, D, T, _), T > 2020-01-01 } >= 1.\n") == []


def test_counted_variable_used_outside_the_count():
    """Found by the random predicates property: the count would be of a value bound outside it (0 or 1),
    and the SQL engine could not compile it."""
    [(code, line, column, message)] = found(
        "predicate p(S) :- student(S), count { D : dose(S, D, _, _) } < 2, dose(S, D, _, _).\n")
    assert (code, line, column) == ("E234", 5, 31)
    assert "'D' also occurs outside the count" in message
    in_the_head = "predicate p(S) :- q(S, _).\npredicate q(S, D) :- dose(S, D, _, _), count { D : valid(S, HepB, D, _) } >= 1.\n"
    assert codes(in_the_head) == [("E234", 6, 40)]
    nested = "predicate p(S) :- student(S), count { D : dose(S, D, _, _), count { D : valid(S, HepB, D, _) } >= 1 } >= 1.\n"
    assert codes(nested) == [("E234", 5, 61)]
    assert codes("predicate p(S) :- student(S), count { D : dose(S, D, _, _) } < 2.\n") == []


def test_singleton_catches_a_misspelt_constant():
    [(code, line, column, message)] = found("predicate p(S) :- dose(S, _, _, P), counts(P, Hepb).\n")
    assert (code, line, column) == ("W302", 5, 47)
    assert "did you mean the constant 'HepB'?" in message


def test_underscore_variables_are_deliberate():
    assert codes("predicate p(S) :- dose(S, _D, _, _).\n") == []


def test_clause_relating_two_students():
    diagnostics = found("predicate p(S) :- student(S), dose(T, D, _, _), dose(S, D, _, _).\n")
    assert [d[:3] for d in diagnostics] == [("E233", 5, 36), ("W302", 5, 36)]  # T is also a singleton
    assert "two students" in diagnostics[0][3]


def test_two_students_through_a_derived_predicate():
    clauses = (
        "predicate p(S) :- student(S), has_dose(T), T != S.\n"
        "predicate has_dose(S) :- dose(S, _, _, _).\n"
    )
    assert ("E233", 5, 40) in codes(clauses)


def test_two_wildcards_in_student_positions_are_two_students():
    assert codes("predicate p(S) :- student(S), dose(_, D, _, _), valid(_, HepB, D, _).\n")[0][0] == "E233"


def test_constant_of_the_wrong_kind():
    [(code, line, column, message)] = found("predicate p(S) :- dose(S, _, _, P), counts(P, too_soon).\n")
    assert (code, line, column) == ("W303", 5, 47)
    assert "invalid-dose reason" in message and "vaccine group" in message


def test_constant_that_is_both_product_and_group_fits_both():
    assert codes("predicate p(S) :- dose(S, _, _, MMR), counts(MMR, MMR).\n") == []


def test_ordering_a_date_against_a_number():
    assert codes("predicate p(S) :- dose(S, _, T, _), T > 3.\n") == [("E236", 5, 37)]
    assert codes("predicate p(S) :- valid(S, HepB, _, N), N >= 2.\n") == []


def test_adding_a_duration_to_a_number():
    assert codes("predicate p(S) :- dose(S, _, T, _), valid(S, HepB, _, N), T > N + 28 days.\n") == [("E236", 5, 63)]


def test_equality_across_types_never_holds():
    assert codes('predicate p(S) :- grade(S, G), as_of(E), G != E.\n') == [("W304", 5, 42)]
