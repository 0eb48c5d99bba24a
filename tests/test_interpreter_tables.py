"""Rule tables: applies, exemptions and their outcomes, active windows, first match, otherwise, tolerance."""

from datetime import date

import pytest

from vaxdsl.interpreter import evaluate_student
from vaxdsl.interpreter.tables import APPLIES
from vaxdsl.loader import load_text
from vaxdsl.records import Dose, Exemption, Student

KID = Student("S", date(2018, 1, 1), "KG")


def group(text: str, doses=(), exemptions=(), as_of=date(2024, 1, 1), student=KID):
    ruleset = load_text('grades { KG "Kindergarten" 01 "Grade 1" }\nproduct HepA cvx 83 "HepA" counts HepA\n'
                        + text).ruleset
    records = [Dose(i, "S", date.fromisoformat(when), 83) for i, when in enumerate(doses, start=1)]
    return evaluate_student(ruleset, student, records, list(exemptions), as_of).groups[0]


WINDOW = """
vaccine HepA {
  rule "window" => compliant active from 2023-07-01 to 2024-06-30
  rule "from only" => in_process active from 2024-07-01
  rule "to only" => in_grace_period active to 2023-06-30
  rule "inverted" => exempt active from 2024-07-01 to 2023-06-30
}
"""


@pytest.mark.parametrize("as_of, rule", [
    ("2023-06-30", "to only"),
    ("2023-07-01", "window"),
    ("2024-06-30", "window"),
    ("2024-07-01", "from only"),
])
def test_active_windows_include_both_ends(as_of, rule):
    assert group(WINDOW, as_of=date.fromisoformat(as_of)).rule == rule


def test_an_inverted_window_is_never_active():
    text = 'vaccine HepA { rule "inverted" => exempt active from 2024-07-01 to 2023-06-30 }'
    for as_of in ("2023-06-30", "2023-12-01", "2024-07-01"):
        result = group(text, as_of=date.fromisoformat(as_of))
        assert (result.status, result.rule) == ("non_compliant", None)
        assert [(t.rule, t.active, t.matched) for t in result.trace] == [("inverted", False, False)]


def test_first_matching_rule_wins_and_the_trace_stops_there():
    text = """vaccine HepA {
      rule "two" => compliant when at least 2 doses
      rule "one" => in_grace_period when at least 1 dose
      rule "any" => non_compliant
      rule "never reached" => exempt
    }"""
    result = group(text, ["2020-01-01"])
    assert (result.status, result.rule, result.valid_doses) == ("in_grace_period", "one", 1)
    assert [(t.rule, t.matched) for t in result.trace] == [("two", False), ("one", True)]


def test_otherwise_and_the_default_without_it():
    assert (group('vaccine HepA { rule "x" => compliant when at least 1 dose otherwise in_process }').status
            == "in_process")
    result = group('vaccine HepA { rule "x" => compliant when at least 1 dose }')
    assert (result.status, result.rule) == ("non_compliant", None)


def test_applies_decides_first_even_over_an_exemption():
    text = 'vaccine HepA { applies when grade in 01 rule "x" => compliant }'
    result = group(text, exemptions=[Exemption("S", "HepA", "medical")])
    assert (result.status, result.rule) == ("no_requirement", None)
    assert [(t.rule, t.matched) for t in result.trace] == [(APPLIES, False)]
    assert result.trace[0].checks[0].observed == "is in grade KG"
    applies = group(text, student=Student("S", date(2018, 1, 1), "01"))
    assert (applies.status, applies.rule) == ("compliant", "x")
    assert [t.rule for t in applies.trace] == [APPLIES, "x"]


@pytest.mark.parametrize("kinds, rule", [
    (["conscientious", "medical"], "exemption: medical"),
    (["disease_history", "lab_immunity"], "exemption: lab_immunity"),
    (["disease_history", "conscientious"], "exemption: conscientious"),
])
def test_several_exemptions_the_first_kind_in_order_names_the_rule(kinds, rule):
    result = group('vaccine HepA { rule "x" => compliant }', exemptions=[Exemption("S", "HepA", k) for k in kinds])
    assert (result.status, result.rule) == ("exempt", rule)


def test_exemption_outcomes_group_then_settings_then_exempt():
    text = """
    settings { exemption disease_history => compliant exemption lab_immunity => in_process }
    vaccine HepA { exemption lab_immunity => compliant rule "x" => non_compliant }
    """
    assert group(text, exemptions=[Exemption("S", "HepA", "lab_immunity")]).status == "compliant"
    assert group(text, exemptions=[Exemption("S", "HepA", "disease_history")]).status == "compliant"
    assert group(text, exemptions=[Exemption("S", "HepA", "medical")]).status == "exempt"


def test_a_district_exemption_line_overrides_the_states(write_file):
    state = write_file("state.vax", """
        product HepA cvx 83 "HepA" counts HepA
        vaccine HepA { exemption disease_history => exempt rule "x" => non_compliant }
    """)
    ruleset = load_text(f'extends "{state}"\nextend vaccine HepA {{ exemption disease_history => compliant }}').ruleset
    result = evaluate_student(ruleset, KID, [], [Exemption("S", "HepA", "disease_history")], date(2024, 1, 1))
    assert (result.groups[0].status, result.groups[0].rule) == ("compliant", "exemption: disease_history")


def test_an_exemption_counts_from_its_date():
    text = 'vaccine HepA { rule "x" => non_compliant }'
    dated = [Exemption("S", "HepA", "medical", date(2024, 1, 1))]
    assert group(text, exemptions=dated, as_of=date(2024, 1, 1)).status == "exempt"
    assert group(text, exemptions=dated, as_of=date(2023, 12, 31)).status == "non_compliant"
    result = group(text, exemptions=dated)
    assert result.trace[-1].checks[0].observed == "has a medical exemption dated 2024-01-01"


def test_rule_tolerance_overrides_the_settings():
    # since the dose (2023-12-01) to 2024-01-01 is 31 days: < 28 days only with a tolerance of 4 or more
    text = """
    settings { tolerance 4 days }
    vaccine HepA {
      rule "strict" => in_grace_period tolerance 0 days when since last dose < 28 days
      rule "lenient" => in_process when since last dose < 28 days
      otherwise non_compliant
    }"""
    assert group(text, ["2023-12-01"]).rule == "lenient"
    assert group(text.replace("tolerance 4 days", "tolerance 3 days"), ["2023-12-01"]).rule is None
    assert group(text, ["2023-12-05"]).rule == "strict"


def test_overall_status_is_the_worst_group():
    ruleset = load_text("""
        vaccine A { rule "a" => compliant }
        vaccine B { rule "b" => in_grace_period }
        vaccine C { rule "c" => no_requirement }
    """).ruleset
    result = evaluate_student(ruleset, KID, [], [], date(2024, 1, 1))
    assert [g.vaccine for g in result.groups] == ["A", "B", "C"]
    assert result.overall == "in_grace_period"
