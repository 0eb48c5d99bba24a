"""Show which rules of a ruleset the fixture cases exercise.

Runs every case of the fixtures (files, or directories searched for *.toml) with the reference
interpreter and counts, per vaccine group and rule in table order, how many cases that rule
decided. Rules never hit are listed. With --asserted a case counts only for the groups it has
expectations for, so a rule is hit only when some case checks the outcome it gives.

The percentage is of the rules that can fire: a rule whose active window ends before it starts, or
that the checker warns can never be active (W201) or is unreachable (W203), is shown but left out.
Cases count whether they pass or fail (use `vaxdsl test` for that).

Exit status: 0; 1 with --fail-under PCT when the coverage is below PCT, or when a fixture file
cannot be read; 2 when the ruleset or a path does not exist or no fixture file is found.

--format json prints {"ruleset", "cases", "files", "asserted_only", "groups": [{"vaccine",
"rules": [{"rule", "outcome", "line", "hits", "fireable", "never_fires"}], "decided_without_rule"}],
"never_hit", "fireable_rules", "hit_rules", "percent", "fail_under", "ok"}.

example:
  vaxdsl coverage minnesota tests/fixtures/minnesota
  vaxdsl coverage minnesota tests/fixtures/minnesota --asserted --fail-under 100
  vaxdsl coverage rulesets/example-district.vax cases/ --format json
"""

from __future__ import annotations

import argparse
import json
import sys

from ..checker import check
from ..errors import VaxError
from ..fixtures import load_fixtures
from ..qa.coverage import measure, render_text
from ..qa.runner import run_cases
from ._common import load_checked

NAME = "coverage"
HELP = "count which rules the fixture cases make fire"


def _percent(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a percentage") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 100")
    return value


def configure(parser):
    parser.add_argument("ruleset", metavar="RULESET", help="ruleset file or bundled ruleset name")
    parser.add_argument("paths", nargs="+", metavar="FIXTURE_PATH", help="fixture file or directory of *.toml files")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.add_argument("--fail-under", type=_percent, metavar="PCT",
                        help="exit 1 when less than PCT percent of the rules that can fire are hit")
    parser.add_argument("--asserted", action="store_true",
                        help="count a case only for the vaccine groups it has expectations for")


def run(args) -> int:
    loaded = load_checked(args.ruleset)
    cases, errors, files = load_fixtures(args.paths)
    if not files:
        raise VaxError(f"no *.toml fixture files in {', '.join(map(str, args.paths))}")
    for error in errors:
        print(f"vaxdsl: fixture problem: {error}", file=sys.stderr)
    report = run_cases(loaded.ruleset, cases, explain=lambda *a: "", files=files)
    for result in report.results:
        if result.outcome == "error":
            print(f"vaxdsl: case not run: {result.case.where}: {result.case.name}: {'; '.join(result.errors)}",
                  file=sys.stderr)
    checked = [{e.vaccine for e in r.case.expect} for r in report.results] if args.asserted else None
    coverage = measure(loaded.ruleset, [r.evaluation for r in report.results], check(loaded), files, checked)
    if args.format == "json":
        print(json.dumps(coverage.as_json(loaded.ruleset, args.fail_under), indent=2))
    else:
        print(render_text(coverage, loaded.ruleset, args.fail_under))
    below = args.fail_under is not None and coverage.percent < args.fail_under
    return 1 if below or errors else 0
