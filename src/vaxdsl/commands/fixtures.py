"""Generate fixture cases from a ruleset.

`boundaries` writes, for each vaccine group, a fixture file (DIR/<group>.toml) of students at every
age and interval threshold the ruleset mentions: the series' min age, max age and min interval of
each dose, and the `age ...`, `dose k at age ...`, `... doses at age ...`, `interval ...` and
`since ...` tests of the group's `applies` and rules. Each threshold gets three students: just
outside and just inside its edge (the written grace and the rule's tolerance included) and at its
nominal value, e.g. doses at 12 months - 5 days, 12 months - 4 days and 12 months for
`min age 12 months - 4 days`. The doses before the tested one follow the earliest valid schedule.

The cases have no expectations: record what the ruleset says about them with `vaxdsl snapshot
record`, and check later changes with `vaxdsl snapshot check`. Every case has the effective date
--as-of (default 2025-09-02, fixed so that the output never depends on the day it is run); the same
ruleset and date give the same files, byte for byte. Existing files of the same names in DIR are
replaced; other files are left alone.

example:
  vaxdsl fixtures boundaries minnesota --out boundaries/
  vaxdsl snapshot record minnesota boundaries/
  vaxdsl fixtures boundaries district.vax --out district-boundaries/ --as-of 2026-09-08
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ..errors import VaxError
from ..qa import boundaries
from ._common import load_checked

NAME = "fixtures"
HELP = "generate fixture cases (boundaries: students at every age and interval threshold)"


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise VaxError(f"--as-of {text!r} is not a date (write YYYY-MM-DD)") from None


def configure(parser):
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub = actions.add_parser("boundaries", help="students at every age and interval threshold of a ruleset",
                             description="Write one fixture file per vaccine group of students at every age "
                                         "and interval threshold of RULESET (see `vaxdsl fixtures --help`).")
    sub.add_argument("ruleset", metavar="RULESET", help="ruleset file or bundled ruleset name")
    sub.add_argument("--out", metavar="DIR", type=Path, required=True, help="directory to write the fixture files to")
    sub.add_argument("--as-of", metavar="DATE", type=str, default=boundaries.DEFAULT_AS_OF.isoformat(),
                     help=f"the effective date of every case (default {boundaries.DEFAULT_AS_OF.isoformat()})")


def run(args) -> int:
    as_of = _date(args.as_of)
    loaded = load_checked(args.ruleset)
    files = boundaries.generate(loaded.ruleset, as_of)
    if not files:
        raise VaxError(f"{args.ruleset}: the ruleset mentions no age or interval threshold: nothing to write")
    if args.out.exists() and not args.out.is_dir():
        raise VaxError(f"--out {args.out}: not a directory")
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, text in files.items():
        path = args.out / name
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        cases = text.count("\n[[case]]\n")
        total += cases
        print(f"wrote {path}: {cases} case(s)")
    print(f"{total} case(s) in {len(files)} file(s), effective date {as_of.isoformat()}")
    return 0
