"""A bottom-up Datalog evaluator for the ruleset's ``predicate`` clauses, over one student's facts.

:func:`compile_program` turns the clauses into a :class:`Program` once per ruleset: names become
constants or variables (docs/semantics.md, "Derived predicates"), each body is put in an order in
which every literal can be evaluated (safety), and the predicates are split into strata (strongly
connected components of the dependency graph, dependencies first). Negation and counting may only
look at lower strata; a cycle through them is a :class:`VaxError`.

:func:`run` then computes the strata in order over a dict of relations (name -> set of tuples).
A stratum with positive recursion runs semi-naively: each round joins only against the facts the
previous round added. Because the series walk produces ``valid``/``invalid``, the strata are split
in two: :attr:`Program.before_walk` (what series ``reject`` lines may use) and
:attr:`Program.after_walk` (everything that looks at ``valid``/``invalid``, directly or not).

>>> from vaxdsl.loader import load_text
>>> ruleset = load_text('predicate reach(X, Y) :- edge(X, Y). '
...                     'predicate reach(X, Z) :- reach(X, Y), edge(Y, Z). '
...                     'predicate edge(X, Y) :- birth(X, Y).').ruleset
>>> program = compile_program(ruleset)
>>> program.before_walk
(('edge',), ('reach',))
"""

from __future__ import annotations

import operator
from datetime import date

import attrs

from .. import ast
from ..dates import add, duration_text
from ..errors import VaxError

BUILTIN_ARITY = {
    "student": 1, "birth": 2, "grade": 2, "dose": 4, "counts": 2, "live": 1,
    "exemption": 3, "valid": 4, "invalid": 4, "as_of": 1,
}
WALK_RELATIONS = frozenset({"valid", "invalid"})
_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


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
    for call in _calls_in_conditions(ruleset):
        _check_relation(call.name, len(call.args), arity, f"line {call.span.line}")

    dependencies = {name: _dependencies(group) for name, group in clauses.items()}
    strata = stratify(dependencies)
    walk_dependent = _depending_on(WALK_RELATIONS, dependencies)
    for vaccine in ruleset.vaccines:
        for reject in vaccine.series.rejects if vaccine.series else ():
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


# ---- stratification ------------------------------------------------------------------------------


def _dependencies(clauses) -> set[tuple[str, bool]]:
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


def stratify(dependencies: dict[str, set[tuple[str, bool]]]) -> list[tuple[str, ...]]:
    """Strongly connected components of the derived predicates, dependencies first (Tarjan).

    ``dependencies`` maps each derived predicate to the (predicate, strict) pairs it uses; built-in
    relations may appear and are ignored. Raises :class:`VaxError` when a negation or a count
    refers to its own component.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[tuple[str, ...]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target, _strict in sorted(dependencies[node]):
            if target not in dependencies:
                continue
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(tuple(sorted(component)))

    for node in sorted(dependencies):
        if node not in index:
            connect(node)
    for component in components:
        for name in component:
            for target, strict in sorted(dependencies[name]):
                if strict and target in component:
                    cycle = name if target == name else f"{name} and {target}"
                    raise VaxError(f"predicates cannot be stratified: {cycle} depend on each other through "
                                   f"'not' or 'count' (negation and counting must refer to predicates "
                                   f"computed before)")
    return components


def _depending_on(targets, dependencies) -> set[str]:
    """The derived predicates that reach one of ``targets``."""
    reached: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, deps in dependencies.items():
            if name not in reached and any(d in targets or d in reached for d, _ in deps):
                reached.add(name)
                changed = True
    return reached


def _calls_in_conditions(ruleset: ast.Ruleset):
    def walk(condition):
        if isinstance(condition, (ast.And, ast.Or)):
            for item in condition.items:
                yield from walk(item)
        elif isinstance(condition, ast.Not):
            yield from walk(condition.item)
        elif isinstance(condition, ast.Call):
            yield condition

    for vaccine in ruleset.vaccines:
        if vaccine.applies is not None:
            yield from walk(vaccine.applies)
        for rule in vaccine.rules:
            yield from walk(rule.condition)
        for reject in vaccine.series.rejects if vaccine.series else ():
            yield reject.call


# ---- evaluating -----------------------------------------------------------------------------------


def run(program: Program, strata, relations: dict[str, set]) -> None:
    """Compute ``strata`` in order, adding each predicate's tuples to ``relations``."""
    for stratum in strata:
        if any(name in program.recursive for name in stratum):
            _run_recursive(program, stratum, relations)
        else:
            for name in stratum:
                relations[name] = {row for clause in program.clauses[name] for row in _derive(clause, relations)}


