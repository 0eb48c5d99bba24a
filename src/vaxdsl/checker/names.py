"""Names that must be declared (groups, products, outcomes, exemption kinds, reasons), and duplicates.

>>> from vaxdsl.loader import load_text
>>> from vaxdsl.checker.context import Context
>>> ctx = Context(load_text('vaccine V { rule "r" => complaint }'))
>>> check_names(ctx); [(d.code, d.message) for d in ctx.diagnostics]
[('E207', "unknown outcome 'complaint'; did you mean 'compliant'?")]
"""

from __future__ import annotations

from .. import ast
from .context import Context, did_you_mean
from ..walk import atoms, conditions


def check_names(ctx: Context) -> None:
    _check_products(ctx)
    _check_duplicate_ids(ctx, ctx.ruleset.vaccines, "E213", "vaccine group")
    _check_duplicate_ids(ctx, ctx.ruleset.products, "E214", "product")
    settings = ctx.ruleset.settings
    _check_exemption_outcomes(ctx, settings.exemption_outcomes)
    for vaccine in ctx.ruleset.vaccines:
        _check_vaccine(ctx, vaccine)


def _check_products(ctx: Context) -> None:
    for product in ctx.ruleset.products:
        seen = set()
        for index, vaccine in enumerate(product.vaccines):
            if vaccine in seen:
                nth = product.vaccines[:index].count(vaccine)
                ctx.warning(ctx.locate(product.span, vaccine, nth=nth, after="counts"), "W206",
                            f"product '{product.id}' lists vaccine group '{vaccine}' twice")
            elif vaccine not in ctx.vaccine_ids:
                ctx.error(ctx.locate(product.span, vaccine, after="counts"), "E201",
                          f"product '{product.id}' counts toward '{vaccine}': no such vaccine group"
                          f"{did_you_mean(vaccine, ctx.vaccine_ids)}")
            seen.add(vaccine)


def _check_duplicate_ids(ctx: Context, items, code: str, what: str) -> None:
    first: dict[str, ast.Span] = {}
    for item in items:
        if item.id in first:
            where = first[item.id]
            place = f"line {where.line}" if where.file == item.span.file else f"{where.file}:{where.line}"
            ctx.error(item.span, code, f"{what} '{item.id}' is declared twice (first at {place})")
        else:
            first[item.id] = item.span


def _check_vaccine(ctx: Context, vaccine: ast.Vaccine) -> None:
    names: dict[str, ast.Rule] = {}
    for rule in vaccine.rules:
        if rule.name in names:
            ctx.error(rule.span, "E212", f"vaccine group '{vaccine.id}' already has a rule named '{rule.name}' "
                                         f"(line {names[rule.name].span.line})")
        else:
            names[rule.name] = rule
        _check_outcome(ctx, rule.outcome, rule.outcome_span)
    if vaccine.otherwise is not None:
        _check_outcome(ctx, vaccine.otherwise, otherwise_span(ctx, vaccine))
    _check_exemption_outcomes(ctx, vaccine.exemption_outcomes)
    for condition, _rule in conditions(vaccine):
        for atom in atoms(condition):
            if isinstance(atom, ast.CountDoses):
                _check_products_of(ctx, vaccine, atom.products, atom.span, "of")
            elif isinstance(atom, ast.Exempt):
                _check_kinds(ctx, atom)
    for antigen in vaccine.antigens:
        _check_products_of(ctx, vaccine, antigen.products, antigen.span, "of")
    for series in vaccine.all_series:
        if series.only_with:
            _check_products_of(ctx, vaccine, series.only_with, series.span, "with")
        for dose in series.doses:
            for allow in dose.allows:
                _check_products_of(ctx, vaccine, allow.products, allow.span, "allow")
            for line in dose.inadvertents:
                _check_products_of(ctx, vaccine, line.products, line.span, "inadvertent")
            for skip in dose.skips:
                for atom in atoms(skip.condition):
                    if isinstance(atom, ast.CountDoses):
                        _check_products_of(ctx, vaccine, atom.products, atom.span, "of")
        for reject in series.rejects:
            if reject.reason not in ast.INVALID_REASONS:
                ctx.error(ctx.locate(reject.span, reject.reason), "E209",
                          f"unknown invalid-dose reason '{reject.reason}'{did_you_mean(reject.reason, ast.INVALID_REASONS)}"
                          f" (reasons: {', '.join(ast.INVALID_REASONS)})")


def otherwise_span(ctx: Context, vaccine: ast.Vaccine) -> ast.Span:
    """Where the group's ``otherwise`` is written: in the last layer that sets it."""
    span = vaccine.span
    for layer in ctx.loaded.layers:
        for item in layer.vaccines:
            if item.id == vaccine.id and item.otherwise is not None:
                span = item.span
    found = ctx.locate_all(span, vaccine.otherwise or "", after="otherwise")
    return found[-1] if found else span


def _check_outcome(ctx: Context, outcome: str, span: ast.Span) -> None:
    if outcome not in ast.OUTCOMES:
        ctx.error(span, "E207", f"unknown outcome '{outcome}'{did_you_mean(outcome, ast.OUTCOMES)}")


def _check_exemption_outcomes(ctx: Context, outcomes) -> None:
    seen: dict[str, ast.ExemptionOutcome] = {}
    for item in outcomes:
        if item.kind not in ast.EXEMPTION_KINDS:
            ctx.error(ctx.locate(item.span, item.kind), "E208",
                      f"unknown exemption kind '{item.kind}'{did_you_mean(item.kind, ast.EXEMPTION_KINDS)}")
        elif item.kind in seen and seen[item.kind].span.file == item.span.file:
            # across files this is a district overriding the state, which is what 'extend vaccine' is for
            ctx.warning(item.span, "W208", f"the outcome of a '{item.kind}' exemption is given twice here "
                                           f"(also on line {seen[item.kind].span.line}); the last one wins")
        seen[item.kind] = item
        _check_outcome(ctx, item.outcome, ctx.locate(item.span, item.outcome, after="=>"))


def _check_products_of(ctx: Context, vaccine: ast.Vaccine, products, span: ast.Span, keyword: str) -> None:
    counted = ctx.counted_products.get(vaccine.id, set())
    for index, product in enumerate(products):
        where = ctx.locate(span, product, nth=products[:index].count(product), after=keyword)
        if product in products[:index]:
            ctx.warning(where, "W206", f"product '{product}' is listed twice")
        elif product not in ctx.product_ids:
            ctx.error(where, "E202", f"unknown product '{product}'{did_you_mean(product, ctx.product_ids)}")
        elif product not in counted:
            ctx.warning(where, "W210", f"product '{product}' does not count toward '{vaccine.id}', "
                                       f"so no dose of it is ever seen here")


def _check_kinds(ctx: Context, atom: ast.Exempt) -> None:
    for index, kind in enumerate(atom.kinds):
        where = ctx.locate(atom.span, kind, nth=atom.kinds[:index].count(kind))
        if kind in atom.kinds[:index]:
            ctx.warning(where, "W206", f"exemption kind '{kind}' is listed twice")
        elif kind not in ast.EXEMPTION_KINDS:
            ctx.error(where, "E208", f"unknown exemption kind '{kind}'{did_you_mean(kind, ast.EXEMPTION_KINDS)}")
