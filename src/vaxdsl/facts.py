"""Reading and checking fact files: students, doses and exemptions (docs/facts.md).

A fact folder holds ``students``, ``doses`` and, optionally, ``exemptions``, each as ``.csv``
(UTF-8, header row) or ``.jsonl`` (one JSON object a line, same field names). Every row is checked;
a bad row is skipped and reported as a :class:`RowProblem` (file, line number, reason), the good
rows are kept. A problem with a whole file (missing file or column) is ``file_level``: the caller
should write nothing.

The benchmark size is 20 million doses, so the dose loop is the hot path: dates, CVX codes and
products are checked once per distinct text (caches), and doses are kept in columns
(:class:`DoseTable`) rather than as 20 million objects.
"""

from __future__ import annotations

import codecs
import csv
import json
from array import array
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path

import attrs

from . import ast
from .errors import VaxError
from .records import Dose, Exemption, Student, resolve_product

# kind -> (required columns, optional columns); doses need a cvx or a product (checked apart)
COLUMNS = {
    "students": (("student_id", "birth_date"), ("grade",)),
    "doses": (("student_id", "date"), ("cvx", "product", "mvx")),
    "exemptions": (("student_id", "vaccine", "kind"), ("date",)),
}


@attrs.frozen
class RowProblem:
    file: str
    row: int  # line number in the file, header = 1
    reason: str
    file_level: bool = False  # the whole file could not be used

    def __str__(self) -> str:
        return f"{self.file}:{self.row}: {self.reason}" if self.row else f"{self.file}: {self.reason}"


class DoseTable(Sequence):
    """The good dose rows, in file order, stored column-wise; reads back as :class:`Dose` records.

    Dose ids are 1, 2, ... in file order; :func:`vaxdsl.factdb.build_database` offsets them when
    it appends to a database that already has doses.
    """

    def __init__(self, source: str = ""):
        self.source = source  # file name, kept in the database for provenance
        self.student_ids: list[str] = []
        self.ordinals = array("l")  # date.toordinal()
        self.cvx = array("l")
        self.rows = array("q")  # line in the source file
        self.extras: dict[int, tuple[str | None, str | None]] = {}  # index -> (mvx, product_name), rare

    def append(self, student_id: str, ordinal: int, cvx: int, row: int, mvx=None, product_name=None) -> None:
        if mvx or product_name:
            self.extras[len(self.rows)] = (mvx, product_name)
        self.student_ids.append(student_id)
        self.ordinals.append(ordinal)
        self.cvx.append(cvx)
        self.rows.append(row)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        mvx, product_name = self.extras.get(index, (None, None))
        return Dose(index + 1, self.student_ids[index], date.fromordinal(self.ordinals[index]),
                    self.cvx[index], mvx, product_name)

    def db_chunks(self, first_id: int = 1, size: int = 100):
        """The rows of :meth:`db_rows` flattened, ``size`` rows a list (the last may be shorter),
        for a multi-row INSERT. Built column by column with slice assignments, which run in C:
        at 20 million rows, a tuple per row is what the time goes on."""
        iso = _IsoDates().__getitem__
        extras = iter(self.extras.items())  # inserted in index order, so sorted
        pending = next(extras, None)
        for start in range(0, len(self), size):
            end = min(start + size, len(self))
            flat = [None] * (8 * (end - start))
            flat[0::8] = range(first_id + start, first_id + end)
            flat[1::8] = self.student_ids[start:end]
            flat[2::8] = map(iso, self.ordinals[start:end])
            flat[3::8] = self.cvx[start:end]
            flat[6::8] = [self.source] * (end - start)
            flat[7::8] = self.rows[start:end]
            while pending is not None and pending[0] < end:
                index, (mvx, product_name) = pending
                flat[8 * (index - start) + 4: 8 * (index - start) + 6] = mvx, product_name
                pending = next(extras, None)
            yield flat

    def db_rows(self, first_id: int = 1, keep=None):
        """Tuples in the column order of the ``doses`` table; ``keep(index)`` may filter."""
        iso = _IsoDates()
        extras, source = self.extras, self.source
        for index, (student_id, ordinal, cvx, row) in enumerate(zip(self.student_ids, self.ordinals, self.cvx, self.rows)):
            if keep is not None and not keep(index):
                continue
            mvx, product_name = extras.get(index, (None, None)) if extras else (None, None)
            yield (first_id + index, student_id, iso[ordinal], cvx, mvx, product_name, source, row)


