"""Predicates as a whole: known names and arities, calls from rules and series, stratification, use.

>>> from vaxdsl.loader import load_text
>>> from vaxdsl.checker.context import Context
>>> ctx = Context(load_text('''
... predicate odd(S) :- student(S), not even(S).
... predicate even(S) :- student(S), not odd(S).
... vaccine V { rule "r" => compliant when odd(student) }
... '''))
>>> check_predicates(ctx, Signatures(ctx)); [(d.code, d.line) for d in ctx.diagnostics]
[('E231', 2), ('E231', 3)]
"""

from __future__ import annotations

from .. import ast
from ..graphs import component_of
from .context import BUILTIN_TYPES, TYPE_WORDS, Context, did_you_mean
from .signatures import Signatures
from ..walk import atoms, conditions, literal_atoms

SERIES_RELATIONS = ("valid", "invalid")


def check_predicates(ctx: Context, sigs: Signatures) -> None:
    _check_clause_heads(ctx, sigs)
    for clause in ctx.ruleset.predicates:
        for atom in literal_atoms(clause.body):
            _check_relation(ctx, sigs, atom.predicate, len(atom.args), atom.span)
    roots: list[str] = []
    for vaccine in ctx.ruleset.vaccines:
        for condition, _rule in conditions(vaccine):
            for atom in atoms(condition):
                if isinstance(atom, ast.Call):
                    roots.append(atom.name)
                    _check_call(ctx, sigs, atom, reject=False)
        for reject in vaccine.predicate_rejects:
            roots.append(reject.call.name)
            _check_call(ctx, sigs, reject.call, reject=True)
            _check_reject_dependencies(ctx, sigs, reject)
    _check_strata(ctx, sigs)
    _check_unused(ctx, sigs, roots)


def _check_clause_heads(ctx: Context, sigs: Signatures) -> None:
    for clause in ctx.ruleset.predicates:
        if clause.name in BUILTIN_TYPES:
            ctx.error(clause.span, "E235", f"'{clause.name}' is a built-in relation; a predicate cannot define it")
        elif len(clause.params) != sigs.arity[clause.name]:
            first = sigs.clauses[clause.name][0]
            ctx.error(clause.span, "E211", f"'{clause.name}' takes {_args(sigs.arity[clause.name])} in its clause on "
                                           f"line {first.span.line}, but {len(clause.params)} here")


def _check_relation(ctx: Context, sigs: Signatures, name: str, count: int, span: ast.Span) -> bool:
    if name not in sigs.arity:
        ctx.error(span, "E210", f"unknown predicate '{name}'{did_you_mean(name, sigs.arity)}")
        return False
    if sigs.arity[name] != count:
        ctx.error(span, "E211", f"'{name}' takes {_args(sigs.arity[name])}, not {count}")
        return False
    return True


def _args(count: int) -> str:
    return f"{count} argument{'s' if count != 1 else ''}"


def _check_call(ctx: Context, sigs: Signatures, call: ast.Call, reject: bool) -> None:
    """A call passes ``student`` at the student positions, ``dose`` (series only) at dose positions, constants elsewhere."""
    if not _check_relation(ctx, sigs, call.name, len(call.args), call.span):
        return
    kinds = sigs.position_types(call.name, len(call.args))
    for index, (arg, expected) in enumerate(zip(call.args, kinds), start=1):
        where = getattr(arg, "span", call.span)
        wanted = " or ".join(sorted(TYPE_WORDS[k] for k in expected))
        if isinstance(arg, ast.Student):
            if expected and "student" not in expected:
                ctx.error(where, "E224", f"argument {index} of '{call.name}' is {wanted}, not the student")
        elif "student" in expected:
            ctx.error(where, "E224", f"argument {index} of '{call.name}' is the student: pass 'student'")
        elif isinstance(arg, ast.CurrentDose):
            if not reject:
                ctx.error(where, "E224", "'dose' (the dose being evaluated) can only be passed from a series 'reject'")
            elif expected and "dose" not in expected:
                ctx.error(where, "E224", f"argument {index} of '{call.name}' is {wanted}, not a dose")
        elif isinstance(arg, ast.Name):
            declared = ctx.constants.get(arg.name)
            if declared is None:
                ctx.error(where, "E224", f"'{arg.name}' is not a declared product, vaccine group, exemption kind or "
                                         f"reason{did_you_mean(arg.name, ctx.constants)}")
            elif expected and not declared & expected:
                ctx.error(where, "E224", f"argument {index} of '{call.name}' is {wanted}; "
                                         f"'{arg.name}' is {_kind_words(declared)}")
    if reject:
        passed = {type(arg) for arg in call.args}
        for needed, word in ((ast.Student, "student"), (ast.CurrentDose, "dose")):
            if needed not in passed:
                ctx.error(call.span, "E224", f"a series 'reject' must pass '{word}' to '{call.name}'")


def _kind_words(kinds: set[str]) -> str:
    return " and ".join(sorted(TYPE_WORDS[k] for k in kinds))


def _check_reject_dependencies(ctx: Context, sigs: Signatures, reject: ast.Reject) -> None:
    used = sigs.reachable([reject.call.name])
    for relation in SERIES_RELATIONS:
        if relation in used:
            ctx.error(reject.call.span, "E232",
                      f"'{reject.call.name}' depends on '{relation}', which is computed by this very series walk: "
                      f"a 'reject' predicate may use dose, birth, live, counts, ... but not valid/invalid")
            return


def _check_strata(ctx: Context, sigs: Signatures) -> None:
    component = component_of({name: [a.predicate for a, _ in edges] for name, edges in sigs.dependencies.items()})
    for clause in ctx.ruleset.predicates:
        if clause.name not in sigs.clauses:
            continue
        for literal in clause.body:
            guarded = literal.negated if isinstance(literal, ast.Atom) else isinstance(literal, ast.CountAggregate)
            if not guarded:
                continue
            for atom in literal_atoms([literal]):
                if component.get(atom.predicate, atom.predicate) == component[clause.name]:
                    how = "'not'" if isinstance(literal, ast.Atom) else "'count'"
                    ctx.error(literal.span, "E231",
                              f"'{clause.name}' depends on itself through {how} (via '{atom.predicate}'): "
                              f"negation and counting must refer to predicates defined without them")
                    break


def _check_unused(ctx: Context, sigs: Signatures, roots: list[str]) -> None:
    used = sigs.reachable(roots)
    for name, clauses in sigs.clauses.items():
        if name not in used:
            ctx.warning(clauses[0].span, "W301",
                        f"predicate '{name}' is never used by a rule, an 'applies', a 'reject' or a used predicate")
