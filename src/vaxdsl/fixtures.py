"""Test-case fixtures: TOML files of students, doses and the outcomes a ruleset should give them.

A fixture file holds one or more ``[[case]]`` tables (the format is in docs/fixtures.md). This
module reads them into :class:`Case` records: the facts (a :class:`~vaxdsl.records.Student`, dose
rows, :class:`~vaxdsl.records.Exemption` s) and the expectations (per vaccine group, per dose, the
overall status). It knows nothing about engines; :mod:`vaxdsl.qa.runner` runs the cases.

Reading never raises on a bad file: every problem becomes a :class:`FixtureError` with the file
and a line (TOML syntax errors carry tomllib's line and column), and the cases that could be read
are still returned.

>>> text = '''
... [[case]]
... name = "kindergartner, 3 doses of HepB"
... as_of = 2024-09-03
... birth_date = 2019-05-10
... grade = "KG"
... doses = [
...   { age = "2 months", cvx = 110 },
...   { date = 2019-09-10, product = "Pediarix" },
... ]
... [case.expect]
... HepB = { status = "In Grace Period", rule = "2 doses In Grace Period" }
... '''
>>> fixture = read_fixture_text(text, "hepb.toml")
>>> fixture.errors
()
>>> case = fixture.cases[0]
>>> (case.name, case.line, case.student.grade, case.doses[0].date, case.doses[1].product)
('kindergartner, 3 doses of HepB', 2, 'KG', datetime.date(2019, 7, 10), 'Pediarix')
>>> case.expect[0]
GroupExpectation(vaccine='HepB', status='in_grace_period', rule='2 doses In Grace Period', valid_doses=None, line=12)
>>> print(read_fixture_text('[[case]]\\nname = "x"\\nas_of = 2024-13-01\\n', "bad.toml").errors[0])
bad.toml:3:13: TOML syntax: Expected newline or end of document after a statement
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime
from pathlib import Path

import attrs

from . import ast, records
from .dates import outside_range
from .errors import VaxError
from .filekinds import NotText, read_utf8

# ---- records -------------------------------------------------------------------------------------


@attrs.frozen
class FixtureError:
    """A problem in a fixture file, at a line (0 when the line is unknown)."""

    file: str
    line: int
    message: str
    column: int = 0

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return f"{where}: {self.message}"

    def as_json(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column, "message": self.message}


@attrs.frozen
class DoseRow:
    """A dose as the fixture writes it; the product is resolved against a ruleset when the case runs."""

    date: date
    cvx: int | None = None
    mvx: str | None = None
    product: str | None = None
    age: str | None = None  # the ``age = "..."`` text it was written with, if any
    line: int = 0

    def describe(self) -> str:
        what = f"product '{self.product}'" if self.product else f"CVX {self.cvx}"
        if self.mvx:
            what += f" (MVX {self.mvx})"
        when = f"{self.date}" + (f" (age {self.age})" if self.age else "")
        return f"{what} on {when}"


@attrs.frozen
class GroupExpectation:
    """``[case.expect.DTaP] status = ..., rule = ..., valid_doses = ...``; None means "not checked".

    ``rule = ""`` expects that no rule decided (an ``applies`` or ``otherwise`` outcome).
    """

    vaccine: str
    status: str | None = None
    rule: str | None = None
    valid_doses: int | None = None
    line: int = 0


@attrs.frozen
class DoseExpectation:
    """``[[case.expect_doses]]``: how the dose(s) of ``vaccine`` given on ``date`` evaluate."""

    vaccine: str
    date: date
    cvx: int | None = None
    valid: bool | None = None
    reason: str | None = None
    dose_number: int | None = None
    line: int = 0

    def describe(self) -> str:
        cvx = f" CVX {self.cvx}" if self.cvx is not None else ""
        return f"{self.vaccine}{cvx} dose of {self.date}"


@attrs.frozen
class Case:
    file: str
    line: int
    name: str
    as_of: date
    student: records.Student
    doses: tuple[DoseRow, ...] = ()
    exemptions: tuple[records.Exemption, ...] = ()
    expect: tuple[GroupExpectation, ...] = ()
    expect_doses: tuple[DoseExpectation, ...] = ()
    overall: str | None = None
    xfail: str | None = None  # why this case is expected to fail (a known, reported disagreement)
    note: str = ""

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def has_expectations(self) -> bool:
        return bool(self.expect or self.expect_doses or self.overall)

    def dose_records(self, products: list[ast.Product]) -> tuple[list[records.Dose], list[FixtureError]]:
        """The dose rows as :class:`~vaxdsl.records.Dose` records for a ruleset with these products.

        Each row must resolve to a declared product (docs/semantics.md, "Facts"); a row naming only
        a product takes that product's CVX code. Rows that do not resolve are returned as errors.
        """
        doses, errors = [], []
        for number, row in enumerate(self.doses, start=1):
            cvx = row.cvx
            if cvx is None:
                wanted = (row.product or "").casefold()
                found = [p for p in products if wanted in (p.id.casefold(), p.name.casefold())]
                if not found:
                    errors.append(FixtureError(self.file, row.line, f"case '{self.name}': dose {row.describe()}: "
                                               f"no product of the ruleset has that id or name{_suggest(row.product, _product_names(products))}"))
                    continue
                cvx = ast.cvx_key(found[0].cvx)
            dose = records.Dose(number, self.student.id, row.date, cvx, row.mvx, row.product)
            if records.resolve_product(dose, products) is None:
                known = sorted({p.cvx for p in products}, key=ast.cvx_key)
                hint = (f"no product of the ruleset has that id or name{_suggest(row.product, _product_names(products))}"
                        if row.product else
                        f"no product of the ruleset has CVX {cvx}" + (f" and MVX {row.mvx}" if row.mvx else "")
                        + (f" (declared CVX codes: {', '.join(known)})" if len(known) <= 40 else ""))
                errors.append(FixtureError(self.file, row.line, f"case '{self.name}': dose {row.describe()}: {hint}"))
                continue
            doses.append(dose)
        return doses, errors


@attrs.frozen
class FixtureFile:
    file: str
    cases: tuple[Case, ...] = ()
    errors: tuple[FixtureError, ...] = ()


# ---- vocabulary ------------------------------------------------------------------------------------

CASE_KEYS = {
    "name", "as_of", "as_of_age", "student_id", "birth_date", "grade", "attributes", "doses", "exemptions",
    "expect", "expect_doses", "overall", "xfail", "note",
}
DEFAULT_KEYS = {"as_of", "birth_date", "grade"}
TOP_KEYS = {"case", "defaults"}
DOSE_KEYS = {"date", "age", "cvx", "mvx", "product"}
EXEMPTION_KEYS = {"vaccine", "kind", "date", "age"}
GROUP_EXPECT_KEYS = {"status", "rule", "valid_doses"}
DOSE_EXPECT_KEYS = {"vaccine", "date", "age", "cvx", "valid", "reason", "dose_number"}

_STATUS_WORDS = {name: name for name in ast.OUTCOMES}
_STATUS_WORDS.update({display.casefold(): name for name, display in ast.OUTCOME_DISPLAY.items()})
_STATUS_WORDS.update({name.replace("_", " "): name for name in ast.OUTCOMES})
_STATUS_WORDS.update({"non-compliant": "non_compliant", "noncompliant": "non_compliant"})

_DURATION_PART = re.compile(r"\s*([+-])?\s*(\d+)\s*(day|week|month|year)s?\b\s*", re.I)


def normalize_status(word: str) -> str | None:
    """An outcome id from its id or display name, any case; None when it is neither.

    >>> [normalize_status(w) for w in ("compliant", "In Grace Period", "Non-compliant", "no_requirement", "ok")]
    ['compliant', 'in_grace_period', 'non_compliant', 'no_requirement', None]
    """
    return _STATUS_WORDS.get(word.strip().casefold())


def normalize_grade(value) -> str | None:
    """A grade code as rulesets declare them: numbers get two digits; an empty string is "no grade".

    >>> [normalize_grade(g) for g in ("KG", "1", 7, "07", "12", "", "pa")]
    ['KG', '01', '07', '07', '12', None, 'PA']
    """
    text = str(value).strip()
    if not text:
        return None
    if text.isdigit():
        return f"{int(text):02d}"
    return text.upper()


def parse_age(text: str) -> tuple[int, int]:
    """``"4 years - 4 days"`` as signed (months, days), the pair :func:`vaxdsl.dates.add` takes.

    >>> parse_age("4 years - 4 days"), parse_age("2 months"), parse_age("1 year + 6 months + 2 weeks")
    ((48, -4), (2, 0), (18, 14))
    >>> parse_age("four years")
    Traceback (most recent call last):
    ValueError: 'four years' is not a duration such as "4 years - 4 days" or "6 weeks"
    """
    position, months, days, first = 0, 0, 0, True
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if not match or match.end() == position or (match.group(1) is None) == (not first):
            break
        sign = -1 if match.group(1) == "-" else 1
        amount, unit = int(match.group(2)), match.group(3).lower()
        if unit == "year":
            months += sign * 12 * amount
        elif unit == "month":
            months += sign * amount
        elif unit == "week":
            days += sign * 7 * amount
        else:
            days += sign * amount
        position, first = match.end(), False
    if first or position != len(text):
        raise ValueError(f"{text!r} is not a duration such as \"4 years - 4 days\" or \"6 weeks\"")
    return months, days


def add_age(birth: date, text: str) -> date:
    """The date a child born on ``birth`` reaches the age ``text``, by the CDSi rule (vaxdsl.dates.add)."""
    from .dates import add

    return add(birth, parse_age(text))


# ---- files -------------------------------------------------------------------------------------------


def collect_fixture_files(paths) -> list[Path]:
    """Fixture files named on the command line: files as given, directories searched for ``*.toml``."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.toml") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise VaxError(f"{raw}: no such fixture file or directory")
    unique, seen = [], set()
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def read_fixture_file(path) -> FixtureFile:
    name = str(path)
    try:
        text = read_utf8(path, "a fixture file (fixture files are TOML text)")
    except NotText as error:
        return FixtureFile(name, errors=(FixtureError(name, 0, str(error)),))
    return read_fixture_text(text, name)


