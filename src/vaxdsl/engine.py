"""The SQL engine: runs a compiled ruleset (:mod:`vaxdsl.compiler`) on a fact database connection.

    evaluate(ruleset, conn, as_of, student_ids=None) -> Iterator[GroupEvaluation]
    evaluate_doses(ruleset, conn, as_of, student_ids=None) -> Iterator[DoseEvaluation]
    Session(ruleset, conn, as_of).evaluate_student(student_id) -> StudentEvaluation   # re-evaluation

Results are the records of :mod:`vaxdsl.results` (``trace`` stays empty), in student id order,
each student's groups in ruleset order; they equal the reference interpreter's.

Everything the engine creates is a ``TEMP`` table of the connection (named ``vx_*``), so the fact
database is only read, with one exception: when ``doses`` has no index that yields a student's
doses in ``(date, dose_id)`` order with their product columns, :func:`prepare_database` adds one
(``vx_doses_by_student``, committed at once), which the main statement streams without sorting. A
read-only database without it (from an older loader) is evaluated through that loader's
``doses(student_id, date)`` index instead (a table lookup per dose: slower). A connection that is
not in a transaction is switched to autocommit while the engine uses it; one that is keeps its
transaction (the temporary tables join it).

A large evaluation can be split by student id ranges across workers (``workers``), each running the
whole pipeline for its range in its own forked process, so the workers use separate cores
(:func:`run_all`).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path

from . import ast
from .compiler import CompiledQuery, Step, compile_ruleset
from .errors import VaxError
from .results import DoseEvaluation, GroupEvaluation, StudentEvaluation

INDEX_NAME = "vx_doses_by_student"
INDEX_COLUMNS = ("student_id", "date", "dose_id", "cvx", "mvx", "product_name")
PRAGMAS = (
    "PRAGMA temp_store = MEMORY",
    "PRAGMA cache_size = -131072",  # 128 MiB of page cache per connection
    "PRAGMA mmap_size = 268435456",
)
DOSE_CHUNK = 2000  # students per batch when listing doses

Progress = Callable[[str], None]


# ---- the fact database -------------------------------------------------------------------------


def _casefold(text):
    return text.casefold() if isinstance(text, str) else text


def configure(conn: sqlite3.Connection) -> None:
    for pragma in PRAGMAS:
        conn.execute(pragma)
    conn.create_function("vx_casefold", 1, _casefold, deterministic=True)


def dose_order_index(conn: sqlite3.Connection) -> str | None:
    """An index on ``doses`` that lists a student's doses in ``(date, dose_id)`` order, preferring one
    that also holds the product columns (no table lookups); None if there is none."""
    best, best_score = None, -1
    for _, name, *_ in conn.execute("PRAGMA main.index_list(doses)").fetchall():
        columns = [row[2] for row in conn.execute(f"PRAGMA main.index_info({_quote(name)})")]
        if columns[:2] != ["student_id", "date"]:
            continue
        rest = columns[2:]
        if rest and rest[0] != "dose_id":
            continue  # same-day doses would come out of id order
        score = 1 + all(c in columns for c in ("cvx", "mvx", "product_name"))
        if score > best_score:
            best, best_score = name, score
    return best if best_score == 2 else (best or None)


def covering(conn: sqlite3.Connection) -> bool:
    name = dose_order_index(conn)
    if name is None:
        return False
    columns = [row[2] for row in conn.execute(f"PRAGMA main.index_info({_quote(name)})")]
    return all(c in columns for c in ("cvx", "mvx", "product_name"))


def prepare_database(conn: sqlite3.Connection, progress: Progress | None = None) -> bool:
    """Add the covering dose index if the database lacks it and can be written; True when present."""
    if covering(conn):
        return True
    try:
        started = time.perf_counter()
        if progress:
            progress("indexing doses by student (once per database)")
        conn.execute(f"CREATE INDEX IF NOT EXISTS {INDEX_NAME} ON doses({', '.join(INDEX_COLUMNS)})")
        conn.commit()
        if progress:
            progress(f"indexed doses in {time.perf_counter() - started:.1f} s")
        return True
    except sqlite3.OperationalError:  # read-only: evaluate without it
        return False


def database_path(conn: sqlite3.Connection) -> str | None:
    for _, name, file in conn.execute("PRAGMA database_list"):
        if name == "main":
            return file or None
    return None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ---- one prepared connection -------------------------------------------------------------------


# A known limit (docs/performance.md, "SQLite's parser limit"): SQLite 3.40 parses at most 100 nested
# grammar states. A few skips in a series can reach it: the walks are then fitted to the parser, and as
# a last resort every student takes the exact walk. Only an exact walk beyond it ends in TOO_DEEP.
TOO_DEEP = ("the ruleset's series are too intricate for SQLite's parser; "
            "the reference interpreter (vaxdsl explain, vaxdsl test) still evaluates them")


class SqlTooDeep(VaxError):
    """A statement beyond SQLite's parser limits (TOO_DEEP)."""


