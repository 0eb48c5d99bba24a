"""Unreachable rules: an earlier rule of the same table always matches first. Never a false warning."""

import pytest

from vaxdsl.checker import check
from vaxdsl.loader import load_text

GRADES = 'grades { PS "Pre-School" KG "K" 1 "1" 2 "2" 12 "12" set early = PS }\n'  # line 1


def table(*rules, settings=""):
    lines = [GRADES + settings + "vaccine V {"]
    lines += [f'  rule "r{i}" => compliant {rule}' for i, rule in enumerate(rules, start=1)]
    lines += ["  otherwise non_compliant", "}"]
    return "\n".join(lines) + "\n"


def shadowed(*rules, settings=""):
    """The numbers of the rules reported unreachable."""
    text = table(*rules, settings=settings)
    diagnostics = check(load_text(text, "t.vax"))
    assert not any(d.is_error for d in diagnostics), diagnostics
    first_rule_line = 3 + settings.count("\n")
    return [d.line - first_rule_line + 1 for d in diagnostics if d.code == "W203"]


def test_position_and_message():
    [d] = check(load_text(table("when age < 3 months", "when age < 2 months"), "t.vax"))
    assert (d.code, d.line, d.column, d.severity) == ("W203", 4, 3, "warning")
    assert d.message == "rule 'r2' can never fire: every student it matches is matched first by rule 'r1' (line 3)"


@pytest.mark.parametrize("first, second, expected", [
    ("when age < 3 months", "when age < 2 months", [2]),
    ("when age < 2 months", "when age < 3 months", []),
    ("when age < 3 months", "when age < 3 months and no grade", [2]),
    ("when age >= 12 months - 4 days", "when age >= 12 months", [2]),
    ("when age >= 12 months", "when age >= 12 months - 4 days", []),
    ("when age >= 1 year", "when age >= 12 months", [2]),
    ("when age < 1 month", "when age < 30 days", []),  # months and days: unknown, never warn
    ("when age < 30 days", "when age < 1 month", []),
    ("when age < 4 weeks", "when age < 27 days", [2]),
    ("when age in 60 months .. 84 months", "when age >= 5 years and age < 6 years", [2]),
    ("when age in 60 months .. 84 months", "when age >= 5 years", []),
    ("when age > 2 years", "when age >= 2 years", []),
    ("when age >= 2 years", "when age > 2 years", [2]),
])
def test_age_intervals(first, second, expected):
    assert shadowed(first, second) == expected


@pytest.mark.parametrize("first, second, expected", [
    ("when at least 3 valid doses", "when at least 4 valid doses", [2]),
    ("when at least 4 valid doses", "when at least 3 valid doses", []),
    ("when at least 2 doses", "when at least 2 valid doses of DTaP", [2]),  # valid doses of DTaP are doses
    ("when at least 2 valid doses", "when at least 2 doses", []),
    ("when at least 1 valid dose of DTaP", "when at least 1 valid dose", []),
    ("when fewer than 3 valid doses", "when no valid doses", [2]),
    ("when not (at least 3 valid doses)", "when at most 2 valid doses", [2]),
    ("when exactly 2 valid doses", "when at least 2 valid doses and at most 2 valid doses", [2]),
    ("when at least 1 dose at age >= 12 months", "when at least 1 dose at age >= 12 months and grade in KG", [2]),
    ("when at least 1 dose at age >= 12 months", "when at least 1 dose", []),
])
def test_dose_counts(first, second, expected):
    prelude = "product DTaP cvx 20 counts V\n"
    assert shadowed(first, second, settings=prelude) == expected


