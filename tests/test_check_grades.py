"""Grade codes and sets: unknown names in `grade in`, sets and ranges; ranges against declaration order."""

from vaxdsl.checker import check
from vaxdsl.loader import load_text

GRADES = 'grades {\n  PS "Pre-School"\n  KG "Kindergarten"\n  1 "Grade 1"\n  2 "Grade 2"\n  set early "Early" = PS, KG\n}\n'


def found(text):
    return [(d.code, d.line, d.column, d.message) for d in check(load_text(GRADES + text, "t.vax"))]


def codes(text):
    return [(code, line, column) for code, line, column, _ in found(text)]


def rule(condition):
    return f'vaccine V {{\n  rule "r" => compliant when {condition}\n  otherwise non_compliant\n}}\n'


def test_known_codes_sets_and_ranges():
    assert codes(rule("grade in early, 01..02")) == []
    assert codes(rule("grade in 1, KG..2")) == []  # 1 is grade 01


def test_unknown_grade_code_suggests_the_declared_one():
    [(code, line, column, message)] = found(rule("grade in K, 01"))
    assert (code, line, column) == ("E205", 9, 39)
    assert "did you mean 'KG'?" in message


def test_unknown_grade_set():
    assert codes(rule("grade in erly")) == [("E205", 9, 39)]


def test_unknown_code_in_a_range_and_in_a_set():
    assert codes(rule("grade in KG..13")) == [("E205", 9, 39)]
    text = 'grades { set late = 11..12 }\n' + rule("always")
    assert ("E205", 8, 21) in codes(text)


def test_range_whose_ends_are_out_of_declared_order():
    [(code, line, column, message)] = found(rule("grade in 02..KG"))
    assert (code, line, column) == ("E206", 9, 39)
    assert "'KG' is declared before '02'" in message


def test_range_end_may_not_be_a_set():
    assert codes(rule("grade in early..02")) == [("E205", 9, 39)]


def test_grade_set_that_includes_itself():
    text = 'grades { set a = KG, b set b = a }\n' + rule("grade in a")
    assert [c for c in codes(text) if c[0] == "E218"] == [("E218", 8, 10), ("E218", 8, 24)]


def test_grade_listed_twice():
    assert codes(rule("grade in KG, 1, KG")) == [("W206", 9, 46)]
