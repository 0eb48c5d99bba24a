"""The fact database: checked facts written to SQLite with sqlite-utils (schema: :mod:`vaxdsl.records`).

A fresh build goes to ``FILE.part`` with journaling and syncing off (nothing to protect until it
is complete), inserts students and exemptions in big ``executemany`` batches and copies the doses
from the reader's scratch file (:class:`vaxdsl.dosetable.DoseTable`) with one ``INSERT ... SELECT``,
creates the indexes after the rows are in (one sort instead of millions of index updates), among
them the covering dose index the SQL engine reads (:data:`vaxdsl.engine.INDEX_NAME`, so the first
evaluation need not add it), and only then replaces ``FILE``: a failed build leaves the old
database as it was. Appending runs in one transaction instead, so ``strict`` can roll it back.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import attrs
import sqlite_utils

from .dosetable import DoseTable
from .engine import INDEX_COLUMNS, INDEX_NAME, covering
from .errors import VaxError
from .factfiles import RowProblem
from .facts import FactSet
from .records import Dose, Exemption, Student

TABLES = {
    "students": ({"student_id": str, "birth_date": str, "grade": str, "attributes": str}, "student_id"),
    "doses": ({"dose_id": int, "student_id": str, "date": str, "cvx": int, "mvx": str,
               "product_name": str, "source": str, "row": int}, "dose_id"),
    "exemptions": ({"student_id": str, "vaccine": str, "kind": str, "date": str, "source": str, "row": int}, None),
}
NOT_NULL = {"students": {"birth_date"}, "doses": {"student_id", "date", "cvx"},
            "exemptions": {"student_id", "vaccine", "kind"}}
# (table, columns, name or None for sqlite-utils' name). The engine streams each student's doses
# through its covering index (made here, so its first evaluation need not); its leading columns
# (student_id, date) serve every other query on doses too, so there is no second dose index (one
# cost about 7 s and 0.5 GB at 19 million doses).
INDEXES = (
    ("doses", INDEX_COLUMNS, INDEX_NAME),
    ("exemptions", ("student_id",), None),
)
BATCH = 100_000  # rows per executemany


@attrs.frozen
class LoadSummary:
    db_path: str
    students: int  # rows written
    doses: int
    exemptions: int
    already_present: int = 0  # students skipped on append because the database has them, identical
    problems: tuple[RowProblem, ...] = ()  # rows refused on append: they clash with the database
    seconds: float = 0.0
    written: bool = True  # False when strict refused to write


def build_database(db_path, fact_set: FactSet, append: bool = False, strict: bool = False) -> LoadSummary:
    """Write ``fact_set`` to a new database at ``db_path`` (replacing any), or add it to one.

    On ``append``, dose ids continue after the largest one there; a student already present is
    skipped when identical and refused otherwise (with its new doses and exemptions), and a dose or
    exemption already present is refused as a duplicate. With ``strict``, any refused row means
    nothing is written.
    """
    if fact_set.fatal:
        raise VaxError("the fact files have file-level errors: nothing written")
    started = time.perf_counter()
    path = Path(db_path)
    if not path.parent.is_dir():
        raise VaxError(f"{path.parent}: no such folder for the fact database")
    try:
        summary = _append(path, fact_set, strict) if append else _build(path, fact_set)
    except sqlite3.Error as error:  # a full disk, a locked or read-only file: a message, not a trace
        raise VaxError(f"{path}: {error}") from None
    except OSError as error:
        raise VaxError(f"{path}: {error.strerror or error}") from None
    return attrs.evolve(summary, seconds=time.perf_counter() - started)


def _build(path: Path, facts: FactSet) -> LoadSummary:
    part = path.with_name(path.name + ".part")
    part.unlink(missing_ok=True)
    db = sqlite_utils.Database(part)
    try:
        # The index sorts spill to temporary files (temp_store FILE), their memory bounded by the
        # cache: at 19 million doses, a 256 MB cache and in-memory spills took 1.7 GB and were no
        # faster than this (docs/performance.md).
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -65536", "temp_store = FILE"):
            db.execute(f"PRAGMA {pragma}")
        for name, (columns, pk) in TABLES.items():
            db[name].create(columns, pk=pk, not_null=NOT_NULL[name])
        with _attached(db.conn, facts.doses) as spool:
            students = _insert(db.conn, "students", (_student_row(s) for s in facts.students))
            doses = 0 if spool is None else db.conn.execute(
                # NULL ids number the rows 1, 2, ... in spool (file) order; no sort: seq is the rowid
                "INSERT INTO doses SELECT NULL, student_id, date, cvx, mvx, product_name, ?, row"
                " FROM spool.doses ORDER BY seq", (facts.doses.source,)).rowcount
            exemptions = _insert(db.conn, "exemptions", _exemption_rows(facts))
            db.conn.commit()
        for table, columns, name in INDEXES:
            db[table].create_index(columns, index_name=name)
        db.execute("ANALYZE")  # statistics for the query planner of the compiled rule queries
        db.conn.commit()
        db.close()
        os.replace(part, path)
    except BaseException:
        db.close()
        part.unlink(missing_ok=True)
        raise
    return LoadSummary(str(path), students, doses, exemptions)


@contextmanager
def _attached(conn: sqlite3.Connection, doses: DoseTable):
    """The dose table's spool attached to ``conn`` as ``spool`` (None when there are no doses).
    ATTACH and DETACH cannot run inside a transaction: enter before the first write, and commit
    or roll back before leaving."""
    path = doses.spool()
    if path is None:
        yield None
        return
    conn.execute("ATTACH DATABASE ? AS spool", (path,))
    try:
        yield path
    finally:
        if conn.in_transaction:  # only when leaving on an error: the caller decides otherwise
            conn.rollback()
        conn.execute("DETACH DATABASE spool")


def _append(path: Path, facts: FactSet, strict: bool) -> LoadSummary:
    db = _open_existing(path)
    try:
        conn = db.conn
        problems: list[RowProblem] = []
        blocked: dict[str, str] = {}  # student id -> "students.csv:4": refused, so are its rows
        students_file = facts.files.get("students", "students")
        existing = {row[0]: row[1:] for row in conn.execute("SELECT student_id, birth_date, grade, attributes FROM students")}
        new_students, already = [], 0
        for student in facts.students:
            row = _student_row(student)
            before = existing.get(student.id)
            if before is None:
                new_students.append(row)
            elif tuple(before) == row[1:]:
                already += 1
            else:
                line = facts.student_rows.get(student.id, 0)
                problems.append(RowProblem(students_file, line, f"student '{student.id}' is already in the database with different data"))
                blocked[student.id] = f"{Path(students_file).name}:{line}"
        with _attached(conn, facts.doses) as spool:
            try:
                students = _insert(conn, "students", new_students)
                doses = 0 if spool is None else _append_doses(conn, facts, blocked, problems)
                exemptions = _append_exemptions(conn, facts, blocked, problems)
                if strict and problems:
                    conn.rollback()
                    return LoadSummary(str(path), 0, 0, 0, already, tuple(sorted(problems, key=_order)), written=False)
                if not covering(conn):  # a database loaded before the loader made the engine's index
                    conn.execute(f"CREATE INDEX IF NOT EXISTS {INDEX_NAME} ON doses({', '.join(INDEX_COLUMNS)})")
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
        return LoadSummary(str(path), students, doses, exemptions, already, tuple(sorted(problems, key=_order)))
    finally:
        db.close()


def _append_doses(conn, facts: FactSet, blocked: dict[str, str], problems: list[RowProblem]) -> int:
    """Add the spool's doses (attached as ``spool``) after the database's, refusing those of
    ``blocked`` students and those already in the database. Ids go on from the largest one there,
    a row's id fixed by its place in the file, so refused rows leave gaps."""
    file = facts.files.get("doses", "doses")
    first_id = (conn.execute("SELECT max(dose_id) FROM doses").fetchone()[0] or 0) + 1
    # New doses go to a temporary table first (NULL ids number them 1, 2, ... in file order), so
    # set-based queries find the refused ones.
    conn.execute("CREATE TEMP TABLE new_doses (dose_id INTEGER PRIMARY KEY, student_id TEXT, date TEXT,"
                 " cvx INTEGER, mvx TEXT, product_name TEXT, source TEXT, row INTEGER)")
    try:
        conn.execute("INSERT INTO temp.new_doses SELECT NULL, student_id, date, cvx, mvx, product_name, ?, row"
                     " FROM spool.doses ORDER BY seq", (facts.doses.source,))
        if blocked:
            conn.execute("CREATE TEMP TABLE blocked (student_id TEXT PRIMARY KEY, at TEXT)")
            conn.executemany("INSERT INTO temp.blocked VALUES (?, ?)", blocked.items())
            for line, who, at in conn.execute("SELECT n.row, b.student_id, b.at FROM temp.new_doses n"
                                              " JOIN temp.blocked b ON b.student_id = n.student_id").fetchall():
                problems.append(RowProblem(file, line, f"student '{who}' was not loaded ({at})"))
            conn.execute("DELETE FROM temp.new_doses WHERE student_id IN (SELECT student_id FROM temp.blocked)")
            conn.execute("DROP TABLE temp.blocked")
        clashes = conn.execute(
            "SELECT n.dose_id, n.row, min(d.source || ':' || d.row) FROM temp.new_doses n JOIN main.doses d"
            " ON d.student_id = n.student_id AND d.date = n.date AND d.cvx = n.cvx"
            " AND d.mvx IS n.mvx AND d.product_name IS n.product_name GROUP BY n.dose_id"
        ).fetchall()
        for dose_id, line, where in clashes:
            problems.append(RowProblem(file, line, f"duplicate of a dose already in the database ({where})"))
        conn.executemany("DELETE FROM temp.new_doses WHERE dose_id = ?", ((dose_id,) for dose_id, _, _ in clashes))
        return conn.execute("INSERT INTO main.doses SELECT dose_id + ?, student_id, date, cvx, mvx, product_name,"
                            " source, row FROM temp.new_doses", (first_id - 1,)).rowcount
    finally:
        conn.execute("DROP TABLE temp.new_doses")


