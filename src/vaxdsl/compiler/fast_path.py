"""The fast path (docs/performance.md, "How the SQL is organised", step 2): every virtual walk of a
student's chunk strings as nested ``CASE`` trees over decoded chunks, without recursion, and the choice
of each walk unit's series; the SQL of "the exact walk must decide" for the students it leaves open.

:class:`FastPath` is a part of :class:`.CompiledQuery` (it reads the compiled state: the walks, the
catalog, the prefixes, the limits), kept apart so each reads in one sitting, like :mod:`.exact_walk`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ast
from .dates import DateExpr, compare_shift, key_of_number, months_days
from .series import (MAX_SKIP_EVENTS, TREE_BUDGET, SeriesChecks, chunk_day, chunk_pid, choice_score, fast_parts,
                     fast_tree_sql, prefix_sql)
from .skips import Judged
from .sql import all_of, any_of, sqlite_parses

if TYPE_CHECKING:
    from . import VirtualWalk


class FastPath:
    # a chunk as an integer: day * 10^pw + group code

    def _jd_of(self, x: str) -> str:
        return f"({x}/{self._unit}+0.5)"

    def _pid_of(self, x: str) -> str:
        return f"({x}%{self._unit})"

    @staticmethod
    def _keyer(jd: str):
        """shift -> K(date - shift days) of a date given as a julian day. Only the rare comparisons
        a day difference cannot decide reach it (:func:`.dates.compare_shift`), so it is computed
        where used."""
        return lambda shift: key_of_number(f"CAST(strftime('%Y%m%d', {jd}{-shift:+d}) AS INTEGER)")

    def _chunk(self, u: int, i: int) -> tuple[DateExpr, str]:
        """Dose chunk i of walk unit u in the fast path: (date, group code) over the chunk as an integer
        ``x_g_i`` of its group g (day number and group code), decoded in the first layer."""
        return self._group_chunk(self._g(u), i)

    def _group_chunk(self, g: int, i: int) -> tuple[DateExpr, str]:
        x = f"x_{g}_{i}"
        jd = self._jd_of(x)
        return DateExpr(jd=jd, keyer=self._keyer(jd)), self._pid_of(x)

    def _judged_fast(self, g: int, i: int, failed: tuple) -> Judged:
        """Dose chunk i of group g, the chunks before it valid except ``failed`` (a fast-path segment)."""
        def position(k: int) -> int:  # the chunk of valid dose k
            for f in failed:
                if f <= k:
                    k += 1
            return k

        def before(test) -> int | str:
            terms = [term for term in (test(*self._chunk(g, m)) for m in range(1, i)) if term != "0"]
            return "(" + " + ".join(terms) + ")" if terms else 0

        date, pid = self._chunk(g, i)
        return Judged(date, pid, None, i - 1 - len(failed), lambda k: self._chunk(g, position(k))[0],
                      lambda k: self._chunk(g, position(k))[1], before, i - 1)

    def _judged_suffix(self, g: int, a: str, i: int, failed: tuple) -> Judged:
        """Dose chunk a + i of walk unit g, where the first a doses failed series dose 1 (the prefix, column
        ``a``) and chunks a+1 .. a+i-1 are valid except a + ``failed``: decoded from the string."""
        W, pw, s = self.width, self.catalog.width, f"s_{self._g(g)}"

        def chunk(m: int) -> tuple[DateExpr, str]:
            index = f"({a}+{m})"
            day = chunk_day(s, index, W)
            keyer = self._keyer(day)
            return DateExpr(jd=day, keyer=keyer), chunk_pid(s, index, W, pw)

        def position(k: int) -> int:
            for f in failed:
                if f <= k:
                    k += 1
            return k

        def before(test) -> int | str:
            terms = [f"({a} >= {m} AND {term})" for m in range(1, self._limit[g] + 1)
                     if (term := test(*self._chunk(g, m))) != "0"]
            terms += [term for term in (test(*chunk(m)) for m in range(1, i)) if term != "0"]
            return "(" + " + ".join(terms) + ")" if terms else 0

        date, pid = chunk(i)
        return Judged(date, pid, None, i - 1 - len(failed), lambda k: chunk(position(k))[0],
                      lambda k: chunk(position(k))[1], before, f"({a} + {i - 1})")

    def _fast_walk(self, w: VirtualWalk, fit: bool = False) -> str:
        """The fast-path integer of a virtual walk: ``n + R*j + R^2*complete + R^3*a + R^4*open``
        (:mod:`.series`). The prefix a (doses failing series dose 1 before anything happens) is a
        column of the layer before; a walk without one starts at chunk 1 (x columns), one with a
        prefix reads its chunks from the string at a + i. ``fit``: follow no more skip events than
        SQLite's parser can take (:meth:`fit_parser`)."""
        u, g, R = w.u, w.g, self.R
        last = self._limit[u] + 1  # decoded chunks
        opened = R ** 4
        checks = SeriesChecks(w.series, w.g, self.catalog, self.reasons, self._age_column)
        prefix = prefix_sql(checks, lambda i, F: self._judged_fast(u, i, F), f"c_{g}", last)
        unchosen = self._never_chosen(w)
        a = f"a_{u}_{w.k}"
        if prefix != "0":
            self._prefix[w.v] = prefix if unchosen == "0" else f"(CASE WHEN {unchosen} THEN 0 ELSE {prefix} END)"
        for max_skips in range(MAX_SKIP_EVENTS, -1, -1):  # the most skip events within the budgets
            tree = fast_tree_sql(checks, lambda i, F: self._judged_fast(u, i, F), f"c_{g}", R, opened, max_skips)
            if len(tree) > TREE_BUDGET and max_skips > 0:
                continue
            sql = tree if unchosen == "0" else f"(CASE WHEN {unchosen} THEN 0 ELSE {tree} END)"
            if prefix != "0":
                shifted = fast_tree_sql(checks, lambda i, F: self._judged_suffix(u, a, i, F), f"(c_{g} - {a})", R,
                                        opened, max_skips, after_prefix=True)
                complete = R * R if checks.limit == 0 else 0
                sql = (f"(CASE WHEN {a} = 0 THEN {sql} WHEN {a} < 0 THEN {opened} WHEN {a} >= c_{g} "
                       f"THEN {complete} + {R ** 3} * {a} ELSE {shifted} + {R ** 3} * {a} END)")
            if max_skips == 0 or not fit or sqlite_parses(sql):
                return sql

    def fit_parser(self) -> None:
        """After SQLite's parser refused a statement of the fast path: every walk it cannot take
        (:func:`.sql.sqlite_parses`) follows fewer skip events, leaving more students open for the
        exact walk. Not done when compiling: asking the parser about every walk costs a sixth of the
        compilation of Minnesota's ruleset, which SQLite parses with room to spare."""
        for w in self.walks:
            if w.v in self._fast_sql and not sqlite_parses(self._fast_sql[w.v]):
                self._fast_sql[w.v] = self._fast_walk(w, fit=True)
        self.fitted = True

    def _never_chosen(self, w: VirtualWalk, birth: DateExpr | None = None) -> str:
        """SQL 0/1: the unit cannot choose series w for this student, whatever the doses: it is
        :meth:`_left_out`, or it starts ``from age A`` and the student is younger than A on E (so
        younger at any dose the walk sees: never a candidate) while another series is a candidate
        whatever the doses (no ``from age``, and no ``before age B`` or the student younger than B on
        E). Its walk is then not needed."""
        if w.series is None or w.series.start_from is None:
            return self._left_out(w)
        E, birth = DateExpr.constant(self.as_of), birth or DateExpr(key="bk")

        def younger(duration) -> str:  # on E
            return compare_shift(E, "<", birth, *months_days(duration))

        always = [younger(u.series.start_before) if u.series.start_before is not None else "1"
                  for u in self._series[w.u] if u is not w and u.series.start_from is None and not u.series.only_with]
        return any_of([self._left_out(w), all_of([younger(w.series.start_from), any_of(always)])])

    def _left_out(self, w: VirtualWalk) -> str:
        """SQL 0/1: series w is ``only with`` products the student has no dose of (a Stage A count)."""
        return f"({self._only_with[w.v]} = 0)" if w.v in self._only_with else "0"

    def _fast_name(self, w: VirtualWalk) -> str:
        """The column of a virtual walk's fast-path integer: ``wk_u`` when it is its unit's only series
        (then it is also the unit's), ``wv_u_k`` when the unit chooses among several."""
        return f"wk_{w.u}" if len(self._series[w.u]) == 1 else f"wv_{w.u}_{w.k}"

    def _valid_chunk(self, u: int, wk: str, k: int | str) -> str:
        """The chunk (as an integer) of valid dose k (a number, or SQL such as n) of a fast-path integer
        of walk unit u."""
        _, j, _, a = fast_parts(wk, self.R)
        W = self.width
        index = f"({a} + {k} + ({j} BETWEEN 1 AND {k}))"
        return f"CAST(substr(s_{self._g(u)}, ({index}-1)*{W}+1, {W}) AS INTEGER)"

    def _choice_sql(self, u: int, indexed: bool = False) -> str:
        """``wk_u`` of a walk unit with several series: the fast-path integer of the chosen one
        (``indexed``: plus ``R^5 * k``, k the chosen series' place in the unit)."""
        R = self.R
        E = DateExpr.constant(self.as_of)
        birth = DateExpr(key="bk")

        def e_at_least(duration) -> str:
            return compare_shift(E, ">=", birth, *months_days(duration))

        scores, arms = [], []
        for w in self._series[u]:
            wk = self._fast_name(w)
            n, _, complete, _ = fast_parts(wk, R)
            first = self._jd_of(self._valid_chunk(u, wk, 1))
            score = choice_score(w.series, w.k, n, complete, first, self._age_column, e_at_least)
            left_out = self._left_out(w)
            scores.append(score if left_out == "0" else f"(CASE WHEN {left_out} THEN 0 ELSE {score} END)")
            arms.append(f"WHEN {255 - w.k} THEN {wk}" + (f" + {R ** 5 * w.k}" if indexed and w.k else ""))
        return f"(CASE max({', '.join(scores)}) % 256 {' '.join(arms)} END)"

    def _units_of(self, groups) -> list[int]:
        """The walk units of these groups the fast path walks (a representative for antigens of the
        same shape), in order."""
        wanted = set(groups)
        return [u for u, walks in self._series.items() if walks[0].g in wanted and self.antigens.rep(u) == u]

    def _count_columns(self, groups) -> list[tuple[str, str]]:
        """``c_g``: the doses counting toward each group (its chunk string's length)."""
        return [(f"c_{g}", f"coalesce(length(s_{g}), 0) / {self.width}") for g in groups]


    def _fast_layers(self, groups, indexed: bool = False) -> tuple[list, str]:
        """The fast path's layers for these groups over Stage A's row (decoded chunks, prefixes, walks,
        choices, the valid doses of groups with antigens), and the SQL of "the exact walk must decide"
        (open, or forced by a reject). ``indexed``: each chosen ``wk_u`` carries the chosen series'
        place k as ``R^5 * k`` (:mod:`.doses`)."""
        W = self.width
        groups = list(groups)
        units = self._units_of(groups)
        walks = [w for u in units for w in self._series[u]]
        decode = self._count_columns(groups)
        decoded = {g: max((self._limit[u] + 1 for u in units if self._g(u) == g), default=0) for g in groups}
        for g in groups:  # the chunks every walk of the group reads (its antigens too: every one walks s_g)
            for i in range(1, decoded[g] + 1):
                decode.append((f"x_{g}_{i}", f"CAST(substr(s_{g}, {(i - 1) * W + 1}, {W}) AS INTEGER)"))
        layers = [decode]
        prefixes = [(f"a_{w.u}_{w.k}", self._prefix[w.v]) for w in walks if w.v in self._prefix]
        if prefixes:
            layers.append(prefixes)
        if walks:
            layers.append([(self._fast_name(w), self._fast_sql[w.v]) for w in walks])
        choices = [(f"wk_{u}", self._choice_sql(u, indexed=True) if indexed else self._choice[u])
                   for u in units if u in self._choice]
        if choices:
            layers.append(choices)
        combined = self.antigens.n_layer(walked=False, groups=groups)
        if combined:
            layers.append(combined)
        opened = self.R ** 4
        slow = "(" + " OR ".join(["forced"] + [f"{self._fast_name(w)} >= {opened}" for w in walks]
                                 + self.antigens.open_sql(groups) + self._near_doses_sql(decoded)) + ")"
        return layers, slow

    def _near_doses_sql(self, decoded: dict[int, int]) -> list[str]:
        """SQL 0/1 per group with a ``reject ... within D after not valid dose``: two of its doses on
        different days less than D apart, or more than the ``decoded[g]`` chunks the fast path reads.
        Without such a pair no dose is ever within D after another (not valid or not), so the reject
        never applies and the fast path, which tests no reject, is the walk; with one, the exact walk
        decides. Two doses on different days less than D apart have such a pair among neighbours in
        date order (the last dose on the earlier one's day and the next dose), so the test reads
        neighbours only."""
        out = []
        for g, chunks in decoded.items():
            windows = {reject.within for reject in self.vaccines[g - 1].rejects
                       if isinstance(reject, ast.RejectAfterNotValid)}
            if not windows:
                continue
            near = [f"c_{g} > {chunks}"]
            for k in range(1, chunks):
                (day, _), (later, _) = self._group_chunk(g, k), self._group_chunk(g, k + 1)
                near += [all_of([f"c_{g} > {k}", f"{later.jd_sql()} > {day.jd_sql()}",
                                 compare_shift(later, "<", day, *months_days(within))]) for within in windows]
            out.append(any_of(near))
        return out