class _IsoDates(dict):
    """ordinal -> 'YYYY-MM-DD', computed once per distinct date."""

    def __missing__(self, ordinal):
        text = self[ordinal] = date.fromordinal(ordinal).isoformat()
        return text


@attrs.define
class FactSet:
    students: list[Student]
    doses: DoseTable
    exemptions: list[Exemption]
    problems: list[RowProblem]
    files: dict[str, str] = attrs.Factory(dict)  # kind -> path of the file read
    student_rows: dict[str, int] = attrs.Factory(dict)  # student id -> line in the students file
    exemption_rows: list[int] = attrs.Factory(list)  # line of each exemption, same order

    @property
    def fatal(self) -> bool:
        """True when a whole file could not be used: nothing should be written."""
        return any(problem.file_level for problem in self.problems)


def normalize_grade(text: str) -> str | None:
    """State grade codes: ``K`` is ``KG``, ``1``..``12`` are ``01``..``12``, empty is no grade.

    >>> [normalize_grade(g) for g in ("K", "kg", "1", "07", "12", "pa", " ")]
    ['KG', 'KG', '01', '07', '12', 'PA', None]
    """
    code = text.strip().upper()
    if not code:
        return None
    if code == "K":
        return "KG"
    if code.isascii() and code.isdigit() and 1 <= int(code) <= 12:
        return f"{int(code):02d}"
    return code


