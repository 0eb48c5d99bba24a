"""Run fixture cases against a ruleset with the reference interpreter.

FIXTURE_PATH is a fixture file (TOML, see docs/fixtures.md) or a directory searched for *.toml.
Every case runs; the summary counts passed, failed, errors (a case that cannot run), expected
failures (cases marked xfail) and stale xfail marks. Each failure shows the case (file:line and
name), expected against actual, and the interpreter's explanation of the student.

Exit status: 0 when every case passes (or fails as marked), 1 on any failure, error, stale xfail
mark or unreadable fixture file, or when -k matches no case; 2 when the ruleset or a path does not
exist or no fixture file is found.

--format json prints {"ruleset", "summary": {"pass", "fail", "error", "xfail", "xpass", "cases",
"files", "fixture_errors", "ok"}, "fixture_errors": [...], "cases": [{"file", "line", "name",
"outcome", "mismatches": [{"what", "expected", "actual", "hint"}], "errors", "actual", ...}]}.

example:
  vaxdsl test minnesota tests/fixtures/minnesota
  vaxdsl test rulesets/example-district.vax my-cases.toml -k "KG" --verbose
  vaxdsl test minnesota tests/fixtures/minnesota --format json
"""

from __future__ import annotations

import json
import sys

from ..errors import VaxError
from ..fixtures import load_fixtures
from ..qa.runner import render_json, render_text, run_cases
from ._common import load_checked

NAME = "test"
HELP = "run fixture cases (expected outcomes) against a ruleset"


def configure(parser):
    parser.add_argument("ruleset", metavar="RULESET", help="ruleset file or bundled ruleset name")
    parser.add_argument("paths", nargs="+", metavar="FIXTURE_PATH", help="fixture file or directory of *.toml files")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.add_argument("-k", dest="keyword", metavar="TEXT",
                        help="run only the cases whose name or file contains TEXT (case-insensitive)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="list passing cases too, and the details of expected failures")


def select(cases, keyword: str | None):
    if not keyword:
        return cases
    wanted = keyword.casefold()
    return [case for case in cases if wanted in case.name.casefold() or wanted in case.file.casefold()]


def run(args) -> int:
    loaded = load_checked(args.ruleset)
    cases, errors, files = load_fixtures(args.paths)
    if not files:
        raise VaxError(f"no *.toml fixture files in {', '.join(map(str, args.paths))}")
    selected = select(cases, args.keyword)
    if args.keyword and not selected:
        print(f"vaxdsl: no case name or file contains '{args.keyword}'", file=sys.stderr)
        return 1
    report = run_cases(loaded.ruleset, selected, file_errors=errors, files=files)
    if args.format == "json":
        print(json.dumps(render_json(report, loaded.ruleset), indent=2))
    else:
        print(render_text(report, verbose=args.verbose))
    return 0 if report.ok else 1
