"""Read the CDC's CDSi test-case workbook (``.xlsx``, sheet ``FITS Exported TestCases``).

One row per test case: ``CDC_Test_ID``, ``Test_Case_Name``, ``DOB``, doses 1..N
(``Date_Administered_n``, ``CVX_n``, ``MVX_n``, ``Evaluation_Status_n``, ``Evaluation_Reason_n``; N is 7
in the CDC's workbooks, the header's highest ``Date_Administered_n`` in any), ``Vaccine_Group``,
``Assessment_Date``, ``Evaluation_Test_Type``. Columns are found by their header, in any order and any
case, so the CDC's full workbook (same layout) reads the same way.

Reading never stops at a bad row: a row with no DOB, an unreadable date, a dose with no CVX or an
unknown status becomes a :class:`RowProblem` (with its row number as Excel shows it) and is skipped.
A file that is not a workbook, or has no such sheet or no such columns, raises
:class:`~vaxdsl.errors.VaxError`.

openpyxl reads the file (read-only mode: it streams the rows).

>>> parse_date("2025-11-10"), parse_date("11/10/2025"), parse_date(45971)
(datetime.date(2025, 11, 10), datetime.date(2025, 11, 10), datetime.date(2025, 11, 10))
>>> parse_date("10 Nov")
Traceback (most recent call last):
ValueError: '10 Nov' is not a date (YYYY-MM-DD or MM/DD/YYYY)
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import attrs

from ..dates import outside_range
from ..errors import VaxError
from .mapping import STATUSES, canonical_status, fold, reason_id, status_valid

SHEET = "FITS Exported TestCases"
REQUIRED_COLUMNS = ("CDC_Test_ID", "DOB", "Vaccine_Group", "Assessment_Date")
DOSE_FIELDS = ("Date_Administered", "CVX", "MVX", "Evaluation_Status", "Evaluation_Reason", "Vaccine_Name")


@attrs.frozen
class CdcDose:
    """One administered dose of a test case, with the CDC's evaluation of it."""

    number: int  # its position in the row, 1..N
    date: date
    cvx: int
    mvx: str | None
    vaccine_name: str
    status: str  # as the CDC writes it: "Valid", "Not Valid", "Extraneous"
    reason: str | None  # the CDC's words, e.g. "Age: Too Young"; None for a valid dose

    @property
    def valid(self) -> bool:
        return bool(status_valid(self.status))

    @property
    def reason_id(self) -> str | None:
        """Our reason id (``too_young``, ...) for a dose that is not valid; None when valid or unmapped."""
        return None if self.valid else reason_id(self.reason, self.status)

    def cdc_words(self) -> str:
        return f"{self.status} ({self.reason})" if self.reason else self.status


@attrs.frozen
class TestCase:
    """One row of the sheet."""

    __test__ = False  # not a pytest test class

    row: int  # the sheet row (the header is row 1)
    test_id: str
    name: str
    birth_date: date
    assessment_date: date
    vaccine_group: str  # as the CDC writes it: DTAP, POL, HepB, ...
    test_type: str = ""
    doses: tuple[CdcDose, ...] = ()
    description: str = ""

    @property
    def title(self) -> str:
        """``CDC_Test_ID: Test_Case_Name``, the fixture case's name."""
        return f"{self.test_id}: {self.name}" if self.name else self.test_id


@attrs.frozen
class RowProblem:
    row: int
    test_id: str
    message: str

    def __str__(self) -> str:
        who = f" ({self.test_id})" if self.test_id else ""
        return f"row {self.row}{who}: {self.message}"


@attrs.frozen
class Workbook:
    path: str
    sheet: str
    cases: tuple[TestCase, ...]
    problems: tuple[RowProblem, ...] = ()

    @property
    def rows(self) -> int:
        """Data rows read (cases and bad rows; blank rows are not counted)."""
        return len(self.cases) + len(self.problems)


class _Bad(Exception):
    pass


_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(value) -> date:
    """A cell as a date (an Excel date, ``YYYY-MM-DD`` with any time after it ignored, ``MM/DD/YYYY``,
    or an Excel day number) from 1900 to 2999."""
    day = _cell_date(value)
    problem = outside_range(day)
    if problem is not None:
        raise ValueError(f"{day} {problem}")
    return day


def _cell_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 2958466:
        return _EXCEL_EPOCH + timedelta(days=int(value))
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            pass
        found = _US_DATE.fullmatch(text.split(" ")[0])
        if found:
            month, day, year = map(int, found.groups())
            try:
                return date(year, month, day)
            except ValueError:
                pass
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD or MM/DD/YYYY)")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _cvx(value) -> int | None:
    text = _text(value)
    return int(text) if text.isdigit() else None


