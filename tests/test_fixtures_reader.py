"""The fixture reader: every field, the shorthands, and errors with file:line, never a traceback."""

from datetime import date

import pytest

from vaxdsl.errors import VaxError
from vaxdsl.fixtures import (
    collect_fixture_files, load_fixtures, parse_age, read_fixture_file, read_fixture_text,
)

FULL = '''\
# a comment
[defaults]
as_of = 2024-09-03

[[case]]
name = "every field"
student_id = "S1"
birth_date = 2019-05-10
grade = 1
note = "free text"
overall = "Non-compliant"
doses = [
  { date = 2019-07-10, cvx = 110 },
  { age = "4 years - 4 days", cvx = "20", mvx = "SKB" },
  { date = "2020-01-31", product = "Pentacel" },
]
exemptions = [
  { vaccine = "MMR", kind = "conscientious", date = 2023-08-01 },
  { vaccine = "Varicella", kind = "disease_history" },
]

[case.attributes]
school = "Lincoln"

[case.expect]
DTaP = "compliant"
Polio = { status = "In Grace Period", rule = "1 dose In Grace Period", valid_doses = 1 }
Hib = { rule = "" }

[[case.expect_doses]]
vaccine = "DTaP"
date = 2019-07-10
cvx = 110
dose_number = 1

[[case.expect_doses]]
vaccine = "DTaP"
age = "4 years - 4 days"
reason = "too_soon"

[[case]]
name = "second case uses the defaults"
birth_date = 2020-01-01
xfail = "a known disagreement"
expect.MMR = "exempt"
'''


def only_case(text):
    fixture = read_fixture_text(text, "f.toml")
    assert fixture.errors == ()
    assert len(fixture.cases) == 1
    return fixture.cases[0]


def error_of(text):
    fixture = read_fixture_text(text, "f.toml")
    assert fixture.errors, "expected an error"
    return fixture.errors[0]


def test_every_field_is_read():
    fixture = read_fixture_text(FULL, "full.toml")
    assert fixture.errors == ()
    first, second = fixture.cases
    assert (first.file, first.line, first.name, first.note) == ("full.toml", 5, "every field", "free text")
    assert first.as_of == date(2024, 9, 3)
    assert first.student.id == "S1"
    assert first.student.birth_date == date(2019, 5, 10)
    assert first.student.grade == "01"
    assert first.student.attributes == {"school": "Lincoln"}
    assert first.overall == "non_compliant"

    d1, d2, d3 = first.doses
    assert (d1.date, d1.cvx, d1.mvx, d1.product, d1.line) == (date(2019, 7, 10), 110, None, None, 13)
    assert (d2.date, d2.cvx, d2.mvx, d2.age, d2.line) == (date(2023, 5, 6), 20, "SKB", "4 years - 4 days", 14)
    assert (d3.date, d3.cvx, d3.product, d3.line) == (date(2020, 1, 31), None, "Pentacel", 15)

    e1, e2 = first.exemptions
    assert (e1.student_id, e1.vaccine, e1.kind, e1.date) == ("S1", "MMR", "conscientious", date(2023, 8, 1))
    assert (e2.vaccine, e2.kind, e2.date) == ("Varicella", "disease_history", None)

    dtap, polio, hib = first.expect
    assert (dtap.vaccine, dtap.status, dtap.rule, dtap.valid_doses) == ("DTaP", "compliant", None, None)
    assert (polio.status, polio.rule, polio.valid_doses, polio.line) == ("in_grace_period", "1 dose In Grace Period", 1, 27)
    assert (hib.status, hib.rule) == (None, "")

    x1, x2 = first.expect_doses
    assert (x1.vaccine, x1.date, x1.cvx, x1.valid, x1.dose_number, x1.reason) == ("DTaP", date(2019, 7, 10), 110, True, 1, None)
    assert (x2.date, x2.valid, x2.reason) == (date(2023, 5, 6), False, "too_soon")

    assert second.as_of == date(2024, 9, 3)  # from [defaults]
    assert second.student.id == "second case uses the defaults"  # student_id defaults to the name
    assert second.student.grade is None
    assert second.xfail == "a known disagreement"
    assert second.expect[0].status == "exempt"
    assert second.line == 41


