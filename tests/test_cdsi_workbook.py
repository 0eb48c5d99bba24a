"""Reading the CDC's CDSi test-case workbook (vaxdsl.cdsi.workbook).

The real workbook is the project's calibration set: it is read from ../shared/cdsi/ beside the
checkout, never copied into the repository; the tests that need it skip, saying so, when it is not
there. Bad rows and odd layouts are tested on small workbooks written here with invented cases.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from vaxdsl.cdsi.workbook import SHEET, read_workbook
from vaxdsl.errors import VaxError

openpyxl = pytest.importorskip("openpyxl")

ROOT = Path(__file__).resolve().parents[1]
WORKBOOK = ROOT.parent / "shared" / "cdsi" / "cdsi-test-cases-healthy-v4.45-part-a.xlsx"

needs_workbook = pytest.mark.skipif(not WORKBOOK.is_file(), reason=f"the CDC CDSi workbook is not at {WORKBOOK}")

HEADER = ["CDC_Test_ID", "Test_Case_Name", "DOB", "gender"]
for _n in range(1, 8):
    HEADER += [f"Date_Administered_{_n}", f"Vaccine_Name_{_n}", f"CVX_{_n}", f"MVX_{_n}",
               f"Evaluation_Status_{_n}", f"Evaluation_Reason_{_n}"]
HEADER += ["Vaccine_Group", "Assessment_Date", "Evaluation_Test_Type", "General_Description"]


def make_row(test_id, name, dob, group, assessed, doses=(), **extra) -> dict:
    """A row as a dict by column name; doses are (date, cvx, mvx, status, reason) tuples."""
    row = {"CDC_Test_ID": test_id, "Test_Case_Name": name, "DOB": dob, "Vaccine_Group": group,
           "Assessment_Date": assessed, "Evaluation_Test_Type": "invented"}
    for number, (given, cvx, mvx, status, reason) in enumerate(doses, start=1):
        row.update({f"Date_Administered_{number}": given, f"CVX_{number}": cvx, f"MVX_{number}": mvx,
                    f"Evaluation_Status_{number}": status, f"Evaluation_Reason_{number}": reason,
                    f"Vaccine_Name_{number}": f"product {cvx}"})
    row.update(extra)
    return row


def make_workbook(path: Path, rows, header=HEADER, sheet: str = SHEET) -> Path:
    """Write an .xlsx with the CDC's layout (a first sheet that is not the one read, like the CDC's)."""
    book = openpyxl.Workbook()
    book.active.title = "Overview"
    table = book.create_sheet(sheet)
    table.append(list(header))
    for row in rows:
        table.append([row.get(name) for name in header])
    book.save(path)
    return path


# ---- the real workbook ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real():
    if not WORKBOOK.is_file():
        pytest.skip(f"the CDC CDSi workbook is not at {WORKBOOK}")
    return read_workbook(WORKBOOK)


@needs_workbook
def test_every_row_of_the_real_workbook_reads(real):
    assert real.sheet == SHEET
    assert len(real.cases) == 506 and real.problems == ()
    assert len({case.test_id for case in real.cases}) == 506
    groups = Counter(case.vaccine_group for case in real.cases)
    assert groups["DTAP"] == 87 and groups["POL"] == 74 and groups["HIB"] == 46 and groups["HepB"] == 41
    assert sum(len(case.doses) for case in real.cases) == 1162
    assert {dose.status for case in real.cases for dose in case.doses} == {"Valid", "Not Valid", "Extraneous"}


@needs_workbook
def test_a_known_case_reads_field_by_field(real):
    case = next(case for case in real.cases if case.test_id == "2013-0002")
    assert case.row == 3
    assert case.name == "DTaP #2 at age 10 weeks-5 days"
    assert case.title == "2013-0002: DTaP #2 at age 10 weeks-5 days"
    assert (case.birth_date, case.assessment_date, case.vaccine_group) == (date(2025, 9, 6), date(2025, 11, 10), "DTAP")
    assert case.test_type == "Age: Below Absolute Minimum"
    assert [(d.number, d.date, d.cvx, d.mvx, d.status, d.reason) for d in case.doses] == [
        (1, date(2025, 10, 15), 107, None, "Valid", None),
        (2, date(2025, 11, 10), 107, None, "Not Valid", "Age: Too Young"),
    ]
    assert [d.valid for d in case.doses] == [True, False]
    assert case.doses[1].reason_id == "too_young"


@needs_workbook
def test_a_live_virus_case_keeps_manufacturers_and_the_other_groups_dose(real):
    case = next(case for case in real.cases if case.test_id == "2013-0547")
    assert case.vaccine_group == "MMR"
    assert [(d.date, d.cvx, d.mvx, d.status, d.reason_id) for d in case.doses] == [
        (date(2025, 10, 14), 21, "MSD", "Valid", None),
        (date(2025, 11, 10), 3, "MSD", "Not Valid", "live_virus_conflict"),
    ]


# ---- invented workbooks ----------------------------------------------------------------------------------


def test_bad_rows_are_reported_with_their_row_number_and_skipped(tmp_path):
    dob = datetime(2020, 1, 1)
    rows = [
        make_row("T-1", "good", dob, "DTAP", datetime(2021, 1, 1), [(datetime(2020, 3, 1), "20", "PMC", "Valid", None)]),
        make_row("T-2", "no DOB", None, "DTAP", datetime(2021, 1, 1)),
        make_row("T-3", "bad date", dob, "DTAP", datetime(2021, 1, 1), [("31/31/2020", "20", None, "Valid", None)]),
        {},  # a blank row is not a case and not a problem
        make_row("T-4", "no status", dob, "POL", datetime(2021, 1, 1), [(datetime(2020, 3, 1), "10", None, None, None)]),
        make_row("T-5", "no CVX", dob, "POL", datetime(2021, 1, 1), [(datetime(2020, 3, 1), None, None, "Valid", None)]),
        make_row("T-6", "before birth", dob, "POL", datetime(2021, 1, 1), [(datetime(2019, 3, 1), "10", None, "Valid", None)]),
        make_row("T-7", "text dates", "2020-01-01", "pol", "01/02/2021", [("2020-03-01", 10, None, "not valid", "Age: too young")]),
    ]
    book = read_workbook(make_workbook(tmp_path / "cases.xlsx", rows))
    assert [case.test_id for case in book.cases] == ["T-1", "T-7"]
    problems = [str(problem) for problem in book.problems]
    assert problems == [
        "row 3 (T-2): the birth date (DOB) is missing",
        "row 4 (T-3): dose 1 (Date_Administered_1): '31/31/2020' is not a date (YYYY-MM-DD or MM/DD/YYYY)",
        "row 6 (T-4): dose 1: Evaluation_Status_1 is missing",
        "row 7 (T-5): dose 1: CVX_1 is missing",
        "row 8 (T-6): dose 1 (2019-03-01) is dated before the birth date (2020-01-01)",
    ]
    text_case = book.cases[1]
    assert (text_case.birth_date, text_case.assessment_date) == (date(2020, 1, 1), date(2021, 1, 2))
    assert text_case.doses[0].status == "Not Valid" and text_case.doses[0].reason_id == "too_young"


def test_columns_are_found_by_name_in_any_order_and_case(tmp_path):
    header = list(reversed([name.upper() for name in HEADER]))
    rows = [{name.upper(): value for name, value in make_row(
        "T-1", "reordered", datetime(2020, 1, 1), "MMR", datetime(2021, 6, 1),
        [(datetime(2021, 1, 1), "03", "MSD", "Valid", None)]).items()}]
    book = read_workbook(make_workbook(tmp_path / "cases.xlsx", rows, header=header))
    assert [(d.cvx, d.mvx) for d in book.cases[0].doses] == [(3, "MSD")]


def test_a_workbook_with_more_dose_columns_reads_every_dose(tmp_path):
    header = HEADER + [f"{field}_{n}" for n in (8, 9) for field in
                       ("Date_Administered", "CVX", "MVX", "Evaluation_Status", "Evaluation_Reason")]
    given = [(datetime(2000 + n, 1, 1), "09", None, "Valid", None) for n in range(1, 10)]
    path = make_workbook(tmp_path / "wide.xlsx", [make_row("T-9", "nine Td doses", datetime(1980, 1, 1), "DTAP",
                                                            datetime(2020, 1, 1), given)], header=header)
    case = read_workbook(path).cases[0]
    assert [d.number for d in case.doses] == list(range(1, 10))
    assert case.doses[-1].date == date(2009, 1, 1)


def test_a_missing_sheet_or_column_stops_with_a_message(tmp_path):
    path = make_workbook(tmp_path / "other.xlsx", [], sheet="Something else")
    with pytest.raises(VaxError, match="no sheet 'FITS Exported TestCases'.*Something else"):
        read_workbook(path)
    path = make_workbook(tmp_path / "columns.xlsx", [], header=["CDC_Test_ID", "DOB"])
    with pytest.raises(VaxError, match="has no column Vaccine_Group, Assessment_Date"):
        read_workbook(path)
    with pytest.raises(VaxError, match="no such workbook"):
        read_workbook(tmp_path / "absent.xlsx")
    (tmp_path / "text.xlsx").write_text("not a zip", encoding="utf-8")
    with pytest.raises(VaxError, match="not an .xlsx workbook"):
        read_workbook(tmp_path / "text.xlsx")
