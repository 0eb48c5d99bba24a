"""Check rulesets for mistakes before anything runs.

Reports syntax errors and semantic problems (unknown names, duplicate rules, empty or inverted
active windows, rules an earlier rule always pre-empts, groups with no default outcome, unsafe or
unstratifiable predicates, ...), each as file:line:col with the source line and a caret.

Exit status: 0 when no file has errors (warnings allowed), 1 otherwise.

example:
  vaxdsl check rulesets/minnesota.vax
  vaxdsl check --format json rulesets/minnesota.vax rulesets/example-district.vax
"""

from __future__ import annotations

import json

from ..checker import check
import sys

from ..errors import DiagnosticsError, RulesetNotFound
from ..loader import load

NAME = "check"
HELP = "report errors and warnings in rulesets"


def configure(parser):
    parser.add_argument("rulesets", nargs="+", metavar="RULESET", help="ruleset file or bundled ruleset name")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")


def run(args) -> int:
    diagnostics, sources, missing = [], {}, 0
    for reference in args.rulesets:
        try:
            loaded = load(reference)
        except RulesetNotFound as error:
            print(f"vaxdsl: error: {error}", file=sys.stderr)
            missing += 1
            continue
        except DiagnosticsError as error:
            diagnostics.extend(error.diagnostics)
            sources.update(error.sources)
            continue
        sources.update(loaded.sources)
        diagnostics.extend(check(loaded))
    diagnostics = sorted(set(diagnostics))
    if args.format == "json":
        print(json.dumps([d.as_json() for d in diagnostics], indent=2))
    else:
        for diagnostic in diagnostics:
            print(diagnostic.render(sources.get(diagnostic.file)))
        errors = sum(d.is_error for d in diagnostics)
        warnings = len(diagnostics) - errors
        unread = f", {missing} file(s) could not be read" if missing else ""
        print(f"{len(args.rulesets) - missing} file(s) checked: {errors} error(s), {warnings} warning(s){unread}")
    return 1 if missing or any(d.is_error for d in diagnostics) else 0