def load_fixtures(paths) -> tuple[list[Case], list[FixtureError], int]:
    """Every case in the files and directories given: (cases, errors, number of files read)."""
    files = collect_fixture_files(paths)
    cases: list[Case] = []
    errors: list[FixtureError] = []
    for path in files:
        fixture = read_fixture_file(path)
        cases.extend(fixture.cases)
        errors.extend(fixture.errors)
    return cases, errors, len(files)


_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def read_fixture_text(text: str, file: str = "<string>") -> FixtureFile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = _TOML_POSITION.search(message)
        if found:
            message = (message[:found.start()] + message[found.end():]).strip()
            return FixtureFile(file, errors=(FixtureError(file, int(found.group(1)), f"TOML syntax: {message}",
                                                          int(found.group(2))),))
        if "end of document" in message:  # tomllib gives no line for these: it is the last one
            message = message.replace("(at end of document)", "").strip()
            return FixtureFile(file, errors=(FixtureError(file, max(1, len(text.splitlines())),
                                                          f"TOML syntax: {message} (at the end of the file)"),))
        return FixtureFile(file, errors=(FixtureError(file, 0, f"TOML syntax: {message}"),))
    reader = _Reader(text, file)
    return reader.read(data)


# ---- reading ------------------------------------------------------------------------------------------


