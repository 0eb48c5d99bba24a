"""The ruleset's ``predicate`` clauses compiled for bottom-up evaluation over one student's facts.

:func:`compile_program` does the work once per ruleset: names become constants or variables
(docs/semantics.md, "Derived predicates"), each body is put in an order in which every literal can
be evaluated (safety), and the predicates are split into strata (:mod:`.strata`). Anything that
cannot be evaluated is a :class:`VaxError`; the checker reports the same problems with positions.
:mod:`.fixpoint` runs the result.

Because the series walk produces ``valid``/``invalid``, the strata come in two lists:
:attr:`Program.before_walk` (what series ``reject`` lines may use) and :attr:`Program.after_walk`
(everything that looks at ``valid``/``invalid``, directly or not).

>>> from vaxdsl.loader import load_text
>>> ruleset = load_text('predicate reach(X, Y) :- edge(X, Y). '
...                     'predicate reach(X, Z) :- reach(X, Y), edge(Y, Z). '
...                     'predicate edge(X, Y) :- birth(X, Y).').ruleset
>>> program = compile_program(ruleset)
>>> program.before_walk, sorted(program.recursive)
((('edge',), ('reach',)), ['reach'])
"""

from __future__ import annotations

import attrs

from .. import ast
from ..errors import VaxError
from ..walk import predicate_calls
from ..graphs import depending_on
from .strata import stratify

BUILTIN_ARITY = {
    "student": 1, "birth": 2, "grade": 2, "dose": 4, "counts": 2, "live": 1,
    "exemption": 3, "valid": 4, "invalid": 4, "as_of": 1,
}
WALK_RELATIONS = frozenset({"valid", "invalid"})


# ---- the compiled form: terms and steps ------------------------------------------------------


@attrs.frozen
class Var:
    name: str


@attrs.frozen
class Const:
    value: object


@attrs.frozen
class Anon:
    """``_``: matches anything and binds nothing (each occurrence is its own)."""


@attrs.frozen
class Shift:
    """``Date + 28 days``."""

    term: object
    sign: int
    duration: ast.Duration


@attrs.frozen
class AtomStep:
    predicate: str
    args: tuple
    negated: bool = False


@attrs.frozen
class CompareStep:
    left: object
    op: str
    right: object


@attrs.frozen
class CountStep:
    variable: str
    steps: tuple  # the body, planned with the shared variables already bound
    op: str
    bound: object


@attrs.frozen
class Clause:
    name: str
    head: tuple
    steps: tuple
    text: str  # for error messages: "predicate live_conflict (line 12)"


@attrs.frozen
class Program:
    clauses: dict  # predicate name -> tuple[Clause, ...]
    arity: dict  # every relation, built-in or derived -> number of arguments
    before_walk: tuple  # strata (tuples of predicate names), dependencies first
    after_walk: tuple
    recursive: frozenset  # predicates in a stratum that refers to itself positively


# ---- compiling ---------------------------------------------------------------------------------


def constants_of(ruleset: ast.Ruleset) -> frozenset:
    """The names that stand for themselves in a clause; every other name is a variable."""
    names = {p.id for p in ruleset.products} | {v.id for v in ruleset.vaccines}
    return frozenset(names | set(ast.EXEMPTION_KINDS) | set(ast.INVALID_REASONS))


def compile_program(ruleset: ast.Ruleset) -> Program:
    """Check and plan every clause; raise :class:`VaxError` for anything that cannot be evaluated."""
    constants = constants_of(ruleset)
    arity = dict(BUILTIN_ARITY)
    for clause in ruleset.predicates:
        where = _where(clause)
        if clause.name in BUILTIN_ARITY:
            raise VaxError(f"{where}: '{clause.name}' is a built-in relation and cannot be redefined")
        if arity.setdefault(clause.name, len(clause.params)) != len(clause.params):
            raise VaxError(f"{where}: '{clause.name}' has {len(clause.params)} parameters here "
                           f"but {arity[clause.name]} in another clause")
    clauses: dict[str, list[Clause]] = {}
    for clause in ruleset.predicates:
        clauses.setdefault(clause.name, []).append(_compile_clause(clause, constants, arity))
    for call in predicate_calls(ruleset):
        _check_relation(call.name, len(call.args), arity, f"line {call.span.line}")

    dependencies = {name: dependencies_of(group) for name, group in clauses.items()}
    strata = stratify(dependencies)
    walk_dependent = depending_on({name: [d for d, _ in deps] for name, deps in dependencies.items()},
                                  WALK_RELATIONS)
    for vaccine in ruleset.vaccines:
        for reject in vaccine.predicate_rejects:
            if reject.call.name in WALK_RELATIONS or reject.call.name in walk_dependent:
                raise VaxError(f"line {reject.span.line}: the series of {vaccine.id} rejects doses with "
                               f"'{reject.call.name}', which depends on valid/invalid: the series "
                               f"walk would depend on itself")
    recursive = frozenset(
        name for stratum in strata for name in stratum
        if any(dep in stratum for dep, _strict in dependencies[name])
    )
    return Program(
        clauses={name: tuple(group) for name, group in clauses.items()},
        arity=arity,
        before_walk=tuple(s for s in strata if not set(s) & walk_dependent),
        after_walk=tuple(s for s in strata if set(s) & walk_dependent),
        recursive=recursive,
    )


def _where(clause: ast.PredicateClause) -> str:
    return f"predicate {clause.name} (line {clause.span.line})"