def _too_deep(error: sqlite3.Error) -> bool:
    return "parser stack overflow" in str(error) or "Expression tree is too large" in str(error)


class Prepared:
    """A connection with a compiled ruleset's temporary tables set up."""

    def __init__(self, conn: sqlite3.Connection, compiled: CompiledQuery):
        self.conn = conn
        self.compiled = compiled
        self._isolation = conn.isolation_level
        if not conn.in_transaction:
            conn.isolation_level = None  # autocommit: the engine only writes temporary tables
        configure(conn)
        for (name,) in conn.execute("SELECT name FROM sqlite_temp_master WHERE type = 'table' AND name LIKE 'vx\\_%' "
                                    "ESCAPE '\\'").fetchall():
            conn.execute(f"DROP TABLE temp.{_quote(name)}")
        if dose_order_index(conn) is None and not prepare_database(conn):
            raise VaxError("the fact database has no index on doses(student_id, date) and cannot be given one "
                           "(read-only): rebuild it with 'vaxdsl load' or open it writable once")
        for sql in compiled.setup_statements():
            conn.execute(sql)
        self.run_steps(compiled.static_steps())
        self.main = {}  # rendered once: mode -> (main, slow steps); ("steps", mode); ("doses", mode)

    def close(self) -> None:
        self.conn.isolation_level = self._isolation

    def run_steps(self, steps: list[Step], params=None, progress: Progress | None = None) -> None:
        index = 0
        while index < len(steps):
            step = steps[index]
            if step.kind == "fixpoint":
                group = []
                while index < len(steps) and steps[index].kind == "fixpoint" and steps[index].label == step.label:
                    group.append(steps[index])
                    index += 1
                while True:
                    added = sum(self._execute(s.sql, params).rowcount for s in group)
                    if added <= 0:
                        break
                continue
            if progress and step.label and step.label != getattr(self, "_last_label", None):
                self._last_label = step.label
                progress(step.label)
            try:
                self._execute(step.sql, params)
            except SqlTooDeep:
                if not (step.instead and self.compiled.fitted):
                    raise
                for sql in step.instead:
                    self._execute(sql, params)
            index += 1

    def _listed(self, students: list[str], walk: list[str], listing: str, params) -> list[tuple]:
        for sql in students:
            self._execute(sql, params)
        if self.conn.execute("SELECT 1 FROM vx_slow LIMIT 1").fetchone():
            for sql in walk:
                self._execute(sql, params)
        else:
            self._execute("DELETE FROM vx_walk", None)
            self._execute("DELETE FROM vx_comb", None)
        return self._execute(listing, params).fetchall()

    def _execute(self, sql: str, params):
        try:
            return self.conn.execute(sql, params or {})
        except sqlite3.Error as error:
            if _too_deep(error):
                raise SqlTooDeep(f"{TOO_DEEP}: {error}") from None
            raise VaxError(f"the compiled SQL failed: {error}") from None

    def run(self, mode: str, params=None, progress: Progress | None = None) -> None:
        """Fill ``vx_result`` for the students of ``mode``."""
        self._fitting(lambda: self._run(mode, params, progress))

    def run_before_main(self, mode: str, params=None) -> None:
        """Only the steps before the main statement (predicates, the valid doses they read): what a
        dose listing needs."""
        self._fitting(lambda: self.run_steps(self._steps(mode), params))

    def _fitting(self, action) -> None:
        try:
            action()
        except SqlTooDeep:
            if self.compiled.fitted:
                raise
            # a walk so intricate that SQLite cannot parse it (docs/performance.md): fit the walks to the
            # parser and run again, with the exact walk as the last resort (_run, Step.instead)
            self.compiled.fit_parser()
            self.main.clear()  # rendered with the walks before
            action()

    def _steps(self, mode: str) -> list[Step]:
        if ("steps", mode) not in self.main:
            self.main["steps", mode] = self.compiled.steps(mode, static=False)
        return self.main["steps", mode]

    def _run(self, mode: str, params, progress: Progress | None) -> None:
        compiled = self.compiled
        if mode not in self.main:  # the SQL text is also sqlite3's statement cache key
            self.main[mode] = ("INSERT INTO vx_result " + compiled.main_sql(mode), compiled.slow_steps())
        main, slow = self.main[mode]
        self.run_steps(self._steps(mode), params, progress)
        if progress:
            progress("rules")
        if main is not None:
            try:
                self._execute(main, params)
            except SqlTooDeep:
                if not compiled.fitted:
                    raise
                # still too deep: every student takes the exact walk, which gives the same outcomes
                main, slow = None, compiled.slow_steps(everyone=mode)
                self.main[mode] = (main, slow)
        if main is None or self.conn.execute("SELECT 1 FROM vx_result WHERE slow LIMIT 1").fetchone():
            self.run_steps(slow, params, progress)

    def select(self, students: Iterable[str]) -> None:
        self.conn.execute("DELETE FROM vx_sel")
        self.conn.executemany("INSERT OR IGNORE INTO vx_sel VALUES (?)", ((s,) for s in students))

    def rows(self):
        return self.conn.execute("SELECT * FROM vx_result ORDER BY sid")

    def results(self) -> Iterator[GroupEvaluation]:
        return _decode(self.rows(), self.compiled.decisions)

    def dose_rows(self, mode: str, params=None) -> Iterator[DoseEvaluation]:
        compiled = self.compiled
        groups = [v.id for v in compiled.vaccines]
        products = [p.id for p in compiled.catalog.products]
        members = compiled.catalog.members
        key = ("doses", mode)
        if key not in self.main:  # the fast path lists most students; the exact walk the rest
            fast = compiled.fast_doses
            for sql in fast.setup_statements():
                self._execute(sql, None)
            self.main[key] = (["DELETE FROM vx_fd", fast.student_sql(mode), "DELETE FROM vx_slow",
                               "INSERT INTO vx_slow SELECT sid FROM vx_fd WHERE slow"],
                              compiled.walk_statements("slow", list(range(1, len(groups) + 1))),
                              compiled.doses_sql(mode, fast.rows_sql()))
        try:
            listed = self._listed(*self.main[key], params)
        except SqlTooDeep:
            # a series so intricate that SQLite cannot parse its fast listing: every student takes the
            # exact walk, which gives the same verdicts (docs/performance.md)
            _, walk, _ = self.main[key]
            everyone = f"INSERT INTO vx_slow {compiled.students_sql(mode)}"
            self.main[key] = (["DELETE FROM vx_slow", everyone], walk, compiled.doses_sql(mode))
            listed = self._listed(*self.main[key], params)
        for sid, g, dose_id, day, cvx, pid, reason, number in listed:
            if g is None:
                yield DoseEvaluation(sid, dose_id, date.fromisoformat(day), cvx, "", None, False, None, None)
            else:
                yield DoseEvaluation(sid, dose_id, date.fromisoformat(day), cvx, groups[g - 1],
                                     products[members[g][pid - 1] - 1],
                                     reason == 0, compiled.reasons.name(reason), number)


