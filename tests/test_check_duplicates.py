"""Duplicate declarations: rule names within a group, vaccine groups, products, grade codes; repeated list items."""

from vaxdsl.checker import check
from vaxdsl.loader import load_text


def codes(text):
    return [(d.code, d.line, d.column) for d in check(load_text(text, "t.vax"))]


def test_duplicate_rule_name_in_a_group_is_an_error():
    text = (
        'vaccine HepB {\n'
        '  rule "3 doses Compliant" => compliant when at least 3 valid doses\n'
        '  rule "3 doses Compliant" => in_process when at least 1 valid dose\n'
        "  otherwise non_compliant\n"
        "}\n"
    )
    assert codes(text) == [("E212", 3, 3)]


def test_same_rule_name_in_two_groups_is_fine():
    text = 'vaccine A { rule "Default" => compliant }\nvaccine B { rule "Default" => compliant }\n'
    assert codes(text) == []


def test_duplicate_vaccine_group():
    text = 'vaccine HepB { otherwise compliant }\nvaccine HepB { otherwise compliant }\n'
    assert codes(text) == [("E213", 2, 1)]


def test_duplicate_product():
    text = "product HepB cvx 8 counts HepB\nproduct HepB cvx 43 counts HepB\nvaccine HepB { otherwise compliant }\n"
    assert codes(text) == [("E214", 2, 1)]


def test_duplicate_grade_code_and_set_named_like_a_code():
    text = 'grades {\n  KG "K"\n  1 "First"\n  01 "Grade 1"\n  set KG = 01\n}\n'
    assert codes(text) == [("E215", 4, 3), ("E215", 5, 3)]


def test_group_listed_twice_in_counts():
    text = "product DTaP cvx 20 counts DTaP, DTaP\nvaccine DTaP { otherwise compliant }\n"
    assert codes(text) == [("W206", 1, 34)]


def test_product_listed_twice_in_allow():
    text = "product DTaP cvx 20 counts DTaP\nvaccine DTaP { series { dose 1 { allow DTaP, DTaP } } otherwise compliant }\n"
    assert codes(text) == [("W206", 2, 46)]


def test_exemption_outcome_given_twice():
    text = "vaccine V {\n  exemption medical => exempt\n  exemption medical => compliant\n  otherwise compliant\n}\n"
    assert codes(text) == [("W208", 3, 3)]
