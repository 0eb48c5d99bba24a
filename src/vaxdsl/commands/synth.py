"""Write a synthetic student population as fact files.

Writes DIR/students.csv, DIR/doses.csv and DIR/exemptions.csv for N students: a Minnesota-like
grade mix (child care with no grade, early childhood codes, KG, 01..12), birth dates that fit the
grade, and dose histories that mostly follow the ACIP schedule (with combination products), with
some late, missing and invalid doses and a few exemptions of each kind. The same --seed gives the
same files byte for byte. No dose is after --as-of (default 2026-09-08, the first day of school
2026-27). docs/facts.md describes the population and the products it uses.

example:
  vaxdsl synth --students 1000 --seed 1 --out /tmp/facts
  vaxdsl synth --students 1000000 --seed 7 --out bench/ --as-of 2025-09-02
"""

from __future__ import annotations

import time

from ..errors import VaxError
from ..synth import DEFAULT_AS_OF, synthesize
from ._common import iso_date

NAME = "synth"
HELP = "write a synthetic population of students, doses and exemptions"


def configure(parser):
    parser.add_argument("--students", type=int, required=True, metavar="N", help="number of students")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write the fact files to")
    parser.add_argument("--as-of", type=iso_date, default=DEFAULT_AS_OF, metavar="YYYY-MM-DD",
                        help=f"no dose after this date; grades are those of its school year (default: {DEFAULT_AS_OF})")


def run(args) -> int:
    if args.students < 0:
        raise VaxError("--students must be 0 or more")
    started = time.perf_counter()
    try:
        summary = synthesize(args.out, args.students, seed=args.seed, as_of=args.as_of)
    except OSError as error:
        raise VaxError(f"cannot write to {args.out}: {error.strerror or error}") from None
    seconds = time.perf_counter() - started
    print(f"wrote {summary.students:,} students, {summary.doses:,} doses, {summary.exemptions:,} exemptions "
          f"to {args.out} in {seconds:.1f} s")
    return 0
