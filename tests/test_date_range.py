"""The dates vaxdsl works with: 1900-01-01 to 2999-12-31, and durations of at most 150 years.

Each way in refuses what is outside (a fact row, a fixture date, a workbook cell, --as-of, a
duration in a rule) with a message, and everything inside evaluates in both engines: a date plus
any duration stays in Python's calendar, so no date arithmetic overflows into an internal error."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from vaxdsl.cdsi.workbook import read_workbook
from vaxdsl.cli import main
from vaxdsl.dates import EARLIEST, LATEST
from vaxdsl.errors import VaxSyntaxError
from vaxdsl.facts import read_fact_dir
from vaxdsl.fixtures import read_fixture_text
from vaxdsl.loader import load_text
from vaxdsl.parser import parse
from vaxdsl.records import Dose, Student

from test_cdsi_workbook import make_row, make_workbook
from test_engines_agree import assert_agree

LONGEST = '''
product HepB_pediatric cvx 08 "Hep B" counts HepB

vaccine HepB {
  series {
    dose 1 { min age 6 weeks - 4 days }
    dose 2 { min age 150 years  min interval 1800 months }
    dose 3 { min interval 7826 weeks }
  }
  rule "ancient" => compliant when age >= 150 years and since first dose < 54787 days
    tolerance 30 days
  rule "started" => in_process when at least 1 valid dose and since first dose < 150 years
  otherwise non_compliant
}
'''


@pytest.mark.parametrize("duration", ["150 years + 1 day", "151 years", "1801 months", "7827 weeks",
                                      "54788 days", "100 years + 51 years", "4 weeks - 151 years"])
def test_a_duration_over_150_years_is_an_error_at_its_place(duration):
    with pytest.raises(VaxSyntaxError) as raised:
        parse(f"vaccine V {{\n  rule \"r\" => compliant when age >= {duration}\n}}", "long.vax")
    [diagnostic] = raised.value.diagnostics
    assert (diagnostic.code, diagnostic.line, diagnostic.column) == ("E101", 2, 37)
    assert diagnostic.message == "a duration longer than 150 years: no age or interval is that long"


def test_150_years_in_any_unit_is_accepted():
    assert load_text(LONGEST).ruleset.vaccines[0].rules[0].name == "ancient"


@pytest.mark.parametrize("as_of", [EARLIEST, date(2000, 2, 29), LATEST])
def test_the_longest_durations_at_the_edges_of_the_range_evaluate_alike_in_both_engines(as_of):
    ruleset = load_text(LONGEST).ruleset
    students = [Student("old", EARLIEST), Student("young", date(2999, 1, 31))]
    doses = [Dose(1, "old", EARLIEST, 8), Dose(2, "old", date(1900, 3, 1), 8), Dose(3, "old", date(2050, 1, 1), 8),
             Dose(4, "old", date(2999, 12, 1), 8), Dose(5, "young", date(2999, 3, 31), 8)]
    chosen = [d for d in doses if d.date <= as_of]
    assert_agree(ruleset, [s for s in students if s.birth_date <= as_of], chosen, [], as_of)


def test_a_fact_date_before_1900_is_a_bad_row(tmp_path):
    (tmp_path / "students.csv").write_text("student_id,birth_date,grade\nS1,1899-12-31,KG\nS2,1900-01-01,KG\n")
    (tmp_path / "doses.csv").write_text("student_id,date,cvx\nS2,1899-06-01,08\nS2,1900-01-01,08\n")
    facts = read_fact_dir(tmp_path, today=date(2025, 9, 2))
    assert [str(p).rsplit("/", 1)[-1] for p in facts.problems] == [
        "students.csv:2: birth_date 1899-12-31 is before 1900-01-01",
        "doses.csv:2: date 1899-06-01 is before 1900-01-01",
    ]
    assert [s.id for s in facts.students] == ["S2"] and len(facts.doses) == 1


@pytest.mark.parametrize(("as_of", "problem"), [("0001-01-01", "is before 1900-01-01"),
                                                ("9999-12-31", "is after 2999-12-31")])
def test_an_as_of_outside_the_range_is_a_usage_error(tmp_path, capsys, as_of, problem):
    with pytest.raises(SystemExit) as exited:
        main(["evaluate", "minnesota", "--db", str(tmp_path / "none.db"), "--as-of", as_of])
    assert exited.value.code == 2
    assert f"{as_of} {problem}; dates run from 1900-01-01 to 2999-12-31" in capsys.readouterr().err


def test_a_fixture_date_outside_the_range_is_a_problem_of_its_file():
    fixture = read_fixture_text('[[case]]\nname = "far"\nas_of = 9999-12-31\nbirth_date = 2019-01-01\n', "f.toml")
    [error] = fixture.errors
    assert (error.line, error.message) == (3, "case 'far': 'as_of' = 9999-12-31 is after 2999-12-31")


def test_a_workbook_date_outside_the_range_is_a_bad_row(tmp_path):
    rows = [make_row("T-1", "old", datetime(1850, 1, 1), "DTAP", datetime(2021, 1, 1)),
            make_row("T-2", "fine", datetime(2020, 1, 1), "DTAP", datetime(2021, 1, 1))]
    book = read_workbook(make_workbook(tmp_path / "cases.xlsx", rows))
    assert [case.test_id for case in book.cases] == ["T-2"]
    assert [str(problem) for problem in book.problems] == ["row 2 (T-1): the birth date (DOB): 1850-01-01 is before 1900-01-01"]
