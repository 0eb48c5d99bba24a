"""Load fact files into a fact database.

Reads DIR/students.csv, DIR/doses.csv and, if present, DIR/exemptions.csv (or .jsonl files with
the same fields), checks every row against the ruleset (its products, vaccine groups and grades)
and writes the good rows to an SQLite fact database for `vaxdsl` to evaluate. Each bad row is
reported on stderr as file:row: reason and skipped; docs/facts.md lists the formats and every
check. Without --append an existing database is replaced (only once the new one is complete).
While it runs, the dose rows wait in a scratch file next to the database (.vaxdsl-doses-*.spool,
about as big as the doses table), deleted at the end.

Exit status: 0 when the database was written (bad rows skipped); 1 when a file cannot be used
(missing file or column: nothing is written), or with --strict when any row is bad (nothing
is written).

example:
  vaxdsl load --facts facts/ --db facts.db
  vaxdsl load --facts september/ --db facts.db --append --strict
  vaxdsl load --facts tests/facts/ --db /tmp/t.db --ruleset rulesets/example-district.vax --today 2025-09-02
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from pathlib import Path

from ..factdb import build_database, read_students
from ..facts import FactSet, read_fact_dir
from ..loader import load
from ._common import iso_date

NAME = "load"
HELP = "check fact files and load them into a fact database"


def configure(parser):
    parser.add_argument("--facts", required=True, metavar="DIR", help="folder with students, doses and exemptions files")
    parser.add_argument("--db", required=True, metavar="FILE", help="the fact database to write")
    parser.add_argument("--append", action="store_true", help="add to an existing database instead of replacing it")
    parser.add_argument("--strict", action="store_true", help="write nothing if any row is bad (exit 1)")
    parser.add_argument("--ruleset", default="minnesota", metavar="RULESET",
                        help="ruleset whose products, vaccine groups and grades rows must use (default: minnesota)")
    parser.add_argument("--today", type=iso_date, metavar="YYYY-MM-DD",
                        help="dates after this are rejected as future dates (default: today)")
    parser.add_argument("--max-problems", type=int, default=200, metavar="N",
                        help="print at most N bad rows, then a count per reason (0: all; default: 200)")


def run(args) -> int:
    started = time.perf_counter()
    ruleset = load(args.ruleset).ruleset
    db = Path(args.db)
    known = read_students(db) if args.append else None
    facts = read_fact_dir(
        args.facts,
        products=ruleset.products,
        vaccines=ruleset.vaccines,
        today=args.today,
        grades=[g.code for g in ruleset.grade_decls] or None,  # a ruleset without grades takes any code
        known_students=known,
        # The dose rows wait in a scratch file as big as the doses table: next to the database,
        # where there is room for it, rather than in a temporary folder that may be in memory.
        spool_dir=db.parent if db.parent.is_dir() else None,
    )
    with facts:
        return _write(args, db, facts, started)


def _write(args, db: Path, facts: FactSet, started: float) -> int:
    if facts.fatal:
        _report(facts.problems, args.max_problems)
        print(f"nothing written to {db}: a fact file cannot be used", file=sys.stderr)
        return 1
    if args.strict and facts.problems:
        _report(facts.problems, args.max_problems)
        print(f"nothing written to {db}: {len(facts.problems)} bad row(s) and --strict", file=sys.stderr)
        return 1
    summary = build_database(db, facts, append=args.append, strict=args.strict)
    problems = sorted([*facts.problems, *summary.problems], key=lambda p: (p.file, p.row))
    _report(problems, args.max_problems)
    if not summary.written:
        print(f"nothing written to {db}: {len(summary.problems)} row(s) clash with the database and --strict",
              file=sys.stderr)
        return 1
    skipped = Counter(Path(p.file).name for p in problems)
    loaded = {"students": summary.students, "doses": summary.doses, "exemptions": summary.exemptions}
    for kind, path in facts.files.items():
        name = Path(path).name
        line = f"{name}: {loaded[kind]:,} row(s) loaded"
        if skipped[name]:
            line += f", {skipped[name]:,} skipped"
        if kind == "students" and summary.already_present:
            line += f", {summary.already_present:,} already in the database"
        print(line)
    seconds = time.perf_counter() - started
    print(f"{'appended to' if args.append else 'wrote'} {db} in {seconds:.1f} s ({summary.doses / seconds:,.0f} doses/s)")
    return 0


def _report(problems, limit: int) -> None:
    shown = problems if limit <= 0 else problems[:limit]
    for problem in shown:
        print(problem, file=sys.stderr)
    if len(shown) < len(problems):
        print(f"... and {len(problems) - len(shown):,} more bad row(s) (--max-problems 0 shows all); by reason:",
              file=sys.stderr)
        reasons = Counter(_reason_kind(p.reason) for p in problems)
        for reason, count in reasons.most_common():
            print(f"  {count:>10,}  {reason}", file=sys.stderr)


def _reason_kind(reason: str) -> str:
    """A reason without its values (quoted text, numbers, dates), so like problems count together."""
    return re.sub(r"\d[\d-]*", "N", re.sub(r"'[^']*'", "'…'", reason))
