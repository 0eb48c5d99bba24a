"""The SQL compiler: a ruleset and an effective date -> SQL over a fact database (docs/performance.md).

``compile_ruleset(ruleset, as_of) -> CompiledQuery``. The passes, one module each, in the order the
generated SQL runs:

1. :mod:`.products` - the products as temporary tables; each dose row's resolution key;
2. :mod:`.dates` - CDSi date arithmetic as SQL (used by every later pass);
3. :mod:`.datalog` - the derived predicates, stratum by stratum, into temporary tables, except those
   :mod:`.row_predicates` reads off the walk (a group's valid doses and their dates);
4. :mod:`.series` (with :mod:`.skips`) - dose validity: one virtual walk per (walk unit, series), the
   fast path for everyone, the exact recursive walk where needed, and the choice of each unit's series;
   a walk unit is a group with series of its own, or one antigen of a group that declares them
   (:mod:`.antigens`, which also combines a group's antigens); :mod:`.fast_path` has the walks without
   recursion, :mod:`.exact_walk` the recursive walk and the per-dose listing read from it;
5. :mod:`.conditions` - rule conditions as column expressions of a student's wide row;
6. :mod:`.tables` - each group's rule table as one CASE (first active matching rule);
7. :mod:`.doses` - the per-dose records (``--doses``) from the fast path, the exact walk for the rest.

The statement that does the work (:meth:`CompiledQuery.main_sql`) reads each student once: the
student's doses come in ``(date, dose_id)`` order from the ``doses(student_id, date, ...)`` index
and are aggregated into one chunk string per vaccine group (Stage A, ``GROUP BY student_id``
streaming over the index, no sort); then co-routine layers decode the chunks, run the fast-path
validity tests of every series, choose each group's series, and evaluate every group's rule table as
one CASE. The per-run steps around it (:meth:`CompiledQuery.steps`) fill the small tables it joins
(and, when predicates read ``valid``, run the fast path of those groups first: :meth:`valid_steps`).

Every statement is produced for a **student filter** mode: ``all``, ``range`` (``:lo <= id <
:hi``, used to split the population between worker connections) or ``list`` (the ids in
``vx_sel``, for a few students). ``CompiledQuery.sql`` is the whole script for ``all``.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cached_property

import attrs

from .. import ast
from ..errors import VaxError
from . import datalog as datalog_pass
from . import products as products_pass
from .antigens import Antigens, walk_units
from .row_predicates import row_predicates
from ..grades import GradeIndex
from ..walk import predicate_calls
from .conditions import KIND_BITS, OTHER_KIND_BIT, GroupConditions, Row
from .dates import DateExpr, compare_shift, jd_literal, months_days, sql_add, sql_key_of_text
from .series import (DATE_WIDTH, ID_WIDTH, Reasons, chunk_id, day_chunk, fast_parts, forced_students_sql, max_valid,
                     pad_id, radix)
from .exact_walk import ExactWalk
from .fast_path import FastPath
from .sql import all_of, any_of, lit, not_, pipeline, student_filter
from .tables import Decisions, decision_sql, decisions

__all__ = ["compile_ruleset", "CompiledQuery", "Step", "MODES"]

MODES = ("all", "range", "list")


@attrs.frozen
class VirtualWalk:
    """One series of one walk unit, walked on its own (a group without a series: one walk, all valid)."""

    v: int  # 1-based over the ruleset
    g: int
    k: int  # the series' place in its unit, from 0
    series: ast.Series | None
    u: int  # the walk unit (:mod:`.antigens`): g for a group walked as its own antigen


@attrs.frozen
class Step:
    kind: str  # "sql": run once; "fixpoint": run the stratum's statements until none adds a row
    sql: str
    label: str = ""
    instead: tuple[str, ...] = ()  # run in its place when SQLite cannot parse it even with fitted walks


def compile_ruleset(ruleset: ast.Ruleset, as_of: date) -> "CompiledQuery":
    """Compile ``ruleset`` for effective date ``as_of``."""
    return CompiledQuery(ruleset, as_of)


class CompiledQuery(FastPath, ExactWalk):
    """The SQL of a ruleset for one effective date, and what is needed to read its results."""

    def __init__(self, ruleset: ast.Ruleset, as_of: date):
        self.ruleset = ruleset
        self.as_of = as_of
        self.E = as_of.isoformat()
        self.catalog = products_pass.catalog(ruleset)
        self.vaccines = tuple(ruleset.vaccines)
        if len({v.id for v in self.vaccines}) != len(self.vaccines):
            raise VaxError("the ruleset declares a vaccine group twice (run vaxdsl check)")
        self.grades = GradeIndex.of(ruleset)
        self.reasons = Reasons(ruleset)
        self.width = DATE_WIDTH + self.catalog.width  # chunk width
        self.wide = self.width + ID_WIDTH  # chunk width with the dose id
        self._unit = 10 ** self.catalog.width
        self.row = Row(self.catalog, as_of, self.grades)
        units = walk_units(self.vaccines, self.catalog)
        self.antigens = Antigens(self, units)
        self.decisions: tuple[Decisions, ...] = tuple(decisions(ruleset, v) for v in self.vaccines)
        calls = list(predicate_calls(ruleset))
        rejected = {r.call.name for v in self.vaccines for r in v.predicate_rejects}
        # predicates about a group's valid doses, read off the walk in the main statement
        self.row_predicates = row_predicates(ruleset, calls, rejected, self.row)
        roots = {call.name for call in calls} - set(self.row_predicates)
        self.datalog = datalog_pass.Datalog(ruleset, as_of, roots, rejected)
        for call in calls:
            if call.name not in self.datalog.arity:
                raise VaxError(f"no predicate or built-in relation named '{call.name}' (run vaxdsl check)")
        # compile the rule tables once (this also registers what the wide row must hold)
        self._decision_sql = []
        for g, vaccine in enumerate(self.vaccines, start=1):
            conditions = GroupConditions(self.row, vaccine, g, self._condition_call)
            self._decision_sql.append(decision_sql(ruleset, vaccine, conditions, as_of))
        # the virtual walks: one per (walk unit, series); a group without a series has one, all valid
        self.walks: list[VirtualWalk] = []
        for g, vaccine in enumerate(self.vaccines, start=1):
            if not vaccine.has_series:
                self.walks.append(VirtualWalk(len(self.walks) + 1, g, 0, None, g))
            for unit in (unit for unit in units if unit.g == g):
                for k, series in enumerate(unit.series):
                    self.walks.append(VirtualWalk(len(self.walks) + 1, g, k, series, unit.u))
        self._series: dict[int, list[VirtualWalk]] = {}  # walk units -> their walks
        # `only with`: Stage A counts the doses of each (group, products) a series names; none: left out
        self._only_with_counts: dict[tuple[int, frozenset], str] = {}
        self._only_with: dict[int, str] = {}  # virtual walk -> its count's column
        for w in self.walks:
            if w.series is not None:
                self._series.setdefault(w.u, []).append(w)
            if w.series is not None and w.series.only_with:
                key = (w.g, frozenset(w.series.only_with))
                self._only_with[w.v] = self._only_with_counts.setdefault(key, f"ow_{len(self._only_with_counts) + 1}")
        self._limit = {unit.u: unit.length for unit in units if unit.u in self._series}  # fast-path positions
        self._walked_groups = sorted({w.g for w in self.walks if w.series is not None})
        self.R = radix(max(self._limit.values(), default=0))
        self._prefix: dict[int, str] = {}  # virtual walk -> SQL of its prefix (a_g_k)
        self._fast_sql: dict[int, str] = {}  # virtual walk -> SQL of its fast-path integer
        self.fitted = False  # the walks were fitted to SQLite's parser (FastPath.fit_parser)
        fast_units = [u for u in self._series if self.antigens.rep(u) == u]  # antigens of one shape: one walk
        for u in fast_units:
            for w in self._series[u]:
                self._fast_sql[w.v] = self._fast_walk(w)
        self._choice = {u: self._choice_sql(u) for u in fast_units if len(self._series[u]) > 1}
        # the groups whose valid doses the predicates read, when the fast path can give them (below)
        gs = self._walk_groups() if self.datalog.uses_walk() else []
        self._valid_groups = gs if ("invalid" not in self.datalog.walk_relations()
                                    and all(g in self._series for g in gs)) else []
        # the walk's checks register ages too: build them before the birth table is fixed
        self._counters: dict[str, str] = {}  # running counts of the walk (skip conditions): test -> column
        self._walk_target, self._walk_reason = self._walk_parts(student="w.sid", sources=self.sources("all"))
        self._choose = self._choose_sql()
        self.ages = dict(self.row.ages)

    # ---- names -------------------------------------------------------------------------------------

    def _age_column(self, duration) -> str:
        return self.row.age(duration)

    def _condition_call(self, call: ast.Call) -> str:
        """A predicate call in a condition; the wide row's student is ``sid``."""
        if call.name in self.row_predicates:
            return self.row_predicates[call.name]
        values = []
        for arg in call.args:
            if isinstance(arg, ast.Student):
                values.append("sid")
            elif isinstance(arg, ast.CurrentDose):
                values.append("NULL")  # no current dose outside a series: never equal
            elif isinstance(arg, ast.Name):
                values.append(lit(arg.name))
            else:
                values.append(lit(arg.value))
        return self.datalog.call_sql(call.name, values, self._call_sources)

    def _call_sources(self, name: str) -> str:
        return self.sources("all")(name)

    def sources(self, mode: str):
        F = student_filter(mode)
        E = lit(self.E)
        builtin = {
            "student": f"(SELECT student_id AS c0 FROM students WHERE {F('student_id')})",
            "birth": f"(SELECT student_id AS c0, julianday(birth_date) AS c1 FROM students WHERE {F('student_id')})",
            "grade": (f"(SELECT student_id AS c0, grade AS c1 FROM students "
                      f"WHERE grade IS NOT NULL AND grade <> '' AND {F('student_id')})"),
            "dose": "vx_dose",
            "dose:direct": (f"(SELECT d.student_id AS c0, d.dose_id AS c1, julianday(d.date) AS c2, p.id AS c3 "
                            f"FROM doses d JOIN vx_resolve r ON r.rkey = {products_pass.resolution_key(self.catalog, 'd')} "
                            f"JOIN vx_product p ON p.pid = r.pid WHERE d.date <= {E})"),
            "counts": "vx_rel_counts",
            "live": "vx_rel_live",
            "exemption": (f"(SELECT DISTINCT student_id AS c0, vaccine AS c1, kind AS c2 FROM exemptions "
                          f"WHERE (date IS NULL OR date <= {E}) AND {F('student_id')})"),
            "valid": "vx_valid",
            "invalid": "vx_invalid",
            "as_of": f"(SELECT {jd_literal(self.as_of)} AS c0)",
        }

        def source(name: str) -> str:
            if name in builtin:
                return builtin[name]
            if name in self.datalog.clauses:
                return datalog_pass.table_name(name)
            raise VaxError(f"no predicate or built-in relation named '{name}' (run vaxdsl check)")

        return source

    # ---- setup: tables that do not depend on the students ----------------------------------------------

    def setup_statements(self) -> list[str]:
        out = products_pass.setup_statements(self.catalog)
        out += [
            "CREATE TEMP TABLE vx_rel_counts(c0, c1, UNIQUE(c0, c1))",
            "INSERT OR IGNORE INTO vx_rel_counts SELECT p.id, c.vaccine FROM vx_counts c JOIN vx_product p USING (pid)",
            "CREATE TEMP TABLE vx_rel_live(c0 PRIMARY KEY)",
            "INSERT OR IGNORE INTO vx_rel_live SELECT id FROM vx_product WHERE live",
            "CREATE TEMP TABLE vx_reason(code INTEGER PRIMARY KEY, name)",
            "CREATE TEMP TABLE vx_grade(code PRIMARY KEY, gb) WITHOUT ROWID",
            "CREATE TEMP TABLE vx_sel(sid PRIMARY KEY) WITHOUT ROWID",
            "CREATE TEMP TABLE vx_slow(sid PRIMARY KEY) WITHOUT ROWID",
            "CREATE TEMP TABLE vx_open(sid PRIMARY KEY) WITHOUT ROWID",
            "CREATE TEMP TABLE vx_forced(sid PRIMARY KEY) WITHOUT ROWID",
            f"CREATE TEMP TABLE vx_birth(birth PRIMARY KEY, bk{''.join(f', {c}' for c in self.ages.values())}) WITHOUT ROWID",
            "CREATE TEMP TABLE vx_exm(sid PRIMARY KEY"
            + "".join(f", x_{g}, xu_{g}" for g in range(1, len(self.vaccines) + 1)) + ") WITHOUT ROWID",
            "CREATE TEMP TABLE vx_dose(c0, c1, c2, c3, PRIMARY KEY (c0, c1)) WITHOUT ROWID",
            "CREATE TEMP TABLE vx_relevant(pid INTEGER PRIMARY KEY)",
            "CREATE TEMP TABLE vx_valid(c0, c1, c2, c3, UNIQUE(c0, c1, c2, c3))",
            "CREATE TEMP TABLE vx_invalid(c0, c1, c2, c3, UNIQUE(c0, c1, c2, c3))",
            "CREATE TEMP TABLE vx_walk(sid, g, v, i, c, n, t, r, chunk, vs)",
            "CREATE TEMP TABLE vx_wsum(sid, g, v, n, vs, done, PRIMARY KEY (sid, g)) WITHOUT ROWID",
            "CREATE TEMP TABLE vx_comb(cs, cg, cd, cj, cp, cr, cn, PRIMARY KEY (cs, cg, cd)) WITHOUT ROWID",
            "CREATE TEMP TABLE vx_result(sid PRIMARY KEY, slow"
            + "".join(f", o_{g}, n_{g}" for g in range(1, len(self.vaccines) + 1)) + ") WITHOUT ROWID",
        ]
        out.append("INSERT INTO vx_reason VALUES " + ", ".join(
            f"({i}, {lit(name)})" for i, name in enumerate(self.reasons.reported, start=1)))
        bits = self.grades.bits
        if bits:
            out.append("INSERT INTO vx_grade VALUES " + ", ".join(f"({lit(c)}, {b})" for c, b in bits.items()))
        if self._valid_groups:
            columns = "".join(f", wk_{g}" + "".join(f", d_{g}_{k}" for k in range(1, self._limit[g] + 1))
                              for g in self._valid_groups)
            out.append(f"CREATE TEMP TABLE vx_fv(sid PRIMARY KEY, open{columns}) WITHOUT ROWID")
        out += self.datalog.create_statements()
        return out

    # ---- per run ----------------------------------------------------------------------------------------

    def static_steps(self) -> list[Step]:
        """Predicates that use no student fact: the same for every run of a connection."""
        out = []
        for stratum in self.datalog.strata:
            if stratum.static:
                out += [Step(kind, sql, "predicate " + ", ".join(stratum.names))
                        for kind, sql in self.datalog.stratum_steps(stratum, self.sources("all"))]
        return out

    def steps(self, mode: str, static: bool = True) -> list[Step]:
        """Everything before the main statement, in order, for a student filter mode (``static``:
        include :meth:`static_steps`, which a connection that ran them once may leave out)."""
        F = student_filter(mode)
        E = lit(self.E)
        sources = self.sources(mode)
        out = [Step("sql", f"DELETE FROM {t}") for t in
               ("vx_birth", "vx_exm", "vx_dose", "vx_relevant", "vx_forced", "vx_valid", "vx_invalid",
                "vx_walk", "vx_wsum", "vx_comb", "vx_slow", "vx_result")]
        ages = "".join(f", {sql_add('julianday(birth_date)', m, d)}" for (m, d) in self.ages)
        out.append(Step("sql", f"INSERT INTO vx_birth SELECT birth_date, {sql_key_of_text('birth_date')}{ages} "
                               f"FROM students WHERE {F('student_id')} GROUP BY birth_date", "birth dates"))
        bit = (f"(CASE kind {' '.join(f'WHEN {lit(k)} THEN {b}' for k, b in KIND_BITS.items())} "
               f"ELSE {OTHER_KIND_BIT} END)")
        columns = []
        for vaccine in self.vaccines:
            v = lit(vaccine.id)
            columns.append(f"sum(DISTINCT CASE WHEN vaccine = {v} THEN {bit} END)")
            columns.append(f"min(CASE WHEN vaccine = {v} AND {bit} = {OTHER_KIND_BIT} THEN kind END)")
        if self.vaccines:
            out.append(Step("sql", f"INSERT INTO vx_exm SELECT student_id, {', '.join(columns)} FROM exemptions "
                                   f"WHERE (date IS NULL OR date <= {E}) AND {F('student_id')} GROUP BY student_id",
                            "exemptions"))
        program = self.datalog
        if static:
            out += self.static_steps()
        if program.uses_dose():
            relevant = program.dose_products_sql(sources)
            key = products_pass.resolution_key(self.catalog, "d")
            where = [f"d.date <= {E}", F("d.student_id")]
            if relevant is not None:
                out.append(Step("sql", f"INSERT OR IGNORE INTO vx_relevant {relevant}"))
                where.append("r.pid IN (SELECT pid FROM vx_relevant)")
                where.append(products_pass.may_resolve_sql(
                    "SELECT cvx FROM vx_product WHERE pid IN (SELECT pid FROM vx_relevant)"))
            out.append(Step("sql", f"INSERT INTO vx_dose SELECT d.student_id, d.dose_id, julianday(d.date), p.id "
                                   f"FROM doses d JOIN vx_resolve r ON r.rkey = {key} "
                                   f"JOIN vx_product p ON p.pid = r.pid WHERE {' AND '.join(where)}", "dose facts"))
        for stratum in program.strata:
            if stratum.static or stratum.after_walk:
                continue
            out += [Step(kind, sql, "predicate " + ", ".join(stratum.names))
                    for kind, sql in program.stratum_steps(stratum, sources)]
        out += [Step("sql", sql, "reject") for sql in forced_students_sql(self.ruleset, sources, F)]
        if program.uses_walk():
            if self._valid_groups:  # valid doses from the fast path; the exact walk for the students it left open
                out += self.valid_steps(mode)
            else:
                gs = self._walk_groups()
                out += [Step("sql", sql, "walk for valid/invalid") for sql in self.walk_statements(mode, gs)]
                chosen = "JOIN vx_wsum k ON k.sid = w.sid AND k.g = w.g AND k.v = w.v"
                out.append(Step("sql", "INSERT OR IGNORE INTO vx_valid SELECT w.sid, v.id, "
                                       f"{chunk_id('w.chunk', '1', self.wide, self.catalog.width)}, w.n + 1 "
                                       f"FROM vx_walk w {chosen} JOIN vx_group v ON v.g = w.g WHERE w.r = 0"))
                out.append(Step("sql", "INSERT OR IGNORE INTO vx_invalid SELECT w.sid, v.id, "
                                       f"{chunk_id('w.chunk', '1', self.wide, self.catalog.width)}, x.name "
                                       f"FROM vx_walk w {chosen} JOIN vx_group v ON v.g = w.g "
                                       "JOIN vx_reason x ON x.code = w.r WHERE w.r <> 0"))
                out += [Step("sql", sql) for sql in self.antigens.relation_statements(gs)]  # groups with antigens
            out.append(Step("sql", "DELETE FROM vx_walk"))
            out.append(Step("sql", "DELETE FROM vx_wsum"))
            for stratum in program.strata:
                if stratum.after_walk and not stratum.static:
                    out += [Step(kind, sql, "predicate " + ", ".join(stratum.names))
                            for kind, sql in program.stratum_steps(stratum, sources)]
        return out

    def _walk_groups(self) -> list[int]:
        groups = self.datalog.walk_groups()
        return [g for g, v in enumerate(self.vaccines, 1) if groups is None or v.id in groups]

    def valid_steps(self, mode: str) -> list[Step]:
        """``valid`` for the predicates when they read no ``invalid`` and only groups with series: the
        fast path (and choice) of those groups for every student, each valid dose's id from a string of
        the group's dose ids; the exact walk for the students it leaves open (or a reject may apply to)."""
        gs = self._valid_groups
        F = student_filter(mode)
        columns, rest = self.stage_a_parts(mode, groups=gs, id_strings=True)
        layers, slow = self._fast_layers(gs)
        outputs = [("sid", "sid"), ("open", slow)]
        for g in gs:
            outputs.append((f"wk_{g}", f"wk_{g}"))
            n, j, _, a = fast_parts(f"wk_{g}", self.R)
            for k in range(1, self._limit[g] + 1):
                index = f"({a} + {k} + ({j} BETWEEN 1 AND {k}))"
                outputs.append((f"d_{g}_{k}", f"CASE WHEN {n} >= {k} THEN CAST(substr(i_{g}, ({index}-1)*{ID_WIDTH}+1, "
                                              f"{ID_WIDTH}) AS INTEGER) END"))
        # an open student's fast-path integers are not its walk (the exact walk's valid doses are added below)
        unpivot = " UNION ALL ".join(
            f"SELECT sid, {lit(self.vaccines[g - 1].id)}, d_{g}_{k}, {k} FROM vx_fv WHERE NOT open AND d_{g}_{k} IS NOT NULL"
            for g in gs for k in range(1, self._limit[g] + 1))
        walk = self.walk_statements("open", gs)
        chosen = "JOIN vx_wsum k ON k.sid = w.sid AND k.g = w.g AND k.v = w.v"
        return [
            Step("sql", "DELETE FROM vx_fv"),
            Step("sql", "DELETE FROM vx_open"),
            Step("sql", "INSERT INTO vx_fv " + pipeline(columns, rest, layers, outputs), "valid doses (fast path)",
                 # a fast path too intricate for SQLite: every student is open, so takes the exact walk
                 instead=(f"INSERT INTO vx_fv(sid, open) SELECT student_id, 1 FROM students WHERE {F('student_id')}",)),
            Step("sql", f"INSERT OR IGNORE INTO vx_valid {unpivot}" if unpivot else "SELECT 1"),
            Step("sql", "INSERT INTO vx_open SELECT sid FROM vx_fv WHERE open"),
            *(Step("sql", sql, "valid doses (exact walk)") for sql in walk),
            Step("sql", "INSERT OR IGNORE INTO vx_valid SELECT w.sid, v.id, "
                        f"{chunk_id('w.chunk', '1', self.wide, self.catalog.width)}, w.n + 1 "
                        f"FROM vx_walk w {chosen} JOIN vx_group v ON v.g = w.g WHERE w.r = 0"),
        ]  # vx_fv stays: the main statement reads these groups' fast-path integers (and "open") from it

    def slow_steps(self, everyone: str | None = None) -> list[Step]:
        """After the main statement: the exact walk for the students the fast path left open; with
        ``everyone`` (a student filter mode), instead of the main statement, for every student of it."""
        students = "SELECT sid FROM vx_result WHERE slow" if everyone is None else self.students_sql(everyone)
        return [
            Step("sql", "DELETE FROM vx_slow"),
            Step("sql", f"INSERT INTO vx_slow {students}"),
            *(Step("sql", sql, "exact walk") for sql in self.walk_statements("slow", self._walked_groups)),
            Step("sql", "INSERT OR REPLACE INTO vx_result " + self.main_sql("slow", walked=True), "rules (walked)"),
        ]

    @staticmethod
    def students_sql(mode: str) -> str:
        """The ids of the students a filter mode covers."""
        return f"SELECT student_id FROM students WHERE {student_filter(mode)('student_id')}"

    # ---- Stage A: one row per student ---------------------------------------------------------------

    def stage_a_parts(self, mode: str, with_ids: bool = False, groups=None,
                      extras: bool = True, id_strings: bool = False) -> tuple[list[tuple[str, str]], str]:
        """(columns, FROM ... GROUP BY) of the per-student aggregate over the student's doses."""
        F = student_filter(mode)
        E = lit(self.E)
        key = products_pass.resolution_key(self.catalog, "d")
        narrow = f"{day_chunk('d.date')} || m.pcode"
        wide = f"{narrow} || {pad_id('d.dose_id')}"
        columns = [("sid", "s.student_id"), ("birth", "s.birth_date")]
        joins = []
        if extras:
            columns += [("grade", "s.grade"), ("bk", "b.bk")]
            columns += [(c, f"b.{c}") for c in self.ages.values()]
            columns.append(("gb", "gr.gb"))
            for g in range(1, len(self.vaccines) + 1):
                columns += [(f"x_{g}", f"e.x_{g}"), (f"xu_{g}", f"e.xu_{g}")]
            columns.append(("forced", "(f.sid IS NOT NULL)"))
            if self._valid_groups and not id_strings:
                columns.append(("fv_open", "fv.open"))
                columns += [(f"wk_{g}", f"fv.wk_{g}") for g in self._valid_groups]
                joins.append("LEFT JOIN vx_fv fv ON fv.sid = s.student_id")
            joins += ["LEFT JOIN vx_birth b ON b.birth = s.birth_date",
                      "LEFT JOIN vx_grade gr ON gr.code = s.grade",
                      "LEFT JOIN vx_exm e ON e.sid = s.student_id",
                      "LEFT JOIN vx_forced f ON f.sid = s.student_id"]
        for g in (groups or range(1, len(self.vaccines) + 1)):
            chunk = wide if with_ids else narrow
            columns.append((f"s_{g}", f"group_concat({chunk}, '') FILTER (WHERE m.g = {g})"))
            for unit in self.antigens.groups.get(g, ()) if with_ids else ():  # an antigen's products (exact walk)
                if unit.pids is not None:
                    only_its = f"m.g = {g} AND m.pid IN ({', '.join(map(str, unit.pids))})" if unit.pids else "0"
                    columns.append((f"s_{unit.u}", f"group_concat({chunk}, '') FILTER (WHERE {only_its})"))
            if id_strings:
                columns.append((f"i_{g}", f"group_concat({pad_id('d.dose_id')}, '') FILTER (WHERE m.g = {g})"))
            for (of_group, products), name in self._only_with_counts.items():
                if of_group == g:
                    pids = ", ".join(map(str, self.catalog.pids_of(products))) or "NULL"
                    columns.append((name, f"count(*) FILTER (WHERE m.g = {g} AND m.pid IN ({pids}))"))
        if extras and groups is None:  # counts over the whole history: not from some groups' doses
            columns += [(name, expr) for expr, name in self.row.aggregates.items()]
        only = prefilter = ""
        if groups is not None:  # fewer rows to aggregate, and only their doses' keys to compute
            only = f" AND m.g IN ({', '.join(map(str, groups))})"
            prefilter = " AND " + products_pass.may_count_toward_sql(self.catalog, groups)
        joins += [f"LEFT JOIN doses d ON d.student_id = s.student_id AND d.date <= {E}{prefilter}",
                  f"LEFT JOIN vx_map m ON m.rkey = {key}{only}"]
        return columns, ("FROM students s\n" + "\n".join(joins)
                         + f"\nWHERE {F('s.student_id')}\nGROUP BY s.student_id")

    def stage_a(self, mode: str, with_ids: bool = False, groups=None, extras: bool = True, strings=None) -> str:
        """Stage A as one SELECT (``strings``: keep only these chunk strings)."""
        columns, rest = self.stage_a_parts(mode, with_ids, groups, extras)
        if strings is not None:
            columns = [(name, expr) for name, expr in columns if not name.startswith("s_") or name in strings]
        return f"SELECT {', '.join(f'{expr} AS {name}' for name, expr in columns)}\n{rest}"

    # ---- walk units (:mod:`.antigens`) ------------------------------------------------------------------

    def _string(self, u: int) -> str:
        """The chunk string walk unit u walks in the exact walk (``s_g`` for a group walked as its own
        antigen); in the fast path every unit walks its group's ``s_g`` (:mod:`.antigens`)."""
        return self.antigens.string(u) if u in self.antigens.units else f"s_{u}"

    def _g(self, u: int) -> int:
        """The group of walk unit u."""
        return self.antigens.units[u].g

    def main_sql(self, mode: str, walked: bool = False) -> str:
        """One row per student: ``sid, slow, o_1, n_1, ...`` (decision code and valid doses per group)."""
        G = len(self.vaccines)
        columns, rest = self.stage_a_parts(mode)
        if walked:
            inner = f"SELECT {', '.join(f'{expr} AS {name}' for name, expr in columns)}\n{rest}"
            columns = [(name, f"a.{name}") for name, _ in columns]
            for u in self._series:
                columns += [(f"wn_{u}", f"w{u}.n"), (f"wvs_{u}", f"w{u}.vs"), (f"wd_{u}", f"w{u}.done")]
            joins = "".join(f"\nLEFT JOIN vx_wsum w{u} ON w{u}.sid = a.sid AND w{u}.g = {u}" for u in self._series)
            rest = f"FROM (\n{inner}\n) a{joins}"
        if not walked:
            layers, slow = self._fast_layers([g for g in range(1, G + 1) if g not in self._valid_groups])
            if self._valid_groups:  # computed before the predicates (valid_steps)
                layers[0] += self._count_columns(self._valid_groups)
                slow = f"({slow} OR coalesce(fv_open, 1))"
        else:
            layers = [self._count_columns(range(1, G + 1))]
            if self.antigens.groups:
                layers.append(self.antigens.n_layer(walked=True))
            slow = "0"
        outputs = [("sid", "sid"), ("slow", slow)]
        for g in range(1, G + 1):
            decision = self._placeholders(self._decision_sql[g - 1], walked)
            outputs += [(f"o_{g}", decision), (f"n_{g}", self._n(g, walked))]
        return pipeline(columns, rest, layers, outputs)

    def fast_path_sql(self, mode: str) -> str:
        """Stage A and the fast path of every group, without predicates or rule tables: one row per
        student with each walk unit's chosen fast-path integer. Not part of an evaluation: the
        benchmark times it to show what the walks alone cost (docs/performance.md)."""
        groups = range(1, len(self.vaccines) + 1)
        layers, slow = self._fast_layers(groups)
        units = self._units_of(groups)
        outputs = [("sid", "sid"), ("slow", slow)] + [(f"wk_{u}", f"wk_{u}") for u in units]
        return pipeline(*self.stage_a_parts(mode), layers, outputs)

    def _n(self, g: int, walked: bool) -> str:
        if g in self.antigens.groups:
            return f"gn_{g}"
        if g not in self._series:
            return f"c_{g}"
        return self.antigens.unit_n(g, walked)

    def _complete(self, g: int, walked: bool) -> str:
        """``series complete`` of group g: the chosen walk's flag (docs/semantics.md); with antigens,
        every antigen's."""
        if g in self.antigens.groups:
            return self.antigens.complete(g, walked)
        if g not in self._series:
            return "0"
        return self.antigens.unit_complete(g, walked)

    def _complete_without_doses(self, u: int) -> str:
        """With no doses every walk ends at series dose 1: complete only for a series without doses,
        chosen when it may start on E, or when no series may."""
        walks = [w for w in self._series[u] if not w.series.only_with]  # left out: no doses of their products
        if not any(max_valid(w.series) == 0 for w in walks):
            return "0"
        E, birth = DateExpr.constant(self.as_of), DateExpr(key="bk")

        def may_start(series: ast.Series) -> str:
            parts = []
            if series.start_from is not None:
                parts.append(compare_shift(E, ">=", birth, *months_days(series.start_from)))
            if series.start_before is not None:
                parts.append(compare_shift(E, "<", birth, *months_days(series.start_before)))
            return all_of(parts) if parts else "1"

        empty = any_of([may_start(w.series) for w in walks if max_valid(w.series) == 0])
        return any_of([empty, not_(any_of([may_start(w.series) for w in walks]))])

    def _placeholders(self, sql: str, walked: bool) -> str:
        """Put the valid-dose expressions of this variant in place of ``n_g``, ``sc_g``, ``vj_g_k``,
        ``vp_g_k`` and ``vq_g_i`` (:class:`.conditions.Row`)."""
        W = self.width

        def chunk(g: int, k: int) -> str:
            if g not in self._series or walked:
                string = f"s_{g}" if g not in self._series else f"wvs_{g}"
                index = self._n(g, walked) if k == 0 else str(k)
                return f"CAST(substr({string}, ({index}-1)*{W}+1, {W}) AS INTEGER)"
            return self._valid_chunk(g, f"wk_{g}", self._n(g, walked) if k == 0 else k)

        def jd(g: int, k: int) -> str:
            if g in self.antigens.groups:  # group dose k: the day the last antigen got its dose k
                return self.antigens.dose_jd(g, self._n(g, walked) if k == 0 else k, walked)
            return self._jd_of(chunk(g, k))

        def count(i: int) -> str:
            g, products, template = self.row.valid_counts[i]
            if walked:
                return self.antigens.count_walked(g, self.catalog.codes_of(g, products), template)
            return self.antigens.count_fast(g, self.catalog.codes_of(g, products), template)

        sql = re.sub(r"\bn_(\d+)\b", lambda m: self._n(int(m.group(1)), walked), sql)
        sql = re.sub(r"\bsc_(\d+)\b", lambda m: self._complete(int(m.group(1)), walked), sql)
        sql = re.sub(r"\bvq_(\d+)\b", lambda m: count(int(m.group(1))), sql)
        sql = re.sub(r"\bvj_(\d+)_(\d+)\b", lambda m: jd(int(m.group(1)), int(m.group(2))), sql)
        return re.sub(r"\bvp_(\d+)_(\d+)\b", lambda m: self._pid_of(chunk(int(m.group(1)), int(m.group(2)))), sql)

    @cached_property
    def fast_doses(self):
        """The dose listing from the fast path (:mod:`.doses`)."""
        from .doses import FastDoses

        return FastDoses(self)

    @cached_property
    def sql(self) -> str:
        """The whole script for every student (for reading; the engine runs the same statements)."""
        parts = ["-- setup", *(s + ";" for s in self.setup_statements()), "-- per run"]
        for step in self.steps("all"):
            parts.append((f"-- {step.label} ({step.kind})\n" if step.label else "") + step.sql + ";")
        parts += ["-- main", "INSERT INTO vx_result " + self.main_sql("all") + ";", "-- slow path"]
        parts += [step.sql + ";" for step in self.slow_steps()]
        return "\n".join(parts)
