"""What changes for students when a ruleset changes: two evaluations of the same students, compared.

The comparison is one pass over two streams of per-student outcomes in the same student order (for
a fact database, the SQL engine's streams, both in student id order; for fixture cases, the
interpreter's evaluations, case by case). For each vaccine group both rulesets have, a student's
outcome is its ``(status, rule)``; a change is either

- ``status``: the status differs (the rules that decided, before and after, are reported with it);
- ``rule``: the status is the same but another rule decided it ("same status, other rule").

Changes are grouped by ``(vaccine, kind, from_status, to_status, from_rule, to_rule)`` and counted;
each group keeps its students. Groups that only one ruleset has are reported as added or removed,
with the outcomes the students get in them; they do not make a student "changed" (the counts of
changed and unchanged students are over the groups both rulesets have). The number of valid doses
is not compared: a series change that moves no outcome is not a change for a school.

:func:`diff_database` runs the SQL engine once per ruleset over one fact database (the two
evaluations run side by side, on their own connections); :func:`diff_fixtures` evaluates fixture
cases with the reference interpreter. :func:`render_table`, :func:`render_markdown` and
:func:`render_json` present a :class:`DiffReport`.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date

import attrs

from .. import ast
from ..errors import VaxError
from ..fixtures import Case
from ..results import STATUS_SEVERITY, GroupEvaluation

KINDS = ("status", "rule")
Progress = Callable[[str], None]

# ---- records -------------------------------------------------------------------------------------


@attrs.frozen(order=True)
class CaseRef:
    """A fixture case standing for a student in a diff of fixtures."""

    file: str
    line: int
    name: str
    student_id: str = attrs.field(default="", order=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.name}"

    def as_json(self) -> dict:
        return {"file": self.file, "line": self.line, "case": self.name, "student_id": self.student_id}


Student = str | CaseRef


@attrs.frozen
class Change:
    """Students whose outcome in one vaccine group moved the same way."""

    vaccine: str
    kind: str  # "status" or "rule" (same status, other rule)
    from_status: str
    to_status: str
    from_rule: str | None
    to_rule: str | None
    students: tuple[Student, ...]

    @property
    def count(self) -> int:
        return len(self.students)

    def as_json(self, max_students: int | None = None) -> dict:
        shown = self.students if max_students is None else self.students[:max_students]
        return {
            "vaccine": self.vaccine, "kind": self.kind,
            "from_status": self.from_status, "to_status": self.to_status,
            "from_rule": self.from_rule, "to_rule": self.to_rule,
            "count": self.count,
            "students": [s.as_json() if isinstance(s, CaseRef) else s for s in shown],
        }


@attrs.frozen
class GroupOnlyIn:
    """A vaccine group one ruleset has and the other lacks, with the outcomes students get in it."""

    vaccine: str
    outcomes: tuple[tuple[str, int], ...]  # (status, students), worst status first

    def as_json(self) -> dict:
        return {"vaccine": self.vaccine, "students": sum(n for _, n in self.outcomes),
                "outcomes": dict(self.outcomes)}


@attrs.frozen
class NotCompared:
    """A fixture case that could not be evaluated under one ruleset (or both)."""

    case: CaseRef
    ruleset: str  # "old", "new" or "both"
    errors: tuple[str, ...]

    def as_json(self) -> dict:
        return {**self.case.as_json(), "ruleset": self.ruleset, "errors": list(self.errors)}


@attrs.frozen
class DiffReport:
    as_of: date | None  # None: each fixture case on its own as_of
    source: dict  # {"kind": "db" | "facts" | "fixtures", "path": ...}
    old: dict  # ruleset_meta()
    new: dict
    compared: int  # students (or cases) evaluated under both rulesets
    changed: int  # of them, those with at least one change
    changes: tuple[Change, ...]
    groups_added: tuple[GroupOnlyIn, ...] = ()
    groups_removed: tuple[GroupOnlyIn, ...] = ()
    not_compared: tuple[NotCompared, ...] = ()
    vaccines: tuple[str, ...] | None = None  # the groups compared when --vaccine narrowed them

    @property
    def unchanged(self) -> int:
        return self.compared - self.changed

    @property
    def anything_changed(self) -> bool:
        """What ``--fail-on-change`` fails on: a changed outcome, a group added or removed, or a
        case that one ruleset could not evaluate (nothing can be said about it)."""
        return bool(self.changes or self.groups_added or self.groups_removed or self.not_compared)


def ruleset_meta(ruleset: ast.Ruleset, reference: str = "") -> dict:
    header = ruleset.header
    return {
        "ruleset": reference or ruleset.file,
        "name": header.name if header else "",
        "jurisdiction": header.jurisdiction if header else "",
        "version": header.version if header else "",
        "file": ruleset.file,
    }


# ---- comparing two streams -------------------------------------------------------------------------


def group_order(old: ast.Ruleset, new: ast.Ruleset, vaccines: Sequence[str] | None = None) -> tuple[list, list, list]:
    """(groups in both, only in new, only in old), in ruleset order, narrowed to ``vaccines``.

    A name in ``vaccines`` that neither ruleset has is an error (a typo would compare nothing)."""
    old_ids = [v.id for v in old.vaccines]
    new_ids = [v.id for v in new.vaccines]
    if vaccines:
        known = {v.casefold(): v for v in [*new_ids, *old_ids]}
        unknown = [v for v in vaccines if v.casefold() not in known]
        if unknown:
            raise VaxError(f"no vaccine group {', '.join(repr(v) for v in unknown)} in either ruleset "
                           f"(groups: {', '.join(dict.fromkeys([*new_ids, *old_ids]))})")
        wanted = {known[v.casefold()] for v in vaccines}
        old_ids = [v for v in old_ids if v in wanted]
        new_ids = [v for v in new_ids if v in wanted]
    old_set, new_set = set(old_ids), set(new_ids)
    common = [v for v in new_ids if v in old_set]
    return common, [v for v in new_ids if v not in old_set], [v for v in old_ids if v not in new_set]


class Comparison:
    """Accumulates per-student comparisons; :meth:`student` is the hot path (once per student)."""

    def __init__(self, common: Sequence[str], added: Sequence[str], removed: Sequence[str]):
        self.common = tuple(common)
        self.added = tuple(added)
        self.removed = tuple(removed)
        self.buckets: dict[tuple, list] = {}
        self.added_outcomes = {v: Counter() for v in added}
        self.removed_outcomes = {v: Counter() for v in removed}
        self.compared = 0
        self.changed = 0

    def student(self, key: Student, old: dict, new: dict) -> None:
        """``old``/``new``: vaccine -> (status, rule) for one student under each ruleset."""
        self.compared += 1
        changed = False
        for vaccine in self.common:
            before, after = old[vaccine], new[vaccine]
            if before != after:
                kind = "status" if before[0] != after[0] else "rule"
                bucket_key = (vaccine, kind, before[0], after[0], before[1], after[1])
                bucket = self.buckets.get(bucket_key)
                if bucket is None:
                    bucket = self.buckets[bucket_key] = []
                bucket.append(key)
                changed = True
        self.changed += changed
        for vaccine in self.added:
            self.added_outcomes[vaccine][new[vaccine][0]] += 1
        for vaccine in self.removed:
            self.removed_outcomes[vaccine][old[vaccine][0]] += 1

    def changes(self) -> tuple[Change, ...]:
        """Grouped changes: by vaccine (NEW's order), status changes before rule changes, the
        largest first; each one's students in the order they were compared."""
        position = {v: i for i, v in enumerate(self.common)}
        ordered = sorted(self.buckets.items(), key=lambda item: (
            position[item[0][0]], KINDS.index(item[0][1]), -len(item[1]),
            item[0][2], item[0][3], item[0][4] or "", item[0][5] or ""))
        return tuple(Change(*key, tuple(students)) for key, students in ordered)

    def only_in(self, outcomes: dict[str, Counter]) -> tuple[GroupOnlyIn, ...]:
        rank = {status: i for i, status in enumerate(STATUS_SEVERITY)}
        return tuple(GroupOnlyIn(v, tuple(sorted(counted.items(), key=lambda kv: (rank.get(kv[0], 99), kv[0]))))
                     for v, counted in outcomes.items())


def by_student(records: Iterable[GroupEvaluation]) -> Iterator[tuple[str, dict]]:
    """An engine stream (student id order, each student's groups together) as
    ``(student_id, {vaccine: (status, rule)})``."""
    for student, groups in itertools.groupby(records, key=_student_id):
        yield student, {g.vaccine: (g.status, g.rule) for g in groups}


def _student_id(record: GroupEvaluation) -> str:
    return record.student_id


def merge_streams(comparison: Comparison, old: Iterable[tuple[str, dict]], new: Iterable[tuple[str, dict]]) -> None:
    """Walk two per-student streams in the same (ascending) student order, side by side."""
    old_iter, new_iter = iter(old), iter(new)
    for old_item, new_item in itertools.zip_longest(old_iter, new_iter):
        if old_item is None or new_item is None or old_item[0] != new_item[0]:
            which = old_item[0] if old_item is not None else None
            other = new_item[0] if new_item is not None else None
            raise VaxError(f"the two evaluations list different students (old: {which!r}, new: {other!r}); "
                           "the SQL engine should list every student of the database in id order")
        comparison.student(old_item[0], old_item[1], new_item[1])


# ---- a fact database ---------------------------------------------------------------------------------


def diff_database(old: ast.Ruleset, new: ast.Ruleset, connect: Callable[[], sqlite3.Connection], as_of: date, *,
                  vaccines: Sequence[str] | None = None, workers: int = 1, progress: Progress | None = None,
                  source: dict | None = None, references: tuple[str, str] = ("", "")) -> DiffReport:
    """Evaluate every student of a fact database under both rulesets (SQL engine, set-at-a-time) and
    compare. ``connect()`` opens a connection to the database; one is opened per ruleset, since an
    engine evaluation keeps its results in the connection's temporary tables. The two evaluations
    run one after the other, each split over ``workers`` processes; the results are then read side
    by side in student id order."""
    from .. import engine
    from ..compiler import compile_ruleset

    common, added, removed = group_order(old, new, vaccines)
    comparison = Comparison(common, added, removed)
    compiled = {}
    for label, ruleset in (("old", old), ("new", new)):
        compiled[label] = compile_ruleset(ruleset, as_of)
    connections = {label: connect() for label in ("old", "new")}
    try:
        streams = {label: engine.evaluate(ruleset, connections[label], as_of, workers=workers,
                                          compiled=compiled[label])
                   for label, ruleset in (("old", old), ("new", new))}
        # The engine runs its whole pipeline before it yields the first record, and keeps the results
        # in the connection. One ruleset after the other, each with every worker, beats running the
        # two side by side: SQLite serialises threads, so they would share one core's worth of work.
        firsts: dict[str, object] = {}
        for label in ("old", "new"):
            if progress:
                progress(f"evaluating the {label} ruleset")
            firsts[label] = next(streams[label], None)
        if progress:
            progress("comparing")
        merged = {label: by_student(itertools.chain([firsts[label]] if firsts[label] is not None else [],
                                                    streams[label]))
                  for label in ("old", "new")}
        merge_streams(comparison, merged["old"], merged["new"])
    finally:
        for conn in connections.values():
            conn.close()
    return DiffReport(as_of, source or {"kind": "db", "path": None}, ruleset_meta(old, references[0]),
                      ruleset_meta(new, references[1]), comparison.compared, comparison.changed,
                      comparison.changes(), comparison.only_in(comparison.added_outcomes),
                      comparison.only_in(comparison.removed_outcomes), (),
                      tuple(common + added + removed) if vaccines else None)


# ---- fixture cases -------------------------------------------------------------------------------------


def diff_fixtures(old: ast.Ruleset, new: ast.Ruleset, cases: Sequence[Case], as_of: date | None = None, *,
                  vaccines: Sequence[str] | None = None, source: dict | None = None,
                  references: tuple[str, str] = ("", ""),
                  evaluate: Callable | None = None) -> DiffReport:
    """Evaluate each fixture case under both rulesets with the reference interpreter (or
    ``evaluate``, same signature) on its own ``as_of`` (or on ``as_of`` when given) and compare.
    A case that cannot be evaluated under a ruleset (a dose no product of it matches, the engine
    failed) is listed as not compared."""
    if evaluate is None:
        from ..interpreter import evaluate_student as evaluate
    common, added, removed = group_order(old, new, vaccines)
    comparison = Comparison(common, added, removed)
    not_compared = []
    for case in sorted(cases, key=lambda c: (c.file, c.line)):
        ref = CaseRef(case.file, case.line, case.name, case.student.id)
        outcomes, problems = {}, {}
        for label, ruleset in (("old", old), ("new", new)):
            outcome, errors = _evaluate_case(ruleset, case, as_of or case.as_of, evaluate)
            if errors:
                problems[label] = errors
            else:
                outcomes[label] = outcome
        if problems:
            which = "both" if len(problems) == 2 else next(iter(problems))
            not_compared.append(NotCompared(ref, which, tuple(e for errors in problems.values() for e in errors)))
            continue
        comparison.student(ref, outcomes["old"], outcomes["new"])
    return DiffReport(as_of, source or {"kind": "fixtures", "path": None}, ruleset_meta(old, references[0]),
                      ruleset_meta(new, references[1]), comparison.compared, comparison.changed,
                      comparison.changes(), comparison.only_in(comparison.added_outcomes),
                      comparison.only_in(comparison.removed_outcomes), tuple(not_compared),
                      tuple(common + added + removed) if vaccines else None)


def _evaluate_case(ruleset: ast.Ruleset, case: Case, as_of: date, evaluate) -> tuple[dict, list[str]]:
    doses, dose_errors = case.dose_records(ruleset.products)
    if dose_errors:
        return {}, [error.message for error in dose_errors]
    groups = {v.id for v in ruleset.vaccines}
    unknown = sorted({e.vaccine for e in case.exemptions} - groups)
    if unknown:
        return {}, [f"exemption for {', '.join(unknown)}: no such vaccine group in the ruleset"]
    try:
        evaluation = evaluate(ruleset, case.student, doses, list(case.exemptions), as_of)
    except Exception as error:  # noqa: BLE001 - one broken case must not stop the diff
        return {}, [f"the engine failed: {type(error).__name__}: {error}"]
    return {g.vaccine: (g.status, g.rule) for g in evaluation.groups}, []


# ---- presenting --------------------------------------------------------------------------------------------

ARROW = "→"


def _rule(rule: str | None) -> str:
    return f"'{rule}'" if rule else "(no rule)"


def rule_words(change: Change) -> str:
    """``rule 'X'`` when the same rule decided before and after, else ``rule 'A' → 'B'``."""
    if change.from_rule == change.to_rule:
        return f"rule {_rule(change.to_rule)}"
    return f"rule {_rule(change.from_rule)} {ARROW} {_rule(change.to_rule)}"


def headline(change: Change) -> str:
    """``MMR: 127 compliant → non_compliant, rule '2 doses MMR K-12'``; a rule change reads
    ``MMR: 3 compliant (same status, other rule), rule 'A' → 'B'``."""
    if change.kind == "status":
        what = f"{change.from_status} {ARROW} {change.to_status}"
    else:
        what = f"{change.to_status} (same status, other rule)"
    return f"{change.vaccine}: {change.count:,} {what}, {rule_words(change)}"


def summary_line(report: DiffReport) -> str:
    line = f"{report.compared:,} student(s) compared: {report.changed:,} changed, {report.unchanged:,} unchanged"
    if report.not_compared:
        line += f"; {len(report.not_compared):,} not compared"
    return line


def _title(meta: dict) -> str:
    name = meta["name"] or meta["ruleset"]
    return f"{name} {meta['version']}".strip()


def _as_of_words(report: DiffReport) -> str:
    return f"as of {report.as_of.isoformat()}" if report.as_of else "each case on its own as_of"


def _only_in_words(group: GroupOnlyIn) -> str:
    total = sum(n for _, n in group.outcomes)
    return f"{group.vaccine} ({total:,} student(s): " + ", ".join(f"{n:,} {s}" for s, n in group.outcomes) + ")"


def _shown(students: Sequence[Student], limit: int | None) -> tuple[Sequence[Student], int]:
    if limit is None or len(students) <= limit:
        return students, 0
    return students[:limit], len(students) - limit


def render_table(report: DiffReport, max_students: int | None = None, width: int = 100) -> str:
    lines = [f"{_title(report.old)} {ARROW} {_title(report.new)}, {_as_of_words(report)}", summary_line(report)]
    if report.vaccines is not None:
        lines.append(f"vaccine groups compared: {', '.join(report.vaccines) or '(none)'}")
    lines.append("")
    if report.changes:
        header = ("vaccine", "kind", "count", "from", "to", "rule")
        rows = [(c.vaccine, c.kind, f"{c.count:,}", c.from_status, c.to_status,
                 _rule(c.to_rule) if c.from_rule == c.to_rule else f"{_rule(c.from_rule)} {ARROW} {_rule(c.to_rule)}")
                for c in report.changes]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            cells = [cell.rjust(w) if i == 2 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
            lines.append("  ".join(cells).rstrip())
    else:
        lines.append("no student's outcome changes")
    for title, groups in (("group(s) added", report.groups_added), ("group(s) removed", report.groups_removed)):
        if groups:
            lines.append(f"{title}: " + "; ".join(_only_in_words(g) for g in groups))
    for change in report.changes:
        lines += ["", headline(change)]
        shown, more = _shown(change.students, max_students)
        if shown and isinstance(shown[0], CaseRef):
            lines += [f"  {ref}" for ref in shown]
        else:
            lines += _columns([str(s) for s in shown], width)
        if more:
            lines.append(f"  ... and {more:,} more")
    if report.not_compared:
        lines += ["", "not compared (a ruleset could not evaluate the case):"]
        for item in report.not_compared:
            lines.append(f"  {item.case} [{item.ruleset}]: {'; '.join(item.errors)}")
    return "\n".join(lines)


def _columns(items: list[str], width: int) -> list[str]:
    """Ids in aligned columns, as many to a line as fit in ``width``."""
    if not items:
        return []
    cell = max(len(item) for item in items)
    per_line = max(1, (width - 2) // (cell + 2))
    return ["  " + "  ".join(item.ljust(cell) for item in items[i:i + per_line]).rstrip()
            for i in range(0, len(items), per_line)]


def _md(text: str) -> str:
    """Text for a Markdown table cell: inline code (safe for ``_`` and ``*``) with ``|`` escaped."""
    ticks = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{ticks}{pad}{text}{pad}{ticks}".replace("|", "\\|")


def _md_rule(rule: str | None) -> str:
    return _md(rule) if rule else "*(no rule)*"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_markdown(report: DiffReport, max_students: int | None = 100) -> str:
    """For a pull-request comment: the summary, a table of the changes, then the students of each
    change in a collapsed ``<details>`` block (at most ``max_students`` each)."""
    lines = [f"### Ruleset diff: {_html(_title(report.old))} {ARROW} {_html(_title(report.new))}", "",
             f"{_as_of_words(report).capitalize()}: **{report.compared:,}** student(s) compared, "
             f"**{report.changed:,}** changed, **{report.unchanged:,}** unchanged"
             + (f", **{len(report.not_compared):,}** not compared." if report.not_compared else "."), ""]
    if report.vaccines is not None:
        lines += [f"Vaccine groups compared: {', '.join(report.vaccines) or '(none)'}.", ""]
    if report.changes:
        lines += ["| Vaccine | Change | Students | From | To | Rule before | Rule after |",
                  "|---|---|---:|---|---|---|---|"]
        for c in report.changes:
            kind = "status" if c.kind == "status" else "same status, other rule"
            lines.append(f"| {_md(c.vaccine)} | {kind} | {c.count:,} | {_md(c.from_status)} | {_md(c.to_status)} "
                         f"| {_md_rule(c.from_rule)} | {_md_rule(c.to_rule)} |")
        lines.append("")
    else:
        lines += ["No student's outcome changes.", ""]
    for title, groups in (("Groups added", report.groups_added), ("Groups removed", report.groups_removed)):
        if groups:
            lines += [f"**{title}:** " + "; ".join(_html(_only_in_words(g)) for g in groups), ""]
    for change in report.changes:
        shown, more = _shown(change.students, max_students)
        lines += [f"<details><summary>{_html(headline(change))}</summary>", "", "```"]
        lines += [str(s) for s in shown]
        if more:
            lines.append(f"... and {more:,} more")
        lines += ["```", "", "</details>", ""]
    if report.not_compared:
        lines += [f"<details><summary>{len(report.not_compared):,} case(s) not compared</summary>", "", "```"]
        lines += [f"{item.case} [{item.ruleset}]: {'; '.join(item.errors)}" for item in report.not_compared]
        lines += ["```", "", "</details>", ""]
    return "\n".join(lines).rstrip() + "\n"


def render_json(report: DiffReport, max_students: int | None = None) -> dict:
    """The documented schema (docs/diff.md)."""
    return {
        "as_of": report.as_of.isoformat() if report.as_of else None,
        "source": report.source,
        "old": report.old,
        "new": report.new,
        "vaccines": list(report.vaccines) if report.vaccines is not None else None,
        "compared": report.compared,
        "changed": report.changed,
        "unchanged": report.unchanged,
        "changes": [change.as_json(max_students) for change in report.changes],
        "groups_added": [group.as_json() for group in report.groups_added],
        "groups_removed": [group.as_json() for group in report.groups_removed],
        "not_compared": [item.as_json() for item in report.not_compared],
    }
