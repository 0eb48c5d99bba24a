"""Show which students' outcomes change between two versions of a ruleset.

Evaluates the same students under OLD and NEW and reports, per vaccine group, every way an outcome
moves: the status (from -> to) with the rules that decided it, or, when the status stays, the rule
that decides it ("same status, other rule"). Counts come first, then the students of each change.
Vaccine groups only one ruleset has are reported as added or removed. The summary counts the
students compared, changed and unchanged (docs/diff.md).

The students come from a fact folder (--facts), a fact database (--db; the SQL engine evaluates it
once per ruleset) or fixture cases (--fixtures; the reference interpreter evaluates each case, on
its own as_of unless --as-of is given). --as-of is required with --facts and --db.

--format json prints {"as_of", "source", "old", "new", "vaccines", "compared", "changed",
"unchanged", "changes": [{"vaccine", "kind", "from_status", "to_status", "from_rule", "to_rule",
"count", "students"}], "groups_added", "groups_removed", "not_compared"}; --format markdown prints
a pull-request comment (a summary table, then the students in <details> blocks).

Exit status: 0 when the diff was shown (changes or not); 1 with --fail-on-change when an outcome
changed, a group was added or removed, or a fixture case could be evaluated under only one
ruleset; 1 when a ruleset has errors; 2 for a bad argument or unreadable facts.

example:
  vaxdsl diff minnesota rulesets/example-district.vax --db district.db --as-of 2025-09-02
  vaxdsl diff old.vax new.vax --facts facts/ --as-of 2025-09-02 --vaccine MMR --format json
  vaxdsl diff minnesota my-district.vax --fixtures tests/fixtures/minnesota --format markdown --fail-on-change
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack, closing

from ..errors import VaxError
from ..fixtures import load_fixtures
from ..qa.diff import diff_database, diff_fixtures, render_json, render_markdown, render_table
from ._common import add_fact_source, fact_database_path, iso_date, load_checked, open_fact_database, print_warnings, progress_reporter

NAME = "diff"
HELP = "show which students' outcomes change between two rulesets"

BIG = 20_000  # students from which progress is shown on stderr
MARKDOWN_STUDENTS = 100  # students listed per change in --format markdown unless --max-students


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number (0 or more)")
    return value


def configure(parser):
    parser.add_argument("old", metavar="OLD", help="the ruleset as it is (file or bundled ruleset name)")
    parser.add_argument("new", metavar="NEW", help="the ruleset as it would be")
    source = add_fact_source(parser)
    source.add_argument("--fixtures", metavar="PATH", action="append",
                        help="fixture file or directory of *.toml files (repeatable)")
    parser.add_argument("--as-of", type=iso_date, metavar="YYYY-MM-DD",
                        help="the effective date (required with --facts/--db; with --fixtures it "
                             "replaces each case's as_of)")
    parser.add_argument("--format", choices=("table", "json", "markdown"), default="table",
                        help="output format (default: table)")
    parser.add_argument("--fail-on-change", action="store_true", help="exit 1 when anything changed")
    parser.add_argument("--vaccine", action="append", metavar="V",
                        help="compare only this vaccine group (repeatable)")
    parser.add_argument("--max-students", type=_count, metavar="N",
                        help=f"list at most N students per change (default: all; "
                             f"{MARKDOWN_STUDENTS} with --format markdown); counts stay complete")


def run(args) -> int:
    if args.fixtures is None and args.as_of is None:
        raise VaxError("--as-of is required with --facts and --db")
    old, new = load_checked(args.old), load_checked(args.new)
    for loaded in (old, new):
        print_warnings(loaded.diagnostics, loaded.sources)
    references = (args.old, args.new)
    if args.fixtures:
        cases, errors, files = load_fixtures(args.fixtures)
        if not files:
            raise VaxError(f"no *.toml fixture files in {', '.join(args.fixtures)}")
        for error in errors:
            print(f"vaxdsl: {error}", file=sys.stderr)
        report = diff_fixtures(old.ruleset, new.ruleset, cases, args.as_of, vaccines=args.vaccine,
                               source={"kind": "fixtures", "path": list(args.fixtures)}, references=references)
    else:
        with ExitStack() as stack:
            path = fact_database_path(stack, facts=args.facts, db=args.db,
                                      rulesets=(old.ruleset, new.ruleset), as_of=args.as_of)
            conn = stack.enter_context(closing(open_fact_database(path)))
            total = conn.execute("SELECT count(*) FROM students").fetchone()[0]
            big = total >= BIG
            progress = progress_reporter(big)
            if big:
                progress(f"{total:,} students")
            # The two rulesets are evaluated at the same time, so each gets half of the cores.
            workers = min(2, os.cpu_count() or 1) if big else 1
            report = diff_database(
                old.ruleset, new.ruleset, lambda: open_fact_database(path), args.as_of,
                vaccines=args.vaccine, workers=workers, progress=progress if big else None,
                source={"kind": "facts" if args.facts else "db", "path": str(args.facts or args.db)},
                references=references)
            if big:
                progress("done")
    if args.format == "json":
        print(json.dumps(render_json(report, args.max_students), indent=2, ensure_ascii=False))
    elif args.format == "markdown":
        limit = args.max_students if args.max_students is not None else MARKDOWN_STUDENTS
        sys.stdout.write(render_markdown(report, limit))
    else:
        print(render_table(report, args.max_students))
    return 1 if args.fail_on_change and report.anything_changed else 0

