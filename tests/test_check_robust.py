"""The checker never crashes, whatever well-formed ruleset it is given, and every diagnostic has a known code."""

import re
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings

from strategies import ruleset_texts, rulesets
from vaxdsl.checker import check
from vaxdsl.errors import VaxSyntaxError
from vaxdsl.loader import Loaded, load_text, merge
from vaxdsl.parser import parse

CHECKS_DOC = Path(__file__).resolve().parents[1] / "docs" / "checks.md"
CODES = set(re.findall(r"^\| `([EW]\d{3})`", CHECKS_DOC.read_text(encoding="utf-8"), re.M))


def _check_tree(ruleset):
    merged, diagnostics = merge([ruleset])
    return check(Loaded(merged, {}, (ruleset,), tuple(diagnostics)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rulesets())
def test_checker_accepts_any_tree(ruleset):
    for diagnostic in _check_tree(ruleset):
        assert diagnostic.code in CODES, diagnostic
        assert diagnostic.severity in ("error", "warning")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ruleset_texts())
def test_checker_positions_point_into_the_text(text):
    try:
        tree = parse(text)
    except VaxSyntaxError:  # not the checker's business (and a parser bug, if it happens)
        assume(False)
    assume(tree.extends is None)
    lines = text.splitlines()
    for diagnostic in check(load_text(text, "t.vax")):
        assert 1 <= diagnostic.line <= len(lines), diagnostic
        assert 1 <= diagnostic.column <= len(lines[diagnostic.line - 1]) + 1, diagnostic
