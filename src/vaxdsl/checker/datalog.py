"""One clause at a time: safety, singleton variables, one student per clause, constants in place.

A name is a constant when it is a declared product, vaccine group, exemption kind or reason, and a
variable otherwise; so a misspelt constant turns silently into a variable. The singleton warning is
what catches it: a variable used once matches anything.

>>> from vaxdsl.loader import load_text
>>> from vaxdsl.checker.context import Context
>>> from vaxdsl.checker.signatures import Signatures
>>> ctx = Context(load_text('''
... vaccine HepB { rule "r" => compliant }
... predicate has_hepb(S) :- dose(S, _, _, P), counts(P, Hepb).
... '''))
>>> check_clauses(ctx, Signatures(ctx)); [(d.code, d.message) for d in ctx.diagnostics]
[('W302', "variable 'Hepb' occurs only once, so it matches anything; did you mean the constant 'HepB'? (write '_' or '_Hepb' for a deliberate don't-care)")]
"""

from __future__ import annotations

from collections import Counter

from .. import ast
from .context import TYPE_WORDS, Context, closest
from .signatures import Signatures
from ..walk import literal_atoms, literal_names, term_names


def check_clauses(ctx: Context, sigs: Signatures) -> None:
    for clause in ctx.ruleset.predicates:
        unsafe = _check_safety(ctx, sigs, clause)
        _check_singletons(ctx, sigs, clause, unsafe)
        _check_counted_variables(ctx, clause)
        _check_one_student(ctx, sigs, clause)
        _check_constants(ctx, sigs, clause)
        _check_value_types(ctx, sigs, clause)


def _hint(ctx: Context, name: str) -> str:
    match = closest(name, ctx.constants)
    return f"; did you mean the constant '{match}'?" if match else ""


# ---- safety -------------------------------------------------------------------------------------------


def _check_safety(ctx: Context, sigs: Signatures, clause: ast.PredicateClause) -> set[str]:
    """Report unsafe variables; return their names."""
    unsafe: set[str] = set()
    bound = _positive_variables(sigs, clause.body)
    for param in clause.params:
        if sigs.is_variable(param) and param not in bound and param not in unsafe:
            unsafe.add(param)
            ctx.error(clause.span, "E230", f"head variable '{param}' of '{clause.name}' does not occur in a positive "
                                           f"atom of the body, so nothing gives it a value{_hint(ctx, param)}")
    _check_body(ctx, sigs, clause.body, bound, unsafe)
    return unsafe


def _positive_variables(sigs: Signatures, body) -> set[str]:
    return {name.name for literal in body if isinstance(literal, ast.Atom) and not literal.negated
            for name in literal_names(literal) if sigs.is_variable(name.name)}


def _check_body(ctx: Context, sigs: Signatures, body, bound: set[str], unsafe: set[str]) -> None:
    for literal in body:
        if isinstance(literal, ast.Atom) and not literal.negated:
            continue
        if isinstance(literal, ast.CountAggregate):
            own = _positive_variables(sigs, literal.body)
            inner = bound | own
            if literal.variable not in own:
                ctx.error(literal.span, "E230", f"the counted variable '{literal.variable}' must occur in a "
                                                f"positive atom inside the count")
            _check_body(ctx, sigs, literal.body, inner, unsafe)
            names = list(term_names(literal.bound))
            where = "the bound of a count"
        else:
            names = list(literal_names(literal))
            where = "a negated atom" if isinstance(literal, ast.Atom) else "a comparison"
        for name in names:
            if sigs.is_variable(name.name) and name.name not in bound and name.name not in unsafe:
                unsafe.add(name.name)
                ctx.error(name.span, "E230", f"variable '{name.name}' in {where} does not occur in a positive atom, "
                                             f"so nothing gives it a value{_hint(ctx, name.name)}")


# ---- singletons --------------------------------------------------------------------------------------------


def _check_singletons(ctx: Context, sigs: Signatures, clause: ast.PredicateClause, unsafe: set[str]) -> None:
    names = [name for literal in clause.body for name in literal_names(literal)]
    seen = Counter(name.name for name in names)
    seen.update(clause.params)
    seen.update(_count_variables(clause.body))
    for name in names:
        text = name.name
        if seen[text] == 1 and sigs.is_variable(text) and not text.startswith("_") and text not in unsafe:
            ctx.warning(name.span, "W302", f"variable '{text}' occurs only once, so it matches anything"
                                           f"{_hint(ctx, text)} (write '_' or '_{text}' for a deliberate don't-care)")


