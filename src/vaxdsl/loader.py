"""Files -> one resolved ruleset: reads a file, follows ``extends`` and merges the layers.

A district file ``extends "minnesota"`` and adds to it: new products, predicates and vaccine groups,
and, through ``extend vaccine X { ... }``, local rules placed ``before``/``after`` a state rule (or at
the end). A locked group takes no local rules. The merged tree keeps every node's span, so a
diagnostic still points into the file the node came from.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from . import ast
from .errors import Diagnostic, DiagnosticsError, RulesetNotFound
from .filekinds import NotText, read_utf8
from .parser import parse
from .resources import bundled_rulesets


@attrs.frozen
class Loaded:
    ruleset: ast.Ruleset  # merged
    sources: dict[str, str]  # file -> text, for rendering diagnostics
    layers: tuple[ast.Ruleset, ...]  # base first; the last is the file asked for
    diagnostics: tuple[Diagnostic, ...] = ()


def resolve(reference: str, relative_to: Path | None = None) -> Path:
    """A path, a path relative to the extending file, or the name of a bundled ruleset."""
    candidates = [Path(reference)]
    if relative_to is not None:
        candidates.insert(0, relative_to.parent / reference)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    bundled = bundled_rulesets()
    if reference in bundled:
        return bundled[reference]
    names = ", ".join(sorted(bundled))
    raise RulesetNotFound(f"no ruleset file or bundled ruleset named '{reference}' (bundled: {names})")


def read_source(path: Path) -> str:
    try:
        return read_utf8(path, "a ruleset (rulesets are UTF-8 text)")
    except NotText as error:
        raise RulesetNotFound(f"{path}: {error}") from None


def load(reference: str | Path) -> Loaded:
    """Parse ``reference`` and everything it extends; raise on syntax errors or an ``extends`` cycle."""
    path = resolve(str(reference))
    layers: list[ast.Ruleset] = []
    sources: dict[str, str] = {}
    seen: set[Path] = set()
    while True:
        if path.resolve() in seen:
            raise RulesetNotFound(f"{path}: 'extends' goes round in a circle")
        seen.add(path.resolve())
        text = read_source(path)
        sources[str(path)] = text
        try:
            layer = parse(text, str(path))
        except DiagnosticsError as error:
            error.sources.update(sources)
            raise
        layers.insert(0, layer)
        if layer.extends is None:
            break
        try:
            path = resolve(layer.extends.target, path)
        except RulesetNotFound as error:
            span = layer.extends.span
            raise DiagnosticsError(
                [Diagnostic(str(path), span.line, span.column, "error", "E203", str(error))], sources
            ) from None
    merged, diagnostics = merge(layers)
    return Loaded(merged, sources, tuple(layers), tuple(diagnostics))


def load_text(text: str, file: str = "<string>") -> Loaded:
    """Like :func:`load` for text in hand; its ``extends`` may name bundled rulesets or paths."""
    layer = parse(text, file)
    if layer.extends is None:
        merged, diagnostics = merge([layer])
        return Loaded(merged, {file: text}, (layer,), tuple(diagnostics))
    base = load(resolve(layer.extends.target))
    merged, diagnostics = merge([*base.layers, layer])
    return Loaded(merged, {**base.sources, file: text}, (*base.layers, layer), tuple(diagnostics))


def merge(layers: list[ast.Ruleset]) -> tuple[ast.Ruleset, list[Diagnostic]]:
    """Fold the layers, base first, into one ruleset."""
    diagnostics: list[Diagnostic] = []
    items: list[object] = []
    vaccine_index: dict[str, int] = {}
    for depth, layer in enumerate(layers):
        for item in layer.items:
            if isinstance(item, ast.Extends):
                continue
            if isinstance(item, (ast.Header, ast.Settings)) and depth > 0:
                # Replace in place: positions in vaccine_index must not move.
                same = [index for index, existing in enumerate(items) if isinstance(existing, type(item))]
                if same:
                    items[same[0]] = item
                else:
                    items.append(item)
                continue
            if isinstance(item, ast.Vaccine) and item.extends_existing:
                if item.id not in vaccine_index:
                    diagnostics.append(_at(item.span, "E201", f"'extend vaccine {item.id}': no such vaccine group"))
                    continue
                position = vaccine_index[item.id]
                items[position] = _extend(items[position], item, diagnostics)
                continue
            if isinstance(item, ast.Vaccine):
                vaccine_index[item.id] = len(items)
            items.append(item)
    top = layers[-1]
    return ast.Ruleset(tuple(items), file=top.file, source=top.source), diagnostics


def _extend(base: ast.Vaccine, extension: ast.Vaccine, diagnostics: list[Diagnostic]) -> ast.Vaccine:
    if base.locked:
        diagnostics.append(_at(extension.span, "E301",
                               f"vaccine group '{base.id}' is locked by the state: local rules cannot change it"))
        return base
    rules = list(base.rules)
    for rule in extension.rules:
        names = [existing.name for existing in rules]
        if rule.placement is None:
            rules.append(rule)
        elif rule.placement.rule not in names:
            diagnostics.append(_at(rule.placement.span, "E204",
                                   f"rule '{rule.placement.rule}' is not in vaccine group '{base.id}'"))
            rules.append(rule)
        else:
            index = names.index(rule.placement.rule) + (rule.placement.where == "after")
            rules.insert(index, rule)
    changes = {"rules": tuple(rules)}
    for field in ("applies", "otherwise"):
        if getattr(extension, field) is not None:
            changes[field] = getattr(extension, field)
    if extension.series or extension.antigens:  # a district's series (or antigens) replace the state's
        changes["series"] = extension.series
        changes["antigens"] = extension.antigens
    if extension.exemption_outcomes:
        changes["exemption_outcomes"] = base.exemption_outcomes + extension.exemption_outcomes
    return attrs.evolve(base, **changes)


def _at(span: ast.Span, code: str, message: str) -> Diagnostic:
    return Diagnostic(span.file, span.line, span.column, "error", code, message)
