"""Antigens (docs/semantics.md, "Antigens"): walk units, and a group's verdicts from its antigens'.

**Walk units.** The series walk of :mod:`.series` runs per *walk unit*: a group with series of its
own is one unit, numbered ``u = g`` (its chunk string ``s_g``, its columns ``wk_g``, ... exactly as
before antigens existed); each antigen a group declares is a unit numbered after every group
(``u > G``), which walks the group's doses **of the products it names**. Each unit has its virtual
walks (one per series), its fast path and its choice, and in the exact walk its rows of
``vx_walk``/``vx_wsum`` (their ``g`` column holds the unit).

**The fast path** of a group with antigens decides the students all of whose doses of the group are
of **common** products, those every antigen names (MMR and MMRV for measles, mumps and rubella):
every antigen then walks the group's own chunk string ``s_g``, so the units' walks share its decoded
chunks, a dose is the same chunk position in every unit, and antigens whose series are the same
(:func:`series_shape`: the same doses, rejects and windows, whatever their names) have the same walk:
one **representative** walks for all of them (for Minnesota's MMR, one walk, as before antigens). A
student with a dose of any other product (a single-antigen vaccine, or a product no antigen names)
is counted in Stage A (:attr:`Antigens.strays`) and takes the exact walk, like a student a
``reject`` may apply to.

**Combining** (a group with declared antigens; its units in declaration order):

* the group's valid doses: ``gn_g = min(n_u)``; group dose k is dated ``max(day of unit u's valid
  dose k)`` (for "last dose", k = ``gn_g``); ``series complete`` is every unit's chosen series complete;
* per dose (the ``--doses`` records, ``valid``/``invalid``, ``QTY valid doses of P``): valid when every
  unit walking its product finds it valid, else the reason of the first that does not; its number is
  the first unit's. In the fast path a count ``QTY valid doses of P`` takes the first unit's valid
  doses of P that are valid (at the same chunk position) in every other unit. From the exact walk,
  ``vx_comb`` has one row per (student, group, dose), grouped from the chosen walks' rows
  (``min(u * 4096 + reason)`` picks the first unit that failed it), plus the doses of products no
  antigen names (``not_allowable``).
"""

from __future__ import annotations

import attrs

from .. import ast
from ..walk import series_length
from .series import chunk_day, chunk_id, chunk_pid, fast_parts, max_valid
from .sql import all_of, lit, member, student_filter

UNIT_KEY = 4096  # > every reason code and dose number: u * UNIT_KEY + x orders by unit first


@attrs.frozen
class Unit:
    """One walk unit: a group walked as its own antigen (``u == g``, ``pids`` None) or a declared
    antigen (``u`` above every group)."""

    u: int
    g: int
    index: int  # its place among its group's antigens, from 0
    antigen: ast.Antigen
    pids: tuple[int, ...] | None  # the products it walks; None: every product of the group

    @property
    def series(self) -> tuple[ast.Series, ...]:
        return self.antigen.series

    @property
    def limit(self) -> int:
        """The most valid doses any of its series can reach."""
        return max((max_valid(series) for series in self.antigen.series), default=0)

    @property
    def length(self) -> int:
        """The doses of its longest series: the positions the fast path walks (past them: open or done)."""
        return max((series_length(series) for series in self.antigen.series), default=0)

    @property
    def declared(self) -> bool:
        return self.u != self.g


def walk_units(vaccines, catalog) -> list[Unit]:
    """Every walk unit of the ruleset, in group order and, within a group, declaration order."""
    G = len(vaccines)
    out: list[Unit] = []
    following = G
    for g, vaccine in enumerate(vaccines, start=1):
        if not vaccine.antigens:
            if vaccine.series:
                out.append(Unit(g, g, 0, vaccine.walked_antigens[0], None))
            continue
        members = catalog.members[g]
        for index, antigen in enumerate(vaccine.antigens):
            following += 1
            pids = tuple(pid for pid in members if catalog.products[pid - 1].id in (antigen.products or ()))
            if set(pids) == set(members):
                pids = None  # every product of the group: the group's own string
            out.append(Unit(following, g, index, antigen, pids))
    return out


def series_shape(node):
    """What a node of the AST means, without where it was written (spans) and a series' name: two
    antigens whose series have the same shapes walk the same doses the same way."""
    if isinstance(node, ast.Series):
        node = attrs.evolve(node, name="")
    if attrs.has(type(node)):
        return (type(node).__name__,) + tuple(series_shape(getattr(node, f.name)) for f in attrs.fields(type(node))
                                              if f.name != "span")
    if isinstance(node, (tuple, list)):
        return tuple(series_shape(item) for item in node)
    return node