class _Problem(Exception):
    def __init__(self, message: str, line: int = 0):
        super().__init__(message)
        self.message = message
        self.line = line


_CASE_HEADER = re.compile(r"^\s*\[\[\s*case\s*\]\]")
_DEFAULTS_HEADER = re.compile(r"^\s*\[\s*defaults\s*\]")


class _Reader:
    """Turns tomllib's dicts into cases; finds lines again in the text (tomllib keeps none)."""

    def __init__(self, text: str, file: str):
        self.file = file
        self.lines = text.splitlines()
        self.case_starts = [number for number, line in enumerate(self.lines, start=1) if _CASE_HEADER.match(line)]
        self.errors: list[FixtureError] = []

    # -- positions --

    def case_range(self, index: int) -> tuple[int, int]:
        """The lines (first, last) of the index-th ``[[case]]`` table, best effort."""
        if index < len(self.case_starts):
            start = self.case_starts[index]
            end = self.case_starts[index + 1] - 1 if index + 1 < len(self.case_starts) else len(self.lines)
            return start, end
        return 0, 0

    def find(self, span: tuple[int, int], *needles: str, after: int = 0) -> int:
        """The first line in span (from ``after``) holding every needle; fewer needles on failure."""
        start, end = span
        if not start:
            return 0
        start = max(start, after)
        needles = tuple(n for n in needles if n)
        while needles:
            for number in range(start, end + 1):
                line = _strip_comment(self.lines[number - 1])
                if all(_contains(line, needle) for needle in needles):
                    return number
            needles = needles[:-1]
        return span[0]

    def key_line(self, span: tuple[int, int], key: str) -> int:
        """The line where ``key = ...`` or a ``[...key]`` header is written in span."""
        pattern = re.compile(rf"(?<![\w-]){re.escape(key)}\s*=|\.{re.escape(key)}\s*\]")
        for number in range(span[0], span[1] + 1 if span[0] else 0):
            if pattern.search(_strip_comment(self.lines[number - 1])):
                return number
        return span[0]

    def error(self, message: str, line: int) -> None:
        self.errors.append(FixtureError(self.file, line, message))

    # -- the file --

    def read(self, data: dict) -> FixtureFile:
        for key in data:
            if key not in TOP_KEYS:
                line = next((n for n, text in enumerate(self.lines, 1) if re.match(rf"\s*\[?\[?\s*{re.escape(key)}\b", text)), 0)
                self.error(f"unknown top-level key '{key}'{_suggest(key, TOP_KEYS)}: a fixture file holds [[case]] tables"
                           " (and an optional [defaults] table)", line)
        defaults = {}
        raw_defaults = data.get("defaults", {})
        defaults_line = next((n for n, text in enumerate(self.lines, 1) if _DEFAULTS_HEADER.match(text)), 0)
        if not isinstance(raw_defaults, dict):
            self.error("'defaults' must be a table ([defaults])", defaults_line)
        else:
            for key, value in raw_defaults.items():
                if key not in DEFAULT_KEYS:
                    self.error(f"unknown key '{key}' in [defaults]{_suggest(key, DEFAULT_KEYS)} "
                               f"(allowed: {', '.join(sorted(DEFAULT_KEYS))})", defaults_line)
                else:
                    defaults[key] = value
        raw_cases = data.get("case", [])
        if not isinstance(raw_cases, list):
            self.error("'case' must be an array of tables: write each case under [[case]]", 1)
            raw_cases = []
        if not raw_cases and not self.errors:
            self.error("no [[case]] tables in this file", 1)
        cases, names = [], {}
        for index, raw in enumerate(raw_cases):
            span = self.case_range(index)
            if not isinstance(raw, dict):
                self.error("each case must be a table ([[case]])", span[0])
                continue
            try:
                case = self.read_case(raw, defaults, span, index)
            except _Problem as problem:
                name = raw.get("name") if isinstance(raw.get("name"), str) else f"#{index + 1}"
                self.error(f"case '{name}': {problem.message}", problem.line or span[0])
                continue
            if case.name in names:
                self.error(f"case name '{case.name}' is used twice in this file (first on line {names[case.name]})", case.line)
                continue
            names[case.name] = case.line
            cases.append(case)
        return FixtureFile(self.file, tuple(cases), tuple(self.errors))

    # -- one case --

    def read_case(self, raw: dict, defaults: dict, span: tuple[int, int], index: int) -> Case:
        line = span[0]
        for key in raw:
            if key not in CASE_KEYS:
                raise _Problem(f"unknown key '{key}'{_suggest(key, CASE_KEYS)} "
                               f"(a case has: {', '.join(sorted(CASE_KEYS))})", self.key_line(span, key))
        values = {**defaults, **raw}
        name = values.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _Problem("every case needs a name = \"...\"", line)
        name = name.strip()
        birth = self.date_value(values, "birth_date", span, required=True)
        if "as_of_age" in raw:
            if "as_of" in raw:
                raise _Problem("give as_of or as_of_age, not both", self.key_line(span, "as_of_age"))
            as_of, _ = self.when({"age": raw["as_of_age"]}, birth, span, "as_of_age", self.key_line(span, "as_of_age"))
        else:
            as_of = self.date_value(values, "as_of", span, required=True)
        grade_value = values.get("grade", "")
        if not isinstance(grade_value, (str, int)) or isinstance(grade_value, bool):
            raise _Problem("'grade' must be a grade code such as \"KG\" or \"07\" (\"\" for no grade)", self.key_line(span, "grade"))
        grade = normalize_grade(grade_value)
        student_id = values.get("student_id", name)
        if not isinstance(student_id, (str, int)) or isinstance(student_id, bool):
            raise _Problem("'student_id' must be a string", self.key_line(span, "student_id"))
        attributes = values.get("attributes", {})
        if not isinstance(attributes, dict):
            raise _Problem("'attributes' must be a table ([case.attributes] or attributes = { ... })", self.key_line(span, "attributes"))
        student = records.Student(str(student_id), birth, grade, dict(attributes))

        doses = tuple(self.read_dose(item, number, birth, span) for number, item in
                      enumerate(self.array(values, "doses", span), start=1))
        exemptions = tuple(self.read_exemption(item, birth, student.id, span) for item in self.array(values, "exemptions", span))

        expect_raw = values.get("expect", {})
        if not isinstance(expect_raw, dict):
            raise _Problem("'expect' must be a table: [case.expect] with one entry per vaccine group", self.key_line(span, "expect"))
        expect = tuple(self.read_group_expectation(vaccine, value, span) for vaccine, value in expect_raw.items())
        expect_doses = tuple(self.read_dose_expectation(item, birth, span) for item in self.array(values, "expect_doses", span))

        overall = None
        if "overall" in values:
            overall = self.status_value(values["overall"], "overall", self.key_line(span, "overall"))
        xfail = values.get("xfail")
        if xfail is not None and (not isinstance(xfail, str) or not xfail.strip()):
            raise _Problem("'xfail' must say why the case is expected to fail: xfail = \"...\"", self.key_line(span, "xfail"))
        note = values.get("note", "")
        if not isinstance(note, str):
            raise _Problem("'note' must be a string", self.key_line(span, "note"))
        return Case(self.file, line, name, as_of, student, doses, exemptions, expect, expect_doses, overall,
                    xfail.strip() if xfail else None, note)

    def array(self, values: dict, key: str, span) -> list:
        items = values.get(key, [])
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise _Problem(f"'{key}' must be an array of tables: {key} = [ {{ ... }}, ... ] or [[case.{key}]]",
                           self.key_line(span, key))
        return items

    def date_value(self, values: dict, key: str, span, required: bool = False, line: int = 0) -> date | None:
        value = values.get(key)
        line = line or self.key_line(span, key)
        if value is None:
            if required:
                raise _Problem(f"'{key}' is missing (a date such as {key} = 2024-09-03)", span[0])
            return None
        if isinstance(value, datetime):
            raise _Problem(f"'{key}' must be a date without a time, e.g. {key} = 2024-09-03", line)
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value.strip())
            except ValueError:
                raise _Problem(f"'{key}' = {value!r} is not a date (write YYYY-MM-DD)", self.find(span, key, value)) from None
        if not isinstance(value, date):
            raise _Problem(f"'{key}' must be a date (YYYY-MM-DD), not {type(value).__name__}", line)
        problem = outside_range(value)
        if problem is not None:
            raise _Problem(f"'{key}' = {value} {problem}", line)
        return value

    def when(self, item: dict, birth: date, span, what: str, line: int) -> tuple[date, str | None]:
        """``date = ...`` or ``age = "..."`` (relative to the birth date): exactly one of them."""
        if ("date" in item) == ("age" in item):
            raise _Problem(f"{what} needs exactly one of date = YYYY-MM-DD or age = \"...\" (e.g. age = \"4 years\")", line)
        if "date" in item:
            return self.date_value(item, "date", span, required=True, line=line), None
        age = item["age"]
        if not isinstance(age, str):
            raise _Problem(f"{what}: age must be a string such as \"4 years - 4 days\"", line)
        try:
            return add_age(birth, age), age
        except (ValueError, VaxError) as error:
            raise _Problem(f"{what}: {error}", line) from None

    def item_line(self, item: dict, span, *keys: str) -> int:
        needles = []
        for key in keys:
            if key in item:
                value = item[key]
                needles.append(value.isoformat() if isinstance(value, date) else str(value).lower() if isinstance(value, bool) else str(value))
        return self.find(span, *needles)

    def read_dose(self, item: dict, number: int, birth: date, span) -> DoseRow:
        line = self.item_line(item, span, "date", "age", "cvx", "product")
        _refuse_unknown_keys(item, DOSE_KEYS, f"dose {number}", "a dose has", line)
        when, age = self.when(item, birth, span, f"dose {number}", line)
        if "cvx" not in item and "product" not in item:
            raise _Problem(f"dose {number} needs a cvx = CODE or a product = \"NAME\"", line)
        cvx = None
        if "cvx" in item:
            cvx = _cvx(item["cvx"])
            if cvx is None:
                raise _Problem(f"dose {number}: cvx = {item['cvx']!r} is not a CVX code (a number such as 110)", line)
        for key in ("mvx", "product"):
            if key in item and (not isinstance(item[key], str) or not item[key].strip()):
                raise _Problem(f"dose {number}: {key} must be a non-empty string", line)
        return DoseRow(when, cvx, item.get("mvx"), item.get("product"), age, line)

    def read_exemption(self, item: dict, birth: date, student_id: str, span) -> records.Exemption:
        line = self.item_line(item, span, "vaccine", "kind")
        _refuse_unknown_keys(item, EXEMPTION_KEYS, "exemption", "an exemption has", line)
        vaccine = item.get("vaccine")
        if not isinstance(vaccine, str) or not vaccine.strip():
            raise _Problem("an exemption needs vaccine = \"GROUP\" (e.g. \"MMR\")", line)
        kind = item.get("kind")
        if kind not in ast.EXEMPTION_KINDS:
            raise _Problem(f"exemption for {vaccine}: kind = {kind!r} is not one of "
                           f"{', '.join(ast.EXEMPTION_KINDS)}{_suggest(str(kind), ast.EXEMPTION_KINDS)}", line)
        when = None
        if "date" in item or "age" in item:
            when, _ = self.when(item, birth, span, f"exemption for {vaccine}", line)
        return records.Exemption(student_id, vaccine.strip(), kind, when)

    def read_group_expectation(self, vaccine: str, value, span) -> GroupExpectation:
        line = self.key_line(span, vaccine)
        if isinstance(value, str):
            return GroupExpectation(vaccine, self.status_value(value, f"expect.{vaccine}", line), line=line)
        if not isinstance(value, dict):
            raise _Problem(f"expect.{vaccine} must be a status (\"compliant\") or a table "
                           "{ status = ..., rule = ..., valid_doses = ... }", line)
        _refuse_unknown_keys(value, GROUP_EXPECT_KEYS, f"expect.{vaccine}", "allowed", line,
                             line_of=lambda key: self.key_line(span, key))
        if not value:
            raise _Problem(f"expect.{vaccine} expects nothing: give a status, a rule or valid_doses", line)
        status = self.status_value(value["status"], f"expect.{vaccine}.status", line) if "status" in value else None
        rule = value.get("rule")
        if rule is not None and not isinstance(rule, str):
            raise _Problem(f"expect.{vaccine}.rule must be a rule name in quotes (\"\" for no rule)", line)
        valid_doses = value.get("valid_doses")
        if valid_doses is not None and (isinstance(valid_doses, bool) or not isinstance(valid_doses, int) or valid_doses < 0):
            raise _Problem(f"expect.{vaccine}.valid_doses must be a whole number", line)
        return GroupExpectation(vaccine, status, rule, valid_doses, line)

    def read_dose_expectation(self, item: dict, birth: date, span) -> DoseExpectation:
        line = self.item_line(item, span, "date", "age", "vaccine")
        _refuse_unknown_keys(item, DOSE_EXPECT_KEYS, "expect_doses", "allowed", line)
        vaccine = item.get("vaccine")
        if not isinstance(vaccine, str) or not vaccine.strip():
            raise _Problem("expect_doses: each entry needs vaccine = \"GROUP\"", line)
        when, _ = self.when(item, birth, span, f"expect_doses ({vaccine})", line)
        cvx = None
        if "cvx" in item:
            cvx = _cvx(item["cvx"])
            if cvx is None:
                raise _Problem(f"expect_doses: cvx = {item['cvx']!r} is not a CVX code", line)
        valid = item.get("valid")
        if valid is not None and not isinstance(valid, bool):
            raise _Problem("expect_doses: valid must be true or false", line)
        reason = item.get("reason")
        if reason is not None:
            if reason not in ast.INVALID_REASONS:
                raise _Problem(f"expect_doses: reason = {reason!r} is not one of {', '.join(ast.INVALID_REASONS)}"
                               f"{_suggest(str(reason), ast.INVALID_REASONS)}", line)
            if valid is True:
                raise _Problem("expect_doses: a valid dose has no reason", line)
            valid = False
        number = item.get("dose_number")
        if number is not None:
            if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                raise _Problem("expect_doses: dose_number must be a whole number from 1", line)
            if valid is False:
                raise _Problem("expect_doses: an invalid dose has no dose_number", line)
            valid = True
        if valid is None:
            raise _Problem("expect_doses: say what to expect: valid = true/false, reason = \"...\" or dose_number = N", line)
        return DoseExpectation(vaccine.strip(), when, cvx, valid, reason, number, line)

    def status_value(self, value, what: str, line: int) -> str:
        status = normalize_status(value) if isinstance(value, str) else None
        if status is None:
            raise _Problem(f"{what} = {value!r} is not an outcome: use one of {', '.join(ast.OUTCOMES)} "
                           "(or the display names: Compliant, In Grace Period, ...)", line)
        return status