# ---- the public functions ------------------------------------------------------------------------


def evaluate(ruleset: ast.Ruleset, conn: sqlite3.Connection, as_of: date, student_ids=None, *,
             workers: int = 1, progress: Progress | None = None,
             compiled: CompiledQuery | None = None) -> Iterator[GroupEvaluation]:
    """Every (student, vaccine group) outcome, in student id order (only ``student_ids`` if given)."""
    compiled = compiled or compile_ruleset(ruleset, as_of)
    if student_ids is not None:
        prepared = Prepared(conn, compiled)
        try:
            prepared.select(student_ids)
            prepared.run("list", progress=progress)
            yield from prepared.results()
        finally:
            prepared.close()
        return
    parts = run_all(conn, compiled, workers=workers, progress=progress)
    try:
        for part in parts:
            yield from part.results()
    finally:
        for part in parts:
            part.close()


class ResultSet:
    """The results of one worker process, read back from the file it wrote (attached to the caller's
    connection); reads like :class:`Prepared`."""

    def __init__(self, conn: sqlite3.Connection, schema: str, compiled: CompiledQuery, stats: dict, file: str):
        self.conn = conn
        self.schema = schema
        self.compiled = compiled
        self.stats = stats
        self.file = file

    def rows(self):
        return self.conn.execute(f"SELECT * FROM {self.schema}.vx_result ORDER BY rowid")

    def results(self) -> Iterator[GroupEvaluation]:
        return _decode(self.rows(), self.compiled.decisions)

    def close(self) -> None:
        try:
            self.conn.execute(f"DETACH DATABASE {self.schema}")
        except sqlite3.Error:
            pass
        Path(self.file).unlink(missing_ok=True)
        try:
            Path(self.file).parent.rmdir()  # once the last part is gone
        except OSError:
            pass


