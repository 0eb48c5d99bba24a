"""Rule tables: active windows, tolerances, a default outcome, conditions that can never hold."""

from vaxdsl.checker import check
from vaxdsl.loader import load_text


def found(text):
    return [(d.code, d.line, d.column, d.severity, d.message) for d in check(load_text(text, "t.vax"))]


def codes(text):
    return [(code, line, column) for code, line, column, *_ in found(text)]


def test_inverted_window_is_a_warning_not_an_error():
    # seed 003 keeps two such rules verbatim (DTaP "Grade 9-12 3 doses", Polio "Grades 12 3 doses")
    text = (
        'vaccine DTaP {\n'
        '  rule "Grade 9-12 3 doses Compliant" => compliant\n'
        "    active from 2025-07-01 to 2024-06-30\n"
        "    when at least 3 valid doses\n"
        "  otherwise non_compliant\n"
        "}\n"
    )
    [(code, line, column, severity, message)] = found(text)
    assert (code, line, column, severity) == ("W201", 3, 5, "warning")
    assert "can never be active" in message


def test_single_day_window():
    text = 'vaccine V {\n  rule "r" => compliant active from 2024-07-01 to 2024-07-01\n  otherwise non_compliant\n}\n'
    assert codes(text) == [("W202", 2, 25)]


def test_ordinary_windows_are_fine():
    text = (
        'vaccine V {\n'
        '  rule "a" => compliant active from 2022-07-01 when at least 5 valid doses\n'
        '  rule "b" => compliant active to 2022-06-30 when at least 4 valid doses\n'
        '  rule "c" => compliant active from 2024-07-01 to 2025-06-30 when at least 3 valid doses\n'
        "  otherwise non_compliant\n"
        "}\n"
    )
    assert codes(text) == []


def test_rule_tolerance_outside_0_to_30_days():
    text = 'vaccine V {\n  rule "r" => compliant tolerance 31 days when dose 1 at age >= 1 year\n  otherwise non_compliant\n}\n'
    assert codes(text) == [("E216", 2, 25)]
    assert codes(text.replace("31 days", "30 days")) == []


def test_settings_tolerance_outside_range():
    text = "settings {\n  tolerance 45 days\n}\nvaccine V { otherwise compliant }\n"
    assert codes(text) == [("E216", 2, 3)]


def test_group_without_default_outcome():
    text = 'vaccine HepA "Hepatitis A" {\n  rule "1 dose Compliant" => compliant when at least 1 valid dose\n}\n'
    [(code, line, column, severity, message)] = found(text)
    assert (code, line, column, severity) == ("E217", 1, 1, "error")
    assert "'HepA'" in message


def test_default_outcome_by_otherwise_or_unconditional_rule():
    assert codes('vaccine V { rule "a" => compliant when at least 1 dose otherwise non_compliant }') == []
    assert codes('vaccine V { rule "a" => compliant when at least 1 dose rule "Default" => non_compliant }') == []
    assert codes('vaccine V { rule "a" => compliant when at least 1 dose rule "d" => non_compliant when always }') == []


def test_a_windowed_catch_all_is_not_a_default():
    text = 'vaccine V { rule "d" => non_compliant active to 2022-06-30 }'
    assert codes(text) == [("E217", 1, 1)]


def test_otherwise_after_a_catch_all_rule_is_never_used():
    text = 'vaccine V {\n  rule "Default" => non_compliant\n  otherwise compliant\n}\n'
    [(code, line, column, _, message)] = found(text)
    assert (code, line, column) == ("W204", 3, 13)
    assert "'Default'" in message


def test_dose_beyond_the_series_never_exists():
    text = (
        'vaccine V {\n'
        "  series { dose 1 { } dose 2 { } }\n"
        '  rule "a" => compliant when dose 3 at age >= 4 years\n'
        '  rule "b" => compliant when interval from dose 1 to dose 2 >= 4 weeks\n'
        '  rule "c" => compliant when at least 3 valid doses\n'
        '  rule "d" => compliant when at least 3 doses\n'  # invalid doses count too: fine
        "  otherwise non_compliant\n"
        "}\n"
    )
    assert codes(text) == [("W205", 3, 30), ("W205", 5, 30)]


def test_dose_zero_never_exists_even_without_a_series():
    text = 'vaccine V { rule "a" => compliant when since dose 0 < 28 days otherwise non_compliant }'
    assert codes(text) == [("W205", 1, 46)]


def test_exempt_in_a_rule_never_holds_but_is_fine_in_applies():
    text = (
        'vaccine V {\n'
        "  applies when not exempt\n"
        '  rule "a" => exempt when exempt (medical)\n'
        "  otherwise non_compliant\n"
        "}\n"
    )
    assert codes(text) == [("W207", 3, 27)]


def test_fewer_than_zero_doses_never_holds():
    assert codes('vaccine V { rule "a" => compliant when fewer than 0 doses otherwise non_compliant }') == [("W205", 1, 40)]


def test_empty_age_ranges():
    text = (
        'vaccine V {\n'
        '  rule "a" => compliant when age in 84 months .. 60 months\n'
        '  rule "b" => compliant when dose 1 at age 2 years .. 24 months\n'
        '  rule "c" => compliant when at least 1 dose at age 1 year .. 2 years\n'
        '  rule "d" => compliant when age in 1 month .. 30 days\n'  # months vs days: cannot tell
        "  otherwise non_compliant\n"
        "}\n"
    )
    assert codes(text) == [("W213", 2, 30), ("W213", 3, 30)]


def test_placement_outside_extend_vaccine_is_ignored_and_said_so():
    text = 'vaccine V {\n  rule "a" => compliant\n  rule "b" => exempt before "a"\n}\n'
    assert ("W212", 3, 22) in codes(text)
