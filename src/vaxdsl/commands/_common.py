"""Helpers the subcommands share."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from .. import engine
from ..checker import check
from ..dates import EARLIEST, LATEST, outside_range
from ..errors import DiagnosticsError, VaxError
from ..factdb import build_database
from ..facts import read_fact_dir
from ..loader import Loaded, load


def iso_date(text: str) -> date:
    """An argparse type: a YYYY-MM-DD date, or a usage error that says so."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (YYYY-MM-DD)") from None
    problem = outside_range(day)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{text} {problem}; dates run from {EARLIEST} to {LATEST}")
    return day


def add_fact_source(parser, required: bool = True):
    """``--facts DIR`` or ``--db FILE``, one of them; returns the group so a command can add more."""
    source = parser.add_mutually_exclusive_group(required=required)
    source.add_argument("--facts", metavar="DIR", help="folder of fact files (students, doses, exemptions)")
    source.add_argument("--db", metavar="FILE", help="SQLite fact database (vaxdsl load)")
    return source


def progress_reporter(enabled: bool):
    """A progress callback: timestamped lines on stderr when enabled (stdout stays for results)."""
    started = time.perf_counter()

    def report(message: str) -> None:
        if enabled:
            print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    return report


def load_checked(reference: str) -> Loaded:
    """Load a ruleset for use; errors stop here (warnings go to stderr)."""
    loaded = load(reference)
    diagnostics = check(loaded)
    errors = [d for d in diagnostics if d.is_error]
    if errors:
        raise DiagnosticsError(errors, loaded.sources)
    return loaded


def print_warnings(diagnostics, sources) -> None:
    for diagnostic in diagnostics:
        if not diagnostic.is_error:
            print(diagnostic.render(sources.get(diagnostic.file)), file=sys.stderr)


def fact_database_path(stack, *, facts=None, db=None, rulesets=(), as_of=None):
    """The fact database a command evaluates: ``db`` as given, or the fact folder ``facts`` read,
    checked and loaded into a temporary database that lives until ``stack`` (an ExitStack) closes.

    Rows are checked against ``rulesets`` together: a row that any of them can use is kept (a dose
    one of them does not know simply counts toward no group of that one). Bad rows are reported on
    stderr and skipped; a fact file that cannot be used at all is an error.
    """
    if db is not None:
        return Path(db)
    rulesets = list(rulesets)
    # A ruleset that declares no grades accepts any grade, so the union is checked only when all do.
    grades = list(dict.fromkeys(g.code for r in rulesets for g in r.grade_decls))
    checked = bool(rulesets) and all(r.grade_decls for r in rulesets)
    fact_set = read_fact_dir(facts, products=[p for r in rulesets for p in r.products],
                             vaccines=list(dict.fromkeys(v.id for r in rulesets for v in r.vaccines)),
                             today=max(date.today(), as_of or date.today()),
                             grades=grades if checked else None)
    for problem in fact_set.problems:
        print(f"vaxdsl: {problem}", file=sys.stderr)
    if fact_set.fatal:
        raise VaxError(f"{facts}: a fact file cannot be used")
    folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="vaxdsl-"))
    path = Path(folder) / "facts.db"
    build_database(path, fact_set)
    return path


def open_fact_database(path, progress=None):
    """A connection to a fact database, writable when the file is, with the dose index the SQL
    engine needs (added once when missing; a read-only database without it is an error)."""
    conn = engine.open_database(path, readonly=not os.access(path, os.W_OK))
    try:
        if not engine.prepare_database(conn, progress) and engine.dose_order_index(conn) is None:
            raise VaxError(f"{path}: read-only and without an index on doses(student_id, date): "
                           "load it with 'vaxdsl load' first")
    except BaseException:
        conn.close()
        raise
    return conn
