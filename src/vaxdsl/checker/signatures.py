"""What each relation takes: arity and, per position, the kinds of value it holds.

Built-in relations have fixed kinds (see ``BUILTIN_TYPES``). A derived predicate's position takes
the kinds its parameter meets in the bodies of its clauses, found by iterating to a fixpoint (so a
parameter passed on to another predicate's student position is a student position too).

>>> from vaxdsl.loader import load_text
>>> from vaxdsl.checker.context import Context
>>> ctx = Context(load_text('''
... predicate has_dose(S, D) :- dose(S, D, _, _).
... predicate recent(S) :- has_dose(S, _).
... '''))
>>> Signatures(ctx).types["recent"]
[{'student'}]
"""

from __future__ import annotations

from functools import cached_property

from .. import ast
from ..graphs import reachable
from .context import BUILTIN_TYPES, Context
from ..walk import literal_atoms


class Signatures:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.clauses: dict[str, list[ast.PredicateClause]] = {}
        for clause in ctx.ruleset.predicates:
            if clause.name not in BUILTIN_TYPES:
                self.clauses.setdefault(clause.name, []).append(clause)
        self.arity = {name: len(clauses[0].params) for name, clauses in self.clauses.items()}
        self.arity.update({name: len(kinds) for name, kinds in BUILTIN_TYPES.items()})
        self.types = self._infer_types()

    def is_variable(self, name: str) -> bool:
        return name not in self.ctx.constants

    def position_types(self, relation: str, count: int) -> list[set[str]] | None:
        """Kinds per position, or None for an unknown relation or a wrong number of arguments."""
        if self.arity.get(relation) != count:
            return None
        if relation in BUILTIN_TYPES:
            return [{kind} for kind in BUILTIN_TYPES[relation]]
        return self.types[relation]

    def _infer_types(self) -> dict[str, list[set[str]]]:
        types = {name: [set() for _ in range(self.arity[name])] for name in self.clauses}
        self.types = types
        changed = True
        while changed:
            changed = False
            for name, clauses in self.clauses.items():
                for clause in clauses:
                    if len(clause.params) != self.arity[name]:
                        continue
                    found = self.variable_types(clause)
                    for index, param in enumerate(clause.params):
                        new = found.get(param, set()) - types[name][index]
                        if new:
                            types[name][index] |= new
                            changed = True
        return types

    def variable_types(self, clause: ast.PredicateClause) -> dict[str, set[str]]:
        """Each variable of the clause -> the kinds of the positions it stands in."""
        found: dict[str, set[str]] = {}
        for atom in literal_atoms(clause.body):
            kinds = self.position_types(atom.predicate, len(atom.args))
            if kinds is None:
                continue
            for arg, position in zip(atom.args, kinds):
                if isinstance(arg, ast.Name) and self.is_variable(arg.name):
                    found.setdefault(arg.name, set()).update(position)
        return found

    @cached_property
    def dependencies(self) -> dict[str, list[tuple[ast.Atom, bool]]]:
        """Predicate -> the atoms its clauses use, each with whether it is under ``not`` or ``count``."""
        edges: dict[str, list[tuple[ast.Atom, bool]]] = {}
        for name, clauses in self.clauses.items():
            for clause in clauses:
                edges.setdefault(name, []).extend(_body_atoms(clause.body, False))
        return edges

    def reachable(self, roots) -> set[str]:
        """Every relation the roots use, directly or through other predicates (roots included)."""
        return reachable({name: [atom.predicate for atom, _ in edges] for name, edges in self.dependencies.items()},
                         roots)


def _body_atoms(body, guarded: bool):
    for literal in body:
        if isinstance(literal, ast.Atom):
            yield literal, guarded or literal.negated
        elif isinstance(literal, ast.CountAggregate):
            yield from _body_atoms(literal.body, True)