def _append_exemptions(conn, facts: FactSet, blocked: dict[str, str], problems: list[RowProblem]) -> int:
    file = facts.files.get("exemptions", "exemptions")
    present = {}
    for student_id, vaccine, kind, when, source, line in conn.execute(
            "SELECT student_id, vaccine, kind, date, source, row FROM exemptions"):
        present.setdefault((student_id, vaccine, kind, when), f"{source}:{line}")
    rows = []
    for row in _exemption_rows(facts):
        student_id, line = row[0], row[5]
        if student_id in blocked:
            problems.append(RowProblem(file, line, f"student '{student_id}' was not loaded ({blocked[student_id]})"))
        elif row[:4] in present:
            problems.append(RowProblem(file, line, f"duplicate of an exemption already in the database ({present[row[:4]]})"))
        else:
            rows.append(row)
    return _insert(conn, "exemptions", rows)


def _order(problem: RowProblem):
    return (problem.file, problem.row)


def _insert(conn: sqlite3.Connection, table: str, rows) -> int:
    """executemany in batches: far faster than row dicts, and memory stays flat."""
    width = len(TABLES[table][0])
    sql = f"INSERT INTO {table} VALUES ({', '.join('?' * width)})"
    count, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            conn.executemany(sql, batch)
            count, batch = count + len(batch), []
    if batch:
        conn.executemany(sql, batch)
    return count + len(batch)


