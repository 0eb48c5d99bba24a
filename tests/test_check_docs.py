"""docs/checks.md lists exactly the codes the checker, the loader and the parser can report."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def documented():
    return set(re.findall(r"^\| `([EW]\d{3})`", (ROOT / "docs" / "checks.md").read_text(encoding="utf-8"), re.M))


def emitted():
    files = [*(ROOT / "src" / "vaxdsl" / "checker").glob("*.py"), ROOT / "src" / "vaxdsl" / "loader.py",
             ROOT / "src" / "vaxdsl" / "parser.py"]
    return {code for path in files for code in re.findall(r'"([EW]\d{3})"', path.read_text(encoding="utf-8"))}


def test_every_code_is_documented_and_every_documented_code_is_used():
    assert emitted() == documented()


def test_warnings_and_errors_are_named_by_their_letter():
    table = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    for code, severity in re.findall(r"^\| `([EW]\d{3})` \| (\w+) \|", table, re.M):
        assert severity == {"E": "error", "W": "warning"}[code[0]], code
