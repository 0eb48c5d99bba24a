"""Pass 4: derived predicates (Datalog) -> SQL, one temporary table per predicate, stratum by stratum.

Each clause becomes one ``SELECT``: positive atoms are the ``FROM`` items (a variable's first plain
occurrence binds it, later ones are equalities), constants are equalities, comparisons are ``WHERE``
terms, ``not atom`` is ``NOT EXISTS``, ``count { X : body } OP t`` is a correlated
``(SELECT COUNT(DISTINCT x) ...) OP t`` whose body shares the clause's variables, and ``Date + 28
days`` is CDSi arithmetic on julian days (:func:`.dates.sql_add`). The clauses of a predicate are
inserted into ``vx_p_<name>`` (columns ``c0..cn``, no type affinity, unique rows).

Strata are the strongly connected components of the dependency graph, dependencies first. A
recursive component of one predicate whose clauses each use it at most once is one ``WITH
RECURSIVE`` (UNION, so cycles end); any other recursion (mutual, or two uses in a clause) is a
fixpoint loop the engine runs until an insert adds nothing.

Values: dates are julian days (REAL, never equal to an integer), integers, and text (student ids,
product, group, kind and reason ids, grade codes). Temporary tables have no column affinity, so no
value changes type on the way in and values of different types are never equal.

Built-in relations read the fact database restricted to the students being evaluated (the
``student filter``); every clause relates one student, so that restricts every derived predicate.
Predicates that use no student fact at all (``conflicting_live(P) :- live(P), not counts(P,
Polio)``) are **static**: computed first, they also tell which products the ``dose`` atoms can
match, and ``vx_dose`` holds only doses of those products (:meth:`Datalog.dose_products_sql`); a
``dose`` atom whose dose is also ``valid``/``invalid`` in a named group matches only products of
that group.
"""

from __future__ import annotations

import re

import attrs

from .. import ast
from ..dates import signed_shift
from ..errors import VaxError
from ..graphs import depending_on, reachable, strongly_connected_components
from .dates import jd_literal, sql_add
from .sql import lit

BUILTIN_ARITY = {
    "student": 1, "birth": 2, "grade": 2, "dose": 4, "counts": 2, "live": 1,
    "exemption": 3, "valid": 4, "invalid": 4, "as_of": 1,
}
STATIC_BUILTINS = frozenset({"counts", "live", "as_of"})
WALK_BUILTINS = frozenset({"valid", "invalid"})


def table_name(predicate: str) -> str:
    return "vx_p_" + re.sub(r"[^A-Za-z0-9_]", "_", predicate)


def constants_of(ruleset: ast.Ruleset) -> frozenset:
    names = {p.id for p in ruleset.products} | {v.id for v in ruleset.vaccines}
    return frozenset(names | set(ast.EXEMPTION_KINDS) | set(ast.INVALID_REASONS))


@attrs.frozen
class Stratum:
    names: tuple[str, ...]
    recursive: bool
    linear: bool  # one predicate, each clause uses it at most once: WITH RECURSIVE
    static: bool
    after_walk: bool