def _student_row(student: Student) -> tuple:
    attributes = json.dumps(student.attributes, sort_keys=True, ensure_ascii=False, default=str)
    return (student.id, student.birth_date.isoformat(), student.grade, attributes)


def _exemption_rows(facts: FactSet):
    source = Path(facts.files.get("exemptions", "")).name or None
    for exemption, line in zip(facts.exemptions, facts.exemption_rows):
        when = exemption.date.isoformat() if exemption.date else None
        yield (exemption.student_id, exemption.vaccine, exemption.kind, when, source, line)


def _open_existing(path: Path) -> sqlite_utils.Database:
    if not path.is_file():
        raise VaxError(f"{path}: no such fact database")
    try:
        db = sqlite_utils.Database(path)
        present = set(db.table_names())
    except sqlite3.DatabaseError as error:
        raise VaxError(f"{path}: not a fact database ({error})") from None
    missing = [name for name in TABLES if name not in present]
    if missing:
        db.close()
        raise VaxError(f"{path}: not a fact database (no table {', '.join(missing)})")
    return db


# ---- reading back --------------------------------------------------------------------------------


def _connect(db):
    """(connection, close it when done?) for a path, an sqlite3 connection or a sqlite-utils Database."""
    if isinstance(db, sqlite_utils.Database):
        return db.conn, False
    if isinstance(db, sqlite3.Connection):
        return db, False
    path = Path(db)
    if not path.is_file():
        raise VaxError(f"{path}: no such fact database")
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True), True


