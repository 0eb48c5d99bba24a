"""Predicates: unknown names and arities, calls from rules and series, stratification, unused ones."""

from vaxdsl.checker import check
from vaxdsl.loader import load_text

PRELUDE = (
    "product MMR cvx 3 live counts MMR\n"  # line 1
    "product VAR cvx 21 live counts Varicella\n"  # line 2
)


def found(text):
    return [(d.code, d.line, d.column, d.message) for d in check(load_text(PRELUDE + text, "t.vax"))]


def codes(text):
    return [(code, line, column) for code, line, column, _ in found(text)]


def group(condition, series=""):
    return f'vaccine MMR {{ {series} rule "r" => compliant when {condition} otherwise non_compliant }}\n' \
           "vaccine Varicella { otherwise compliant }\n"


LIVE_CONFLICT = (
    "predicate live_conflict(S, D) :- dose(S, D, T, P), live(P), dose(S, E, U, Q), live(Q), E != D,\n"
    "    U < T, T < U + 28 days.\n"
)


def test_unknown_predicate_in_a_rule_suggests_the_closest():
    [(code, line, column, message), unused] = found(group("live_conflct(student, dose)") + LIVE_CONFLICT)
    assert (code, line, column) == ("E210", 3, 43)
    assert "did you mean 'live_conflict'?" in message
    assert unused[0] == "W301"


def test_unknown_relation_in_a_clause():
    assert ("E210", 5, 31) in codes(group("p(student)") + "predicate p(S) :- student(S), vaild(S, MMR, _, _).\n")


def test_wrong_number_of_arguments():
    assert codes(group("p(student, MMR)") + "predicate p(S) :- student(S).\n") == [("E211", 3, 43)]
    assert codes(group("p(student)") + "predicate p(S) :- dose(S, _, _).\n") == [("E211", 5, 19)]
    assert codes(group("p(student)") + "predicate p(S) :- student(S).\npredicate p(S, T) :- student(S), student(T).\n") \
        == [("E211", 6, 1), ("E233", 6, 42)]


def test_builtin_relation_cannot_be_defined():
    assert ("E235", 5, 1) in codes(group("at least 1 dose") + "predicate birth(S, D) :- dose(S, _, D, _).\n")


def test_call_must_pass_student_at_the_student_position():
    clauses = "predicate has_live(S, P) :- dose(S, _, _, P), live(P).\n"
    assert codes(group("has_live(student, MMR)") + clauses) == []
    assert codes(group("has_live(MMR, student)") + clauses) == [("E224", 3, 52), ("E224", 3, 57)]


def test_call_constants_must_be_declared_and_fit():
    clauses = "predicate has_live(S, P) :- dose(S, _, _, P), live(P).\n"
    [(code, line, column, message)] = found(group("has_live(student, MRR)") + clauses)
    assert (code, line, column) == ("E224", 3, 61)
    assert "did you mean 'MMR'?" in message
    assert codes(group("has_live(student, Varicella)") + clauses) == [("E224", 3, 61)]


def test_dose_argument_only_in_a_series_reject():
    assert codes(group("live_conflict(student, dose)") + LIVE_CONFLICT) == [("E224", 3, 66)]


def test_reject_passes_student_and_dose():
    series = "series { dose 1 { } reject live_virus_conflict when live_conflict(student, dose) }"
    assert codes(group("at least 1 dose", series) + LIVE_CONFLICT) == []
    bad = "series { dose 1 { } reject live_virus_conflict when live_conflict(student, MMR) }"
    assert [c[0] for c in codes(group("at least 1 dose", bad) + LIVE_CONFLICT)] == ["E224", "E224"]


def test_reject_predicate_may_not_depend_on_valid():
    clauses = (
        "predicate second_valid(S, D) :- dose(S, D, _, _), earlier(S, D).\n"
        "predicate earlier(S, D) :- valid(S, MMR, E, 1), dose(S, D, _, _), E != D.\n"
    )
    series = "series { dose 1 { } reject extraneous when second_valid(student, dose) }"
    [(code, line, column, message)] = found(group("at least 1 dose", series) + clauses)
    assert (code, line, column) == ("E232", 3, 58)
    assert "'valid'" in message


def test_negation_through_a_cycle_is_unstratifiable():
    clauses = (
        "predicate odd(S) :- student(S), not even(S).\n"
        "predicate even(S) :- student(S), not odd(S).\n"
    )
    assert codes(group("odd(student)") + clauses) == [("E231", 5, 33), ("E231", 6, 34)]


def test_count_through_a_cycle_is_unstratifiable():
    clauses = "predicate p(S) :- student(S), count { D : p(S), dose(S, D, _, _) } >= 1.\n"
    assert codes(group("p(student)") + clauses) == [("E231", 5, 31)]


def test_positive_recursion_and_lower_strata_are_fine():
    clauses = (
        "predicate later(S, D) :- dose(S, D, T, _), dose(S, _, U, _), U < T.\n"
        "predicate later(S, D) :- later(S, E), dose(S, D, T, _), dose(S, E, U, _), U < T.\n"
        "predicate first_only(S) :- dose(S, D, _, _), not later(S, D).\n"
    )
    assert codes(group("first_only(student)") + clauses) == []


def test_unused_predicate_warns_once_at_its_first_clause():
    clauses = (
        "predicate p(S) :- student(S).\n"
        "predicate helper(S) :- student(S).\n"
        "predicate helper(S) :- birth(S, _).\n"
    )
    [(code, line, column, message)] = found(group("p(student)") + clauses)
    assert (code, line, column) == ("W301", 6, 1)
    assert "'helper'" in message


def test_predicate_used_only_by_an_unused_one_is_unused():
    clauses = "predicate a(S) :- b(S).\npredicate b(S) :- student(S).\n"
    assert codes(group("at least 1 dose") + clauses) == [("W301", 5, 1), ("W301", 6, 1)]