class Datalog:
    """The predicates of a ruleset, analysed once; SQL is produced per student filter."""

    def __init__(self, ruleset: ast.Ruleset, as_of, roots: set[str], materialize_roots: set[str] = frozenset()):
        self.ruleset = ruleset
        self.as_of = as_of
        self.constants = constants_of(ruleset)
        self.clauses: dict[str, list[ast.PredicateClause]] = {}
        for clause in ruleset.predicates:
            self.clauses.setdefault(clause.name, []).append(clause)
        self.arity = dict(BUILTIN_ARITY)
        for name, clauses in self.clauses.items():
            self.arity.setdefault(name, len(clauses[0].params))
        self.deps = {name: self._dependencies(clauses) for name, clauses in self.clauses.items()}
        self.needed = self._reachable(roots)
        self.static = self._static()
        self.after_walk = self._after_walk()
        self.materialized = self._materialized(materialize_roots)
        self.strata = self._stratify()

    # ---- analysis -----------------------------------------------------------------------------------

    def _dependencies(self, clauses) -> set[str]:
        found = set()

        def visit(literals):
            for literal in literals:
                if isinstance(literal, ast.Atom):
                    found.add(literal.predicate)
                elif isinstance(literal, ast.CountAggregate):
                    visit(literal.body)

        for clause in clauses:
            visit(clause.body)
        return found

    def _reachable(self, roots) -> set[str]:
        """The derived predicates ``roots`` use, directly or not (built-in relations left out)."""
        derived = {name: [d for d in deps if d in self.clauses] for name, deps in self.deps.items()}
        return reachable(derived, [r for r in roots if r in self.clauses])

    def _static(self) -> set[str]:
        static = set()
        changed = True
        while changed:
            changed = False
            for name in self.clauses:
                if name not in static and all(d in STATIC_BUILTINS or d in static for d in self.deps[name]):
                    static.add(name)
                    changed = True
        return static

    def _materialized(self, roots) -> set[str]:
        """Predicates computed into tables: static ones, those ``reject`` lines use (judged for every
        dose), recursive ones, those reading the walk, and what they use. The rest (used only by
        rule conditions) are **inlined** where a condition calls them, as correlated subqueries with
        the student bound: they run only for the students whose rule table gets that far."""
        chosen = set(self.static) | (self.after_walk & self.needed)
        for name in self.needed:
            if name in self.deps[name] or any(name in self._reachable({d}) for d in self.deps[name]
                                              if d in self.clauses):
                chosen.add(name)  # recursive
        chosen |= self._reachable(roots)
        closed = set()
        for name in chosen:
            closed |= self._reachable({name})
        return closed & self.needed

    def _after_walk(self) -> set[str]:
        """The predicates that read ``valid``/``invalid``, directly or not: computed after the walk."""
        return depending_on({name: self.deps[name] for name in self.clauses}, WALK_BUILTINS)

    def _stratify(self) -> list[Stratum]:
        graph = {n: sorted(d for d in self.deps[n] if d in self.materialized) for n in sorted(self.materialized)}
        components = strongly_connected_components(graph)
        strata = []
        for component in components:
            members = set(component)
            recursive = len(component) > 1 or component[0] in self.deps[component[0]]
            linear = len(component) == 1 and all(
                self._uses(clause.body, component[0]) <= 1 for clause in self.clauses[component[0]])
            strata.append(Stratum(component, recursive, recursive and linear,
                                  members <= self.static, bool(members & self.after_walk)))
        # static strata first (they never depend on the others), order otherwise kept
        return [s for s in strata if s.static] + [s for s in strata if not s.static]

    def _uses(self, literals, name) -> int:
        count = 0
        for literal in literals:
            if isinstance(literal, ast.Atom) and literal.predicate == name:
                count += 1
            elif isinstance(literal, ast.CountAggregate):
                count += self._uses(literal.body, name)
        return count

    def uses_dose(self) -> bool:
        """Whether a materialized predicate reads ``dose`` (inlined ones read the doses directly)."""
        return any("dose" in self.deps[name] for name in self.materialized)

    def uses_walk(self) -> bool:
        return bool(self.needed & self.after_walk)

    def walk_relations(self) -> set[str]:
        """Which of ``valid``/``invalid`` the needed predicates read."""
        found: set[str] = set()
        for name in self.needed & self.after_walk:
            for clause in self.clauses[name]:
                found.update(atom.predicate for atom in _atoms(clause.body) if atom.predicate in WALK_BUILTINS)
        return found

    def walk_groups(self) -> set[str] | None:
        """Groups the ``valid``/``invalid`` atoms name as a constant; None when one leaves it open."""
        groups: set[str] = set()
        for name in self.needed & self.after_walk:
            for clause in self.clauses[name]:
                for atom in _atoms(clause.body):
                    if atom.predicate in WALK_BUILTINS:
                        term = atom.args[1]
                        if isinstance(term, ast.Name) and term.name in self.constants:
                            groups.add(term.name)
                        else:
                            return None
        return groups

    # ---- SQL ---------------------------------------------------------------------------------------------

    def create_statements(self) -> list[str]:
        out = []
        for stratum in self.strata:
            for name in stratum.names:
                columns = ", ".join(f"c{i}" for i in range(self.arity[name]))
                out.append(f"CREATE TEMP TABLE IF NOT EXISTS {table_name(name)}({columns}, UNIQUE({columns}))")
        return out

    def stratum_steps(self, stratum: Stratum, sources) -> list[tuple[str, str]]:
        """(kind, sql) steps: ``("sql", statement)`` or ``("fixpoint", statement)`` (repeat until no row is added)."""
        steps = [("sql", f"DELETE FROM {table_name(n)}") for n in stratum.names]
        if stratum.recursive and stratum.linear:
            name = stratum.names[0]
            columns = ", ".join(f"c{i}" for i in range(self.arity[name]))
            base, recursive = [], []
            for clause in self.clauses[name]:
                (recursive if self._uses(clause.body, name) else base).append(
                    self.clause_sql(clause, sources, {name: "vx_rec"}))
            if not base:
                return steps  # nothing to start from: empty
            body = " UNION ".join(base + recursive)
            steps.append(("sql", f"INSERT OR IGNORE INTO {table_name(name)} WITH RECURSIVE vx_rec({columns}) AS "
                                 f"({body}) SELECT * FROM vx_rec"))
            return steps
        for name in stratum.names:
            for clause in self.clauses[name]:
                kind = "fixpoint" if stratum.recursive else "sql"
                steps.append((kind, f"INSERT OR IGNORE INTO {table_name(name)} {self.clause_sql(clause, sources)}"))
        return steps

    def clause_sql(self, clause: ast.PredicateClause, sources, rename: dict | None = None,
                   named: bool = False) -> str:
        scope = _Scope(self, sources, rename or {}, inline=named)
        froms, wheres = scope.conjunction(clause.body, {})
        heads = []
        for param in clause.params:
            if param in self.constants:
                heads.append(lit(param))
            elif param in scope.bound:
                heads.append(scope.bound[param])
            else:
                raise VaxError(f"unsafe: '{param}' in the head of '{clause.name}' does not occur in a positive atom "
                               f"of the body (line {clause.span.line}; run vaxdsl check)")
        if named:
            heads = [f"{h} AS c{i}" for i, h in enumerate(heads)]
        select = f"SELECT {'' if named else 'DISTINCT '}{', '.join(heads) or '1'}"
        if froms:
            select += " FROM " + ", ".join(froms)
        if wheres:
            select += " WHERE " + " AND ".join(wheres)
        return select

    def inline_source(self, name: str, sources) -> str:
        """A non-materialized predicate as a FROM subquery (its clauses, UNION ALL)."""
        return "(" + " UNION ALL ".join(self.clause_sql(c, sources, named=True) for c in self.clauses[name]) + ")"

    def call_sql(self, name: str, values: list, sources) -> str:
        """SQL 0/1: does ``name(values)`` hold (``values``: SQL expressions, None for "any")?"""
        if name not in self.clauses or name in self.materialized:
            conds = [f"r.c{i} = {v}" for i, v in enumerate(values) if v is not None]
            where = " WHERE " + " AND ".join(conds) if conds else ""
            return f"EXISTS (SELECT 1 FROM {sources(name)} AS r{where})"
        tests = []
        for clause in self.clauses[name]:
            scope = _Scope(self, sources, {}, inline=True)
            froms, wheres = scope.conjunction(clause.body, {})
            for param, value in zip(clause.params, values):
                if value is None:
                    continue
                if param not in self.constants and param not in scope.bound:
                    raise VaxError(f"unsafe: '{param}' in the head of '{name}' does not occur in a positive atom "
                                   f"of the body (line {clause.span.line}; run vaxdsl check)")
                head = lit(param) if param in self.constants else scope.bound[param]
                wheres.append(f"{head} = {value}")
            sql = "SELECT 1" + (" FROM " + ", ".join(froms) if froms else "")
            if wheres:
                sql += " WHERE " + " AND ".join(wheres)
            tests.append(f"EXISTS ({sql})")
        return "(" + " OR ".join(tests) + ")" if tests else "0"

    def dose_products_sql(self, sources) -> str | None:
        """SQL selecting the pids a ``dose`` atom of a needed predicate can match; None: any product."""
        sets: list[str] = []
        for name in self.materialized:
            for clause in self.clauses[name]:
                for found in self._dose_restrictions(clause.body, [], sources):
                    if found is None:
                        return None
                    sets.append(found)
        if not sets:
            return "SELECT pid FROM vx_product WHERE 0"
        return " UNION ".join(sets)

    def _dose_restrictions(self, literals, enclosing, sources):
        scopes = [literals, *enclosing]
        for literal in literals:
            if isinstance(literal, ast.CountAggregate):
                yield from self._dose_restrictions(literal.body, scopes, sources)
            elif isinstance(literal, ast.Atom) and literal.predicate == "dose":
                term = literal.args[3]
                group = None if literal.negated else self._walk_group_of(literal.args[1], scopes)
                if group is not None:
                    # the dose is also valid/invalid in a group: its product counts toward that group
                    yield f"SELECT pid FROM vx_counts WHERE vaccine = {lit(group)}"
                elif isinstance(term, ast.Name) and term.name in self.constants:
                    yield f"SELECT pid FROM vx_product WHERE id = {lit(term.name)}"
                elif isinstance(term, ast.Name):
                    tests = []
                    for scope in scopes:
                        for other in scope:
                            if (isinstance(other, ast.Atom) and not other.negated
                                    and (other.predicate in STATIC_BUILTINS or other.predicate in self.static)):
                                tests.extend(self._projection(other, term.name, sources))
                    if not tests:
                        yield None
                    else:
                        yield "SELECT pid FROM vx_product WHERE " + " AND ".join(f"id IN ({t})" for t in tests)
                else:
                    yield None

    def _walk_group_of(self, dose, scopes) -> str | None:
        """The group of a positive ``valid``/``invalid`` atom (a constant) of the same dose variable, in
        this conjunction or an enclosing one."""
        if not isinstance(dose, ast.Name) or dose.name in self.constants:
            return None
        for scope in scopes:
            for other in scope:
                if isinstance(other, ast.Atom) and not other.negated and other.predicate in WALK_BUILTINS:
                    group, same = other.args[1], other.args[2]
                    if (isinstance(same, ast.Name) and same.name == dose.name and isinstance(group, ast.Name)
                            and group.name in self.constants):
                        return group.name
        return None

    def _projection(self, atom: ast.Atom, variable: str, sources) -> list[str]:
        positions = [i for i, a in enumerate(atom.args) if isinstance(a, ast.Name) and a.name == variable]
        if not positions:
            return []
        conds = []
        for i, arg in enumerate(atom.args):
            if isinstance(arg, ast.Name) and arg.name in self.constants:
                conds.append(f"c{i} = {lit(arg.name)}")
            elif isinstance(arg, (ast.IntLit, ast.StrLit)):
                conds.append(f"c{i} = {lit(arg.value)}")
            elif isinstance(arg, ast.DateLit):
                conds.append(f"c{i} = {jd_literal(arg.value)}")
        conds += [f"c{positions[0]} = c{p}" for p in positions[1:]]
        where = " WHERE " + " AND ".join(conds) if conds else ""
        return [f"SELECT c{positions[0]} FROM {sources(atom.predicate)}{where}"]


