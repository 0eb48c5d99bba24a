"""Count students by status on an effective date, per vaccine group and per grade.

The counts a school reports to the state (Minn. R. 4604.0410: per grade, how many students are
compliant, exempt, in process or not compliant): a table per vaccine group, then one per grade of
each student's overall status (the worst of its groups). Evaluated with the SQL engine.

example:
  vaxdsl report minnesota --db facts.db --as-of 2025-10-01
  vaxdsl report rulesets/example-district.vax --facts synthetic/ --as-of 2025-10-01 --format json
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from contextlib import ExitStack
from datetime import date
from itertools import groupby

from .. import ast, engine
from ..results import worst_status
from ._common import add_fact_source, fact_database_path, iso_date, load_checked, open_fact_database, print_warnings

NAME = "report"
HELP = "count students by status, per vaccine group and per grade"

# Columns in the order a reader scans them: the good news, the pending, the problems, the rest.
STATUSES = ("compliant", "in_grace_period", "in_process", "non_compliant", "exempt", "no_requirement")
NO_GRADE = "(no grade)"


def configure(parser):
    parser.add_argument("ruleset", metavar="RULESET", help="ruleset file or bundled ruleset name")
    add_fact_source(parser)
    parser.add_argument("--as-of", required=True, type=iso_date, metavar="YYYY-MM-DD",
                        help="the effective date the status is computed for")
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table",
                        help="output format (default: table)")


def tally(ruleset: ast.Ruleset, conn, as_of: date) -> dict:
    """Status counts per vaccine group and, for overall statuses, per grade."""
    grades = dict(conn.execute("SELECT student_id, grade FROM students"))
    by_vaccine = {vaccine.id: Counter() for vaccine in ruleset.vaccines}
    by_grade: dict[str, Counter] = {}
    for student_id, groups in groupby(engine.evaluate(ruleset, conn, as_of), key=lambda g: g.student_id):
        statuses = []
        for group in groups:
            by_vaccine[group.vaccine][group.status] += 1
            statuses.append(group.status)
        grade = grades.get(student_id) or NO_GRADE
        by_grade.setdefault(grade, Counter())[worst_status(statuses)] += 1
    order = [g.code for g in ruleset.grade_decls] + [NO_GRADE]
    ranked = sorted(by_grade, key=lambda g: (order.index(g) if g in order else len(order), g))
    return {
        "as_of": as_of.isoformat(),
        "ruleset": (ruleset.header or ast.Header("")).name,
        "by_vaccine": {vaccine: dict(counts) for vaccine, counts in by_vaccine.items()},
        "by_grade": {grade: dict(by_grade[grade]) for grade in ranked},
    }


def _rows(counts: dict[str, dict[str, int]]):
    for key, row in counts.items():
        yield [key, *(row.get(status, 0) for status in STATUSES), sum(row.values())]


def render_table(report: dict) -> str:
    header = ["", *(ast.OUTCOME_DISPLAY[s] for s in STATUSES), "Total"]
    out = [f"{report['ruleset']}: status on {report['as_of']}"]
    for title, key in (("By vaccine group", "by_vaccine"), ("By grade (overall status)", "by_grade")):
        rows = [header, *([str(cell) for cell in row] for row in _rows(report[key]))]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        out += ["", title]
        for row in rows:
            out.append("  " + "  ".join(
                cell.ljust(width) if i == 0 else cell.rjust(width) for i, (cell, width) in enumerate(zip(row, widths))
            ))
    return "\n".join(out)


def run(args) -> int:
    loaded = load_checked(args.ruleset)
    print_warnings(loaded.diagnostics, loaded.sources)
    with ExitStack() as stack:
        path = fact_database_path(stack, facts=args.facts, db=args.db, rulesets=[loaded.ruleset], as_of=args.as_of)
        conn = open_fact_database(path)
        stack.callback(conn.close)
        report = tally(loaded.ruleset, conn, args.as_of)
    if args.format == "json":
        print(json.dumps(report, indent=2))
    elif args.format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(["table", "key", *STATUSES, "total"])
        for key in ("by_vaccine", "by_grade"):
            writer.writerows([key, *row] for row in _rows(report[key]))
    else:
        print(render_table(report))
    return 0
