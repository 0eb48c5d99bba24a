"""Semantic checks over a loaded ruleset: errors and warnings, each with a position.

Each pass is a small module; ``docs/checks.md`` lists every code. For a file that ``extends``
another, problems that the base has on its own are left out: they belong to the base's author.
What the extension causes in the base (a local rule that shadows a state rule) is still reported.

>>> from vaxdsl.loader import load_text
>>> [d.code for d in check(load_text('vaccine X "X" { rule "a" => compliant }'))]
[]
>>> [d.code for d in check(load_text('vaccine X "X" { rule "a" => compliant when grade in KG  otherwise non_compliant }'))]
['E205']
"""

from __future__ import annotations

from ..errors import Diagnostic
from ..loader import Loaded, merge
from .context import Context
from .datalog import check_clauses
from .grades import check_grades
from .names import check_names
from .predicates import check_predicates
from .series import check_series
from .shadowing import check_shadowing
from .signatures import Signatures
from .tables import check_tables


def check(loaded: Loaded) -> list[Diagnostic]:
    """Every diagnostic for the ruleset, sorted by file and position."""
    found = set(_check_merged(loaded)) | set(loaded.diagnostics)
    if len(loaded.layers) > 1:
        base_ruleset, base_diagnostics = merge(list(loaded.layers[:-1]))
        base = Loaded(base_ruleset, loaded.sources, loaded.layers[:-1], tuple(base_diagnostics))
        found -= set(_check_merged(base)) | set(base.diagnostics)
    return sorted(found)


def _check_merged(loaded: Loaded) -> list[Diagnostic]:
    ctx = Context(loaded)
    check_names(ctx)
    check_grades(ctx)
    check_tables(ctx)
    check_series(ctx)
    check_shadowing(ctx)
    signatures = Signatures(ctx)
    check_predicates(ctx, signatures)
    check_clauses(ctx, signatures)
    return ctx.diagnostics
