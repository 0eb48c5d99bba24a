"""`vaxdsl cdsi import`: the CDC's test cases as fixture files that vaxdsl.fixtures reads and
`vaxdsl test` runs (docs/cdsi.md). The real workbook is read from ../shared/, written to tmp_path."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime

import pytest

from test_cdsi_workbook import WORKBOOK, make_row, make_workbook
from vaxdsl.cdsi.to_fixtures import fixture_texts
from vaxdsl.cdsi.workbook import read_workbook
from vaxdsl.cli import main
from vaxdsl.fixtures import load_fixtures, read_fixture_text
from vaxdsl.loader import load

EXPECTED_FILES = {"cdsi-DTAP.toml": 87, "cdsi-POL.toml": 74, "cdsi-HIB.toml": 46, "cdsi-HepB.toml": 41,
                  "cdsi-PCV.toml": 34, "cdsi-MMR.toml": 29, "cdsi-VAR.toml": 21, "cdsi-MCV.toml": 13,
                  "cdsi-HepA.toml": 4}


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    if not WORKBOOK.is_file():
        pytest.skip(f"the CDC CDSi workbook is not at {WORKBOOK}")
    out = tmp_path_factory.mktemp("cdsi-fixtures")
    code = main(["cdsi", "import", str(WORKBOOK), "--out", str(out)])
    assert code == 0
    return out


def test_one_file_per_mapped_group_one_case_per_test_case(imported, capsys):
    assert {path.name for path in imported.glob("*.toml")} == set(EXPECTED_FILES)
    cases, errors, files = load_fixtures([imported])
    assert errors == [] and files == 9
    assert Counter(case.file.rsplit("/", 1)[-1] for case in cases) == EXPECTED_FILES
    for case in cases:
        assert case.student.grade is None and case.expect == () and case.overall is None
        assert case.name.split(": ", 1)[0].count("-") == 1  # "CDC_Test_ID: Test_Case_Name"


def test_a_known_case_round_trips(imported):
    cases, _, _ = load_fixtures([imported / "cdsi-DTAP.toml"])
    case = next(case for case in cases if case.name.startswith("2013-0002: "))
    assert case.name == "2013-0002: DTaP #2 at age 10 weeks-5 days"
    assert (case.student.birth_date, case.as_of) == (date(2025, 9, 6), date(2025, 11, 10))
    assert [(d.date, d.cvx, d.mvx) for d in case.doses] == [(date(2025, 10, 15), 107, None), (date(2025, 11, 10), 107, None)]
    assert [(e.vaccine, e.date, e.cvx, e.valid, e.reason) for e in case.expect_doses] == [
        ("DTaP", date(2025, 10, 15), 107, True, None),
        ("DTaP", date(2025, 11, 10), 107, False, "too_young"),
    ]


def test_other_groups_doses_are_kept_without_an_expectation(imported):
    cases, _, _ = load_fixtures([imported / "cdsi-MMR.toml"])
    case = next(case for case in cases if case.name.startswith("2013-0547: "))
    assert [(d.cvx, d.mvx) for d in case.doses] == [(21, "MSD"), (3, "MSD")]
    assert [(e.vaccine, e.cvx, e.reason) for e in case.expect_doses] == [("MMR", 3, "live_virus_conflict")]


def test_the_fixtures_run_and_fail_exactly_where_cdsi_check_disagrees(imported, capsys):
    code = main(["test", "minnesota", str(imported), "--format", "json"])
    tested = json.loads(capsys.readouterr().out)
    assert tested["summary"]["error"] == 0 and tested["fixture_errors"] == []
    mismatches = sum(len(case["mismatches"]) for case in tested["cases"])
    assert code == (1 if mismatches else 0)
    main(["cdsi", "check", str(WORKBOOK), "minnesota", "--format", "json"])
    checked = json.loads(capsys.readouterr().out)
    assert mismatches == len(checked["disagreements"])
    failing = {case["name"].split(":", 1)[0] for case in tested["cases"] if case["outcome"] == "fail"}
    assert failing == {d["test_id"] for d in checked["disagreements"]}


# ---- invented workbooks ----------------------------------------------------------------------------------


def _rows():
    dob = datetime(2020, 1, 1)
    return [
        make_row("T-1", 'quotes "and" a \\ backslash', dob, "DTAP", datetime(2020, 6, 1), [
            (datetime(2020, 2, 12), "20", "PMC", "Valid", None),
            (datetime(2020, 3, 1), "110", "SKB", "Not Valid", "Interval: too Soon"),
            (datetime(2020, 5, 1), "20", None, "Not Valid", "Something new"),
        ]),
        make_row("T-2", "a flu case", dob, "FLU", datetime(2020, 6, 1)),
        make_row("T-3", "no DOB", None, "DTAP", datetime(2020, 6, 1)),
        make_row("T-4", "influenza then varicella", dob, "VAR", datetime(2021, 6, 1), [
            (datetime(2021, 2, 1), "88", "MED", "Valid", None),
            (datetime(2021, 2, 20), "21", "MSD", "Not Valid", "Live Virus Conflict"),
        ]),
    ]


def test_import_on_an_invented_workbook(tmp_path, capsys):
    path = make_workbook(tmp_path / "cases.xlsx", _rows())
    code = main(["cdsi", "import", str(path), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 0
    assert "row 4 (T-3): the birth date (DOB) is missing (skipped)" in captured.err
    assert "T-4: dose 2021-02-01 CVX 88 left out: CVX 88 (MVX MED) is not declared by Minnesota" in captured.err
    assert "wrote 2 case(s) (4 dose expectation(s)) in 2 file(s); skipped 1 case(s) of groups without a school " \
           "requirement (FLU 1); 1 bad row(s) skipped" in captured.out
    fixture = read_fixture_text((tmp_path / "out" / "cdsi-DTAP.toml").read_text(encoding="utf-8"), "cdsi-DTAP.toml")
    assert fixture.errors == ()
    [case] = fixture.cases
    assert case.name == 'T-1: quotes "and" a \\ backslash'
    assert [(e.cvx, e.valid, e.reason) for e in case.expect_doses] == [(20, True, None), (110, False, "too_soon"), (20, False, None)]
    var = (tmp_path / "out" / "cdsi-VAR.toml").read_text(encoding="utf-8")
    assert "# left out: 2021-02-01 CVX 88" in var
    assert read_fixture_text(var, "cdsi-VAR.toml").cases[0].doses[0].cvx == 21


def test_strict_writes_nothing_when_a_row_is_bad(tmp_path, capsys):
    path = make_workbook(tmp_path / "cases.xlsx", _rows())
    code = main(["cdsi", "import", str(path), "--out", str(tmp_path / "out"), "--strict"])
    assert code == 1
    assert "nothing written" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_without_a_ruleset_every_dose_is_written_with_its_expectation(tmp_path):
    book = read_workbook(make_workbook(tmp_path / "cases.xlsx", _rows()))
    texts, report = fixture_texts(book)
    assert report.left_out == () and report.expectations == 5
    assert read_fixture_text(texts["cdsi-VAR.toml"]).cases[0].doses[0].cvx == 88
    # With Minnesota, the unspecified influenza dose (CVX 88) is not declared: left out, and reported.
    texts, report = fixture_texts(book, load("minnesota").ruleset)
    assert [(item.case.test_id, item.dose.cvx, item.written) for item in report.left_out] == [("T-4", 88, False)]
