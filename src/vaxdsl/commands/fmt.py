"""Print ruleset files in the canonical layout, comments kept.

Each file is formatted as written (an ``extends`` and its ``extend vaccine`` blocks stay; nothing is
merged): declarations in source order, two-space indentation, one rule item per line, long
conditions wrapped before ``and``/``or``, durations and dose counts spelled one way. With one file
and no option the result goes to stdout. ``--write`` rewrites the files in place, ``--check`` names
the files that are not formatted, ``--diff`` shows what would change.

Exit status: 0 when done (with ``--check``: every file already formatted); 1 with ``--check`` when
a file is not formatted, or when a file has a syntax error (reported like ``vaxdsl check`` does).

example:
  vaxdsl fmt rulesets/example-district.vax
  vaxdsl fmt --check rulesets/*.vax
  vaxdsl fmt --diff my-district.vax
  vaxdsl fmt --write my-district.vax
"""

from __future__ import annotations

import difflib
import sys

from ..errors import DiagnosticsError, VaxError
from ..formatter import format_source
from ..loader import read_source, resolve

NAME = "fmt"
HELP = "print rulesets in the canonical layout (or check / rewrite them)"


def configure(parser):
    parser.add_argument("rulesets", nargs="+", metavar="RULESET", help="ruleset file or bundled ruleset name")
    parser.add_argument("--check", action="store_true", help="exit 1 and name the files that are not formatted")
    parser.add_argument("--diff", action="store_true", help="show what formatting would change, as a unified diff")
    parser.add_argument("-w", "--write", action="store_true", help="rewrite the files in place")


def run(args) -> int:
    if args.write and (args.check or args.diff):
        raise VaxError("--write cannot be combined with --check or --diff")
    if len(args.rulesets) > 1 and not (args.write or args.check or args.diff):
        raise VaxError("several files: give --write, --check or --diff (or format one file at a time)")
    failed = False
    unformatted = []
    for reference in args.rulesets:
        path = resolve(reference)
        text = read_source(path)
        try:
            formatted = format_source(text, str(path))
        except DiagnosticsError as error:
            print(error.render(), file=sys.stderr)
            failed = True
            continue
        if not (args.write or args.check or args.diff):
            sys.stdout.write(formatted)
            continue
        if formatted == text:
            continue
        unformatted.append(path)
        if args.diff:
            sys.stdout.writelines(difflib.unified_diff(
                text.splitlines(keepends=True), formatted.splitlines(keepends=True),
                fromfile=str(path), tofile=f"{path} (formatted)",
            ))
        if args.write:
            path.write_text(formatted, encoding="utf-8")
            print(f"reformatted {path}", file=sys.stderr)
    if args.check:
        for path in unformatted:
            print(f"not formatted: {path}")
        if unformatted:
            print(f"{len(unformatted)} of {len(args.rulesets)} file(s) not formatted (run 'vaxdsl fmt --write')")
    if failed:
        return 1
    return 1 if args.check and unformatted else 0