def _count_variables(body):
    for literal in body:
        if isinstance(literal, ast.CountAggregate):
            yield literal.variable
            yield from _count_variables(literal.body)


def _check_counted_variables(ctx: Context, clause: ast.PredicateClause) -> None:
    """A count's variable is its own: also used outside the count, it would be both counted and bound."""
    def visit(body, outside: set[str]) -> None:
        for index, literal in enumerate(body):
            if not isinstance(literal, ast.CountAggregate):
                continue
            others = outside | {name.name for other in body[:index] + body[index + 1:]
                                for name in literal_names(other)}
            others |= {name.name for name in term_names(literal.bound)}
            if literal.variable in others:
                ctx.error(literal.span, "E234", f"the counted variable '{literal.variable}' also occurs outside "
                                                f"the count: count a variable of its own")
            visit(literal.body, others)

    visit(clause.body, set(clause.params))


# ---- one student per clause --------------------------------------------------------------------------------


def _check_one_student(ctx: Context, sigs: Signatures, clause: ast.PredicateClause) -> None:
    seen = []  # (key, term) for each student position, in order
    for atom in literal_atoms(clause.body):
        kinds = sigs.position_types(atom.predicate, len(atom.args))
        for arg, position in zip(atom.args, kinds or ()):
            if "student" in position:
                # each '_' or literal stands for a student of its own
                key = arg.name if isinstance(arg, ast.Name) else len(seen)
                seen.append((key, getattr(arg, "span", atom.span)))
    if len({key for key, _ in seen}) > 1:
        first = seen[0][0]
        span = next(span for key, span in seen if key != first)
        shown = f" (here '{first}')" if isinstance(first, str) else ""
        ctx.error(span, "E233", f"'{clause.name}' relates two students: every student position of a clause must "
                                f"hold the same variable{shown}")


# ---- constants where a relation wants another kind of value -------------------------------------------------


def _check_constants(ctx: Context, sigs: Signatures, clause: ast.PredicateClause) -> None:
    for atom in literal_atoms(clause.body):
        kinds = sigs.position_types(atom.predicate, len(atom.args))
        for index, (arg, position) in enumerate(zip(atom.args, kinds or ()), start=1):
            if not position or not isinstance(arg, ast.Name) or sigs.is_variable(arg.name):
                continue
            declared = ctx.constants[arg.name]
            if not declared & position:
                wanted = " or ".join(sorted(TYPE_WORDS[k] for k in position))
                ctx.warning(arg.span, "W303", f"'{arg.name}' is {' and '.join(sorted(TYPE_WORDS[k] for k in declared))}"
                                              f", but argument {index} of '{atom.predicate}' is {wanted}: never matches")


# ---- comparisons between values of different types -----------------------------------------------------------

_VALUE_TYPE = {"date": "date", "int": "number", "grade": "string", "product": "string", "vaccine": "string",
               "kind": "string", "reason": "string"}


def _check_value_types(ctx: Context, sigs: Signatures, clause: ast.PredicateClause) -> None:
    """Ordering a date against a number is a run-time error; ``=`` across types is never true."""
    variables = sigs.variable_types(clause)

    def value_type(term) -> str | None:
        if isinstance(term, (ast.DateLit, ast.DateShift)):
            return "date"
        if isinstance(term, ast.IntLit):
            return "number"
        if isinstance(term, ast.StrLit):
            return "string"
        if isinstance(term, ast.Name):
            if not sigs.is_variable(term.name):
                return "string"
            found = {_VALUE_TYPE.get(kind) for kind in variables.get(term.name, ())}
            return found.pop() if len(found) == 1 else None  # ids of students and doses: no promise
        return None

    def shifts(term):
        if isinstance(term, ast.DateShift):
            inner = value_type(term.term)
            if inner not in (None, "date"):
                ctx.error(term.span, "E236", f"a duration can only be added to a date, not to a {inner}")
            yield from shifts(term.term)

    for literal in _all_literals(clause.body):
        if not isinstance(literal, ast.Comparison):
            continue
        for side in (literal.left, literal.right):
            list(shifts(side))
        left, right = value_type(literal.left), value_type(literal.right)
        if left is None or right is None or left == right:
            continue
        if literal.op in ("=", "!="):
            always = "never true" if literal.op == "=" else "always true"
            ctx.warning(literal.span, "W304", f"compares a {left} with a {right}: {always}")
        else:
            ctx.error(literal.span, "E236", f"orders a {left} against a {right}: values of different types "
                                            f"have no order")


def _all_literals(body):
    for literal in body:
        yield literal
        if isinstance(literal, ast.CountAggregate):
            yield from _all_literals(literal.body)
