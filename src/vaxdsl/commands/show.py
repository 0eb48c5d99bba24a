"""Show a ruleset's rule tables as the vendor lists them.

For each vaccine group, in order: the rules with their outcome, tolerance in days and active
dates. ``--format json`` prints
{"ruleset": {...}, "vaccines": [{"id", "name", "locked", "rules": [{"name", "outcome",
"tolerance_days", "active_start", "active_end", "line"}]}]}.

example:
  vaxdsl show minnesota
  vaxdsl show rulesets/example-district.vax --format json
"""

from __future__ import annotations

import json

from .. import ast
from ._common import load_checked

NAME = "show"
HELP = "list the rule tables of a ruleset"


def configure(parser):
    parser.add_argument("ruleset", metavar="RULESET", help="ruleset file or bundled ruleset name")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")


def tables(ruleset: ast.Ruleset) -> dict:
    header = ruleset.header or ast.Header(name="")
    default_tolerance = ruleset.settings.tolerance_days
    return {
        "ruleset": {
            "name": header.name,
            "jurisdiction": header.jurisdiction,
            "version": header.version,
            "file": ruleset.file,
            "default_tolerance_days": default_tolerance,
        },
        "vaccines": [
            {
                "id": vaccine.id,
                "name": vaccine.name,
                "locked": vaccine.locked,
                "rules": [
                    {
                        "name": rule.name,
                        "outcome": rule.outcome,
                        "tolerance_days": rule.tolerance_days if rule.tolerance_days is not None else default_tolerance,
                        "active_start": rule.active_start.isoformat() if rule.active_start else None,
                        "active_end": rule.active_end.isoformat() if rule.active_end else None,
                        "line": rule.span.line,
                        "file": rule.span.file,
                    }
                    for rule in vaccine.rules
                ],
            }
            for vaccine in ruleset.vaccines
        ],
    }


def render_table(data: dict) -> str:
    meta = data["ruleset"]
    title = meta["name"] or meta["file"]
    details = ", ".join(part for part in (meta["jurisdiction"], meta["version"] and f"version {meta['version']}") if part)
    lines = [f"{title} ({details})" if details else title]
    for vaccine in data["vaccines"]:
        lock = "  [locked]" if vaccine["locked"] else ""
        lines += ["", f"{vaccine['name'] or vaccine['id']} ({vaccine['id']}){lock}"]
        rows = [("Rule", "Outcome", "Tolerance", "Active start", "Active end")]
        for rule in vaccine["rules"]:
            rows.append((
                rule["name"],
                ast.OUTCOME_DISPLAY.get(rule["outcome"], rule["outcome"]),
                "" if rule["tolerance_days"] is None else f"{rule['tolerance_days']} days",
                rule["active_start"] or "",
                rule["active_end"] or "",
            ))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for index, row in enumerate(rows):
            lines.append("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
            if index == 0:
                lines.append("  " + "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def run(args) -> int:
    loaded = load_checked(args.ruleset)
    data = tables(loaded.ruleset)
    print(json.dumps(data, indent=2) if args.format == "json" else render_table(data))
    return 0
