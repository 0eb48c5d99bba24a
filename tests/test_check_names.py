"""Unknown names: each is an error at the name itself, suggesting the closest declared name."""

from vaxdsl.checker import check
from vaxdsl.loader import load_text

PRELUDE = (
    'grades { KG "Kindergarten" 1 "Grade 1" }\n'  # line 1
    "product DTaP cvx 20 counts DTaP\n"  # line 2
    "product MMR cvx 3 live counts MMR\n"  # line 3
)


def found(text, prelude=PRELUDE):
    return [(d.code, d.line, d.column, d.message) for d in check(load_text(prelude + text, "t.vax"))]


def codes(text, prelude=PRELUDE):
    return [(code, line, column) for code, line, column, _ in found(text, prelude)]


def test_clean_ruleset_has_no_diagnostics():
    text = (
        'vaccine DTaP "DTaP" {\n'
        '  rule "Compliant" => compliant when at least 5 valid doses of DTaP and grade in KG\n'
        "  otherwise non_compliant\n"
        "}\n"
        'vaccine MMR "MMR" { rule "any" => compliant }\n'
    )
    assert found(text) == []


def test_unknown_vaccine_group_in_product_counts():
    [(code, line, column, message)] = found('vaccine DTaP { otherwise compliant }\nvaccine MMR { otherwise compliant }\n',
                                            prelude=PRELUDE.replace("counts MMR", "counts MMR, Measels"))
    assert (code, line, column) == ("E201", 3, 36)
    assert "'Measels'" in message


def test_unknown_vaccine_suggests_closest():
    text = 'vaccine DTaP { otherwise compliant }\nvaccine MMR { otherwise compliant }\n'
    [(_, _, _, message)] = found(text, prelude=PRELUDE.replace("counts DTaP", "counts Dtap"))
    assert message.endswith("did you mean 'DTaP'?")


def test_extend_unknown_vaccine_comes_from_the_loader():
    assert ("E201", 6, 1) in codes('vaccine DTaP { otherwise compliant }\nvaccine MMR { otherwise compliant }\n'
                                   "extend vaccine Polio { }\n")


def test_unknown_product_in_count():
    text = 'vaccine DTaP {\n  rule "r" => compliant when at least 1 dose of DTAP\n  otherwise non_compliant\n}\n' \
           'vaccine MMR { otherwise compliant }\n'
    [(code, line, column, message)] = found(text)
    assert (code, line, column) == ("E202", 5, 49)
    assert "did you mean 'DTaP'?" in message


def test_unknown_product_in_allow():
    text = 'vaccine DTaP {\n  series { dose 1 { allow DTaP, Tdap } }\n  otherwise compliant\n}\n' \
           'vaccine MMR { otherwise compliant }\n'
    assert codes(text) == [("E202", 5, 33)]


def test_product_that_does_not_count_toward_the_group_is_a_warning():
    text = 'vaccine DTaP {\n  series { dose 1 { allow DTaP, MMR } }\n  otherwise compliant\n}\n' \
           'vaccine MMR { otherwise compliant }\n'
    [(code, line, column, message)] = found(text)
    assert (code, line, column) == ("W210", 5, 33)
    assert "does not count toward 'DTaP'" in message


def test_unknown_outcome_in_rule_otherwise_and_exemption():
    text = (
        'vaccine DTaP {\n'
        '  rule "r" => complaint when at least 1 dose\n'
        "  exemption medical => exmpt\n"
        "  otherwise non_compliat\n"
        "}\n"
        'vaccine MMR { otherwise compliant }\n'
    )
    assert codes(text) == [("E207", 5, 15), ("E207", 6, 24), ("E207", 7, 13)]
    assert "did you mean 'compliant'?" in found(text)[0][3]


def test_unknown_exemption_kind_in_settings_and_condition():
    text = (
        "settings { exemption religious => exempt }\n"
        'vaccine DTaP { rule "r" => compliant when not exempt (medical, medcal) otherwise non_compliant }\n'
        'vaccine MMR { otherwise compliant }\n'
    )
    diagnostics = found(text)
    assert [(c, l, col) for c, l, col, _ in diagnostics if c == "E208"] == [("E208", 4, 22), ("E208", 5, 64)]
    assert "did you mean 'medical'?" in [m for c, *_, m in diagnostics if c == "E208"][1]


def test_unknown_reject_reason():
    text = (
        'vaccine MMR {\n'
        "  series { dose 1 { } reject to_soon when conflict(student, dose) }\n"
        "  otherwise compliant\n"
        "}\n"
        'vaccine DTaP { otherwise compliant }\n'
        "predicate conflict(S, D) :- dose(S, D, T, P), live(P), dose(S, E, U, Q), live(Q), E != D, U < T, T < U + 28 days.\n"
    )
    [(code, line, column, message)] = found(text)
    assert (code, line, column) == ("E209", 5, 30)
    assert "did you mean 'too_soon'?" in message
