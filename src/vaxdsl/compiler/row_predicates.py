"""Predicates about one group's valid doses, compiled as expressions over the student's wide row.

A predicate such as Minnesota's ``hepb_series_complete`` reads only the student's birth date and
valid doses ``1..k`` of a group walked as its own antigen, with their dates::

    hepb_series_complete(S) :- birth(S, Birth), valid(S, HepB, D1, 1), valid(S, HepB, D3, 3),
        dose(S, D1, First, _), dose(S, D3, Third, _), Third >= Birth + 24 weeks - 4 days, ...

Materialized (:mod:`.datalog`), it needs ``valid`` before the main statement: a pass over the doses
that walks the group for everyone (the valid-doses pre-pass) and the dose facts of the group's
products. But the main statement walks the group anyway, and its row holds what such a clause
tests: ``valid(S, G, D, k)`` is "the chosen series has k valid doses" (``n_g >= k``), and D's date
is valid dose k's (``vj_g_k``), the placeholders rule conditions use (:class:`.conditions.Row`).
So a predicate whose every clause has this shape, and which only rule conditions call, with
``student``, is compiled here instead, as one more condition; the rest stay Datalog.

The shape, per clause: the head is the student variable; the body has positive ``birth(S, B)``,
``valid(S, G, D, k)`` (G a group walked as its own antigen, k a number) and ``dose(S, D, X, _)`` of
such a D, then comparisons ``X OP Y [+ duration]`` and ``X OP B + duration``. Anything else (a
negation, a count, another predicate, a product, a group with antigens) keeps the predicate in
Datalog, where every form is supported.
"""

from __future__ import annotations

from .. import ast
from ..dates import signed_shift
from ..walk import literal_atoms
from .conditions import GroupConditions, Row
from .datalog import constants_of
from .dates import DateExpr, compare_shift
from .sql import all_of, any_of

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}  # a OP b  <=>  b FLIP[OP] a


class _NotRowShaped(Exception):
    pass


def row_predicates(ruleset: ast.Ruleset, calls, kept: set[str], row: Row) -> dict[str, str]:
    """``{name: SQL}`` for the predicates compiled over the row: called (``calls``: every predicate
    call of the ruleset) only as ``name(student)``, not in ``kept`` (the ``reject`` lines' predicates,
    which Datalog computes for every dose) nor in another predicate's body, and of the shape above."""
    clauses: dict[str, list[ast.PredicateClause]] = {}
    for clause in ruleset.predicates:
        clauses.setdefault(clause.name, []).append(clause)
    groups = {vaccine.id: (g, vaccine) for g, vaccine in enumerate(ruleset.vaccines, start=1)}
    student_only: dict[str, bool] = {}
    for call in calls:
        alone = all(isinstance(arg, ast.Student) for arg in call.args)
        student_only[call.name] = student_only.get(call.name, True) and alone
    used_in_bodies = {atom.predicate for clause in ruleset.predicates for atom in literal_atoms(clause.body)}
    constants = constants_of(ruleset)
    out = {}
    for name, alone in student_only.items():
        if not alone or name in kept or name in used_in_bodies or name not in clauses:
            continue
        try:
            out[name] = any_of([_clause_sql(clause, groups, constants, row) for clause in clauses[name]])
        except _NotRowShaped:
            continue
    return out


def _clause_sql(clause: ast.PredicateClause, groups, constants, row: Row) -> str:
    if len(clause.params) != 1 or clause.params[0] in constants:
        raise _NotRowShaped
    student = clause.params[0]
    birth: set[str] = set()  # variables bound to the birth date
    doses: dict[str, DateExpr] = {}  # dose variable -> the date of the valid dose it is
    dates: dict[str, DateExpr] = {}  # date variable -> its date
    tests: list[str] = []
    atoms = [literal for literal in clause.body if isinstance(literal, ast.Atom)]
    comparisons = [literal for literal in clause.body if isinstance(literal, ast.Comparison)]
    if not atoms or len(atoms) + len(comparisons) != len(clause.body) or any(atom.negated for atom in atoms):
        raise _NotRowShaped
    order = {"birth": 0, "valid": 1, "dose": 2}
    for atom in sorted(atoms, key=lambda atom: order.get(atom.predicate, 3)):
        args = atom.args
        if atom.predicate not in order or not _is_variable(args[0], student):
            raise _NotRowShaped
        if atom.predicate == "birth":
            birth.add(_new_variable(args[1], constants, {student}, birth, doses, dates))
        elif atom.predicate == "valid":
            group, dose, number = args[1], args[2], args[3]
            if not isinstance(group, ast.Name) or group.name not in groups or not isinstance(number, ast.IntLit):
                raise _NotRowShaped
            g, vaccine = groups[group.name]
            if vaccine.antigens or not vaccine.has_series:
                raise _NotRowShaped  # a dose's number there is not the group's valid dose k
            exists, given = GroupConditions(row, vaccine, g, None).dose(ast.DoseRef("nth", number.value))
            tests.append(exists)
            if not isinstance(dose, ast.Wildcard):
                doses[_new_variable(dose, constants, {student}, birth, doses, dates)] = given
        else:
            dose, given, product = args[1], args[2], args[3]
            if not isinstance(dose, ast.Name) or dose.name not in doses or not isinstance(product, ast.Wildcard):
                raise _NotRowShaped
            if not isinstance(given, ast.Wildcard):
                dates[_new_variable(given, constants, {student}, birth, doses, dates)] = doses[dose.name]
    for comparison in comparisons:
        tests.append(_comparison_sql(comparison, birth, dates, row))
    return all_of(tests)


def _is_variable(term, name: str) -> bool:
    return isinstance(term, ast.Name) and term.name == name


def _new_variable(term, *scopes) -> str:
    if not isinstance(term, ast.Name) or any(term.name in scope for scope in scopes):
        raise _NotRowShaped  # a constant, or a variable bound twice (an equality: left to Datalog)
    return term.name


def _comparison_sql(comparison: ast.Comparison, birth: set[str], dates: dict[str, DateExpr], row: Row) -> str:
    left, op, right = comparison.left, comparison.op, comparison.right
    if isinstance(left, ast.DateShift):
        left, op, right = right, _FLIP[op], left
    months = days = 0
    if isinstance(right, ast.DateShift):
        months, days = signed_shift(right.sign, right.duration)
        right = right.term
    if not (isinstance(left, ast.Name) and left.name in dates and isinstance(right, ast.Name)):
        raise _NotRowShaped
    if right.name in birth:  # a dose's date against birth + A: the row's age column
        return compare_shift(dates[left.name], op, DateExpr(jd=row.age((months, days))), 0, 0)
    if right.name not in dates:
        raise _NotRowShaped
    return compare_shift(dates[left.name], op, dates[right.name], months, days)
