"""Outcome snapshots: every fixture case's outcomes as sorted, one-record-per-line text.

A snapshot freezes what the ruleset *says* about a set of cases (not what it *should* say: that is
what expectations in a fixture are for), so that a later change to the ruleset or to an engine that
changes any outcome shows as a changed line in a diff. The same lines are used by
``vaxdsl snapshot record|check`` and by the project's own syrupy regression suite
(tests/test_regression_minnesota.py); docs/snapshots.md describes the format.

Each case gives one line per vaccine group of the ruleset and one per dose and group the dose
counts toward; a case that cannot run gives one ``ERROR`` line per problem::

    FILE | CASE | GROUP | STATUS | RULE | valid_doses=N
    FILE | CASE | GROUP | dose DATE (AGE) cvx CVX PRODUCT | valid, dose N
    FILE | CASE | GROUP | dose DATE (AGE) cvx CVX PRODUCT | not valid: REASON
    FILE | CASE | ERROR | MESSAGE

FILE is the fixture file relative to the directory given (or its name when a file is given), RULE
is ``(no rule)`` when no rule decided; a ``|`` or ``\\`` inside a field is escaped with ``\\``.
Lines are sorted by file, case name and group, each group's line before its doses, doses by date.

>>> from vaxdsl.loader import load_text
>>> from vaxdsl.fixtures import read_fixture_text
>>> ruleset = load_text('''
... product DTaP cvx 20 "DTaP" counts DTaP
... vaccine DTaP "DTaP" {
...   series { dose 1 { min age 6 weeks - 4 days } }
...   rule "1 dose Compliant" => compliant when at least 1 valid dose
...   otherwise non_compliant
... }''').ruleset
>>> case = read_fixture_text('''
... [[case]]
... name = "early | first dose"
... as_of = 2024-09-03
... birth_date = 2024-01-10
... doses = [ { age = "6 weeks - 5 days", cvx = 20 } ]
... ''', "dtap.toml").cases[0]
>>> for line in case_lines(ruleset, case):
...     print(line)
dtap.toml | early \\| first dose | DTaP | non_compliant | (no rule) | valid_doses=0
dtap.toml | early \\| first dose | DTaP | dose 2024-02-16 (1 month 6 days) cvx 20 DTaP | not valid: too_young
"""

from __future__ import annotations

import difflib
from pathlib import Path

import attrs

from .. import ast
from ..dates import describe_age
from ..errors import VaxError
from ..fixtures import Case, FixtureError, read_fixture_file
from .runner import Evaluate, default_engine, run_case

FORMAT_VERSION = 1
HEADER_MARK = "# vaxdsl snapshot"
DEFAULT_NAME = ".vaxdsl-snapshot.txt"
NO_RULE = "(no rule)"

LINE_FORMATS = (
    "FILE | CASE | GROUP | STATUS | RULE | valid_doses=N",
    "FILE | CASE | GROUP | dose DATE (AGE) cvx CVX PRODUCT | valid, dose N  (or: not valid: REASON)",
    "FILE | CASE | ERROR | MESSAGE",
)


# ---- one case -> lines ---------------------------------------------------------------------------------


def escape(field) -> str:
    """A field of a line: ``|`` and ``\\`` escaped, line breaks written ``\\n``.

    >>> escape("a|b\\\\c\\nd")
    'a\\\\|b\\\\\\\\c\\\\nd'
    """
    text = "" if field is None else str(field)
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", "\\r").replace("\n", "\\n"))


def _join(*fields) -> str:
    return " | ".join(escape(field) for field in fields)


def case_records(ruleset: ast.Ruleset, case: Case, evaluate: Evaluate | None = None) -> list[tuple[tuple, str]]:
    """(sort key, line) for every record of one case; the key orders records within the snapshot."""
    if evaluate is None:
        evaluate, _ = default_engine()
    result = run_case(ruleset, case, evaluate)
    label, name = case.file, case.name
    if result.evaluation is None:
        return [((label, name, "", 0, index, ""), _join(label, name, "ERROR", message))
                for index, message in enumerate(result.errors or ("the case did not run",))]
    evaluation = result.evaluation
    records = []
    for group in evaluation.groups:
        line = _join(label, name, group.vaccine, group.status, group.rule if group.rule is not None else NO_RULE,
                     f"valid_doses={group.valid_doses}")
        records.append(((label, name, group.vaccine, 0, 0, ""), line))
    birth = case.student.birth_date
    for dose in evaluation.doses:
        group = dose.vaccine or "(no group)"
        product = f" {dose.product}" if dose.product else ""
        what = f"dose {dose.date.isoformat()} ({describe_age(birth, dose.date)}) cvx {dose.cvx}{product}"
        verdict = f"valid, dose {dose.dose_number}" if dose.valid else f"not valid: {dose.reason or 'unresolved'}"
        key = (label, name, group, 1, dose.date.toordinal(), f"{dose.cvx:>6} {dose.product or ''} {dose.dose_id:>9}")
        records.append((key, _join(label, name, group, what, verdict)))
    return records


def case_lines(ruleset: ast.Ruleset, case: Case, evaluate: Evaluate | None = None) -> list[str]:
    """The snapshot lines of one case, in snapshot order."""
    return [line for _, line in sorted(case_records(ruleset, case, evaluate))]


