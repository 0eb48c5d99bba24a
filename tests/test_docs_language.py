"""Every ```vax example in docs/language.md is a complete file that parses."""

import re
from pathlib import Path

import pytest

from vaxdsl.parser import parse

LANGUAGE = Path(__file__).resolve().parents[1] / "docs" / "language.md"
EXAMPLES = re.findall(r"```vax\n(.*?)```", LANGUAGE.read_text(encoding="utf-8"), re.S)


def test_the_reference_has_examples():
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_example_parses(index):
    assert parse(EXAMPLES[index], f"language.md example {index + 1}").items
