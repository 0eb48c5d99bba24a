"""docs/fixtures.md: every ```toml example is a complete fixture file that reads cleanly and passes
(or fails as marked) against the bundled Minnesota ruleset."""

import re
from pathlib import Path

import pytest

from vaxdsl.commands._common import load_checked
from vaxdsl.fixtures import read_fixture_text
from vaxdsl.qa.runner import run_cases

DOC = Path(__file__).resolve().parents[1] / "docs" / "fixtures.md"
EXAMPLES = re.findall(r"^```toml\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.S | re.M)


@pytest.fixture(scope="module")
def minnesota():
    return load_checked("minnesota").ruleset


def test_there_are_examples():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("number", range(len(EXAMPLES)))
def test_example_reads_and_passes(number, minnesota):
    fixture = read_fixture_text(EXAMPLES[number], f"docs/fixtures.md example {number + 1}")
    assert fixture.errors == ()
    report = run_cases(minnesota, fixture.cases)
    assert [r.outcome for r in report.results if not r.ok] == [], [
        (r.case.name, [m.text() for m in r.mismatches], r.errors) for r in report.results if not r.ok]
