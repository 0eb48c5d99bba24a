"""The bundled rulesets are kept in canonical form (what `vaxdsl fmt --check` enforces)."""

from pathlib import Path

import pytest

from vaxdsl.cli import main

RULESETS = sorted((Path(__file__).resolve().parents[1] / "rulesets").glob("*.vax"))


@pytest.mark.parametrize("path", RULESETS, ids=lambda path: path.name)
def test_bundled_ruleset_is_formatted(path, capsys):
    assert main(["fmt", "--check", str(path)]) == 0, capsys.readouterr().out