# ---- helpers --------------------------------------------------------------------------------------------


def _cvx(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _strip_comment(line: str) -> str:
    # Good enough for locating keys: a '#' inside a quoted string is rare in fixtures.
    in_string, quote = False, ""
    for index, char in enumerate(line):
        if in_string:
            if char == quote:
                in_string = False
        elif char in "\"'":
            in_string, quote = True, char
        elif char == "#":
            return line[:index]
    return line


def _contains(line: str, needle: str) -> bool:
    if re.fullmatch(r"\w+", needle):
        return re.search(rf"(?<![\w-]){re.escape(needle)}(?![\w-])", line) is not None
    return needle in line


def _product_names(products: list[ast.Product]) -> list[str]:
    return [p.id for p in products] + [p.name for p in products if p.name]


def _refuse_unknown_keys(table: dict, allowed, what: str, listing: str, line, line_of=None) -> None:
    """A key the format does not know is a mistake, not something to ignore: name it, suggest the
    closest known key and list the allowed ones."""
    unknown = [key for key in table if key not in allowed]
    if unknown:
        key = unknown[0]
        raise _Problem(f"{what}: unknown key '{key}'{_suggest(key, allowed)} ({listing}: {', '.join(sorted(allowed))})",
                       line_of(key) if line_of else line)


def _suggest(word: str | None, candidates) -> str:
    import difflib

    if not word:
        return ""
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if not found:
        found = [c for c in candidates if c.casefold() == word.casefold()]
    return f" (did you mean '{found[0]}'?)" if found else ""
