"""Per-dose records (``--doses``, :func:`vaxdsl.engine.evaluate_doses`) from the fast path.

The exact walk judges every dose of every series of every group, most of it to find valid doses the
fast path already knows: its integer per walk unit (:mod:`.series`: n valid doses, the first failure
j after the prefix a, complete) says which chunk positions are valid - those past a, up to a + n (one
further when j falls among them), except a + j - and so each valid dose's number (the valid positions
before it, plus one). What it does not keep is why the others failed. That is found per dose without
recursion when the target the dose was judged against is known:

* in a series without ``skip`` lines the target is always ``n + 1`` for the n valid doses before the
  dose, and the valid doses before it (the anchors of its intervals) are at known positions: its
  reason is the series' tests against that target (:meth:`.series.SeriesChecks.reason`), ``extraneous``
  past the last series dose;
* in a series with skips the target moves with them, but a prefix dose is judged against series
  dose 1 with nothing valid, and when the walk has no failure (j = 0) every other invalid dose comes
  after it completed: ``extraneous``. A walk with a failure in such a series goes to the exact walk.

``reject`` lines need no test: a student a reject may apply to is forced to the exact walk already.

So one statement per batch of students (:meth:`FastDoses.student_sql`) runs Stage A with the dose ids
and the fast path of every group - the chosen series' place k rides on each unit's integer as
``R^5 * k`` - and keeps per student the strings and integers (``vx_fd``), with ``slow`` for those it
cannot list (open, forced, a single-antigen dose, a failure in a series with skips, more than
:data:`MAX_POSITIONS` doses of a group). The listing (:meth:`FastDoses.rows_sql`) expands every other
student's doses by position (``vx_int``), group by group; the slow students take the exact walk
(:meth:`vaxdsl.compiler.CompiledQuery.walk_statements`) and are listed from it as before. A group with
antigens is listed from its units' verdicts at each position (every unit walks the group's string for
a fast student): the first unit that finds the dose not valid gives the reason, the first gives the
number (docs/semantics.md, "Antigens").
"""

from __future__ import annotations

import attrs

from ..errors import VaxError
from .dates import DateExpr
from .series import ID_WIDTH, SeriesChecks, chunk_day, chunk_pid, fast_parts
from .skips import Judged
from .sql import all_of, any_of, not_, pipeline

MAX_POSITIONS = 500  # doses of one group per student the listing expands; a student with more: the exact walk
POSITION = "n.i"  # the dose's place in its group's string, in the listing


