"""The bundled rulesets pass the checker; the only warnings are the two windows seed 003 keeps verbatim."""

import pytest

from vaxdsl.checker import check
from vaxdsl.loader import load
from vaxdsl.resources import bundled_rulesets

SEED_WINDOWS = {"Grade 9-12 3 doses Compliant", "Grades 12 3 doses Compliant"}


@pytest.mark.parametrize("name", sorted(bundled_rulesets()))
def test_bundled_ruleset_checks_clean(name):
    diagnostics = check(load(name))
    assert [d.headline() for d in diagnostics if d.code != "W201"] == []
    never_active = {d.message.split("'")[1] for d in diagnostics}
    assert never_active <= SEED_WINDOWS


def test_minnesota_inverted_windows_are_warnings():
    if "minnesota" not in bundled_rulesets():
        pytest.skip("no bundled minnesota ruleset")
    diagnostics = check(load("minnesota"))
    assert {d.message.split("'")[1] for d in diagnostics if d.code == "W201"} == SEED_WINDOWS
    assert not any(d.is_error for d in diagnostics)