def _decode(rows, decisions) -> Iterator[GroupEvaluation]:
    for row in rows:
        student = row[0]
        for index, decision in enumerate(decisions):
            status, rule = decision.decode(row[2 + 2 * index])
            yield GroupEvaluation(student, decision.vaccine, status, rule, row[3 + 2 * index])


def run_all(conn: sqlite3.Connection, compiled: CompiledQuery, workers: int = 1,
            progress: Progress | None = None) -> list:
    """Evaluate every student, split by student id ranges over ``workers``: the first range on
    ``conn`` itself, each other in a child process with its own connection, which writes its
    results to a file that is then attached to ``conn``. (Processes, not threads: SQLite's
    allocator serialises threads of one process, and two threads ran barely faster than one.)
    Returns the parts, in student id order, each with ``rows()``, ``results()`` and ``close()``."""
    path = database_path(conn)
    if workers <= 1 or path is None or "fork" not in multiprocessing.get_all_start_methods():
        prepared = Prepared(conn, compiled)
        prepared.run("all", progress=progress)
        return [prepared]
    bounds = _split(conn, workers)
    folder = tempfile.mkdtemp(prefix="vaxdsl-workers-")
    context = multiprocessing.get_context("fork")
    children = []
    for index, (lo, hi) in enumerate(bounds[1:], start=1):
        receive, send = context.Pipe(duplex=False)
        out = str(Path(folder) / f"part{index}.db")
        process = context.Process(target=_child, args=(path, compiled, lo, hi, out, send), daemon=True)
        process.start()
        send.close()
        children.append((process, receive, out))
    first = Prepared(conn, compiled)
    lo, hi = bounds[0]
    try:
        first.run("range", {"lo": lo, "hi": hi}, progress)
    finally:
        answers = []
        for process, receive, out in children:
            try:
                answers.append(receive.recv())
            except EOFError:
                answers.append(("error", "a worker process ended without a word"))
            process.join()
    parts: list = [first]
    for index, ((kind, detail), (_, _, out)) in enumerate(zip(answers, children), start=1):
        if kind != "ok":
            raise VaxError(f"worker {index} failed: {detail}")
        schema = f"vx_part{index}"
        conn.execute(f"ATTACH DATABASE ? AS {schema}", (out,))
        parts.append(ResultSet(conn, schema, compiled, detail, out))
    return parts


