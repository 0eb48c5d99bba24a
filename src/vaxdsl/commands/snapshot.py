"""Record the outcomes of fixture cases in a text file, and check later that they have not changed.

`record` runs every case of FIXTURE_PATH (files, or directories searched for *.toml) with the
reference interpreter and writes a snapshot: a header (format version, ruleset name and version),
then one sorted line per case and vaccine group and one per dose, e.g.

  dtap.toml | KG, 5 doses | DTaP | compliant | KG, 5 shots Compliant | valid_doses=5
  dtap.toml | KG, 5 doses | DTaP | dose 2019-07-10 (2 months) cvx 20 DTaP_pediatric | valid, dose 1

Expectations in the cases are ignored: a snapshot freezes what the ruleset says, so that a changed
outcome shows as a changed line. `check` computes the lines again and compares (the header is not
compared, except its format version). The format is in docs/snapshots.md.

The snapshot file is --snapshot FILE, or by default DIR/.vaxdsl-snapshot.txt when FIXTURE_PATH is
a single directory.

Exit status: record: 0 when written, 1 when a fixture file cannot be read (nothing is written).
check: 0 when every line is unchanged (a one-line summary), 1 when lines changed (printed as a
unified diff, "-" recorded, "+" now) or a fixture file cannot be read; 2 when the snapshot file,
the ruleset or a path does not exist.

example:
  vaxdsl snapshot record minnesota tests/fixtures/minnesota
  vaxdsl snapshot check minnesota tests/fixtures/minnesota
  vaxdsl snapshot record district.vax cases/ more.toml --snapshot district.snapshot.txt
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import VaxError
from ..qa import snapshot
from ._common import load_checked

NAME = "snapshot"
HELP = "record fixture outcomes in a text snapshot, or check them against one"


def configure(parser):
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, help_text in (("record", "write the snapshot file"),
                              ("check", "compare with the snapshot file; exit 1 and print a diff if any line changed")):
        sub = actions.add_parser(action, help=help_text, description=help_text)
        sub.add_argument("ruleset", metavar="RULESET", help="ruleset file or bundled ruleset name")
        sub.add_argument("paths", nargs="+", metavar="FIXTURE_PATH", help="fixture file or directory of *.toml files")
        sub.add_argument("--snapshot", metavar="FILE", type=Path,
                         help=f"the snapshot file (default: DIR/{snapshot.DEFAULT_NAME} for a single fixture directory)")


def _compute(args):
    loaded = load_checked(args.ruleset)
    target = args.snapshot or snapshot.default_path(args.paths)
    labelled = snapshot.load_labelled(args.paths)
    if not labelled.files:
        raise VaxError(f"no *.toml fixture files in {', '.join(map(str, args.paths))}")
    for error in labelled.errors:
        print(f"ERROR {error}", file=sys.stderr)
    lines = snapshot.snapshot_lines(loaded.ruleset, labelled.cases)
    return loaded.ruleset, target, labelled, lines


def run(args) -> int:
    ruleset, target, labelled, lines = _compute(args)
    if args.action == "record":
        if labelled.errors:
            print(f"vaxdsl: {len(labelled.errors)} fixture problem(s): snapshot not written", file=sys.stderr)
            return 1
        text = snapshot.render(ruleset, lines, len(labelled.cases), labelled.files)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        print(f"wrote {target}: {len(lines)} line(s) for {len(labelled.cases)} case(s) in {labelled.files} file(s)")
        return 0

    if not target.is_file():
        raise VaxError(f"{target}: no snapshot file; record one first with "
                       f"`vaxdsl snapshot record {args.ruleset} {' '.join(map(str, args.paths))}"
                       + (f" --snapshot {args.snapshot}`" if args.snapshot else "`"))
    comparison = snapshot.compare(target.read_text(encoding="utf-8"), lines, str(target))
    title = snapshot.ruleset_title(ruleset)
    if comparison.recorded.ruleset and comparison.recorded.ruleset != title:
        print(f"note: the snapshot was recorded with {comparison.recorded.ruleset}; checking with {title}")
    if comparison.unchanged:
        print(f"{target}: unchanged: {len(lines)} line(s) for {len(labelled.cases)} case(s) in {labelled.files} file(s)")
        return 1 if labelled.errors else 0
    for line in comparison.diff(f"{target} (recorded)", "now"):
        print(line)
    removed, added = comparison.counts()
    print(f"{target}: changed: {removed} line(s) recorded differ from {added} line(s) now "
          f"({len(labelled.cases)} case(s) in {labelled.files} file(s)); if the change is intended, "
          f"record again with `vaxdsl snapshot record`")
    return 1
