"""A plain (non-editable) install of the wheel gives a `vaxdsl` that finds its grammar and rulesets."""

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)],
        check=True,
    )
    [built] = out.glob("vaxdsl-*.whl")
    return built


def test_wheel_carries_grammar_and_rulesets(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "vaxdsl/grammar/vax.lark" in names
    assert "vaxdsl/rulesets/minnesota.vax" in names


def test_installed_command_works_outside_the_checkout(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    subprocess.run([bin_dir / "python", "-m", "pip", "install", "--quiet", str(wheel)], check=True)
    result = subprocess.run(
        [bin_dir / "vaxdsl", "show", "minnesota", "--format", "json"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["ruleset"]["jurisdiction"] == "MN"
    assert len(shown["vaccines"]) == 10
    installed = subprocess.run(
        [bin_dir / "python", "-c", "import vaxdsl.resources as r; print(r.grammar_path())"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout
    assert str(env_dir) in installed, "the grammar must come from the installed package, not the checkout"
