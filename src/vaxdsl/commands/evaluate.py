"""Evaluate every student's compliance with a ruleset, with the SQL engine (fast, all at once).

Prints one record per student and vaccine group: student_id, vaccine, status, rule (the rule that
decided it; empty when none did) and valid_doses. With --doses, one record per dose and group it
counts toward instead: student_id, date, cvx, vaccine, valid, reason (why it is not valid) and
dose_number (its number in the series when valid); a dose no product of the ruleset matches is
listed once with an empty vaccine.

The facts come from a fact folder (--facts: read, checked and loaded into a temporary database; bad
rows are reported on stderr and skipped) or a fact database (--db, written by 'vaxdsl load'). The
first evaluation of a database adds an index to it (doses by student) when it lacks one.
Progress goes to stderr, so stdout (or --output) stays machine-readable.

Exit status: 0 when the records were written; 1 when the ruleset has errors, the facts cannot be
read, or a --student is not in the facts (named on stderr; the others' records are written); 2 for a
bad argument or a file that cannot be written.

example:
  vaxdsl evaluate minnesota --db facts.db --as-of 2025-09-02 > status.jsonl
  vaxdsl evaluate rulesets/example-district.vax --facts facts/ --as-of 2025-09-02 --format csv --output status.csv
  vaxdsl evaluate minnesota --db facts.db --as-of 2025-09-02 --student S0001 S0002 --format table
  vaxdsl evaluate minnesota --db facts.db --as-of 2025-09-02 --doses --student S0001
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sqlite3
import sys
from contextlib import ExitStack

from .. import engine
from ..compiler import compile_ruleset
from ..errors import VaxError
from ._common import add_fact_source, fact_database_path, iso_date, load_checked, print_warnings, progress_reporter

NAME = "evaluate"
HELP = "evaluate every student's compliance (SQL engine)"

GROUP_FIELDS = ("student_id", "vaccine", "status", "rule", "valid_doses")
DOSE_FIELDS = ("student_id", "date", "cvx", "vaccine", "valid", "reason", "dose_number")
BIG = 20_000  # students from which progress is shown and the work is split across cores


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of workers (1 or more)")
    return value


def configure(parser):
    parser.add_argument("ruleset", metavar="RULESET", help="ruleset file or bundled ruleset name")
    add_fact_source(parser)
    parser.add_argument("--as-of", required=True, type=iso_date, metavar="YYYY-MM-DD",
                        help="the effective date the status is computed for")
    parser.add_argument("--format", choices=("jsonl", "csv", "table"), default="jsonl",
                        help="output format (default: jsonl)")
    parser.add_argument("--output", metavar="FILE", help="write the records here instead of stdout")
    parser.add_argument("--student", action="extend", nargs="+", metavar="ID",
                        help="only these students (several after one --student, or repeated)")
    parser.add_argument("--doses", action="store_true", help="one record per dose instead of per group")
    parser.add_argument("--workers", type=_workers, metavar="N",
                        help="processes to split a large population across (default: up to 2, one per core)")


def run(args) -> int:
    loaded = load_checked(args.ruleset)
    print_warnings(loaded.diagnostics, loaded.sources)
    ruleset = loaded.ruleset
    with ExitStack() as stack:
        db_path = fact_database_path(stack, facts=args.facts, db=args.db, rulesets=[ruleset], as_of=args.as_of)
        conn = engine.open_database(db_path, readonly=False) if os.access(db_path, os.W_OK) else \
            engine.open_database(db_path, readonly=True)
        stack.callback(conn.close)
        total = conn.execute("SELECT count(*) FROM students").fetchone()[0]
        big = args.student is None and total >= BIG
        progress = progress_reporter(big)
        if not engine.prepare_database(conn, progress if big else None) and engine.dose_order_index(conn) is None:
            raise VaxError(f"{db_path}: read-only and without an index on doses(student_id, date): "
                           "load it with 'vaxdsl load' first")
        compiled = compile_ruleset(ruleset, args.as_of)
        out = stack.enter_context(open(args.output, "w", encoding="utf-8", newline="")) if args.output else sys.stdout
        writer = _Writer(out, args.format, DOSE_FIELDS if args.doses else GROUP_FIELDS)
        if big:
            progress(f"evaluating {total:,} students")
        if args.doses:
            records = engine.evaluate_doses(ruleset, conn, args.as_of, args.student, compiled=compiled,
                                            progress=progress if big else None)
            for record in records:
                writer.dose(record)
        else:
            workers = args.workers or (min(2, os.cpu_count() or 1) if big else 1)
            _write_groups(writer, conn, compiled, args.student, workers, progress if big else None)
        writer.close()
        if big:
            progress(f"wrote {writer.count:,} records")
        unknown = _unknown_students(conn, args.student or ())
        for student_id in unknown:
            print(f"vaxdsl: no student '{student_id}' in {args.facts or db_path}", file=sys.stderr)
    return 1 if unknown else 0


def _unknown_students(conn: sqlite3.Connection, student_ids) -> list[str]:
    known = set()
    wanted = list(dict.fromkeys(student_ids))
    for start in range(0, len(wanted), 500):  # under SQLite's limit on bound parameters
        chunk = wanted[start:start + 500]
        marks = ",".join("?" * len(chunk))
        known.update(row[0] for row in conn.execute(f"SELECT student_id FROM students WHERE student_id IN ({marks})", chunk))
    return [student_id for student_id in wanted if student_id not in known]



def _write_groups(writer, conn: sqlite3.Connection, compiled, students, workers: int, progress) -> None:
    decisions = compiled.decisions
    if students is not None:
        for record in engine.evaluate(compiled.ruleset, conn, compiled.as_of, students, compiled=compiled):
            writer.group(record.student_id, record.vaccine, record.status, record.rule, record.valid_doses)
        return
    parts = engine.run_all(conn, compiled, workers=workers, progress=progress)
    if progress:
        progress("writing records")
    try:
        for part in parts:
            writer.rows(part.rows(), decisions)
    finally:
        for part in parts:
            part.close()


class _Writer:
    """Records to text: JSON Lines, CSV or an aligned table; group records go through cached
    fragments (a group's vaccine, status and rule repeat for many students)."""

    def __init__(self, out, format: str, fields):
        self.out = out
        self.format = format
        self.fields = fields
        self.count = 0
        self.table: list[tuple] = []
        self.buffer: list[str] = []
        self.fragments: dict = {}
        self.last_student, self.head = None, ""
        if format == "csv":
            self.out.write(",".join(fields) + "\r\n")

    def _flush(self) -> None:
        if self.buffer:
            self.out.write("".join(self.buffer))
            self.buffer.clear()

    def _fragment(self, vaccine, status, rule) -> str:
        key = (vaccine, status, rule)
        found = self.fragments.get(key)
        if found is None:
            if self.format == "jsonl":
                found = (f', "vaccine": {json.dumps(vaccine)}, "status": {json.dumps(status)}, '
                         f'"rule": {json.dumps(rule)}, "valid_doses": ')
            else:
                found = "," + _csv_line([vaccine, status, rule or ""]) + ","
            self.fragments[key] = found
        return found

    def _student(self, student_id: str) -> str:
        if self.format == "jsonl":
            return '{"student_id": ' + json.dumps(student_id)
        return _csv_line([student_id])

    def rows(self, rows, decisions) -> None:
        if self.format == "table":
            for row in rows:
                for index, decision in enumerate(decisions):
                    status, rule = decision.decode(row[2 + 2 * index])
                    self.group(row[0], decision.vaccine, status, rule, row[3 + 2 * index])
            return
        close = "}\n" if self.format == "jsonl" else "\r\n"
        codes: dict = {}
        for row in rows:
            head = self._student(row[0])
            for index, decision in enumerate(decisions):
                key = (index, row[2 + 2 * index])
                fragment = codes.get(key)
                if fragment is None:
                    status, rule = decision.decode(key[1])
                    fragment = codes[key] = self._fragment(decision.vaccine, status, rule)
                self.buffer.append(f"{head}{fragment}{row[3 + 2 * index]}{close}")
            self.count += len(decisions)
            if len(self.buffer) > 50_000:
                self._flush()

    def group(self, student_id, vaccine, status, rule, valid_doses) -> None:
        self.count += 1
        if self.format == "table":
            self.table.append((student_id, vaccine, status, rule or "", str(valid_doses)))
            return
        close = "}\n" if self.format == "jsonl" else "\r\n"
        self.buffer.append(f"{self._student(student_id)}{self._fragment(vaccine, status, rule)}{valid_doses}{close}")
        if len(self.buffer) > 50_000:
            self._flush()

    def dose(self, record) -> None:
        """A dose record. JSON Lines and CSV lines are built from cached pieces (a student's id, and a
        group's vaccine, validity and reason, repeat over many records): the same text as
        ``json.dumps`` or ``csv.writer`` of the whole record."""
        self.count += 1
        values = (record.student_id, record.date.isoformat(), record.cvx, record.vaccine, record.valid,
                  record.reason, record.dose_number)
        if self.format == "table":
            self.table.append(tuple("" if v is None else ("yes" if v is True else "no" if v is False else str(v))
                                    for v in values))
            return
        sid, day, cvx, *group, number = values
        if sid != self.last_student:
            self.last_student = sid
            self.head = '{"student_id": ' + json.dumps(sid) if self.format == "jsonl" else _csv_value(sid)
        key = tuple(group)
        found = self.fragments.get(key)
        if found is None:
            found = self.fragments[key] = self._dose_fragment(*group)
        if self.format == "jsonl":
            self.buffer.append(f'{self.head}, "date": "{day}", "cvx": {_json_value(cvx)}{found}{_json_value(number)}}}\n')
        else:
            self.buffer.append(f"{self.head},{day},{_csv_value(cvx)}{found}{'' if number is None else number}\r\n")
        if len(self.buffer) > 50_000:
            self._flush()

    def _dose_fragment(self, vaccine, valid, reason) -> str:
        if self.format == "jsonl":
            return (f', "vaccine": {json.dumps(vaccine)}, "valid": {json.dumps(valid)}, "reason": {json.dumps(reason)}, '
                    '"dose_number": ')
        return "," + _csv_line([vaccine, "true" if valid else "false", reason or ""]) + ","

    def close(self) -> None:
        self._flush()
        if self.format == "table":
            header = tuple(self.fields)
            widths = [max(len(str(row[i])) for row in [header, *self.table]) for i in range(len(header))]
            for row in [header, *self.table]:
                self.out.write("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip() + "\n")
        self.out.flush()


def _json_value(value) -> str:
    return str(value) if type(value) is int else json.dumps(value)


def _csv_value(value) -> str:
    """One field as ``csv.writer`` writes it within a row (alone, an empty field would be ``""``)."""
    return str(value) if type(value) is int else _csv_line(["", value])[1:]


def _csv_line(values) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)  # the terminator's characters get quoted
    return buffer.getvalue()[:-2]