def _child(path: str, compiled: CompiledQuery, lo, hi, out: str, send) -> None:
    """A worker process: evaluate one range and write ``vx_result`` to ``out``."""
    code = 0
    try:
        conn = sqlite3.connect(path)
        prepared = Prepared(conn, compiled)
        prepared.run("range", {"lo": lo, "hi": hi})
        conn.execute("ATTACH DATABASE ? AS vx_out", (out,))
        conn.execute("PRAGMA vx_out.journal_mode = OFF")
        conn.execute("PRAGMA vx_out.synchronous = OFF")
        conn.execute("CREATE TABLE vx_out.vx_result AS SELECT * FROM vx_result ORDER BY sid")
        slow = conn.execute("SELECT count(*) FROM vx_slow").fetchone()[0]
        conn.close()
        send.send(("ok", {"slow": slow, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which raises it
        send.send(("error", f"{type(error).__name__}: {error}"))
        code = 1
    finally:
        send.close()
        os._exit(code)  # a forked child must not run the parent's exit handlers


def _split(conn: sqlite3.Connection, workers: int) -> list[tuple]:
    total = conn.execute("SELECT count(*) FROM students").fetchone()[0]
    cuts = []
    for k in range(1, workers):
        row = conn.execute("SELECT student_id FROM students ORDER BY student_id LIMIT 1 OFFSET ?",
                           (total * k // workers,)).fetchone()
        if row is not None and (not cuts or row[0] > cuts[-1]):
            cuts.append(row[0])
    edges = [""] + cuts + [b"\xff"]
    return list(zip(edges, edges[1:]))


def evaluate_doses(ruleset: ast.Ruleset, conn: sqlite3.Connection, as_of: date, student_ids=None, *,
                   compiled: CompiledQuery | None = None, progress: Progress | None = None) -> Iterator[DoseEvaluation]:
    """Every dose on or before ``as_of``, per group it counts toward (valid, reason, number), then the
    doses no product matches; in student id order, then as docs/semantics.md lists them."""
    compiled = compiled or compile_ruleset(ruleset, as_of)
    prepared = Prepared(conn, compiled)
    try:
        if student_ids is None:
            ids = [row[0] for row in conn.execute("SELECT student_id FROM students ORDER BY student_id")]
        else:
            ids = sorted(set(student_ids))
        for start in range(0, len(ids), DOSE_CHUNK):
            prepared.select(ids[start:start + DOSE_CHUNK])
            prepared.run_before_main("list")
            if progress and start:
                progress(f"doses: {start:,} of {len(ids):,} students")
            yield from prepared.dose_rows("list")
    finally:
        prepared.close()


class Session:
    """A compiled ruleset on a prepared connection, for evaluating students one at a time cheaply
    (after a new dose is recorded, say): each call runs the pipeline for that student only."""

    def __init__(self, ruleset: ast.Ruleset, conn: sqlite3.Connection, as_of: date):
        self.compiled = compile_ruleset(ruleset, as_of)
        self.prepared = Prepared(conn, self.compiled)
        # render and prepare the per-student statements now (about 0.25 s for Minnesota), so the
        # first student costs what every later one does
        self.prepared.select([])
        self.prepared.run("list")

    def evaluate_student(self, student_id: str, doses: bool = False) -> StudentEvaluation:
        prepared = self.prepared
        prepared.select([student_id])
        prepared.run("list")
        groups = tuple(prepared.results())
        dose_rows = tuple(prepared.dose_rows("list")) if doses else ()
        return StudentEvaluation(student_id, groups, dose_rows)

    def close(self) -> None:
        self.prepared.close()


def open_database(path, readonly: bool = False) -> sqlite3.Connection:
    file = Path(path)
    if not file.is_file():
        raise VaxError(f"{file}: no such fact database")
    uri = f"{file.resolve().as_uri()}?mode={'ro' if readonly else 'rw'}"
    try:
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as error:
        raise VaxError(f"{file}: not a fact database ({error})") from None
    missing = [t for t in ("students", "doses", "exemptions") if t not in present]
    if missing:
        conn.close()
        raise VaxError(f"{file}: not a fact database (no table {', '.join(missing)})")
    return conn
