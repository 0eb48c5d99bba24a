"""Reading and checking fact files: students, doses and exemptions (docs/facts.md).

A fact folder holds ``students``, ``doses`` and, optionally, ``exemptions``, each as ``.csv``
(UTF-8, header row) or ``.jsonl`` (one JSON object a line, same field names). Every row is checked;
a bad row is skipped and reported as a :class:`RowProblem` (file, line number, reason), the good
rows are kept. A problem with a whole file (missing file or column) is ``file_level``: the caller
should write nothing.

The benchmark size is 20 million doses, so the dose loop is the hot path: dates, CVX codes and
products are checked once per distinct text (caches), and the good dose rows go in batches to a
scratch SQLite file (:class:`DoseTable`) rather than into 20 million Python objects; repeated doses
are found there with one GROUP BY, not with a key per dose held in memory.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import sqlite3
import tempfile
import weakref
from array import array
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from itertools import chain
from pathlib import Path

import attrs

from . import ast
from .dates import EARLIEST
from .errors import VaxError
from .filekinds import HEAD_BYTES, other_than_text
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
    """The good dose rows, in file order; reads back as :class:`Dose` records.

    At the benchmark size (20 million doses) neither the rows nor a key per row for the duplicate
    check fit comfortably in Python memory, so the rows go, in batches, to a *spool*: a scratch
    SQLite file in ``spool_dir`` (default: the system's temporary folder). There
    :meth:`remove_repeats` finds repeated doses with one GROUP BY (SQLite sorts on disk), and
    :mod:`vaxdsl.factdb` copies the rows into the fact database with one ``INSERT ... SELECT``.
    The file is deleted by :meth:`close`, or when the table is garbage-collected.

    Dose ids are 1, 2, ... in file order; :func:`vaxdsl.factdb.build_database` offsets them when
    it appends to a database that already has doses. Reading by index runs a query per call:
    fine for tests and small folders; iterate for big ones.
    """

    BATCH = 50_000  # rows written at a time: big enough to amortise the call, small in memory
    _COLUMNS = "student_id, date, cvx, mvx, product_name"
    _WIDTH = 6  # values per pending row
    _ROWS_PER_INSERT = 100  # one multi-row INSERT runs a third faster than 100 one-row ones

    def __init__(self, source: str = "", spool_dir=None):
        self.source = source  # file name, kept in the database for provenance
        self.spool_dir = spool_dir
        self.path: str | None = None  # the spool file, made when the first batch is written
        # rows not yet in the spool: (student_id, 'YYYY-MM-DD', cvx, mvx, product_name, line);
        # the reader appends to it directly, and flush() empties it in place
        self.pending: list[tuple] = []
        self._conn: sqlite3.Connection | None = None
        self._count = 0  # rows in the spool
        self._discard = None

    def append(self, student_id: str, ordinal: int, cvx: int, row: int, mvx=None, product_name=None) -> None:
        self.pending.append((student_id, date.fromordinal(ordinal).isoformat(), cvx, mvx, product_name, row))
        if len(self.pending) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the pending rows to the spool."""
        if not self.pending:
            return
        conn = self._connection()
        values = list(chain.from_iterable(self.pending))
        size = self._WIDTH * self._ROWS_PER_INSERT
        whole = len(values) - len(values) % size
        try:
            conn.executemany(self._insert_sql(self._ROWS_PER_INSERT), (values[i:i + size] for i in range(0, whole, size)))
            if whole < len(values):
                conn.execute(self._insert_sql((len(values) - whole) // self._WIDTH), values[whole:])
            conn.commit()
        except sqlite3.Error as error:  # a full disk, most likely
            raise self._error(error) from None
        self._count += len(self.pending)
        self.pending.clear()

    @staticmethod
    def _insert_sql(rows: int) -> str:
        return "INSERT INTO doses VALUES " + ", ".join(["(NULL, ?, ?, ?, ?, ?, ?)"] * rows)

    def remove_repeats(self) -> list[tuple[int, int]]:
        """Remove each row that repeats an earlier one (same student, date, code, MVX and product
        name) and return ``(line, line of the first such row)`` for each, in spool order.

        One GROUP BY over the spool finds the repeated keys (an external sort: memory stays flat
        however many rows there are), then one scan of the rows lists the later copies.
        """
        self.flush()
        if self._conn is None:
            return []
        conn = self._conn
        try:
            conn.execute("DROP TABLE IF EXISTS temp.repeated")
            conn.execute(f"CREATE TEMP TABLE repeated AS SELECT {self._COLUMNS}, min(seq) AS first_seq FROM doses"
                         f" GROUP BY {self._COLUMNS} HAVING count(*) > 1")
            if conn.execute("SELECT 1 FROM temp.repeated LIMIT 1").fetchone() is None:
                return []
            conn.execute("CREATE INDEX temp.repeated_key ON repeated(student_id, date, cvx)")
            # CROSS JOIN keeps the spool as the outer loop: one pass over it, a lookup per row in
            # the small table of repeated keys (the other order would scan the spool per key).
            found = conn.execute(
                "SELECT d.seq, d.row, earliest.row FROM doses d"
                " CROSS JOIN temp.repeated r ON r.student_id = d.student_id AND r.date = d.date AND r.cvx = d.cvx"
                "  AND r.mvx IS d.mvx AND r.product_name IS d.product_name AND d.seq > r.first_seq"
                " CROSS JOIN doses earliest ON earliest.seq = r.first_seq"
                " ORDER BY d.seq").fetchall()
            conn.executemany("DELETE FROM doses WHERE seq = ?", ((seq,) for seq, _, _ in found))
            conn.commit()
        except sqlite3.Error as error:
            raise self._error(error) from None
        finally:
            conn.execute("DROP TABLE IF EXISTS temp.repeated")
        self._count -= len(found)
        return [(line, first) for _, line, first in found]

    def spool(self) -> str | None:
        """The spool file with every row written (table ``doses``: ``seq`` in file order, then the
        columns of :data:`pending`), for :mod:`vaxdsl.factdb` to attach; None when there are no rows."""
        self.flush()
        return self.path

    def close(self) -> None:
        """Delete the spool file. The table is empty afterwards."""
        if self._discard is not None:
            self._discard()
        self._conn, self.path, self._count = None, None, 0
        self.pending.clear()

    def __len__(self) -> int:
        return self._count + len(self.pending)

    def __iter__(self):
        self.flush()
        if self._conn is None:
            return
        cursor = self._conn.execute(f"SELECT {self._COLUMNS} FROM doses ORDER BY seq")
        for number, (student_id, when, cvx, mvx, product_name) in enumerate(cursor, 1):
            yield Dose(number, student_id, date.fromisoformat(when), cvx, mvx, product_name)

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return self._read(start, max(0, stop - start))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._read(index, 1)[0]

    def _read(self, start: int, count: int) -> list[Dose]:
        self.flush()
        if self._conn is None or count == 0:
            return []
        rows = self._conn.execute(f"SELECT {self._COLUMNS} FROM doses ORDER BY seq LIMIT ? OFFSET ?", (count, start))
        return [Dose(start + number, student_id, date.fromisoformat(when), cvx, mvx, product_name)
                for number, (student_id, when, cvx, mvx, product_name) in enumerate(rows, 1)]

    @property
    def rows(self) -> array:
        """The line of each row in its file, in order."""
        self.flush()
        if self._conn is None:
            return array("q")
        return array("q", (line for (line,) in self._conn.execute("SELECT row FROM doses ORDER BY seq")))

    def db_rows(self, first_id: int = 1):
        """Tuples in the column order of the ``doses`` table."""
        self.flush()
        if self._conn is None:
            return
        cursor = self._conn.execute(f"SELECT {self._COLUMNS}, row FROM doses ORDER BY seq")
        for dose_id, row in enumerate(cursor, first_id):
            yield (dose_id, *row[:5], self.source, row[5])

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        try:
            handle, path = tempfile.mkstemp(prefix=".vaxdsl-doses-", suffix=".spool", dir=self.spool_dir)
            os.close(handle)
        except OSError as error:
            where = self.spool_dir or tempfile.gettempdir()
            raise VaxError(f"{where}: cannot make a scratch file for the dose rows ({error.strerror or error})") from None
        self.path = path
        conn = None
        try:
            conn = sqlite3.connect(path, check_same_thread=False)
            # Scratch data: nothing to protect from a crash. The GROUP BY's sort spills to a
            # temporary file (temp_store FILE), so its memory is bounded by the 64 MB cache.
            for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -65536", "temp_store = FILE"):
                conn.execute(f"PRAGMA {pragma}")
            conn.execute("CREATE TABLE doses (seq INTEGER PRIMARY KEY, student_id TEXT NOT NULL, date TEXT NOT NULL,"
                         " cvx INTEGER NOT NULL, mvx TEXT, product_name TEXT, row INTEGER NOT NULL)")
        except sqlite3.Error as error:
            failure = self._error(error)
            _discard_spool(conn, path)
            self.path = None
            raise failure from None
        self._discard = weakref.finalize(self, _discard_spool, conn, path)
        self._conn = conn
        return conn

    def _error(self, error: Exception) -> VaxError:
        return VaxError(f"{self.path or self.spool_dir or tempfile.gettempdir()}: "
                        f"cannot write the scratch file of dose rows ({error})")


def _discard_spool(conn: sqlite3.Connection | None, path: str) -> None:
    if conn is not None:
        conn.close()
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


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

    def close(self) -> None:
        """Delete the scratch file of the dose rows (see :class:`DoseTable`); ``doses`` is empty afterwards."""
        self.doses.close()

    def __enter__(self) -> FactSet:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


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
                  known_students: Mapping[str, Student] | None = None, spool_dir=None) -> FactSet:
    """Read and check the fact files in folder ``path``.

    ``products`` (the ruleset's declared products) and ``vaccines`` (group ids or ``ast.Vaccine``
    nodes) and ``grades`` (declared grade codes) are what rows are checked against; ``None`` skips
    that check. Dates after ``today`` (default: the real today) are rejected. ``known_students``
    (those already in a database being appended to) may be referred to by doses and exemptions.
    The dose rows are kept in a scratch file in ``spool_dir`` (default: the system's temporary
    folder) until the fact set is closed or garbage-collected (:class:`DoseTable`).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise VaxError(f"{folder}: no such folder of fact files")
    reader = _Reader(folder, products, vaccines, today or date.today(), grades, known_students or {}, spool_dir)
    try:
        return reader.read()
    except BaseException:
        reader.facts.close()
        raise


class _Reader:
    def __init__(self, folder, products, vaccines, today, grades, known_students, spool_dir=None):
        self.folder = folder
        self.facts = FactSet([], DoseTable(spool_dir=spool_dir), [], [])
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
        # Repeated doses: a file grouped by student (as exports usually are, and synth's files)
        # is checked one student at a time, holding only that student's doses. Once a student's
        # rows turn up again after another student's, the rest of the file goes to the spool
        # unchecked, and remove_repeats() finds the repeats there with one GROUP BY: a sort on
        # disk instead of a key per dose in memory (gigabytes at 20 million doses).
        grouped = True
        run_ended = bytearray(len(births))  # students whose run of rows is over
        current, earlier = -1, {}  # the student of this run; (date, cvx, mvx, product) -> line
        # This loop runs 20 million times at the benchmark size: the caches and the table's
        # pending list are used directly, with no call per row on the common path.
        pending, batch = table.pending, table.BATCH
        add = pending.append
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
            if grouped:
                if found != current:
                    if run_ended[found]:
                        grouped = False  # every run so far was its student's first: checked exactly
                    else:
                        if current >= 0:
                            run_ended[current] = 1
                        current, earlier = found, {}
                if grouped:
                    same = (when, cvx, mvx, product_name)
                    first = earlier.get(same)
                    if first is not None:
                        problem(file, line, f"duplicate of row {first}")
                        continue
                    earlier[same] = line
            # the date text passed the YYYY-MM-DD check, so it is already the stored form
            add((names[found], text, cvx, mvx, product_name, line))
            if len(pending) >= batch:
                table.flush()
        if not grouped:
            for line, first in table.remove_repeats():
                problem(file, line, f"duplicate of row {first}")
        table.flush()  # a spool that cannot be written is reported now, not when the rows are used

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
                result = (f"{text} is in the future (after {self.today})" if ordinal > self.limit else
                          f"{text} is before {EARLIEST}" if ordinal < _EARLIEST_ORDINAL else ordinal)
        self[text] = result
        return result


_EARLIEST_ORDINAL = EARLIEST.toordinal()
_LARGEST_CVX = 2**31 - 1


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
            if cvx > _LARGEST_CVX:  # no such code, and past what the database's INTEGER holds
                return f"CVX code '{cvx_text}' is too large"
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
    kind = other_than_text(handle.read(HEAD_BYTES))
    if kind is not None:
        handle.close()
        wanted = "JSON Lines" if path.suffix == ".jsonl" else "CSV"
        problems.append(RowProblem(str(path), 0, f"{kind}, not {wanted} text: save it as {wanted} in UTF-8", True))
        return None
    handle.seek(0)
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