def _run_recursive(program: Program, stratum, relations) -> None:
    """Semi-naive: after a first round, each clause is re-joined once per in-stratum atom, that atom
    reading only the previous round's new facts."""
    members = set(stratum)
    for name in stratum:
        relations[name] = set()
    delta = {name: {row for clause in program.clauses[name] for row in _derive(clause, relations)} for name in stratum}
    while any(delta.values()):
        for name in stratum:
            relations[name] |= delta[name]
        fresh = {name: set() for name in stratum}
        for name in stratum:
            for clause in program.clauses[name]:
                for position, step in enumerate(clause.steps):
                    if isinstance(step, AtomStep) and not step.negated and step.predicate in members:
                        for row in _derive(clause, relations, (position, delta[step.predicate])):
                            if row not in relations[name]:
                                fresh[name].add(row)
        delta = fresh


def _derive(clause: Clause, relations, override=None):
    for binding in solve(clause.steps, relations, {}, override):
        yield tuple(value(term, binding) for term in clause.head)


def solve(steps, relations, binding: dict, override=None, position: int = 0):
    """Every extension of ``binding`` satisfying ``steps[position:]``.

    ``override`` = (step index, rows) makes that atom read ``rows`` instead of its relation.
    """
    if position == len(steps):
        yield binding
        return
    step = steps[position]
    if isinstance(step, AtomStep):
        rows = override[1] if override and override[0] == position else relations.get(step.predicate, ())
        if step.negated:
            if not any(match(step.args, row, binding) is not None for row in rows):
                yield from solve(steps, relations, binding, override, position + 1)
            return
        for row in rows:
            extended = match(step.args, row, binding)
            if extended is not None:
                yield from solve(steps, relations, extended, override, position + 1)
    elif isinstance(step, CompareStep):
        if compare(value(step.left, binding), step.op, value(step.right, binding)):
            yield from solve(steps, relations, binding, override, position + 1)
    else:
        counted = {found[step.variable] for found in solve(step.steps, relations, binding)}
        if compare(len(counted), step.op, value(step.bound, binding)):
            yield from solve(steps, relations, binding, override, position + 1)


def match(args, row, binding: dict):
    """``binding`` extended so ``args`` equal ``row``, or None."""
    extended = binding
    for arg, actual in zip(args, row):
        if isinstance(arg, Anon):
            continue
        if isinstance(arg, Var) and arg.name not in extended:
            if extended is binding:
                extended = dict(binding)
            extended[arg.name] = actual
        elif not same(value(arg, extended), actual):
            return None
    return extended


def value(term, binding):
    if isinstance(term, Const):
        return term.value
    if isinstance(term, Var):
        return binding[term.name]
    if isinstance(term, Shift):
        base = value(term.term, binding)
        if not isinstance(base, date):
            raise VaxError(f"'+ {duration_text(term.duration)}' applied to {describe_value(base)}, which is not a date")
        return add(base, term.duration, term.sign)
    raise VaxError("'_' cannot be used as a value")


def same(left, right) -> bool:
    """Equality without Python's cross-type leniency (1 == True)."""
    return type(left) is type(right) and left == right


def compare(left, op: str, right) -> bool:
    if op == "=":
        return same(left, right)
    if op == "!=":
        return not same(left, right)
    if type(left) is not type(right):
        raise VaxError(f"cannot compare {describe_value(left)} with {describe_value(right)} using '{op}'")
    return _ORDER[op](left, right)


def describe_value(item) -> str:
    if isinstance(item, date):
        return f"the date {item.isoformat()}"
    if isinstance(item, int):
        return f"the number {item}"
    return f"the text {item!r}"
