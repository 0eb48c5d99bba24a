"""Where the grammar and the bundled rulesets live, installed or in a source checkout.

A wheel carries them inside the package (``vaxdsl/grammar``, ``vaxdsl/rulesets``); a checkout
keeps them at the top level beside ``src/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent.parent


def _first_existing(name: str) -> Path:
    for candidate in (_PACKAGE / name, _CHECKOUT / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"vaxdsl cannot find its {name}/ folder (looked in {_PACKAGE} and {_CHECKOUT})")


def grammar_path() -> Path:
    return _first_existing("grammar") / "vax.lark"


def rulesets_dir() -> Path:
    return _first_existing("rulesets")


def bundled_rulesets() -> dict[str, Path]:
    """Bundled rulesets by name: ``minnesota`` -> ``.../rulesets/minnesota.vax``."""
    return {path.stem: path for path in sorted(rulesets_dir().glob("*.vax"))}
