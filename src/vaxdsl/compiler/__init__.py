"""The SQL compiler: a ruleset and an effective date -> SQL over a fact database (docs/performance.md).

``compile_ruleset(ruleset, as_of) -> CompiledQuery``. The passes, one module each, in the order the
generated SQL runs:

1. :mod:`.products` - the products as temporary tables; each dose row's resolution key;
2. :mod:`.dates` - CDSi date arithmetic as SQL (used by every later pass);
3. :mod:`.datalog` - the derived predicates, stratum by stratum, into temporary tables;
4. :mod:`.series` - dose validity: the fast path for everyone, the exact recursive walk where needed;
5. :mod:`.conditions` - rule conditions as column expressions of a student's wide row;
6. :mod:`.tables` - each group's rule table as one CASE (first active matching rule).

The statement that does the work (:meth:`CompiledQuery.main_sql`) reads each student once: the
student's doses come in ``(date, dose_id)`` order from the ``doses(student_id, date, ...)`` index
and are aggregated into one chunk string per vaccine group (Stage A, ``GROUP BY student_id``
streaming over the index, no sort); then co-routine layers decode the chunks, run the fast-path
validity tests, and evaluate every group's rule table as one CASE. The per-run steps around it
(:meth:`CompiledQuery.steps`) fill the small tables it joins.

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
from ..grades import GradeIndex
from ..walk import predicate_calls
from .conditions import KIND_BITS, OTHER_KIND_BIT, GroupConditions, Row
from .dates import DateExpr, jd_literal, key_of_number, sql_add, sql_key_of_text
from .series import (DATE_WIDTH, ID_WIDTH, DoseRefs, Reasons, SeriesChecks, chunk_id, chunk_pid, chunk_day, day_chunk,
                     forced_students_sql, pad_id, reject_call_sql)
from .sql import lit, pipeline
from .tables import Decisions, decision_sql, decisions

__all__ = ["compile_ruleset", "CompiledQuery", "Step", "MODES"]

MODES = ("all", "range", "list")


@attrs.frozen
class Step:
    kind: str  # "sql": run once; "fixpoint": run the stratum's statements until none adds a row
    sql: str
    label: str = ""


def student_filter(mode: str):
    if mode == "all":
        return lambda column: "1"
    if mode == "range":
        return lambda column: f"({column} >= :lo AND {column} < :hi)"
    if mode == "list":
        return lambda column: f"{column} IN (SELECT sid FROM vx_sel)"
    if mode == "slow":
        return lambda column: f"{column} IN (SELECT sid FROM vx_slow)"
    raise ValueError(f"unknown student filter mode {mode!r}")


def compile_ruleset(ruleset: ast.Ruleset, as_of: date) -> "CompiledQuery":
    """Compile ``ruleset`` for effective date ``as_of``."""
    return CompiledQuery(ruleset, as_of)


class CompiledQuery:
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
        self.row = Row(self.catalog, as_of, self.grades)
        self.decisions: tuple[Decisions, ...] = tuple(decisions(ruleset, v) for v in self.vaccines)
        roots = {call.name for call in predicate_calls(ruleset)}
        rejected = {r.call.name for v in self.vaccines for r in (v.series.rejects if v.series else ())}
        self.datalog = datalog_pass.Datalog(ruleset, as_of, roots, rejected)
        for call in predicate_calls(ruleset):
            if call.name not in self.datalog.arity:
                raise VaxError(f"no predicate or built-in relation named '{call.name}' (run vaxdsl check)")
        self.rejecting = any(v.series and v.series.rejects for v in self.vaccines)
        # compile the rule tables once (this also registers what the wide row must hold)
        self._decision_sql = []
        for g, vaccine in enumerate(self.vaccines, start=1):
            conditions = GroupConditions(self.row, vaccine, g, self._condition_call)
            self._decision_sql.append(decision_sql(ruleset, vaccine, conditions, as_of))
        self._checks = {}
        for g, vaccine in enumerate(self.vaccines, start=1):
            if vaccine.series is not None:
                self._checks[g] = SeriesChecks(vaccine, g, self.catalog, self.reasons, self._age_column, None)
        self._keys: dict[str, str] = {}  # month-key columns the fast path asked for
        self._fast_sql = {g: self._fast_walk(g) for g in self._checks}
        # the walk's checks register ages too: build them before the birth table is fixed
        self._walk_reason = self._walk_reason_sql(student="w.sid", sources=self.sources("all"))
        self.ages = dict(self.row.ages)

    # ---- names -------------------------------------------------------------------------------------

    def _age_column(self, duration) -> str:
        return self.row.age(duration)

    def _condition_call(self, call: ast.Call) -> str:
        """A predicate call in a condition; the wide row's student is ``sid``."""
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
            "CREATE TEMP TABLE vx_forced(sid PRIMARY KEY) WITHOUT ROWID",
            f"CREATE TEMP TABLE vx_birth(birth PRIMARY KEY, bk{''.join(f', {c}' for c in self.ages.values())}) WITHOUT ROWID",
            "CREATE TEMP TABLE vx_exm(sid PRIMARY KEY"
            + "".join(f", x_{g}, xu_{g}" for g in range(1, len(self.vaccines) + 1)) + ") WITHOUT ROWID",
            "CREATE TEMP TABLE vx_dose(c0, c1, c2, c3, PRIMARY KEY (c0, c1)) WITHOUT ROWID",
            "CREATE TEMP TABLE vx_relevant(pid INTEGER PRIMARY KEY)",
            "CREATE TEMP TABLE vx_valid(c0, c1, c2, c3, UNIQUE(c0, c1, c2, c3))",
            "CREATE TEMP TABLE vx_invalid(c0, c1, c2, c3, UNIQUE(c0, c1, c2, c3))",
            "CREATE TEMP TABLE vx_walk(sid, g, i, c, n, r, chunk, vs)",
            "CREATE TEMP TABLE vx_wsum(sid, g, n, vs, PRIMARY KEY (sid, g)) WITHOUT ROWID",
            "CREATE TEMP TABLE vx_result(sid PRIMARY KEY, slow"
            + "".join(f", o_{g}, n_{g}" for g in range(1, len(self.vaccines) + 1)) + ") WITHOUT ROWID",
        ]
        out.append("INSERT INTO vx_reason VALUES " + ", ".join(
            f"({i}, {lit(name)})" for i, name in enumerate(self.reasons.names, start=1)))
        bits = self.grades.bits
        if bits:
            out.append("INSERT INTO vx_grade VALUES " + ", ".join(f"({lit(c)}, {b})" for c, b in bits.items()))
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
                "vx_walk", "vx_wsum", "vx_slow", "vx_result")]
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
                where.append("(d.cvx IN (SELECT cvx FROM vx_product WHERE pid IN (SELECT pid FROM vx_relevant)) "
                             "OR (d.product_name IS NOT NULL AND d.product_name <> ''))")
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
            groups = program.walk_groups()
            gs = [g for g, v in enumerate(self.vaccines, 1) if groups is None or v.id in groups]
            out.append(Step("sql", self.walk_sql(mode, gs), "walk for valid/invalid"))
            out.append(Step("sql", "INSERT OR IGNORE INTO vx_valid SELECT w.sid, v.id, "
                                   f"{chunk_id('w.chunk', '1', self.wide, self.catalog.width)}, w.n + 1 "
                                   "FROM vx_walk w JOIN vx_group v ON v.g = w.g WHERE w.r = 0"))
            out.append(Step("sql", "INSERT OR IGNORE INTO vx_invalid SELECT w.sid, v.id, "
                                   f"{chunk_id('w.chunk', '1', self.wide, self.catalog.width)}, x.name "
                                   "FROM vx_walk w JOIN vx_group v ON v.g = w.g JOIN vx_reason x ON x.code = w.r "
                                   "WHERE w.r <> 0"))
            out.append(Step("sql", "DELETE FROM vx_walk"))
            for stratum in program.strata:
                if stratum.after_walk and not stratum.static:
                    out += [Step(kind, sql, "predicate " + ", ".join(stratum.names))
                            for kind, sql in program.stratum_steps(stratum, sources)]
        return out

    def slow_steps(self) -> list[Step]:
        """After the main statement: the exact walk for the pairs the fast path left open."""
        series_groups = list(self._checks)
        return [
            Step("sql", "DELETE FROM vx_slow"),
            Step("sql", "DELETE FROM vx_walk"),
            Step("sql", "DELETE FROM vx_wsum"),
            Step("sql", "INSERT INTO vx_slow SELECT sid FROM vx_result WHERE slow"),
            Step("sql", self.walk_sql("slow", series_groups), "exact walk"),
            Step("sql", "INSERT INTO vx_wsum SELECT sid, g, n + (r = 0), vs FROM vx_walk WHERE i = c"),
            Step("sql", "INSERT OR REPLACE INTO vx_result " + self.main_sql("slow", walked=True), "rules (walked)"),
        ]

    # ---- Stage A: one row per student ---------------------------------------------------------------

    def stage_a_parts(self, mode: str, with_ids: bool = False, groups=None,
                      extras: bool = True) -> tuple[list[tuple[str, str]], str]:
        """(columns, FROM ... GROUP BY) of the per-student aggregate over the student's doses."""
        F = student_filter(mode)
        E = lit(self.E)
        key = products_pass.resolution_key(self.catalog, "d")
        chunk = f"{day_chunk('d.date')} || m.pcode" + (f" || {pad_id('d.dose_id')}" if with_ids else "")
        columns = [("sid", "s.student_id"), ("birth", "s.birth_date")]
        joins = []
        if extras:
            columns += [("grade", "s.grade"), ("bk", "b.bk")]
            columns += [(c, f"b.{c}") for c in self.ages.values()]
            columns.append(("gb", "gr.gb"))
            for g in range(1, len(self.vaccines) + 1):
                columns += [(f"x_{g}", f"e.x_{g}"), (f"xu_{g}", f"e.xu_{g}")]
            columns.append(("forced", "(f.sid IS NOT NULL)"))
            joins += ["LEFT JOIN vx_birth b ON b.birth = s.birth_date",
                      "LEFT JOIN vx_grade gr ON gr.code = s.grade",
                      "LEFT JOIN vx_exm e ON e.sid = s.student_id",
                      "LEFT JOIN vx_forced f ON f.sid = s.student_id"]
        for g in (groups or range(1, len(self.vaccines) + 1)):
            columns.append((f"s_{g}", f"group_concat({chunk}, '') FILTER (WHERE m.g = {g})"))
        if extras:
            columns += [(name, expr) for expr, name in self.row.aggregates.items()]
        joins += [f"LEFT JOIN doses d ON d.student_id = s.student_id AND d.date <= {E}",
                  f"LEFT JOIN vx_map m ON m.rkey = {key}"]
        return columns, ("FROM students s\n" + "\n".join(joins)
                         + f"\nWHERE {F('s.student_id')}\nGROUP BY s.student_id")

    def stage_a(self, mode: str, with_ids: bool = False, groups=None, extras: bool = True) -> str:
        columns, rest = self.stage_a_parts(mode, with_ids, groups, extras)
        return f"SELECT {', '.join(f'{expr} AS {name}' for name, expr in columns)}\n{rest}"

    # ---- the fast path ----------------------------------------------------------------------------------

    def _unit(self) -> int:
        return 10 ** self.catalog.width  # chunk integer = day * unit + group code

    def _dose(self, g: int, i: int) -> DoseRefs:
        """Dose chunk i of group g in the fast path: the chunk as an integer ``x_g_i`` (day number and
        group code), and month keys (for month intervals) decoded in the first layer."""
        def keyer(shift: int, g=g, i=i) -> str:
            name = f"kn_{g}_{i}_{'m' if shift < 0 else 'p'}{abs(shift)}"
            day = chunk_day(f"s_{g}", str(i), self.width)
            self._keys[name] = f"CAST(strftime('%Y%m%d', {day}{-shift:+d}) AS INTEGER)"
            return key_of_number(name)

        unit = self._unit()
        return DoseRefs(DateExpr(jd=f"(x_{g}_{i}/{unit}+0.5)", keyer=keyer), f"(x_{g}_{i}%{unit})", None, None)

    def _fast_walk(self, g: int) -> str:
        """``wk_g`` = n + 64 * skip + 4096 * open: the group's valid doses by the fast path (n), the
        dose it skipped as invalid (skip, 0 for none) and whether the exact walk must decide (open).

        Level 0 judges dose i as series dose i; let j be the first that fails. Level 1 judges each
        dose i > j as series dose i - 1, valid doses being the chunks before i except j; let j2 be the
        first that fails. No j: n = min(c, S). No j2: n = min(c - 1, S). Else n = j2 - 2, exact when
        j2 is the last dose (c), open otherwise. See :mod:`.series` for why this is the walk."""
        checks = self._checks[g]
        S = checks.limit
        c = f"c_{g}"

        def first_failure(first: int, skip: int | None) -> tuple[list[int], str]:
            arms, positions = [], []
            for i in range(first, S + 2 if skip else S + 1):
                number = i - 1 if skip else i
                anchor = (lambda m, skip=skip: self._dose(g, m + 1 if skip and m >= skip else m).date)
                dose = self._dose(g, i)
                fails = checks.fails(number, DoseRefs(dose.date, dose.pid, None, anchor))
                if fails == "0":
                    continue
                arms.append(f"WHEN {c} >= {i} AND {fails} THEN {i}")
                positions.append(i)
            return positions, (f"(CASE {' '.join(arms)} END)" if arms else "NULL")

        positions, level0 = first_failure(1, None)
        if not positions:
            return f"min({c}, {S})"
        arms = []
        for j in positions:
            later, level1 = first_failure(j + 1, j)
            settled = f"min({c} - 1, {S}) + {64 * j}"
            if not later:
                arms.append(f"WHEN {j} THEN {settled}")
                continue
            inner = " ".join(f"WHEN {j2} THEN {j2 - 2 + 64 * j} + 4096 * ({j2} < {c})" for j2 in later)
            arms.append(f"WHEN {j} THEN (CASE {level1} {inner} ELSE {settled} END)")
        return f"(CASE {level0} {' '.join(arms)} ELSE min({c}, {S}) END)"

    def main_sql(self, mode: str, walked: bool = False) -> str:
        """One row per student: ``sid, slow, o_1, n_1, ...`` (decision code and valid doses per group)."""
        G = len(self.vaccines)
        W = self.width
        columns, rest = self.stage_a_parts(mode)
        if walked:
            inner = f"SELECT {', '.join(f'{expr} AS {name}' for name, expr in columns)}\n{rest}"
            columns = [(name, f"a.{name}") for name, _ in columns]
            for g in self._checks:
                columns += [(f"wn_{g}", f"w{g}.n"), (f"wvs_{g}", f"w{g}.vs")]
            joins = "".join(f"\nLEFT JOIN vx_wsum w{g} ON w{g}.sid = a.sid AND w{g}.g = {g}" for g in self._checks)
            rest = f"FROM (\n{inner}\n) a{joins}"
        decode = [(f"c_{g}", f"coalesce(length(s_{g}), 0) / {W}") for g in range(1, G + 1)]
        layers = [decode]
        if not walked:
            for g, checks in self._checks.items():
                for i in range(1, checks.limit + 2):
                    decode.append((f"x_{g}_{i}", f"CAST(substr(s_{g}, {(i - 1) * W + 1}, {W}) AS INTEGER)"))
            decode += list(self._keys.items())
            layers.append([(f"wk_{g}", self._fast_sql[g]) for g in self._checks])
            slow = "(" + " OR ".join(["forced"] + [f"wk_{g} >= 4096" for g in self._checks]) + ")"
        else:
            slow = "0"
        outputs = [("sid", "sid"), ("slow", slow)]
        for g in range(1, G + 1):
            decision = self._placeholders(self._decision_sql[g - 1], walked)
            outputs += [(f"o_{g}", decision), (f"n_{g}", self._n(g, walked))]
        return pipeline(columns, rest, layers, outputs)

    def _n(self, g: int, walked: bool) -> str:
        if g not in self._checks:
            return f"c_{g}"
        return f"coalesce(wn_{g}, 0)" if walked else f"(wk_{g} % 64)"

    def _placeholders(self, sql: str, walked: bool) -> str:
        """Put the valid-dose expressions of this variant in place of ``n_g``, ``vj_g_k``, ``vp_g_k``."""
        W, unit = self.width, self._unit()

        def chunk(g: int, k: int) -> str:
            if g not in self._checks or walked:
                string = f"s_{g}" if g not in self._checks else f"wvs_{g}"
                index = self._n(g, walked) if k == 0 else str(k)
                return f"CAST(substr({string}, ({index}-1)*{W}+1, {W}) AS INTEGER)"
            skip = f"(wk_{g} / 64 % 64)"
            if k > 0:
                return f"(CASE WHEN {skip} BETWEEN 1 AND {k} THEN x_{g}_{k + 1} ELSE x_{g}_{k} END)"
            n = self._n(g, walked)
            index = f"({n} + ({skip} BETWEEN 1 AND {n}))"
            arms = " ".join(f"WHEN {i} THEN x_{g}_{i}" for i in range(1, self._checks[g].limit + 2))
            return f"(CASE {index} {arms} END)"

        sql = re.sub(r"\bn_(\d+)\b", lambda m: self._n(int(m.group(1)), walked), sql)
        sql = re.sub(r"\bvj_(\d+)_(\d+)\b", lambda m: f"({chunk(int(m.group(1)), int(m.group(2)))}/{unit}+0.5)", sql)
        return re.sub(r"\bvp_(\d+)_(\d+)\b", lambda m: f"({chunk(int(m.group(1)), int(m.group(2)))}%{unit})", sql)

    # ---- the exact walk -----------------------------------------------------------------------------------

    def _walk_reason_sql(self, student: str, sources) -> str:
        W, WW, pw = self.width, self.wide, self.catalog.width
        arms = []
        for g, vaccine in enumerate(self.vaccines, start=1):
            checks = self._checks.get(g)
            if checks is None:
                arms.append(f"WHEN {g} THEN 0")
                continue
            checks.age = lambda duration: "b." + self._age_column(duration)
            checks.reject_sql = lambda call, dose_id: reject_call_sql(call, student, dose_id, sources,
                                                                     self.datalog.constants)
            dose = DoseRefs(DateExpr(jd=chunk_day("w.s", "w.i", WW)), chunk_pid("w.s", "w.i", WW, pw),
                            chunk_id("w.s", "w.i", WW, pw), lambda k: DateExpr(jd=chunk_day("w.vs", str(k), W)))
            inner = [f"WHEN {n} THEN {checks.reason(n + 1, dose)}" for n in range(0, checks.limit)]
            inner.append(f"ELSE {self.reasons.code('extraneous')}")
            arms.append(f"WHEN {g} THEN (CASE w.n {' '.join(inner)} END)")
        return f"(CASE w.g {' '.join(arms)} END)" if arms else "0"

    def walk_sql(self, mode: str, groups) -> str:
        """``INSERT INTO vx_walk``: the exact walk of the given groups for the filtered students."""
        W, WW = self.width, self.wide
        src = self.stage_a(mode, with_ids=True, groups=groups, extras=False)
        pairs = " UNION ALL ".join(f"SELECT sid, birth, {g}, s_{g} FROM src WHERE s_{g} IS NOT NULL" for g in groups)
        if not groups:
            return "SELECT 1"
        return (
            f"INSERT INTO vx_walk WITH RECURSIVE\n"
            f"src AS (\n{src}\n),\n"
            f"pairs(sid, birth, g, s) AS ({pairs}),\n"
            f"w(sid, birth, g, s, c, i, ph, n, vs, r) AS (\n"
            f"  SELECT sid, birth, g, s, length(s) / {WW}, 1, 0, 0, '', 0 FROM pairs\n"
            f"  UNION ALL\n"
            f"  SELECT w.sid, w.birth, w.g, w.s, w.c, w.i + w.ph, 1 - w.ph,\n"
            f"    CASE WHEN w.ph = 1 AND w.r = 0 THEN w.n + 1 ELSE w.n END,\n"
            f"    CASE WHEN w.ph = 1 AND w.r = 0 THEN w.vs || substr(w.s, (w.i-1)*{WW}+1, {W}) ELSE w.vs END,\n"
            f"    CASE WHEN w.ph = 0 THEN {self._walk_reason} ELSE w.r END\n"
            f"  FROM w JOIN vx_birth b ON b.birth = w.birth\n"
            f"  WHERE w.ph = 0 OR w.i < w.c\n"
            f")\n"
            f"SELECT sid, g, i, c, n, r, substr(s, (i-1)*{WW}+1, {WW}),\n"
            f"  CASE WHEN i = c THEN vs || CASE WHEN r = 0 THEN substr(s, (i-1)*{WW}+1, {W}) ELSE '' END END\n"
            f"FROM w WHERE ph = 1"
        )

    def doses_sql(self, mode: str) -> str:
        """Per dose and group (from ``vx_walk``), then the unresolved doses, in result order:
        ``sid, g, dose_id, date, cvx, pid, r, number`` (``g`` NULL for an unresolved dose)."""
        WW, pw = self.wide, self.catalog.width
        E = lit(self.E)
        F = student_filter(mode)
        key = products_pass.resolution_key(self.catalog, "d")
        dose_id = chunk_id("w.chunk", "1", WW, pw)
        return (
            "SELECT sid, g, dose_id, date, cvx, pid, r, number FROM ("
            f"SELECT w.sid AS sid, w.g AS g, {dose_id} AS dose_id, date({chunk_day('w.chunk', '1', WW)}) AS date,"
            f" d.cvx AS cvx, {chunk_pid('w.chunk', '1', WW, pw)} AS pid, w.r AS r,"
            f" CASE WHEN w.r = 0 THEN w.n + 1 END AS number, w.i AS pos"
            f" FROM vx_walk w JOIN doses d ON d.dose_id = {dose_id}"
            " UNION ALL "
            "SELECT d.student_id, NULL, d.dose_id, d.date, d.cvx, NULL, NULL, NULL, 0 FROM doses d"
            f" WHERE d.date <= {E} AND {F('d.student_id')} AND NOT EXISTS"
            f" (SELECT 1 FROM vx_resolve r WHERE r.rkey = {key})"
            ") ORDER BY sid, coalesce(g, 1e9), pos, date, dose_id"
        )

    @cached_property
    def sql(self) -> str:
        """The whole script for every student (for reading; the engine runs the same statements)."""
        parts = ["-- setup", *(s + ";" for s in self.setup_statements()), "-- per run"]
        for step in self.steps("all"):
            parts.append((f"-- {step.label} ({step.kind})\n" if step.label else "") + step.sql + ";")
        parts += ["-- main", "INSERT INTO vx_result " + self.main_sql("all") + ";", "-- slow path"]
        parts += [step.sql + ";" for step in self.slow_steps()]
        return "\n".join(parts)
