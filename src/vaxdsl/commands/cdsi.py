"""Use the CDC's CDSi test cases: import them as fixtures, or measure a ruleset against them.

WORKBOOK is the CDC's CDSi test-case workbook (.xlsx, sheet 'FITS Exported TestCases'; the healthy-
patient cases). Only the vaccine groups with a school requirement are used: DTAP, POL, HIB, PCV, HepB,
MMR, VAR, MCV, HepA (as DTaP, Polio, Hib, PCV, HepB, MMR, Varicella, MenACWY, HepA); the other groups'
cases are skipped and counted. Bad rows (no DOB, a date that cannot be read) are reported with their
row number and skipped.

  import   writes one fixture file per CDC group (cdsi-DTAP.toml, ...): one case per test case, with
           the CDC's per-dose evaluation as expect_doses, for `vaxdsl test RULESET DIR`.
  check    evaluates every case at its assessment date with the reference interpreter and prints,
           per group, the doses compared, how many agree (valid, or not valid for the same reason) and
           how many of the CDC's Not Valid doses the ruleset also finds not valid; then every
           disagreement. With --threshold FILE it exits 1 when a figure is below its recorded floor.

Exit status: 0 on success; 1 when a figure is below the --threshold floor (check), or with --strict
when a row is bad (import); 2 when the workbook, ruleset or threshold file cannot be used.
docs/cdsi.md has the details.

example:
  vaxdsl cdsi import cdsi-test-cases-healthy.xlsx --out cdsi-fixtures/
  vaxdsl test minnesota cdsi-fixtures/
  vaxdsl cdsi check cdsi-test-cases-healthy.xlsx minnesota
  vaxdsl cdsi check cdsi-test-cases-healthy.xlsx minnesota --groups DTAP,POL --format json
  vaxdsl cdsi check cdsi-test-cases-healthy.xlsx minnesota --threshold tests/cdsi_threshold.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..cdsi import conformance
from ..cdsi.to_fixtures import write_fixtures
from ..cdsi.workbook import SHEET, read_workbook
from ..errors import VaxError
from ._common import load_checked

NAME = "cdsi"
HELP = "import the CDC's CDSi test cases as fixtures, or check a ruleset against them"

IMPORT_DOC = """Write the CDC's test cases as fixture files, one per CDC vaccine group (cdsi-DTAP.toml, ...).

Each case: name "CDC_Test_ID: Test_Case_Name", the birth date, the doses (date, CVX, MVX when given),
as_of = the CDC's Assessment_Date, no grade, and per-dose expectations (valid, or the reason it is not)
for the doses that count toward the mapped group in --ruleset. A dose whose CVX the ruleset does not
declare is left out of its case (a comment in the file says so). Bad rows are reported on stderr
with their row number and skipped.

example:
  vaxdsl cdsi import cdsi-test-cases-healthy.xlsx --out cdsi-fixtures/
  vaxdsl cdsi import cdsi-test-cases-healthy.xlsx --out cdsi-fixtures/ --ruleset my-district.vax --strict
"""

CHECK_DOC = """Evaluate every CDC test case of the mapped groups with the reference interpreter and compare
dose by dose.

