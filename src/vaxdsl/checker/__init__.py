"""Semantic checks over a loaded ruleset: errors and warnings, each with a position.

>>> from vaxdsl.loader import load_text
>>> [d.code for d in check(load_text('vaccine X "X" { rule "a" => compliant }'))]
[]
"""

from __future__ import annotations

from ..errors import Diagnostic
from ..loader import Loaded


def check(loaded: Loaded) -> list[Diagnostic]:
    """Every diagnostic for the ruleset, sorted by file and position."""
    return sorted(loaded.diagnostics)
