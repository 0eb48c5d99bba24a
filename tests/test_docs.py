"""Docs are part of the feature: every command has help, an example, and a section in docs/cli.md."""

import re
from pathlib import Path

import pytest

from vaxdsl.cli import build_parser, command_modules, main

DOCS = Path(__file__).resolve().parents[1] / "docs"
COMMANDS = [module.NAME for module in command_modules()]


def test_there_are_commands():
    assert {"check", "show", "fmt"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_command_has_help(name, capsys):
    with pytest.raises(SystemExit) as exited:
        main([name, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: vaxdsl {name}" in out
    assert "example:" in out, f"'vaxdsl {name} --help' shows no example"


@pytest.mark.parametrize("name", COMMANDS)
def test_command_is_documented_with_an_example(name):
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    section = re.search(rf"^## `vaxdsl {name}`\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert section, f"docs/cli.md has no section '## `vaxdsl {name}`'"
    assert f"vaxdsl {name} " in section.group(1) and "```" in section.group(1)


def test_every_documented_command_exists():
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    documented = re.findall(r"^## `vaxdsl (\w+)`", text, re.M)
    assert sorted(documented) == sorted(COMMANDS)


def test_top_level_help_lists_every_command():
    help_text = build_parser().format_help()
    for name in COMMANDS:
        assert name in help_text


def test_language_reference_covers_every_grammar_rule():
    grammar = (Path(__file__).resolve().parents[1] / "grammar" / "vax.lark").read_text(encoding="utf-8")
    keywords = set(re.findall(r'"([a-z_]+)"', grammar))
    reference = (DOCS / "language.md").read_text(encoding="utf-8")
    missing = sorted(word for word in keywords if not re.search(rf"\b{word}\b", reference))
    assert missing == [], f"docs/language.md never mentions: {missing}"
