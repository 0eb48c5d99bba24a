"""The exact walk (docs/performance.md, "How the SQL is organised"): the recursive CTE that walks
every dose of the students the fast path cannot decide, the choice of each (student, walk unit)'s
series from the walk's last rows, and the per-dose listing read from them.

:class:`ExactWalk` is a part of :class:`.CompiledQuery` (it reads the compiled state: the walks, the
catalog, the reasons, the skip-condition counters), kept apart so each reads in one sitting.
"""

from __future__ import annotations

from .. import ast
from ..walk import series_length
from . import products as products_pass
from .dates import DateExpr, compare_shift, months_days
from .series import (SeriesChecks, chunk_day, chunk_id, chunk_pid, choice_score, reject_call_sql,
                     walk_reason_sql, walk_target_sql)
from .skips import Judged
from .sql import lit, student_filter


class ExactWalk:
    def _judged_walk(self, n: int | None) -> Judged:
        """The dose of the walk's current row (chunk ``w.i`` of ``w.s``) with its history: n valid doses
        (None: the row's ``w.n``) in ``w.vs``; earlier doses through running counters."""
        W, WW, pw = self.width, self.wide, self.catalog.width
        def valid_date(k) -> DateExpr:
            day = chunk_day("w.vs", str(k), W)
            return DateExpr(jd=day, keyer=self._keyer(day))

        day = chunk_day("w.s", "w.i", WW)
        here = DateExpr(jd=day, keyer=self._keyer(day)), chunk_pid("w.s", "w.i", WW, pw)

        def before(test) -> int | str:
            sql = test(*here)
            if sql == "0":
                return 0
            return "w." + self._counters.setdefault(sql, f"q{len(self._counters)}")

        not_valid = None
        if self._after_not_valid:  # the latest not-valid day before this dose's: the walk's nv, or nv0
            nv = f"(CASE WHEN w.nv < {day} THEN w.nv ELSE w.nv0 END)"
            not_valid = (f"({nv} > 0)", DateExpr(jd=nv, keyer=self._keyer(nv)))
        return Judged(here[0], here[1], chunk_id("w.s", "w.i", WW, pw), "w.n" if n is None else n,
                      valid_date, lambda k: chunk_pid("w.vs", str(k), W, pw),
                      before, "(w.i - 1)", retried=("(w.pa > 0)", DateExpr(jd="w.pa", keyer=self._keyer("w.pa"))),
                      not_valid=not_valid)

    @property
    def _after_not_valid(self) -> bool:
        """Does a series reject doses after a dose not valid? Then the walk keeps the days of the
        latest dose not valid (nv) and of the latest one on an earlier day than it (nv0)."""
        return any(isinstance(reject, ast.RejectAfterNotValid) for w in self.walks if w.series is not None
                   for reject in w.series.rejects)

    def _walk_parts(self, student: str, sources) -> tuple[str, str]:
        """(target after step 0, reason code) of the walk's current row, by virtual walk ``w.v``."""
        targets, reasons = [], []
        extraneous = self.reasons.code("extraneous")
        for w in self.walks:
            if w.series is None:
                reasons.append(f"WHEN {w.v} THEN 0")
                continue
            checks = SeriesChecks(w.series, w.g, self.catalog, self.reasons, lambda d: "b." + self._age_column(d),
                                  lambda call, dose_id: reject_call_sql(call, student, dose_id, sources,
                                                                        self.datalog.constants))
            target = walk_target_sql(checks, self._judged_walk(None), "w.t")
            if target != "w.t":
                targets.append(f"WHEN {w.v} THEN {target}")
            reasons.append(f"WHEN {w.v} THEN {walk_reason_sql(checks, self._judged_walk, target, extraneous)}")
        target = f"(CASE w.v {' '.join(targets)} ELSE w.t END)" if targets else "w.t"
        reason = f"(CASE w.v {' '.join(reasons)} END)" if reasons else "0"
        return target, reason

    def walk_sql(self, mode: str, groups) -> str:
        """``INSERT INTO vx_walk``: the exact walk of every virtual walk of the given groups for the
        filtered students (one row per dose and walk: the state the dose was judged in and its reason)."""
        W, WW = self.width, self.wide
        walks = [w for w in self.walks if w.g in set(groups)]
        if not walks:
            return "SELECT 1"
        strings = {self._string(w.u) for w in walks}
        src = self.stage_a(mode, with_ids=True, groups=sorted({w.g for w in walks}), extras=False, strings=strings)
        pairs = " UNION ALL ".join(
            f"SELECT sid, birth, {w.u}, {w.v}, {self._string(w.u)} FROM src WHERE {self._string(w.u)} IS NOT NULL"
            + ("" if (never := self._never_chosen(w, DateExpr(text="birth"))) == "0" else f" AND NOT {never}")
            for w in walks)
        counters = list(self._counters.items())
        # pa: the day of the latest dose since the last valid one not valid but still an anchor (0: none),
        # what an interval from the previous dose counts from (docs/semantics.md, step 2)
        not_anchoring = ", ".join(str(self.reasons.code(r)) for r in ast.NOT_ANCHORING_REASONS)
        q_columns = "".join(f", {name}" for _, name in counters)
        q_start = ", 0" * len(counters)
        q_step = "".join(f",\n    CASE WHEN w.ph = 1 THEN w.{name} + {test} ELSE w.{name} END" for test, name in counters)
        if self._after_not_valid:  # nv, nv0: see _after_not_valid (days ascend along the walk)
            day, failed = chunk_day("w.s", "w.i", WW), "w.ph = 1 AND w.r <> 0"
            q_columns += ", nv, nv0"
            q_start += ", 0, 0"
            q_step += (f",\n    CASE WHEN {failed} THEN max(w.nv, {day}) ELSE w.nv END"
                       f",\n    CASE WHEN {failed} AND {day} > w.nv THEN w.nv ELSE w.nv0 END")
        return (
            f"INSERT INTO vx_walk WITH RECURSIVE\n"
            f"src AS (\n{src}\n),\n"
            f"pairs(sid, birth, g, v, s) AS ({pairs}),\n"
            f"w(sid, birth, g, v, s, c, i, ph, n, t, vs, r, pa{q_columns}) AS (\n"
            f"  SELECT sid, birth, g, v, s, length(s) / {WW}, 1, 0, 0, 1, '', 0, 0{q_start} FROM pairs\n"
            f"  UNION ALL\n"
            f"  SELECT w.sid, w.birth, w.g, w.v, w.s, w.c, w.i + w.ph, 1 - w.ph,\n"
            f"    CASE WHEN w.ph = 1 AND w.r = 0 THEN w.n + 1 ELSE w.n END,\n"
            f"    CASE WHEN w.ph = 0 THEN {self._walk_target} WHEN w.r = 0 THEN w.t + 1 ELSE w.t END,\n"
            f"    CASE WHEN w.ph = 1 AND w.r = 0 THEN w.vs || substr(w.s, (w.i-1)*{WW}+1, {W}) ELSE w.vs END,\n"
            f"    CASE WHEN w.ph = 0 THEN {self._walk_reason} ELSE w.r END,\n"
            f"    CASE WHEN w.ph = 0 OR w.r IN ({not_anchoring}) THEN w.pa WHEN w.r = 0 THEN 0"
            f" ELSE {chunk_day('w.s', 'w.i', WW)} END{q_step}\n"
            f"  FROM w JOIN vx_birth b ON b.birth = w.birth\n"
            f"  WHERE w.ph = 0 OR w.i < w.c\n"
            f")\n"
            f"SELECT sid, g, v, i, c, n, t, r, substr(s, (i-1)*{WW}+1, {WW}),\n"
            f"  CASE WHEN i = c THEN vs || CASE WHEN r = 0 THEN substr(s, (i-1)*{WW}+1, {W}) ELSE '' END END\n"
            f"FROM w WHERE ph = 1"
        )

    def _choose_sql(self) -> str:
        """``INSERT INTO vx_wsum``: per student and group walked, the chosen virtual walk with its valid
        doses (n) and their chunks (vs), from the walk's last row (:func:`.series.choice_score`)."""
        W = self.width
        E = DateExpr.constant(self.as_of)
        birth = DateExpr(key="b.bk")
        n, complete_after = "(w.n + (w.r = 0))", "(w.t + (w.r = 0))"

        def e_at_least(duration) -> str:
            return compare_shift(E, ">=", birth, *months_days(duration))

        arms, done_arms = [], []
        for walks in self._series.values():
            for w in walks:
                complete = f"({complete_after} > {series_length(w.series)})"
                done_arms.append(f"WHEN {w.v} THEN {complete}")
                if len(walks) < 2:
                    continue
                score = choice_score(w.series, w.k, n, complete, chunk_day("w.vs", "1", W),
                                     lambda d: "b." + self._age_column(d), e_at_least)
                arms.append(f"WHEN {w.v} THEN {score}")
        joins = ""
        score = "0"
        if arms:
            score = f"(CASE w.v {' '.join(arms)} ELSE 0 END)"
            joins = " JOIN students s ON s.student_id = w.sid JOIN vx_birth b ON b.birth = s.birth_date"
        done = f"(CASE w.v {' '.join(done_arms)} ELSE 0 END)" if done_arms else "0"
        # max() picks the row of the chosen walk: its n, vs and done are that row's (SQLite's bare columns)
        return (f"INSERT INTO vx_wsum SELECT sid, g, v, n, vs, done FROM ("
                f"SELECT w.sid AS sid, w.g AS g, w.v AS v, {n} AS n, w.vs AS vs, {done} AS done, "
                f"max({score}) AS score FROM vx_walk w{joins} WHERE w.i = w.c GROUP BY w.sid, w.g)")

    def walk_statements(self, mode: str, groups) -> list[str]:
        """The exact walk of these groups into ``vx_walk``, and the chosen walk of each (student, walk
        unit) into ``vx_wsum``; the groups with antigens among them get their doses' verdicts in
        ``vx_comb`` (:meth:`.antigens.Antigens.comb_statements`)."""
        return (["DELETE FROM vx_walk", "DELETE FROM vx_wsum", self.walk_sql(mode, groups), self._choose]
                + self.antigens.comb_statements(mode, groups))

    def doses_sql(self, mode: str, fast: str | None = None) -> str:
        """Per dose and group (from the chosen walks in ``vx_walk``, and ``fast``: rows of the same
        form from :mod:`.doses`), then the unresolved doses, in result order: ``sid, g, dose_id, date,
        cvx, pid, r, number`` (``g`` NULL for an unresolved dose)."""
        WW, pw = self.wide, self.catalog.width
        E = lit(self.E)
        F = student_filter(mode)
        key = products_pass.resolution_key(self.catalog, "d")
        dose_id = chunk_id("w.chunk", "1", WW, pw)
        antigens = self.antigens.listing_sql()  # the groups with antigens: their doses' combined verdicts
        return (
            "SELECT sid, g, dose_id, date, cvx, pid, r, number FROM ("
            f"SELECT w.sid AS sid, w.g AS g, {dose_id} AS dose_id, date({chunk_day('w.chunk', '1', WW)}) AS date,"
            f" d.cvx AS cvx, {chunk_pid('w.chunk', '1', WW, pw)} AS pid, w.r AS r,"
            f" CASE WHEN w.r = 0 THEN w.n + 1 END AS number, w.i AS pos"
            f" FROM vx_walk w JOIN vx_wsum k ON k.sid = w.sid AND k.g = w.g AND k.v = w.v"
            f" JOIN doses d ON d.dose_id = {dose_id}"
            + (f" WHERE w.g <= {len(self.vaccines)} UNION ALL {antigens}" if antigens else "")
            + (f" UNION ALL {fast}" if fast else "") +
            " UNION ALL "
            "SELECT d.student_id, NULL, d.dose_id, d.date, d.cvx, NULL, NULL, NULL, 0 FROM doses d"
            f" WHERE d.date <= {E} AND {F('d.student_id')} AND NOT EXISTS"
            f" (SELECT 1 FROM vx_resolve r WHERE r.rkey = {key})"
            ") ORDER BY sid, coalesce(g, 1e9), pos, date, dose_id"
        )