class FastDoses:
    """The fast dose listing of a :class:`vaxdsl.compiler.CompiledQuery` ``q``."""

    def __init__(self, q):
        self.q = q
        self.G = len(q.vaccines)
        self.units = [u for u in q._series if q.antigens.rep(u) == u]  # the walks the fast path runs
        ages = len(q.row.ages)
        self._verdicts = {g: self._group_verdict(g) for g in range(1, self.G + 1)}
        if len(q.row.ages) != ages:  # every age the reasons test is one the exact walk tests too
            raise VaxError("internal: the dose listing needs an age the birth table does not have")

    # ---- SQL ---------------------------------------------------------------------------------------

    def setup_statements(self) -> list[str]:
        columns = "".join(f", c_{g}, s_{g}, i_{g}" for g in range(1, self.G + 1))
        columns += "".join(f", wk_{u}" for u in self.units)
        return [
            f"CREATE TEMP TABLE IF NOT EXISTS vx_fd(sid, birth, slow{columns})",
            "CREATE TEMP TABLE IF NOT EXISTS vx_int(i INTEGER PRIMARY KEY)",
            f"INSERT OR IGNORE INTO vx_int WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k "
            f"WHERE i < {MAX_POSITIONS}) SELECT i FROM k",
        ]

    def student_sql(self, mode: str) -> str:
        """``INSERT INTO vx_fd``: per student of ``mode``, what the listing reads, and ``slow``."""
        q = self.q
        groups = list(range(1, self.G + 1))
        columns, rest = q.stage_a_parts(mode, id_strings=True)
        layers, slow = q._fast_layers(groups, indexed=True)
        unknown = [f"c_{g} > {MAX_POSITIONS}" for g in groups]
        for u in self.units:  # a failure in a series with skips: its target is not known here
            _, j, _, _ = fast_parts(f"wk_{u}", q.R)
            for w in q._series[u]:
                if SeriesChecks(w.series, w.g, q.catalog, q.reasons, q._age_column).skipping:
                    unknown.append(all_of([self._chosen(u, w.k, f"wk_{u}"), f"{j} >= 1"]))
        outputs = [("sid", "sid"), ("birth", "birth"), ("slow", any_of([slow] + unknown))]
        for g in groups:
            outputs += [(f"c_{g}", f"c_{g}"), (f"s_{g}", f"s_{g}"), (f"i_{g}", f"i_{g}")]
        outputs += [(f"wk_{u}", f"wk_{u}") for u in self.units]
        return "INSERT INTO vx_fd " + pipeline(columns, rest, layers, outputs)

    def rows_sql(self) -> str:
        """The listing's rows of the students ``vx_fd`` does not mark slow: ``sid, g, dose_id, date, cvx,
        pid, r, number, pos`` (as :meth:`vaxdsl.compiler.CompiledQuery.doses_sql` lists them)."""
        parts = []
        for g in range(1, self.G + 1):
            valid, reason, number = self._verdicts[g]
            dose_id = f"CAST(substr(f.i_{g}, ({POSITION}-1)*{ID_WIDTH}+1, {ID_WIDTH}) AS INTEGER)"
            day = chunk_day(f"f.s_{g}", POSITION, self.q.width)
            pid = chunk_pid(f"f.s_{g}", POSITION, self.q.width, self.q.catalog.width)
            parts.append(
                f"SELECT x.sid, {g}, x.dose_id, date(x.day), d.cvx, x.pid, x.r, x.number, x.pos FROM ("
                f"SELECT f.sid AS sid, {POSITION} AS pos, {dose_id} AS dose_id, {day} AS day, {pid} AS pid, "
                f"CASE WHEN {valid} THEN 0 ELSE {reason} END AS r, "
                f"CASE WHEN {valid} THEN {number} END AS number "
                f"FROM vx_fd f JOIN vx_int n ON n.i <= f.c_{g} LEFT JOIN vx_birth b ON b.birth = f.birth "
                f"WHERE NOT f.slow) x JOIN doses d ON d.dose_id = x.dose_id")
        return " UNION ALL ".join(parts)

    # ---- one group's verdict at a position -------------------------------------------------------------

    def _group_verdict(self, g: int) -> tuple[str, str, str]:
        """(valid, reason, number) SQL of the dose at ``POSITION`` of group g's string."""
        q = self.q
        if g in q.antigens.groups:
            units = [unit.u for unit in q.antigens.groups[g]]
        elif g in q._series:
            units = [g]
        else:
            return "1", "0", POSITION  # no series: every dose valid, numbered in order
        reps = list(dict.fromkeys(q.antigens.rep(u) for u in units))
        valid = {u: q.antigens.unit_valid_at(u, POSITION, table="f.") for u in reps}
        arms = [f"WHEN {not_(valid[u])} THEN {self._unit_reason(u)}" for u in reps]
        reason = f"(CASE {' '.join(arms)} ELSE 0 END)"
        return all_of(list(valid.values())), reason, f"({self._before(reps[0])} + 1)"

    def _before(self, u: int) -> str:
        """The valid doses of unit u's chosen walk before ``POSITION``."""
        n, j, _, a = fast_parts(f"f.wk_{u}", self.q.R)
        q = f"({POSITION} - {a} - 1)"
        return f"(CASE WHEN {POSITION} <= {a} THEN 0 ELSE min({n}, {q} - ({j} BETWEEN 1 AND {q})) END)"

    def _chosen(self, u: int, k: int, wk: str) -> str:
        """SQL 0/1: unit u chose its series k (its only one: always)."""
        if len(self.q._series[u]) == 1:
            return "1"
        return f"({wk} / {self.q.R ** 5} = {k})"

    def _unit_reason(self, u: int) -> str:
        """The reason the dose at ``POSITION`` is not valid in unit u's chosen walk (module docstring)."""
        q = self.q
        arms = []
        for w in q._series[u]:
            checks = SeriesChecks(w.series, w.g, q.catalog, q.reasons, lambda d: "b." + q._age_column(d),
                                  lambda call, dose_id: "0")  # no reject applies: such students are forced
            extraneous = q.reasons.code("extraneous")
            if checks.skipping:  # only a prefix dose (target 1, nothing valid) or a dose after completion
                _, _, _, a = fast_parts(f"f.wk_{u}", q.R)
                first = checks.reason(1, self._judged_after(u, 0, checks))
                reason = f"(CASE WHEN {POSITION} <= {a} THEN {first} ELSE {extraneous} END)"
            else:
                targets = [f"WHEN {t} THEN {checks.reason(t, self._judged_after(u, t - 1, checks))}"
                           for t in range(1, checks.limit + 1)]
                reason = (f"(CASE {self._before(u)} + 1 {' '.join(targets)} ELSE {extraneous} END)"
                          if targets else str(extraneous))
            arms.append((w.k, reason))
        if len(arms) == 1:
            return arms[0][1]
        return f"(CASE f.wk_{u} / {q.R ** 5} {' '.join(f'WHEN {k} THEN {r}' for k, r in arms)} END)"

    def _judged_after(self, u: int, n: int, checks) -> Judged:
        """:meth:`_judged`, and when n >= 1 the dose before it: the walk's failure j, judged against the
        same target (so also with n valid doses before it) - the anchor of an interval from the
        previous dose if it failed as one (docs/semantics.md, step 2). With n = 0 the dose is in the
        prefix or just after it, and when an interval can count from a dose failing series dose 1
        (``checks.anchored``), every prefix dose failed as an anchor (:func:`.series.prefix_sql`)."""
        judged = self._judged(u, n)
        before = self._judged(u, n, f"({POSITION} - 1)")
        if n < 1:
            return attrs.evolve(judged, retried=(f"({POSITION} >= 2)", before.date)) if checks.anchored else judged
        _, j, _, a = fast_parts(f"f.wk_{u}", self.q.R)
        retry = all_of([f"{j} >= 1", f"{POSITION} = {a} + {j} + 1", checks.fails_as_anchor(n + 1, before)])
        return attrs.evolve(judged, retried=(retry, before.date))

    def _judged(self, u: int, n: int, position: str = POSITION) -> Judged:
        """The dose at ``position`` of unit u's group string with n valid doses before it, valid dose k at
        position a + k + (1 <= j <= k) of the chosen walk."""
        q = self.q
        g, W, pw = q._g(u), q.width, q.catalog.width
        _, j, _, a = fast_parts(f"f.wk_{u}", q.R)

        def at(index: str) -> tuple[DateExpr, str]:
            day = chunk_day(f"f.s_{g}", index, W)
            return DateExpr(jd=day, keyer=q._keyer(day)), chunk_pid(f"f.s_{g}", index, W, pw)

        def valid(k) -> str:
            return f"({a} + {k} + ({j} BETWEEN 1 AND {k}))"

        def before(test):
            raise VaxError("internal: a dose's reason does not count the doses before it")

        date, pid = at(position)
        return Judged(date, pid, None, n, lambda k: at(valid(k))[0], lambda k: at(valid(k))[1], before,
                      f"({position} - 1)")