def test_ages_use_cdsi_date_arithmetic():
    case = only_case('[[case]]\nname = "a"\nas_of = 2021-01-01\nbirth_date = 2020-01-31\n'
                     'doses = [ { age = "1 month - 4 days", cvx = 20 }, { age = "1 month", cvx = 20 } ]\n')
    # Feb 31 rolls to Mar 1, then back 4 days.
    assert [d.date for d in case.doses] == [date(2020, 2, 26), date(2020, 3, 1)]


def test_parse_age():
    assert parse_age("12 months - 4 days") == (12, -4)
    assert parse_age("1 year") == (12, 0)
    assert parse_age("6 weeks") == (0, 42)
    for bad in ("", "4", "years", "4 years 4 days", "- 4 days", "4 fortnights"):
        with pytest.raises(ValueError):
            parse_age(bad)


@pytest.mark.parametrize("grade, code", [("KG", "KG"), ("kg", "KG"), ("7", "07"), (12, "12"), ("", None), ("PA", "PA")])
def test_grades_are_normalized(grade, code):
    value = f'"{grade}"' if isinstance(grade, str) else grade
    case = only_case(f'[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\ngrade = {value}\n')
    assert case.student.grade == code


def test_toml_syntax_errors_have_line_and_column():
    error = error_of('[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\ndoses = [ { cvx = 20, } ]\n')
    assert (error.file, error.line) == ("f.toml", 5)
    assert error.column > 0
    assert str(error).startswith("f.toml:5:")
    assert "TOML syntax" in error.message


def test_invalid_toml_date_is_a_positioned_error():
    error = error_of('[[case]]\nname = "a"\nas_of = 2024-02-30\n')
    assert error.line == 3


@pytest.mark.parametrize("text, line, words", [
    ('[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\nstatus = "x"\n', 5, "unknown key 'status'"),
    ('[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\ngrde = "KG"\n', 5, "did you mean 'grade'"),
    ('[[case]]\nname = "a"\nbirth_date = 2019-01-01\n', 1, "'as_of' is missing"),
    ('[[case]]\nas_of = 2024-09-03\nbirth_date = 2019-01-01\n', 1, "needs a name"),
    ('[[case]]\nname = "a"\nas_of = "2024-9-3"\nbirth_date = 2019-01-01\n', 3, "is not a date"),
    ('[[case]]\nname = "a"\nas_of = 2024-09-03T10:00:00\nbirth_date = 2019-01-01\n', 3, "without a time"),
    ('[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\n\ndoses = [\n  { date = 2019-03-01 },\n]\n',
     7, "needs a cvx"),
    ('[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\ndoses = [ { date = 2019-03-01, age = "2 months", cvx = 20 } ]\n',
     5, "exactly one of date"),
    ('[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\ndoses = [ { age = "two months", cvx = 20 } ]\n',
     5, "not a duration"),
    ('[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\ndoses = [ { date = 2019-03-01, cvx = "DTaP" } ]\n',
     5, "not a CVX code"),
    ('[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\ndoses = [ { date = 2019-03-01, cvs = 20 } ]\n',
     5, "did you mean 'cvx'"),
    ('[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\nexemptions = [ { vaccine = "MMR", kind = "religious" } ]\n',
     5, "kind = 'religious' is not one of"),
    ('[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\n[case.expect]\nMMR = "complaint"\n',
     6, "not an outcome"),
    ('[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\n[case.expect]\nMMR = { stats = "compliant" }\n',
     6, "did you mean 'status'"),
    ('[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\n[[case.expect_doses]]\nvaccine = "MMR"\n'
     'date = 2020-01-01\nreason = "to_young"\n', 7, "did you mean 'too_young'"),
    ('[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\n[[case.expect_doses]]\nvaccine = "MMR"\n'
     'date = 2020-01-01\n', 7, "say what to expect"),
    ('[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\noverall = "great"\n', 5, "not an outcome"),
    ('[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\nxfail = ""\n', 5, "must say why"),
    ('[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\ngrade = true\n', 5, "'grade' must be"),
    ('[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\n'
     '[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\n', 5, "used twice"),
    ('[cases]\nname = "a"\n', 1, "unknown top-level key 'cases'"),
    ('[defaults]\nas_off = 2024-09-03\n[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\n',
     1, "unknown key 'as_off' in [defaults]"),
    ('# nothing\n', 1, "no [[case]] tables"),
])
def test_errors_name_the_line(text, line, words):
    error = error_of(text)
    assert error.line == line, str(error)
    assert words in error.message, str(error)
    assert str(error).startswith(f"f.toml:{line}")