def _check_relation(name: str, count: int, arity: dict, where: str) -> None:
    if name not in arity:
        raise VaxError(f"{where}: no predicate or built-in relation named '{name}'")
    if arity[name] != count:
        raise VaxError(f"{where}: '{name}' takes {arity[name]} arguments, not {count}")


def _compile_clause(clause: ast.PredicateClause, constants, arity) -> Clause:
    where = _where(clause)
    head = tuple(Const(p) if p in constants else Var(p) for p in clause.params)
    body = [_literal(literal, constants, arity, where) for literal in clause.body]
    head_vars = {t.name for t in head if isinstance(t, Var)}
    steps, bound = _plan(body, set(), head_vars, where)
    unbound = sorted(head_vars - bound)
    if unbound:
        raise VaxError(f"{where}: unsafe: '{unbound[0]}' in the head does not occur in a positive atom of the body")
    return Clause(clause.name, head, tuple(steps), where)


def _term(term, constants):
    if isinstance(term, ast.Name):
        return Const(term.name) if term.name in constants else Var(term.name)
    if isinstance(term, ast.Wildcard):
        return Anon()
    if isinstance(term, (ast.IntLit, ast.DateLit, ast.StrLit)):
        return Const(term.value)
    if isinstance(term, ast.DateShift):
        return Shift(_term(term.term, constants), term.sign, term.duration)
    raise VaxError(f"unexpected term {term!r}")


def _literal(literal, constants, arity, where):
    """ast literal -> an unplanned step (a CountStep keeps its body unplanned for now, as a list)."""
    if isinstance(literal, ast.Atom):
        _check_relation(literal.predicate, len(literal.args), arity, where)
        return AtomStep(literal.predicate, tuple(_term(a, constants) for a in literal.args), literal.negated)
    if isinstance(literal, ast.Comparison):
        return CompareStep(_term(literal.left, constants), literal.op, _term(literal.right, constants))
    body = tuple(_literal(item, constants, arity, where) for item in literal.body)
    return CountStep(literal.variable, body, literal.op, _term(literal.bound, constants))


def term_vars(term) -> set[str]:
    if isinstance(term, Var):
        return {term.name}
    if isinstance(term, Shift):
        return term_vars(term.term)
    return set()


def step_vars(step) -> set[str]:
    if isinstance(step, AtomStep):
        return set().union(*(term_vars(a) for a in step.args))
    if isinstance(step, CompareStep):
        return term_vars(step.left) | term_vars(step.right)
    return set().union({step.variable}, term_vars(step.bound), *(step_vars(s) for s in step.steps))


def _plan(literals: list, bound: set[str], outside: set[str], where: str) -> tuple[list, set[str]]:
    """Order ``literals`` so each can be evaluated when reached; return the steps and the bound variables.

    Positive atoms bind variables, in written order as far as possible (an atom with ``X + 1 day``
    waits until X is bound). Every other literal goes in as soon as its variables are bound, which
    prunes early. ``outside`` are the variables of the enclosing clause outside these literals:
    a count body shares exactly those with the clause.
    """
    bound = set(bound)
    pending = list(literals)
    steps = []

    def required(literal) -> set[str]:
        if isinstance(literal, CountStep):
            siblings = set().union(*(step_vars(o) for o in literals if o is not literal))
            return (step_vars(literal) - term_vars(literal.bound)) & (outside | siblings) | term_vars(literal.bound)
        return step_vars(literal)

    def add_ready_filters():
        for literal in list(pending):
            if isinstance(literal, AtomStep) and not literal.negated:
                continue
            if required(literal) <= bound:
                steps.append(_plan_count(literal, literals, outside, bound, where)
                             if isinstance(literal, CountStep) else literal)
                pending.remove(literal)

    add_ready_filters()
    while True:
        ready = [a for a in pending if isinstance(a, AtomStep) and not a.negated
                 and all(term_vars(arg) <= bound for arg in a.args if isinstance(arg, Shift))]
        if not ready:
            break
        steps.append(ready[0])
        pending.remove(ready[0])
        bound |= {arg.name for arg in ready[0].args if isinstance(arg, Var)}
        add_ready_filters()
    if pending:
        literal = pending[0]
        missing = sorted(required(literal) - bound) or ["?"]
        kind = {AtomStep: "an atom", CompareStep: "a comparison", CountStep: "a count"}[type(literal)]
        raise VaxError(f"{where}: unsafe: '{missing[0]}' in {kind} does not occur in a positive atom of the body")
    return steps, bound


def _plan_count(count: CountStep, siblings: list, outside: set[str], bound: set[str], where: str) -> CountStep:
    shared = (step_vars(count) - term_vars(count.bound)) & bound
    around = outside | set().union(*(step_vars(o) for o in siblings if o is not count)) | {count.variable}
    steps, inner_bound = _plan(list(count.steps), shared, around, where)
    if count.variable not in inner_bound:
        raise VaxError(f"{where}: unsafe: the counted variable '{count.variable}' does not occur in a "
                       f"positive atom of the count")
    return CountStep(count.variable, tuple(steps), count.op, count.bound)


# ---- what depends on what -------------------------------------------------------------------------


def dependencies_of(clauses) -> set[tuple[str, bool]]:
    """(predicate, strict) pairs a predicate's clauses refer to; strict = under negation or count."""
    found: set[tuple[str, bool]] = set()

    def visit(steps, strict):
        for step in steps:
            if isinstance(step, AtomStep):
                found.add((step.predicate, strict or step.negated))
            elif isinstance(step, CountStep):
                visit(step.steps, True)

    for clause in clauses:
        visit(clause.steps, False)
    return found
