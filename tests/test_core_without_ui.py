"""The core (parser, checker, engine, store, CLI) never imports the console."""

import ast
import subprocess
import sys
from pathlib import Path

import vaxdsl

SRC = Path(vaxdsl.__file__).parent
UI_PACKAGES = {"textual", "tui", "rich"}


def test_no_core_module_imports_the_ui():
    offenders = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(SRC)}: {name}" for name in names if name.split(".")[0] in UI_PACKAGES]
    assert offenders == []


def test_core_runs_with_the_ui_unimportable(tmp_path):
    # Blocking the UI packages in sys.modules makes any import of them fail.
    script = f"""
import sys
for name in {sorted(UI_PACKAGES)!r}:
    sys.modules[name] = None
import importlib, pkgutil, vaxdsl
for info in pkgutil.walk_packages(vaxdsl.__path__, "vaxdsl."):
    importlib.import_module(info.name)
from vaxdsl.cli import main
sys.exit(main(["show", "minnesota", "--format", "json"]))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"vaccines"' in result.stdout