Per CDC group: doses compared, agreeing (valid on both sides, or not valid for the same reason),
agreement %, and the CDC's Not Valid (or Extraneous) doses found not valid (%); then every
disagreement (test id, case name, dose date and CVX, the CDC's status and reason against ours) and the
doses that could not be compared (their product does not count toward the group in the ruleset).

--threshold FILE (JSON: {"groups": {"DTAP": {"agreement": PCT, "not_valid_found": PCT}, ...},
"overall": {...}}) exits 1 when a figure is below its floor. --format json prints {"workbook",
"sheet", "ruleset", "cases", "bad_rows", "skipped_groups", "groups": [...], "overall", "disagreements",
"not_compared", "threshold"}.

example:
  vaxdsl cdsi check cdsi-test-cases-healthy.xlsx minnesota
  vaxdsl cdsi check cdsi-test-cases-healthy.xlsx minnesota --groups DTAP,POL,HIB
  vaxdsl cdsi check cdsi-test-cases-healthy.xlsx minnesota --threshold tests/cdsi_threshold.json --format json
"""


def configure(parser):
    sub = parser.add_subparsers(dest="cdsi_command", metavar="SUBCOMMAND")
    sub.required = True
    importing = sub.add_parser("import", help="write the CDC test cases as fixture files",
                               description=IMPORT_DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    importing.add_argument("workbook", metavar="WORKBOOK", help="the CDC CDSi test-case workbook (.xlsx)")
    importing.add_argument("--out", required=True, metavar="DIR", help="folder to write the fixture files to")
    importing.add_argument("--ruleset", default="minnesota", metavar="RULESET",
                           help="the ruleset whose products say which doses count toward each group (default: minnesota)")
    importing.add_argument("--sheet", default=SHEET, help=f"the sheet to read (default: '{SHEET}')")
    importing.add_argument("--strict", action="store_true", help="write nothing and exit 1 if any row is bad")
    importing.set_defaults(cdsi_run=run_import)

    checking = sub.add_parser("check", help="measure a ruleset's dose evaluation against the CDC test cases",
                              description=CHECK_DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    checking.add_argument("workbook", metavar="WORKBOOK", help="the CDC CDSi test-case workbook (.xlsx)")
    checking.add_argument("ruleset", metavar="RULESET", help="ruleset file or bundled ruleset name")
    checking.add_argument("--groups", metavar="DTAP,POL,...",
                          help="only these CDC groups (default: every mapped group the ruleset has)")
    checking.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    checking.add_argument("--threshold", metavar="FILE", help="JSON floors; exit 1 when a figure is below its floor")
    checking.add_argument("--sheet", default=SHEET, help=f"the sheet to read (default: '{SHEET}')")
    checking.set_defaults(cdsi_run=run_check)


def run(args) -> int:
    return args.cdsi_run(args)


def run_import(args) -> int:
    ruleset = load_checked(args.ruleset).ruleset
    workbook = read_workbook(args.workbook, args.sheet)
    for problem in workbook.problems:
        print(f"{args.workbook}: {problem} (skipped)", file=sys.stderr)
    if args.strict and workbook.problems:
        print(f"nothing written to {args.out}: {len(workbook.problems)} bad row(s) and --strict", file=sys.stderr)
        return 1
    report = write_fixtures(workbook, args.out, ruleset)
    for path, count in report.files:
        print(f"{path}: {count} case(s)")
    left_out = [item for item in report.left_out if not item.written]
    for item in left_out:
        print(f"{item.case.test_id}: dose {item.dose.date} CVX {item.dose.cvx} left out: {item.why}", file=sys.stderr)
    print(report.summary())
    return 0


def run_check(args) -> int:
    groups = conformance.parse_groups(args.groups)
    threshold = conformance.read_threshold(args.threshold) if args.threshold else None
    if _is_workbook(args.ruleset) and not _is_workbook(args.workbook):
        raise VaxError(f"{args.ruleset} is a workbook: the workbook comes first, "
                       f"as in `vaxdsl cdsi check {args.ruleset} {args.workbook}`")
    loaded = load_checked(args.ruleset)
    workbook = read_workbook(args.workbook, args.sheet)
    report = conformance.run_check(loaded.ruleset, workbook, groups)
    shortfalls, notes = (conformance.check_threshold(report, threshold) if threshold is not None else (None, ()))
    if args.format == "json":
        print(json.dumps(conformance.render_json(report, shortfalls, notes, args.threshold), indent=2))
    else:
        print(conformance.render_text(report, shortfalls, notes))
    return 1 if shortfalls else 0


def _is_workbook(argument: str) -> bool:
    return Path(argument).suffix.lower() in (".xlsx", ".xlsm")
