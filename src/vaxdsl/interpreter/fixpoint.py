"""Running compiled Datalog: strata in order, semi-naive where a stratum is recursive.

Bindings are plain dicts from variable name to value; a body is solved depth-first over the planned
steps (see :mod:`.datalog`). An atom whose arguments are all known is a lookup in its relation (a set
of tuples); any other scans it. One student's relations are small, so no other index is needed.
"""

from __future__ import annotations

from datetime import date

from ..dates import add, duration_text, signed_shift
from ..errors import VaxError
from .datalog import Anon, AtomStep, Clause, CompareStep, Const, Program, Shift, Var
from .values import compare, describe_value, same


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
        key = _bound_row(step.args, binding) if rows else None
        if key is not None:  # every argument known: a lookup, not a scan (values are str, int, date)
            if (key in rows) != step.negated:
                yield from solve(steps, relations, binding, override, position + 1)
            return
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


def _bound_row(args, binding: dict) -> tuple | None:
    """The row ``args`` stand for when every one is a constant or a bound variable, else None."""
    for arg in args:
        if isinstance(arg, Anon) or (isinstance(arg, Var) and arg.name not in binding):
            return None
    return tuple(value(arg, binding) for arg in args)


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
        return add(base, signed_shift(term.sign, term.duration))
    raise VaxError("'_' cannot be used as a value")