def snapshot_lines(ruleset: ast.Ruleset, cases, evaluate: Evaluate | None = None) -> list[str]:
    """The lines of many cases, sorted (each case's ``file`` is its label in the snapshot)."""
    if evaluate is None:
        evaluate, _ = default_engine()
    records = [record for case in cases for record in case_records(ruleset, case, evaluate)]
    return [line for _, line in sorted(records)]


# ---- fixture files with stable labels --------------------------------------------------------------------


@attrs.frozen
class Labelled:
    """Cases read from fixture files, each case's ``file`` replaced by its label."""

    cases: tuple[Case, ...]
    errors: tuple[FixtureError, ...]
    files: int


def labelled_files(paths) -> list[tuple[str, Path]]:
    """(label, path) for each fixture file: a directory's ``*.toml`` files (recursively) labelled by
    their path inside it, a file by its name. Two files with one label are an error."""
    found: list[tuple[str, Path]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend((p.relative_to(path).as_posix(), p) for p in sorted(path.rglob("*.toml")) if p.is_file())
        elif path.is_file():
            found.append((path.name, path))
        else:
            raise VaxError(f"{raw}: no such fixture file or directory")
    seen: dict[str, Path] = {}
    unique = []
    for label, path in found:
        if label in seen:
            if seen[label].resolve() == path.resolve():
                continue
            raise VaxError(f"two fixture files would both be labelled '{label}' in the snapshot "
                           f"({seen[label]} and {path}): snapshot them separately")
        seen[label] = path
        unique.append((label, path))
    return unique


def load_labelled(paths) -> Labelled:
    cases, errors = [], []
    files = labelled_files(paths)
    for label, path in files:
        fixture = read_fixture_file(path)
        cases.extend(attrs.evolve(case, file=label) for case in fixture.cases)
        errors.extend(attrs.evolve(error, file=label) for error in fixture.errors)
    return Labelled(tuple(cases), tuple(errors), len(files))


# ---- the snapshot file --------------------------------------------------------------------------------------


def ruleset_title(ruleset: ast.Ruleset) -> str:
    header = ruleset.header
    if header is None:
        return Path(ruleset.file).stem if ruleset.file else "(unnamed ruleset)"
    return f"{header.name} {header.version}".strip()


def render(ruleset: ast.Ruleset, lines: list[str], cases: int, files: int) -> str:
    """The snapshot file: a header of ``#`` lines, then the sorted lines, ending in a newline."""
    header = [
        f"{HEADER_MARK} format {FORMAT_VERSION}",
        f"# ruleset: {ruleset_title(ruleset)}",
        f"# {cases} case(s) in {files} file(s), {len(lines)} line(s); one line per case and group, and per dose:",
        *(f"#   {fmt}" for fmt in LINE_FORMATS),
        "# Record again with `vaxdsl snapshot record`; compare with `vaxdsl snapshot check`.",
    ]
    return "\n".join(header + lines) + "\n"


@attrs.frozen
class SnapshotFile:
    format: int
    ruleset: str
    lines: tuple[str, ...]


def parse(text: str, where: str = "snapshot") -> SnapshotFile:
    """Read a snapshot file back: its format version, ruleset title and lines (the header is the
    leading block of ``#`` lines)."""
    rows = text.splitlines()
    if not rows or not rows[0].startswith(HEADER_MARK):
        raise VaxError(f"{where}: not a vaxdsl snapshot (the first line should start with '{HEADER_MARK}')")
    try:
        version = int(rows[0].rsplit(" ", 1)[-1])
    except ValueError:
        raise VaxError(f"{where}: unreadable snapshot header: {rows[0]!r}") from None
    title, index = "", 1
    while index < len(rows) and rows[index].startswith("#"):
        if rows[index].startswith("# ruleset: "):
            title = rows[index][len("# ruleset: "):]
        index += 1
    return SnapshotFile(version, title, tuple(rows[index:]))


@attrs.frozen
class Comparison:
    recorded: SnapshotFile
    current: tuple[str, ...]

    @property
    def unchanged(self) -> bool:
        return tuple(self.recorded.lines) == tuple(self.current)

    def diff(self, recorded_name: str = "recorded", current_name: str = "now") -> list[str]:
        """The changed lines as a unified diff without context lines."""
        return list(difflib.unified_diff(list(self.recorded.lines), list(self.current),
                                         fromfile=recorded_name, tofile=current_name, lineterm="", n=0))

    def counts(self) -> tuple[int, int]:
        """(lines removed, lines added)."""
        removed = added = 0
        for line in self.diff():
            if line.startswith("-") and not line.startswith("---"):
                removed += 1
            elif line.startswith("+") and not line.startswith("+++"):
                added += 1
        return removed, added


def compare(text: str, current: list[str], where: str = "snapshot") -> Comparison:
    recorded = parse(text, where)
    if recorded.format != FORMAT_VERSION:
        raise VaxError(f"{where}: snapshot format {recorded.format}, but this vaxdsl writes format "
                       f"{FORMAT_VERSION}: record it again with `vaxdsl snapshot record`")
    return Comparison(recorded, tuple(current))


def default_path(paths) -> Path:
    """``DIR/.vaxdsl-snapshot.txt`` when the fixtures are one directory; otherwise --snapshot is needed."""
    if len(paths) == 1 and Path(paths[0]).is_dir():
        return Path(paths[0]) / DEFAULT_NAME
    raise VaxError("give --snapshot FILE: the default (DIR/" + DEFAULT_NAME + ") is only for a single fixture directory")