def _atoms(literals):
    for literal in literals:
        if isinstance(literal, ast.Atom):
            yield literal
        elif isinstance(literal, ast.CountAggregate):
            yield from _atoms(literal.body)


class _Scope:
    """Builds the FROM items and WHERE terms of one clause (and its count bodies)."""

    def __init__(self, program: Datalog, sources, rename: dict, inline: bool = False):
        self.program = program
        self.sources = sources
        self.rename = rename
        self.inline = inline  # inside an inlined predicate: doses are read directly, not from vx_dose
        self.counter = 0
        self.bound: dict[str, str] = {}

    def source(self, predicate: str) -> str:
        if predicate in self.rename:
            return self.rename[predicate]
        if predicate in self.program.clauses and predicate not in self.program.materialized:
            return self.program.inline_source(predicate, self.sources)
        if predicate == "dose" and self.inline:
            return self.sources("dose:direct")
        return self.sources(predicate)

    def alias(self) -> str:
        self.counter += 1
        return f"t{self.counter}"

    def conjunction(self, literals, outer: dict[str, str]) -> tuple[list[str], list[str]]:
        """FROM items and WHERE terms for ``literals``; binds their new variables in ``self.bound``."""
        bound = dict(outer)
        froms, wheres, later = [], [], []
        for literal in literals:
            if isinstance(literal, ast.Atom) and not literal.negated:
                alias = self.alias()
                froms.append(f"{self.source(literal.predicate)} AS {alias}")
                for i, arg in enumerate(literal.args):
                    column = f"{alias}.c{i}"
                    if isinstance(arg, ast.Wildcard):
                        continue
                    if isinstance(arg, ast.Name) and arg.name not in self.program.constants:
                        if arg.name in bound:
                            wheres.append(f"{column} = {bound[arg.name]}")
                        else:
                            bound[arg.name] = column
                    elif isinstance(arg, ast.DateShift):
                        later.append((column, arg))
                    else:
                        wheres.append(f"{column} = {self.value(arg, bound)}")
        self.bound = bound
        for column, arg in later:
            wheres.append(f"{column} = {self.value(arg, bound)}")
        for literal in literals:
            if isinstance(literal, ast.Atom) and literal.negated:
                alias = self.alias()
                conds = []
                for i, arg in enumerate(literal.args):
                    if not isinstance(arg, ast.Wildcard):
                        conds.append(f"{alias}.c{i} = {self.value(arg, bound)}")
                where = " WHERE " + " AND ".join(conds) if conds else ""
                wheres.append(f"NOT EXISTS (SELECT 1 FROM {self.source(literal.predicate)} AS {alias}{where})")
            elif isinstance(literal, ast.Comparison):
                op = "<>" if literal.op == "!=" else literal.op
                wheres.append(f"({self.value(literal.left, bound)} {op} {self.value(literal.right, bound)})")
            elif isinstance(literal, ast.CountAggregate):
                wheres.append(self.count(literal, bound))
        self.bound = bound
        return froms, wheres

    def count(self, literal: ast.CountAggregate, bound: dict[str, str]) -> str:
        saved = self.bound
        froms, wheres = self.conjunction(literal.body, bound)
        counted = self.bound.get(literal.variable, "NULL")
        self.bound = saved
        inner = f"SELECT COUNT(DISTINCT {counted})"
        if froms:
            inner += " FROM " + ", ".join(froms)
        if wheres:
            inner += " WHERE " + " AND ".join(wheres)
        op = "<>" if literal.op == "!=" else literal.op
        return f"(({inner}) {op} {self.value(literal.bound, bound)})"

    def value(self, term, bound: dict[str, str]) -> str:
        if isinstance(term, ast.Name):
            if term.name in self.program.constants:
                return lit(term.name)
            if term.name not in bound:
                raise VaxError(f"unsafe: '{term.name}' does not occur in a positive atom of the body "
                               f"(line {term.span.line}; run vaxdsl check)")
            return bound[term.name]
        if isinstance(term, (ast.IntLit, ast.StrLit)):
            return lit(term.value)
        if isinstance(term, ast.DateLit):
            return jd_literal(term.value)
        if isinstance(term, ast.DateShift):
            months, days = signed_shift(term.sign, term.duration)
            return sql_add(self.value(term.term, bound), months, days)
        raise ValueError(f"'_' cannot be used as a value ({term!r})")