def read_fact_dir(path, products: Iterable[ast.Product] | None = None, vaccines: Iterable | None = None,
                  today: date | None = None, grades: Iterable[str] | None = None,
                  known_students: Mapping[str, Student] | None = None) -> FactSet:
    """Read and check the fact files in folder ``path``.

    ``products`` (the ruleset's declared products) and ``vaccines`` (group ids or ``ast.Vaccine``
    nodes) and ``grades`` (declared grade codes) are what rows are checked against; ``None`` skips
    that check. Dates after ``today`` (default: the real today) are rejected. ``known_students``
    (those already in a database being appended to) may be referred to by doses and exemptions.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise VaxError(f"{folder}: no such folder of fact files")
    reader = _Reader(folder, products, vaccines, today or date.today(), grades, known_students or {})
    return reader.read()


class _Reader:
    def __init__(self, folder, products, vaccines, today, grades, known_students):
        self.folder = folder
        self.facts = FactSet([], DoseTable(), [], [])
        self.dates = _DateCheck(today)
        self.products = _ProductCheck(products)
        self.vaccines = None if vaccines is None else {
            (v if isinstance(v, str) else v.id).casefold(): (v if isinstance(v, str) else v.id) for v in vaccines
        }
        self.grades = None if grades is None else set(grades)
        self.known = known_students
        # student id -> index into births; the file's students first, then the known ones
        self.index: dict[str, int] = {}
        self.births: list[int] = []
        self.names: list[str] = []  # the canonical id strings, shared by every dose row
        self.rejected: dict[str, str] = {}  # student id -> "students.csv:4", for rows that point at it

    def read(self) -> FactSet:
        for kind, required in (("students", True), ("doses", True), ("exemptions", False)):
            path = self._find(kind, required)
            if path is None:
                continue
            self.facts.files[kind] = str(path)
            problems = self.facts.problems
            before = len(problems)
            records = _open(path, kind, problems)
            if records is not None:
                getattr(self, f"_{kind}")(str(path), records)
            problems[before:] = sorted(problems[before:], key=lambda problem: problem.row)
            if kind == "students":
                self._add_known()
        return self.facts

    def _find(self, kind: str, required: bool) -> Path | None:
        found = [self.folder / f"{kind}{ext}" for ext in (".csv", ".jsonl") if (self.folder / f"{kind}{ext}").is_file()]
        if len(found) == 1:
            return found[0]
        if len(found) == 2:
            self._problem(str(found[1]), 0, f"both {kind}.csv and {kind}.jsonl: keep one", file_level=True)
        elif required:
            self._problem(str(self.folder / f"{kind}.csv"), 0, f"missing: {kind}.csv or {kind}.jsonl", file_level=True)
        return None

    def _problem(self, file: str, row: int, reason: str, file_level: bool = False) -> None:
        self.facts.problems.append(RowProblem(file, row, reason, file_level))

    def _date(self, text: str, field: str, optional: bool = False):
        """An ordinal, or a reason (str) why the text is not a usable date; None for an allowed blank."""
        text = text.strip()
        if not text:
            return None if optional else f"{field} is empty"
        checked = self.dates(text)
        return checked if type(checked) is int else f"{field} {checked}"

    def _student(self, student_id: str):
        """(canonical id, birth ordinal), or the reason rows of this student cannot be used."""
        found = self.index.get(student_id)
        if found is None:
            return self._no_student(student_id)
        return self.names[found], self.births[found]

    def _no_student(self, student_id: str) -> str:
        if not student_id:
            return "student_id is empty"
        if student_id in self.rejected:
            return f"student '{student_id}' was not loaded ({self.rejected[student_id]})"
        return f"unknown student '{student_id}'"

    # ---- students -------------------------------------------------------------------------

    def _students(self, file: str, records) -> None:
        columns, rows = records
        at = {name: columns.index(name) for name in columns}
        p_id, p_birth, p_grade = at["student_id"], at["birth_date"], at.get("grade")
        extra = [(i, name) for i, name in enumerate(columns) if name not in ("student_id", "birth_date", "grade")]
        facts, short_file = self.facts, Path(file).name
        for line, values, attributes in rows:
            student_id = values[p_id].strip()
            birth = self._date(values[p_birth], "birth_date")
            grade = normalize_grade(values[p_grade]) if p_grade is not None else None
            if attributes is None:
                attributes = {name: values[i] for i, name in extra if values[i] != ""}
            reason = None
            if not student_id:
                reason = "student_id is empty"
            elif type(birth) is str:
                reason = birth
            elif grade is not None and self.grades is not None and grade not in self.grades:
                reason = f"grade '{values[p_grade].strip()}' is not a grade the ruleset declares"
            elif student_id in self.index:
                first = facts.student_rows[student_id]
                before = facts.students[self.index[student_id]]
                same = (before.birth_date.toordinal(), before.grade, before.attributes) == (birth, grade, attributes)
                reason = f"duplicate of row {first}" if same else f"student '{student_id}' already at row {first} with different data"
            if reason is not None:
                self._problem(file, line, reason)
                if student_id and student_id not in self.index:
                    self.rejected.setdefault(student_id, f"{short_file}:{line}")
                continue
            self.index[student_id] = len(self.births)
            self.births.append(birth)
            self.names.append(student_id)
            facts.students.append(Student(student_id, date.fromordinal(birth), grade, attributes))
            facts.student_rows[student_id] = line

    def _add_known(self) -> None:
        for student_id, student in self.known.items():
            if student_id not in self.index:
                self.index[student_id] = len(self.births)
                self.births.append(student.birth_date.toordinal())
                self.names.append(student_id)

    # ---- doses: the hot loop ----------------------------------------------------------------

    def _doses(self, file: str, records) -> None:
        columns, rows = records
        at = {name: columns.index(name) for name in columns}
        if "cvx" not in at and "product" not in at:
            self._problem(file, 1, "missing required column: cvx or product", file_level=True)
            return
        p_id, p_date = at["student_id"], at["date"]
        p_cvx, p_product, p_mvx = at.get("cvx"), at.get("product"), at.get("mvx")
        table = self.facts.doses
        table.source = Path(file).name
        index, births, names = self.index, self.births, self.names
        dates, products, problem = self.dates, self.products, self._problem
        seen: set = set()  # the key of every dose so far, to find duplicates
        duplicates: list[tuple[int, object]] = []  # (line, key): the earlier row is looked up at the end
        # This loop runs 20 million times at the benchmark size: the caches and the table's
        # columns are used directly, with no call per row on the common path.
        add_id, add_day, add_cvx, add_row = (table.student_ids.append, table.ordinals.append,
                                             table.cvx.append, table.rows.append)
        for line, values, _ in rows:
            found = index.get(values[p_id].strip())
            if found is None:
                problem(file, line, self._no_student(values[p_id].strip()))
                continue
            text = values[p_date].strip()
            when = dates.get(text)
            if when is None:
                when = dates(text) if text else "is empty"
            if type(when) is not int:
                problem(file, line, f"date {when}")
                continue
            if when < births[found]:
                problem(file, line, f"dose date {date.fromordinal(when)} is before the birth date {date.fromordinal(births[found])}")
                continue
            key = (values[p_cvx].strip() if p_cvx is not None else "",
                   values[p_mvx].strip() if p_mvx is not None else "",
                   values[p_product].strip() if p_product is not None else "")
            product = products.get(key) or products(*key)
            if type(product) is str:
                problem(file, line, product)
                continue
            cvx, mvx, product_name = product
            same = _dose_key(found, when, cvx, mvx, product_name) if (mvx or product_name or cvx >= 65536) \
                else (when << 16 | cvx) << 32 | found  # _dose_key, inlined
            if same in seen:
                duplicates.append((line, same))
                continue
            seen.add(same)
            if mvx or product_name:
                table.extras[len(table.rows)] = (mvx, product_name)
            add_id(names[found])
            add_day(when)
            add_cvx(cvx)
            add_row(line)
        if duplicates:
            self._report_duplicates(file, table, duplicates)

    def _report_duplicates(self, file: str, table: DoseTable, duplicates) -> None:
        """Name the earlier row of each duplicate: one more pass, only when there are duplicates."""
        wanted = {key for _, key in duplicates}
        first: dict = {}
        for position, dose in enumerate(table):
            key = _dose_key(self.index[dose.student_id], dose.date.toordinal(), dose.cvx, dose.mvx, dose.product_name)
            if key in wanted:
                first.setdefault(key, table.rows[position])
        for line, key in duplicates:
            self._problem(file, line, f"duplicate of row {first[key]}")

    # ---- exemptions ------------------------------------------------------------------------

    def _exemptions(self, file: str, records) -> None:
        columns, rows = records
        at = {name: columns.index(name) for name in columns}
        p_date = at.get("date")
        first: dict[tuple, int] = {}
        for line, values, _ in rows:
            who = self._student(values[at["student_id"]].strip())
            vaccine_text = values[at["vaccine"]].strip()
            kind = values[at["kind"]].strip().lower()
            when = self._date(values[p_date], "date", optional=True) if p_date is not None else None
            vaccine = vaccine_text if self.vaccines is None else self.vaccines.get(vaccine_text.casefold())
            reason = None
            if type(who) is str:
                reason = who
            elif not vaccine_text:
                reason = "vaccine is empty"
            elif vaccine is None:
                reason = f"unknown vaccine group '{vaccine_text}'"
            elif kind not in ast.EXEMPTION_KINDS:
                reason = (f"unknown exemption kind '{values[at['kind']].strip()}' "
                          f"(expected {', '.join(ast.EXEMPTION_KINDS[:-1])} or {ast.EXEMPTION_KINDS[-1]})")
            elif type(when) is str:
                reason = when
            elif when is not None and when < who[1]:
                reason = f"exemption date {date.fromordinal(when)} is before the birth date {date.fromordinal(who[1])}"
            elif (who[0], vaccine, kind, when) in first:
                reason = f"duplicate of row {first[(who[0], vaccine, kind, when)]}"
            if reason is not None:
                self._problem(file, line, reason)
                continue
            first[(who[0], vaccine, kind, when)] = line
            self.facts.exemptions.append(Exemption(who[0], vaccine, kind, None if when is None else date.fromordinal(when)))
            self.facts.exemption_rows.append(line)


def _dose_key(student: int, ordinal: int, cvx: int, mvx, product_name):
    """What makes two dose rows the same dose. A packed int when it can be: it is far smaller than
    a tuple, and one is kept for each of up to 20 million doses. The student is in the low bits,
    which the set's hashing uses first: dates and codes alone vary too little there."""
    if cvx < 65536 and not mvx and not product_name:
        return (ordinal << 16 | cvx) << 32 | student
    return (student, ordinal, cvx, mvx, product_name)


