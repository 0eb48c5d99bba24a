"""A district file that extends a state file: the state's own problems stay the state's."""

from vaxdsl.checker import check
from vaxdsl.loader import load, load_text

STATE = (
    "product DTaP cvx 20 counts DTaP\n"
    'vaccine DTaP "DTaP" {\n'
    '  rule "Grade 9-12 3 doses Compliant" => compliant active from 2025-07-01 to 2024-06-30\n'
    "    when at least 3 valid doses\n"
    '  rule "5 doses Compliant" => compliant when at least 5 valid doses\n'
    "  exemption disease_history => exempt\n"
    "  otherwise non_compliant\n"
    "}\n"
)


def codes(diagnostics):
    return [(d.file.rsplit("/", 1)[-1], d.code, d.line, d.column) for d in diagnostics]


def test_state_file_alone_reports_its_inverted_window(write_file):
    state = write_file("state.vax", STATE)
    assert codes(check(load(state))) == [("state.vax", "W201", 3, 52)]


def test_district_check_leaves_out_the_state_warnings(write_file):
    state = write_file("state.vax", STATE)
    district = f'extends "{state}"\nextend vaccine DTaP {{ rule "local" => in_process when at least 1 valid dose }}\n'
    assert codes(check(load_text(district, "district.vax"))) == []


def test_district_rule_shadowed_by_a_state_rule(write_file):
    state = write_file("state.vax", STATE)
    district = (f'extends "{state}"\n'
                'extend vaccine DTaP { rule "6 doses" => compliant when at least 6 valid doses }\n')
    assert codes(check(load_text(district, "district.vax"))) == [("district.vax", "W203", 2, 23)]


def test_district_rule_that_shadows_a_state_rule_is_reported_at_the_state_rule(write_file):
    state = write_file("state.vax", STATE)
    district = (f'extends "{state}"\n'
                'extend vaccine DTaP { rule "any dose" => compliant before "5 doses Compliant" when at least 1 valid dose }\n')
    assert codes(check(load_text(district, "district.vax"))) == [("state.vax", "W203", 5, 3)]


def test_duplicate_rule_name_across_layers(write_file):
    state = write_file("state.vax", STATE)
    district = (f'extends "{state}"\n'
                'extend vaccine DTaP { rule "5 doses Compliant" => compliant when at least 4 valid doses }\n')
    assert codes(check(load_text(district, "district.vax"))) == [("district.vax", "E212", 2, 23)]


def test_district_may_override_an_exemption_outcome(write_file):
    state = write_file("state.vax", STATE)
    district = f'extends "{state}"\nextend vaccine DTaP {{ exemption disease_history => compliant }}\n'
    assert codes(check(load_text(district, "district.vax"))) == []


def test_loader_diagnostics_are_kept(write_file):
    state = write_file("state.vax", STATE.replace('vaccine DTaP "DTaP"', 'vaccine DTaP "DTaP" locked'))
    district = f'extends "{state}"\nextend vaccine DTaP {{ rule "x" => compliant }}\n'
    assert codes(check(load_text(district, "district.vax"))) == [("district.vax", "E301", 2, 1)]