@pytest.mark.parametrize("first, second, expected", [
    ("when grade in PS, KG", "when grade in KG", [2]),
    ("when grade in KG", "when grade in PS, KG", []),
    ("when grade in early", "when grade in PS", [2]),
    ("when grade in 01..12", "when grade in 02", [2]),
    ("when grade in 02", "when grade in 01..12", []),
    ("when grade in KG", "when no grade", []),
    ("when grade in KG or age >= 5 years", "when grade in KG and at least 2 doses", [2]),  # R2 implies a disjunct
    ("when grade in 01..12", "when grade in 01 or grade in 12", [2]),  # every disjunct of R2 implies R1
    ("when grade in 01..12", "when grade in 01 or grade in KG", []),
    ("when not grade in KG", "when not grade in KG and age < 2 years", [2]),  # same atom, syntactically
])
def test_grades_and_boolean_structure(first, second, expected):
    assert shadowed(first, second) == expected


@pytest.mark.parametrize("first, second, expected", [
    ("active from 2022-07-01", "active from 2023-07-01 to 2024-06-30", [2]),
    ("active from 2023-07-01 to 2024-06-30", "active from 2022-07-01", []),
    ("active to 2022-06-30", "active from 2022-07-01", []),
    ("active from 2025-07-01 to 2024-06-30", "when at least 1 dose", []),  # a never-active rule pre-empts nothing
    ("when effective date >= 2020-01-01", "active from 2021-01-01", [2]),
])
def test_active_windows(first, second, expected):
    assert shadowed(first, second) == expected


@pytest.mark.parametrize("tolerances, expected", [
    (("", ""), [2]),
    (("tolerance 0 days", "tolerance 0 days"), [2]),
    (("tolerance 0 days", ""), []),  # the settings give 4 days
    (("tolerance 4 days", ""), [2]),
])
def test_dose_date_tests_compare_only_under_the_same_tolerance(tolerances, expected):
    first = f"{tolerances[0]} when dose 2 at age >= 4 years"
    second = f"{tolerances[1]} when dose 2 at age >= 5 years"
    assert shadowed(first, second, settings="settings { tolerance 4 days }\n") == expected


def test_tests_not_on_dose_dates_compare_across_tolerances():
    assert shadowed("tolerance 0 days when at least 1 valid dose",
                    "when at least 2 valid doses and since last dose < 28 days") == [2]


def test_first_dose_is_dose_1():
    assert shadowed("when dose 1 at age >= 1 year", "when first dose at age >= 2 years") == [2]


def test_since_and_interval_bounds():
    assert shadowed("when since last dose < 56 days", "when since last dose < 28 days") == [2]
    assert shadowed("when since last dose < 28 days", "when since last dose < 56 days") == []
    assert shadowed("when interval from dose 1 to dose 2 >= 4 weeks",
                    "when interval from dose 1 to dose 2 >= 8 weeks") == [2]
    assert shadowed("when interval from dose 1 to dose 2 >= 4 weeks",
                    "when interval from dose 1 to dose 3 >= 8 weeks") == []


def test_calls_compare_by_equality():
    prelude = "predicate adult(S) :- birth(S, B), as_of(E), B < E.\n"
    assert shadowed("when adult(student)", "when adult(student) and grade in KG", settings=prelude) == [2]


def test_unconditional_rule_shadows_everything_after_it():
    assert shadowed("when always", "when at least 1 dose", "when grade in KG") == [2, 3]


def test_realistic_dtap_table_has_no_false_warnings():
    rules = (
        "when age < 3 months and no grade",
        "when age < 5 months and at least 1 valid dose",
        "when age < 7 months and at least 2 valid doses",
        "when grade in KG and at least 5 valid doses",
        "when grade in KG and at least 4 valid doses and dose 4 at age >= 4 years",
        "tolerance 0 days when grade in KG and exactly 3 valid doses and since last dose < 6 months",
        "when grade in KG",
        "when age in 60 months .. 84 months and at least 5 valid doses",
        "when grade in 01..12 and at least 3 valid doses active from 2022-07-01",
        "when grade in 12 and at least 3 valid doses active from 2024-07-01 to 2025-06-30",
        "when always",
    )
    assert shadowed(*rules) == [10]  # grade 12 with 3 doses is already compliant from 2022 on