class _DateCheck(dict):
    """text -> ordinal, or the reason it is not a usable date; each distinct text is parsed once."""

    def __init__(self, today: date):
        super().__init__()
        self.today = today
        self.limit = today.toordinal()

    def __call__(self, text: str):
        found = self.get(text)
        return found if found is not None else self.__missing__(text)

    def __missing__(self, text: str):
        # fromisoformat alone would also take '20200101' or '2020-W01-1'
        if not (len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii()
                and (text[:4] + text[5:7] + text[8:]).isdigit()):
            result = f"'{text}' is not a YYYY-MM-DD date"
        else:
            try:
                ordinal = date.fromisoformat(text).toordinal()
            except ValueError:
                result = f"'{text}' is not a real date"
            else:
                result = ordinal if ordinal <= self.limit else f"{text} is in the future (after {self.today})"
        self[text] = result
        return result


class _ProductCheck(dict):
    """(cvx text, mvx text, product text) -> (cvx, mvx, product_name), or the reason it is unusable."""

    def __init__(self, products):
        super().__init__()
        self.products = None if products is None else list(products)
        self.declared_cvx = None if products is None else {ast.cvx_key(p.cvx) for p in self.products}

    def __call__(self, cvx_text: str, mvx: str, name: str):
        key = (cvx_text, mvx, name)
        found = self.get(key)
        if found is None:
            found = self[key] = self._check(cvx_text, mvx or None, name or None)
        return found

    def _check(self, cvx_text, mvx, name):
        cvx = None
        if cvx_text:
            if not (cvx_text.isascii() and cvx_text.isdigit()):
                return f"CVX code '{cvx_text}' is not a number"
            cvx = int(cvx_text)
        if name is not None:
            if self.products is None:
                return (cvx, mvx, name) if cvx is not None else f"product '{name}' has no cvx code (and no ruleset to look it up)"
            product = resolve_product(Dose(0, "", date.min, -1, None, name), self.products)
            if product is None:
                return f"unknown product '{name}' (not declared by the ruleset)"
            if cvx is not None and cvx != ast.cvx_key(product.cvx):
                return f"product '{name}' has CVX code {product.cvx}, not {cvx_text}"
            return (ast.cvx_key(product.cvx), mvx, name)
        if cvx is None:
            return "no cvx code and no product"
        if self.products is not None:
            if cvx not in self.declared_cvx:
                return f"unknown CVX code {cvx_text} (not declared by the ruleset)"
            if resolve_product(Dose(0, "", date.min, cvx, mvx), self.products) is None:
                return f"CVX code {cvx_text} with MVX '{mvx}' matches no product the ruleset declares"
        return (cvx, mvx, None)