def _student(row) -> Student:
    student_id, birth, grade, attributes = row
    return Student(student_id, date.fromisoformat(birth), grade, json.loads(attributes) if attributes else {})


def _dose(row) -> Dose:
    dose_id, student_id, when, cvx, mvx, product_name = row
    return Dose(dose_id, student_id, date.fromisoformat(when), cvx, mvx, product_name)


def _exemption(row) -> Exemption:
    student_id, vaccine, kind, when = row
    return Exemption(student_id, vaccine, kind, date.fromisoformat(when) if when else None)


_STUDENT_SQL = "SELECT student_id, birth_date, grade, attributes FROM students"
_DOSE_SQL = "SELECT dose_id, student_id, date, cvx, mvx, product_name FROM doses"
_EXEMPTION_SQL = "SELECT student_id, vaccine, kind, date FROM exemptions"


def read_student(db, student_id: str) -> tuple[Student, list[Dose], list[Exemption]] | None:
    """One student with their doses (in ``(date, dose_id)`` order) and exemptions, or None."""
    conn, close = _connect(db)
    try:
        row = conn.execute(f"{_STUDENT_SQL} WHERE student_id = ?", (student_id,)).fetchone()
        if row is None:
            return None
        doses = conn.execute(f"{_DOSE_SQL} WHERE student_id = ? ORDER BY date, dose_id", (student_id,))
        exemptions = conn.execute(f"{_EXEMPTION_SQL} WHERE student_id = ? ORDER BY rowid", (student_id,))
        return _student(row), [_dose(d) for d in doses], [_exemption(e) for e in exemptions]
    finally:
        if close:
            conn.close()


def read_students(db) -> dict[str, Student]:
    """Every student in the database, by id (what an appended load may refer to)."""
    conn, close = _connect(db)
    try:
        return {row[0]: _student(row) for row in conn.execute(_STUDENT_SQL)}
    except sqlite3.DatabaseError as error:
        raise VaxError(f"{db}: not a fact database ({error})") from None
    finally:
        if close:
            conn.close()


def iter_students(db):
    """Every student as ``(Student, doses, exemptions)``, in student id order: three ordered scans
    merged, rather than three queries per student."""
    conn, close = _connect(db)
    try:
        doses = conn.execute(f"{_DOSE_SQL} ORDER BY student_id, date, dose_id")
        exemptions = conn.execute(f"{_EXEMPTION_SQL} ORDER BY student_id, rowid")
        next_dose, next_exemption = next(doses, None), next(exemptions, None)
        for row in conn.execute(f"{_STUDENT_SQL} ORDER BY student_id"):
            student_id = row[0]
            mine_doses, mine_exemptions = [], []
            while next_dose is not None and next_dose[1] <= student_id:
                if next_dose[1] == student_id:
                    mine_doses.append(_dose(next_dose))
                next_dose = next(doses, None)
            while next_exemption is not None and next_exemption[0] <= student_id:
                if next_exemption[0] == student_id:
                    mine_exemptions.append(_exemption(next_exemption))
                next_exemption = next(exemptions, None)
            yield _student(row), mine_doses, mine_exemptions
    finally:
        if close:
            conn.close()