def read_workbook(path, sheet: str = SHEET) -> Workbook:
    """Every test case of the sheet, and the rows that could not be read."""
    import openpyxl  # imported here: only the cdsi commands need it
    from openpyxl.utils.exceptions import InvalidFileException

    file = Path(path)
    if not file.is_file():
        raise VaxError(f"{path}: no such workbook")
    try:
        book = openpyxl.load_workbook(file, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as error:
        raise VaxError(f"{path}: not an .xlsx workbook openpyxl can read ({error})") from None
    except Exception as error:  # noqa: BLE001 - a corrupt zip raises zipfile.BadZipFile and others
        raise VaxError(f"{path}: not an .xlsx workbook ({type(error).__name__}: {error})") from None
    try:
        if sheet not in book.sheetnames:
            raise VaxError(f"{path}: no sheet '{sheet}' (sheets: {', '.join(book.sheetnames)})")
        rows = book[sheet].iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise VaxError(f"{path}: sheet '{sheet}' is empty")
        columns = _columns(header, path, sheet)
        doses = _dose_count(columns)
        cases, problems = [], []
        for number, values in enumerate(rows, start=2):
            if values is None or all(_text(v) == "" for v in values):
                continue
            cell = _Cells(values, columns)
            test_id = cell.text("CDC_Test_ID")
            try:
                cases.append(_read_case(number, test_id, cell, doses))
            except _Bad as bad:
                problems.append(RowProblem(number, test_id, str(bad)))
    finally:
        book.close()
    return Workbook(str(path), sheet, tuple(cases), tuple(problems))


def _columns(header, path, sheet) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        key = fold(_text(name))
        if key and key not in columns:
            columns[key] = index
    wanted = list(REQUIRED_COLUMNS) + ["Date_Administered_1", "CVX_1", "Evaluation_Status_1"]
    missing = [name for name in wanted if fold(name) not in columns]
    if missing:
        raise VaxError(f"{path}: sheet '{sheet}' has no column {', '.join(missing)} "
                       "(is this the CDC's CDSi test-case workbook?)")
    return columns


_DOSE_COLUMN = re.compile(r"date_administered_(\d+)")


def _dose_count(columns: dict[str, int]) -> int:
    """How many doses a row holds: the highest n of the header's ``Date_Administered_n`` columns."""
    return max((int(found.group(1)) for key in columns if (found := _DOSE_COLUMN.fullmatch(key))), default=0)


class _Cells:
    def __init__(self, values, columns):
        self.values, self.columns = values, columns

    def raw(self, name: str):
        index = self.columns.get(fold(name))
        if index is None or index >= len(self.values):
            return None
        return self.values[index]

    def text(self, name: str) -> str:
        return _text(self.raw(name))

    def date(self, name: str, what: str, required: bool = True) -> date | None:
        value = self.raw(name)
        if _text(value) == "":
            if required:
                raise _Bad(f"{what} ({name}) is missing")
            return None
        try:
            return parse_date(value)
        except ValueError as error:
            raise _Bad(f"{what} ({name}): {error}") from None


def _read_case(row: int, test_id: str, cell: _Cells, dose_count: int) -> TestCase:
    if not test_id:
        raise _Bad("CDC_Test_ID is missing")
    birth = cell.date("DOB", "the birth date")
    assessed = cell.date("Assessment_Date", "the assessment date")
    group = cell.text("Vaccine_Group")
    if not group:
        raise _Bad("Vaccine_Group is missing")
    doses = []
    for n in range(1, dose_count + 1):
        given = cell.date(f"Date_Administered_{n}", f"dose {n}", required=False)
        cvx_text = cell.text(f"CVX_{n}")
        status = cell.text(f"Evaluation_Status_{n}")
        if given is None:
            if cvx_text or status:
                raise _Bad(f"dose {n} has a CVX or a status but no Date_Administered_{n}")
            continue
        cvx = _cvx(cvx_text)
        if cvx is None:
            raise _Bad(f"dose {n}: CVX_{n} = {cvx_text!r} is not a CVX code" if cvx_text else f"dose {n}: CVX_{n} is missing")
        canonical = canonical_status(status)
        if canonical is None:
            raise _Bad(f"dose {n}: Evaluation_Status_{n} = {status!r} is not one of {', '.join(STATUSES)}"
                       if status else f"dose {n}: Evaluation_Status_{n} is missing")
        if given < birth:
            raise _Bad(f"dose {n} ({given}) is dated before the birth date ({birth})")
        doses.append(CdcDose(n, given, cvx, cell.text(f"MVX_{n}") or None, cell.text(f"Vaccine_Name_{n}"),
                             canonical, cell.text(f"Evaluation_Reason_{n}") or None))
    if assessed < birth:
        raise _Bad(f"the assessment date ({assessed}) is before the birth date ({birth})")
    return TestCase(row, test_id, cell.text("Test_Case_Name"), birth, assessed, group,
                    cell.text("Evaluation_Test_Type"), tuple(doses), cell.text("General_Description"))
