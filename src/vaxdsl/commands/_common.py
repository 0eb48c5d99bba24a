"""Helpers the subcommands share."""

from __future__ import annotations

import sys

from ..checker import check
from ..errors import DiagnosticsError
from ..loader import Loaded, load


def load_checked(reference: str) -> Loaded:
    """Load a ruleset for use; errors stop here (warnings go to stderr)."""
    loaded = load(reference)
    diagnostics = check(loaded)
    errors = [d for d in diagnostics if d.is_error]
    if errors:
        raise DiagnosticsError(errors, loaded.sources)
    return loaded


def print_warnings(diagnostics, sources) -> None:
    for diagnostic in diagnostics:
        if not diagnostic.is_error:
            print(diagnostic.render(sources.get(diagnostic.file)), file=sys.stderr)
