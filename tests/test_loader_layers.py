"""Layers: extends resolves bundled names and paths; district rules land where they say."""

import pytest

from vaxdsl.errors import DiagnosticsError, RulesetNotFound
from vaxdsl.loader import load, load_text

STATE = '''
ruleset "State" { jurisdiction "ST" }
settings { tolerance 4 days }
vaccine A { rule "a1" => compliant when at least 1 dose  rule "a2" => non_compliant }
vaccine B { rule "b1" => non_compliant }
vaccine L locked { rule "l1" => non_compliant }
'''


def rule_names(loaded, vaccine):
    return [r.name for r in next(v for v in loaded.ruleset.vaccines if v.id == vaccine).rules]


@pytest.fixture
def state(write_file):
    return write_file("state.vax", STATE)


def test_district_header_before_extension_keeps_rules_in_their_group(state, write_file):
    district = write_file("district.vax", '''
ruleset "District" { jurisdiction "ST" }
extends "state.vax"
extend vaccine A { rule "local" => in_process before "a2" }
''')
    loaded = load(district)
    assert loaded.diagnostics == ()
    assert rule_names(loaded, "A") == ["a1", "local", "a2"]
    assert rule_names(loaded, "B") == ["b1"]
    assert loaded.ruleset.header.name == "District"
    assert [type(item).__name__ for item in loaded.ruleset.items].count("Header") == 1


def test_after_and_end_placement(state, write_file):
    district = write_file("d.vax", 'extends "state.vax"\nextend vaccine A { rule "x" => in_process after "a1" rule "y" => exempt }')
    assert rule_names(load(district), "A") == ["a1", "x", "a2", "y"]


def test_locked_group_rejects_local_rules(state, write_file):
    district = write_file("d.vax", 'extends "state.vax"\nextend vaccine L { rule "x" => compliant }')
    [diagnostic] = load(district).diagnostics
    assert diagnostic.code == "E301" and diagnostic.line == 2


def test_unknown_placement_target_and_group(state, write_file):
    district = write_file("d.vax", 'extends "state.vax"\nextend vaccine A { rule "x" => compliant before "nope" }\nextend vaccine Z { }')
    assert sorted(d.code for d in load(district).diagnostics) == ["E201", "E204"]


def test_district_settings_replace_the_states(state, write_file):
    district = write_file("d.vax", 'extends "state.vax"\nsettings { tolerance 0 days }')
    assert load(district).ruleset.settings.tolerance_days == 0


def test_extends_a_missing_file_points_at_the_extends_line(write_file):
    district = write_file("d.vax", '\nextends "nowhere.vax"\n')
    with pytest.raises(DiagnosticsError) as caught:
        load(district)
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.line, diagnostic.code) == (2, "E203")


def test_extends_cycle_is_an_error(write_file):
    write_file("a.vax", 'extends "b.vax"')
    b = write_file("b.vax", 'extends "a.vax"')
    with pytest.raises(RulesetNotFound, match="circle"):
        load(b)


def test_bundled_ruleset_by_name_and_text_layers():
    loaded = load_text('extends "minnesota"\nextend vaccine DTaP { rule "local" => in_process before "Default Non-compliant" }')
    names = rule_names(loaded, "DTaP")
    assert names.index("local") == names.index("Default Non-compliant") - 1
    assert len(loaded.layers) == 2