def test_a_bad_case_does_not_hide_the_good_ones():
    text = ('[[case]]\nname = "bad"\nas_of = 2024-09-03\n'
            '[[case]]\nname = "good"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\n')
    fixture = read_fixture_text(text, "f.toml")
    assert [case.name for case in fixture.cases] == ["good"]
    assert len(fixture.errors) == 1 and "case 'bad'" in fixture.errors[0].message


def test_files_and_directories(tmp_path, write_file):
    good = '[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\n'
    write_file("suite/one.toml", good)
    write_file("suite/deeper/two.toml", good.replace('"a"', '"b"'))
    write_file("suite/notes.txt", "not a fixture")
    broken = write_file("broken.toml", "[[case]\n")
    files = collect_fixture_files([tmp_path / "suite", broken, tmp_path / "suite" / "one.toml"])
    assert [f.name for f in files] == ["two.toml", "one.toml", "broken.toml"]
    cases, errors, count = load_fixtures([tmp_path / "suite", broken])
    assert sorted(case.name for case in cases) == ["a", "b"]
    assert count == 3 and len(errors) == 1 and errors[0].line == 1
    with pytest.raises(VaxError, match="no such fixture"):
        collect_fixture_files([tmp_path / "missing"])


def test_unreadable_file_is_an_error_not_a_traceback(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[[case]]\nname = "caf\xe9"\n')
    fixture = read_fixture_file(path)
    assert fixture.cases == () and "not UTF-8" in fixture.errors[0].message


def test_a_workbook_given_as_a_fixture_file_is_named_as_such(tmp_path):
    path = tmp_path / "cases.toml"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(100))
    [error] = read_fixture_file(path).errors
    assert error.message == "an .xlsx workbook or another ZIP archive, not a fixture file (fixture files are TOML text)"


def test_dose_records_resolve_products():
    from vaxdsl.loader import load_text

    ruleset = load_text(
        'product DTaP cvx 20 "DTaP" counts DTaP\n'
        'product Pentacel cvx 120 "DTaP-IPV/Hib (Pentacel)" counts DTaP\n'
        'product HepB_adult cvx 43 "Hep B adult" counts HepB\n'
        'product Recombivax cvx 43 mvx MSD "Recombivax HB" counts HepB\n'
        'vaccine DTaP { rule "a" => compliant }\nvaccine HepB { rule "a" => compliant }\n'
    ).ruleset
    case = only_case(
        '[[case]]\nname = "a"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\ndoses = [\n'
        '  { date = 2019-03-01, cvx = 20 },\n'
        '  { date = 2019-05-01, product = "Pentacel" },\n'
        '  { date = 2019-06-01, product = "DTaP-IPV/Hib (Pentacel)" },\n'
        '  { date = 2019-07-01, cvx = 43, mvx = "MSD" },\n'
        '  { date = 2019-08-01, cvx = 999 },\n'
        '  { date = 2019-09-01, product = "Pentcel" },\n'
        ']\n'
    )
    doses, errors = case.dose_records(ruleset.products)
    assert [(d.id, d.cvx, d.mvx, d.product_name) for d in doses] == [
        (1, 20, None, None), (2, 120, None, "Pentacel"), (3, 120, None, "DTaP-IPV/Hib (Pentacel)"), (4, 43, "MSD", None),
    ]
    assert [e.line for e in errors] == [10, 11]
    assert "no product of the ruleset has CVX 999" in errors[0].message
    assert "did you mean 'Pentacel'" in errors[1].message


def test_as_of_age():
    case = only_case('[[case]]\nname = "a"\nbirth_date = 2024-01-31\nas_of_age = "1 month"\n')
    assert case.as_of == date(2024, 3, 1)
    error = error_of('[[case]]\nname = "a"\nbirth_date = 2024-01-31\nas_of = 2024-09-03\nas_of_age = "1 month"\n')
    assert error.line == 5 and "not both" in error.message
    # a case's as_of_age wins over an as_of from [defaults]
    fixture = read_fixture_text('[defaults]\nas_of = 2024-09-03\n[[case]]\nname = "a"\nbirth_date = 2024-01-31\n'
                                'as_of_age = "2 months"\n', "f.toml")
    assert fixture.cases[0].as_of == date(2024, 3, 31)


def test_syntax_error_at_the_end_of_the_file_names_the_last_line():
    error = error_of('[[case]]\nname = "x"\ndoses = [ { cvx = 3 }\n')
    assert error.line == 3 and "Unclosed array" in error.message and "end of the file" in error.message