class Antigens:
    """The SQL of the groups that declare antigens, for a :class:`vaxdsl.compiler.CompiledQuery` ``q``."""

    def __init__(self, q, units: list[Unit]):
        self.q = q
        self.units = {unit.u: unit for unit in units}
        self.groups: dict[int, list[Unit]] = {}
        for unit in units:
            if unit.declared:
                self.groups.setdefault(unit.g, []).append(unit)
        self._rep: dict[int, int] = {}
        for units_of_g in self.groups.values():
            seen: dict = {}
            for unit in units_of_g:
                self._rep[unit.u] = seen.setdefault(series_shape(unit.series), unit.u)
        self.strays: dict[int, str] = {}  # group -> Stage A column: its doses of products not every antigen names
        for g in self.groups:
            common = set(self.q.catalog.members[g])
            for unit in self.groups[g]:
                if unit.pids is not None:
                    common &= set(unit.pids)
            others = [pid for pid in self.q.catalog.members[g] if pid not in common]
            if others:
                self.strays[g] = q.row.aggregate(
                    f"count(*) FILTER (WHERE m.g = {g} AND m.pid IN ({', '.join(map(str, others))}))")

    def rep(self, u: int) -> int:
        """The unit whose fast-path walk stands for unit u's (itself, or an earlier one of the same shape)."""
        return self._rep.get(u, u)

    def reps(self, g: int) -> list[int]:
        return list(dict.fromkeys(self.rep(unit.u) for unit in self.groups[g]))

    def string(self, u: int) -> str:
        """The chunk string of unit u in the exact walk: its products' doses (Stage A with ids)."""
        unit = self.units[u]
        return f"s_{unit.g}" if unit.pids is None else f"s_{u}"

    def orphans(self, g: int) -> list[int]:
        """Products of group g that no antigen names (their doses are ``not_allowable``)."""
        named = set()
        for unit in self.groups[g]:
            named |= set(unit.pids if unit.pids is not None else self.q.catalog.members[g])
        return [pid for pid in self.q.catalog.members[g] if pid not in named]

    def open_sql(self, groups) -> list[str]:
        """The fast path leaves open the students with a dose of a product not every antigen names."""
        return [f"{self.strays[g]} > 0" for g in groups if g in self.strays]

    # ---- one unit's chosen walk, as SQL ------------------------------------------------------------

    def unit_n(self, u: int, walked: bool) -> str:
        """Valid doses of unit u's chosen series."""
        return f"coalesce(wn_{u}, 0)" if walked else fast_parts(f"wk_{self.rep(u)}", self.q.R)[0]

    def unit_complete(self, u: int, walked: bool) -> str:
        if not walked:
            return fast_parts(f"wk_{self.rep(u)}", self.q.R)[2]
        # a student walked for other groups has no row here when u has none of its doses
        return f"coalesce(wd_{u}, {self.q._complete_without_doses(u)})"

    def unit_valid_index(self, u: int, k: int | str) -> str:
        """The chunk position of unit u's valid dose k in the fast path."""
        _, j, _, a = fast_parts(f"wk_{self.rep(u)}", self.q.R)
        return f"({a} + {k} + ({j} BETWEEN 1 AND {k}))"

    def unit_valid_at(self, u: int, position: str, table: str = "") -> str:
        """SQL 0/1: the dose at chunk ``position`` is valid in unit u's chosen walk (fast path): past
        the prefix a, within the n valid doses (one more position when the failure j is among them),
        and not j. (``table``: the integer's table alias and dot.)"""
        n, j, _, a = fast_parts(f"{table}wk_{self.rep(u)}", self.q.R)
        return f"({position} > {a} AND {position} <= {a} + {n} + ({j} BETWEEN 1 AND {n}) AND {position} <> {a} + {j})"

    def unit_valid_chunk(self, u: int, k: int | str) -> str:
        u = self.rep(u)
        return self.q._valid_chunk(u, f"wk_{u}", k)

    def unit_valid_jd(self, u: int, k: int | str, walked: bool) -> str:
        if walked:
            return self.q._jd_of(f"CAST(substr(wvs_{u}, ({k}-1)*{self.q.width}+1, {self.q.width}) AS INTEGER)")
        return self.q._jd_of(self.unit_valid_chunk(u, k))

    # ---- the group's valid doses ------------------------------------------------------------------

    def n_layer(self, walked: bool, groups=None) -> list[tuple[str, str]]:
        """``gn_g`` of every group with antigens: the smallest of its units' valid counts."""
        out = []
        for g, units in self.groups.items():
            if groups is not None and g not in groups:
                continue
            counts = [self.unit_n(u, walked) for u in self._units(g, walked)]
            out.append((f"gn_{g}", counts[0] if len(counts) == 1 else f"min({', '.join(counts)})"))
        return out

    def _units(self, g: int, walked: bool) -> list[int]:
        """The units whose results the group combines: in the fast path, their representatives."""
        return [unit.u for unit in self.groups[g]] if walked else self.reps(g)

    def complete(self, g: int, walked: bool) -> str:
        return all_of([self.unit_complete(u, walked) for u in self._units(g, walked)])

    def dose_jd(self, g: int, k: int | str, walked: bool) -> str:
        """julianday of group dose k (SQL k allowed): the latest of the units' valid dose k."""
        days = [self.unit_valid_jd(u, k, walked) for u in self._units(g, walked)]
        return days[0] if len(days) == 1 else f"max({', '.join(days)})"

    # ---- counts of valid doses of some products ---------------------------------------------------------

    def count_fast(self, g: int, codes, age_template: str | None) -> str:
        """``QTY valid doses of P [at age]`` in the fast path (every dose of a common product, walked by
        every unit over the group's string): the first unit's valid doses of P whose chunk position
        every other representative finds valid too."""
        q = self.q
        first, *others = self.reps(g)
        terms = []
        for k in range(1, self.units[first].limit + 1):
            chunk = self.unit_valid_chunk(first, k)
            parts = [f"{self.unit_n(first, False)} >= {k}", member(q._pid_of(chunk), codes)]
            if age_template is not None:
                parts.append(age_template.replace("{JD}", q._jd_of(chunk)))
            position = self.unit_valid_index(first, k)
            parts += [self.unit_valid_at(other, position) for other in others]
            terms.append(f"({all_of(parts)})")
        return "(" + " + ".join(terms) + ")" if terms else "0"

    @staticmethod
    def count_walked(g: int, codes, age_template: str | None) -> str:
        """The same count for a walked student, from the combined verdicts in ``vx_comb``."""
        parts = ["cs = sid", f"cg = {g}", "cr = 0", member("cp", codes)]
        if age_template is not None:
            parts.append(age_template.replace("{JD}", "cj"))
        return f"(SELECT count(*) FROM vx_comb WHERE {all_of(parts)})"

    # ---- per dose, from the exact walk ----------------------------------------------------------------------

    def comb_statements(self, mode: str, groups) -> list[str]:
        """Fill ``vx_comb`` for these groups (those with antigens among them) from the exact walk's
        chosen rows in ``vx_walk``/``vx_wsum``, and the doses of products no antigen names."""
        from . import products as products_pass

        groups = [g for g in groups if g in self.groups]
        if not groups:
            return []
        q = self.q
        WW, pw = q.wide, q.catalog.width
        units = [unit for g in groups for unit in self.groups[g]]
        group_of = f"(CASE w.g {' '.join(f'WHEN {unit.u} THEN {unit.g}' for unit in units)} END)"
        dose_id = chunk_id("w.chunk", "1", WW, pw)
        out = ["DELETE FROM vx_comb", (
            f"INSERT INTO vx_comb SELECT w.sid, {group_of}, {dose_id}, {chunk_day('w.chunk', '1', WW)}, "
            f"{chunk_pid('w.chunk', '1', WW, pw)}, "
            f"coalesce(min(CASE WHEN w.r <> 0 THEN w.g * {UNIT_KEY} + w.r END) % {UNIT_KEY}, 0), "
            f"CASE WHEN max(w.r) = 0 THEN min(w.g * {UNIT_KEY} + w.n + 1) % {UNIT_KEY} END "
            f"FROM vx_walk w JOIN vx_wsum k ON k.sid = w.sid AND k.g = w.g AND k.v = w.v "
            f"WHERE w.g IN ({', '.join(str(unit.u) for unit in units)}) "
            f"GROUP BY w.sid, {group_of}, {dose_id}")]
        F = student_filter(mode)
        key = products_pass.resolution_key(q.catalog, "d")
        reason = q.reasons.code("not_allowable")
        for g in groups:
            orphans = self.orphans(g)
            if orphans:
                out.append(f"INSERT INTO vx_comb SELECT d.student_id, {g}, d.dose_id, julianday(d.date), "
                           f"CAST(m.pcode AS INTEGER), {reason}, NULL FROM doses d "
                           f"JOIN vx_map m ON m.rkey = {key} AND m.g = {g} "
                           f"WHERE m.pid IN ({', '.join(map(str, orphans))}) AND d.date <= {lit(q.E)} "
                           f"AND {F('d.student_id')}")
        return out

    def relation_statements(self, groups) -> list[str]:
        """``valid``/``invalid`` of these groups (those with antigens) from ``vx_comb``."""
        groups = [g for g in groups if g in self.groups]
        if not groups:
            return []
        where = f"c.cg IN ({', '.join(map(str, groups))})"
        return [
            f"INSERT OR IGNORE INTO vx_valid SELECT c.cs, v.id, c.cd, c.cn FROM vx_comb c "
            f"JOIN vx_group v ON v.g = c.cg WHERE {where} AND c.cr = 0",
            f"INSERT OR IGNORE INTO vx_invalid SELECT c.cs, v.id, c.cd, x.name FROM vx_comb c "
            f"JOIN vx_group v ON v.g = c.cg JOIN vx_reason x ON x.code = c.cr WHERE {where} AND c.cr <> 0",
        ]

    def listing_sql(self) -> str | None:
        """The dose records of the groups with antigens, from ``vx_comb``, as rows of the listing
        (:meth:`vaxdsl.compiler.CompiledQuery.doses_sql`); None when no group has antigens."""
        if not self.groups:
            return None
        return ("SELECT c.cs AS sid, c.cg AS g, c.cd AS dose_id, d.date AS date, d.cvx AS cvx, c.cp AS pid, "
                "c.cr AS r, c.cn AS number, 0 AS pos FROM vx_comb c JOIN doses d ON d.dose_id = c.cd")