# ---- file formats ------------------------------------------------------------------------------


def _open(path: Path, kind: str, problems: list[RowProblem]):
    """(columns, rows), rows yielding (line, values, attributes or None); None if the file is unusable."""
    required, optional = COLUMNS[kind]
    try:
        handle = path.open("rb")
    except OSError as error:
        problems.append(RowProblem(str(path), 0, f"cannot read: {error.strerror}", True))
        return None
    bad_lines: dict[int, str] = {}
    if _is_utf8(handle):
        # the common case: let the io module decode (in C) instead of decoding line by line
        lines = open(path, encoding="utf-8-sig", newline="")
    else:
        lines = _decoded(handle, bad_lines)
    if path.suffix == ".jsonl":
        return _jsonl(lines, bad_lines, str(path), required, optional, problems)
    return _csv(lines, bad_lines, str(path), required, problems)


def _is_utf8(handle) -> bool:
    """Whether the whole file is UTF-8: a quick pass in C, as 1 GB takes about a second."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while block := handle.read(1 << 24):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        handle.seek(0)
        return False
    handle.close()
    return True


def _decoded(handle, bad_lines: dict[int, str]):
    """The file's lines as text. A line that is not UTF-8 is noted in ``bad_lines`` (and decoded
    anyway), so one bad byte costs one row, not the file."""
    with handle:
        for number, raw in enumerate(handle, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                bad_lines[number] = f"not UTF-8 text (byte 0x{raw[error.start]:02x} at column {error.start + 1})"
                text = raw.decode("utf-8", "replace")
            yield text[1:] if number == 1 and text.startswith("\ufeff") else text


def _csv(lines, bad_lines, file: str, required, problems):
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
    except csv.Error as error:
        header, bad_lines[1] = None, str(error)
    columns = [name.strip().lower() for name in header or ()]
    missing = [name for name in required if name not in columns]
    twice = sorted({name for name in columns if columns.count(name) > 1})
    if 1 in bad_lines or missing or twice:
        reason = (f"header: {bad_lines[1]}" if 1 in bad_lines else
                  f"missing required column: {', '.join(missing)}" if missing else
                  f"column '{twice[0]}' appears twice")
        problems.append(RowProblem(file, 1, reason, True))
        lines.close()
        return None

    def rows():
        width, last = len(columns), reader.line_num
        try:
            while True:
                try:
                    for values in reader:
                        line, last = last + 1, reader.line_num  # a row spanning lines is reported at its first
                        if bad_lines and any(n in bad_lines for n in range(line, last + 1)):
                            problems.append(RowProblem(file, line, next(bad_lines[n] for n in range(line, last + 1) if n in bad_lines)))
                        elif len(values) == width and (values[0] or any(values)):
                            yield line, values, None
                        elif any(values):  # not a blank line, nor a spreadsheet's empty row
                            reason = f"row has {len(values)} fields, the header has {width}"
                            if last > line:
                                reason += f"; it runs on to line {last} (an unmatched quote?)"
                            problems.append(RowProblem(file, line, reason))
                    return
                except csv.Error as error:
                    problems.append(RowProblem(file, last + 1, f"not readable as CSV: {error}"))
                    last = reader.line_num
        finally:
            lines.close()

    return columns, rows()


def _jsonl(lines, bad_lines, file: str, required, optional, problems):
    fields = required + optional

    def rows():
        try:
            for line, text in enumerate(lines, 1):
                if line in bad_lines:
                    problems.append(RowProblem(file, line, bad_lines[line]))
                    continue
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                except ValueError as error:
                    problems.append(RowProblem(file, line, f"not valid JSON: {getattr(error, 'msg', error)}"))
                    continue
                if not isinstance(record, dict):
                    problems.append(RowProblem(file, line, "not a JSON object"))
                    continue
                record = {str(key).strip().lower(): value for key, value in record.items()}
                missing = [name for name in required if name not in record]
                if missing:
                    problems.append(RowProblem(file, line, f"missing field: {', '.join(missing)}"))
                    continue
                attributes = {key: value for key, value in record.items() if key not in fields and value is not None}
                yield line, [_text(record.get(name)) for name in fields], attributes
        finally:
            lines.close()

    return list(fields), rows()


def _text(value) -> str:
    """A JSON value as the text a CSV cell would hold: numbers as written, null as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else str(value)
