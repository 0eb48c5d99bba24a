"""CDC test cases as vaxdsl fixture files (docs/fixtures.md): one TOML file per CDC vaccine group.

Each test case of a mapped group (:data:`vaxdsl.cdsi.mapping.GROUPS`) becomes one ``[[case]]``:
``name = "CDC_Test_ID: Test_Case_Name"``, the birth date, the doses (date, CVX, MVX when given),
``as_of`` = the assessment date, no grade, and one ``[[case.expect_doses]]`` per dose the CDC
evaluated in the case's group: ``valid = true``, or ``reason = "..."`` when the CDC reason maps to
one of ours (``valid = false`` when it does not), with the CDC's words in a comment.

Which doses count toward the group is the ruleset's business (its products say so), so the import
takes a ruleset: a dose whose product counts toward another group only (a varicella dose in an MMR
case, there for the live-virus spacing) is written without an expectation, and a dose whose CVX the
ruleset does not declare is left out of the case (a comment says so), so that the files run with
``vaxdsl test RULESET DIR``. Without a ruleset every dose is written with its expectation.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import attrs

from .. import ast, records
from .mapping import canonical_group, ruleset_group
from .workbook import CdcDose, RowProblem, TestCase, Workbook


@attrs.frozen
class LeftOut:
    """A dose written without an expectation, or left out of its case, and why."""

    case: TestCase
    dose: CdcDose
    why: str
    written: bool  # the dose is in the case (only its expectation is missing)


@attrs.frozen
class ImportReport:
    files: tuple[tuple[str, int], ...]  # (path, cases written)
    skipped_groups: dict[str, int]  # CDC group -> cases skipped (no school requirement)
    problems: tuple[RowProblem, ...] = ()
    left_out: tuple[LeftOut, ...] = ()
    expectations: int = 0

    @property
    def cases(self) -> int:
        return sum(count for _, count in self.files)

    @property
    def skipped(self) -> int:
        return sum(self.skipped_groups.values())

    def summary(self) -> str:
        text = f"wrote {self.cases} case(s) ({self.expectations} dose expectation(s)) in {len(self.files)} file(s)"
        if self.skipped_groups:
            groups = ", ".join(f"{group} {count}" for group, count in sorted(self.skipped_groups.items()))
            text += f"; skipped {self.skipped} case(s) of groups without a school requirement ({groups})"
        if self.problems:
            text += f"; {len(self.problems)} bad row(s) skipped"
        return text


def fixture_file_name(cdc_group: str) -> str:
    """``cdsi-DTAP.toml``: the file of a CDC group's cases.

    >>> fixture_file_name("dtap"), fixture_file_name("HepB")
    ('cdsi-DTAP.toml', 'cdsi-HepB.toml')
    """
    return f"cdsi-{canonical_group(cdc_group) or cdc_group}.toml"


def toml_string(text: str) -> str:
    r"""A TOML basic string.

    >>> print(toml_string('MMR "and" VZ\\ at 12 months\n'))
    "MMR \"and\" VZ\\ at 12 months\n"
    """
    out = []
    for char in text:
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _comment(text: str) -> str:
    return " ".join(text.split())


class _Products:
    """What the ruleset makes of a dose: the groups its product counts toward, or None (undeclared)."""

    def __init__(self, ruleset: ast.Ruleset | None):
        self.ruleset = ruleset
        self.name = (ruleset.header.name if ruleset and ruleset.header else "the ruleset")

    def groups(self, dose: CdcDose) -> tuple[str, ...] | None:
        if self.ruleset is None:
            return ()
        product = records.resolve_product(records.Dose(0, "", dose.date, dose.cvx, dose.mvx), self.ruleset.products)
        return None if product is None else tuple(product.vaccines)


def case_text(case: TestCase, products: _Products, left_out: list[LeftOut] | None = None) -> tuple[str, int]:
    """The ``[[case]]`` table of one test case, and the number of dose expectations in it."""
    vaccine = ruleset_group(case.vaccine_group)
    left_out = left_out if left_out is not None else []
    lines = ["[[case]]", f"name = {toml_string(case.title)}"]
    lines.append(f"# CDC row {case.row}, Vaccine_Group {case.vaccine_group}"
                 + (f", Evaluation_Test_Type \"{_comment(case.test_type)}\"" if case.test_type else ""))
    lines.append(f"birth_date = {case.birth_date.isoformat()}")
    lines.append(f"as_of = {case.assessment_date.isoformat()}  # the CDC's Assessment_Date")
    if case.description:
        lines.append(f"note = {toml_string(_comment(case.description))}")
    written, skipped_lines = [], []
    for dose in case.doses:
        groups = products.groups(dose)
        if groups is None:
            why = f"CVX {dose.cvx}" + (f" (MVX {dose.mvx})" if dose.mvx else "") + f" is not declared by {products.name}"
            left_out.append(LeftOut(case, dose, why, written=False))
            skipped_lines.append(f"  # left out: {dose.date.isoformat()} CVX {dose.cvx} {_comment(dose.vaccine_name)}"
                                 f" (CDC: {dose.cdc_words()}): {why}")
            continue
        written.append((dose, groups))
    if written or skipped_lines:
        lines.append("doses = [")
        for dose, _ in written:
            mvx = f", mvx = {toml_string(dose.mvx)}" if dose.mvx else ""
            name = f"  # {_comment(dose.vaccine_name)}" if dose.vaccine_name else ""
            lines.append(f"  {{ date = {dose.date.isoformat()}, cvx = {dose.cvx}{mvx} }},{name}")
        lines.extend(skipped_lines)
        lines.append("]")
    else:
        lines.append("doses = []")
    same_day = Counter((dose.date, dose.cvx) for dose, _ in written)
    expectations = 0
    for dose, groups in written:
        if products.ruleset is not None and vaccine not in groups:
            counted = ", ".join(groups) or "no group"
            left_out.append(LeftOut(case, dose, f"CVX {dose.cvx} counts toward {counted}, not {vaccine}, in {products.name}",
                                    written=True))
            lines.append(f"# no expectation for the {dose.date.isoformat()} CVX {dose.cvx} dose (CDC: {dose.cdc_words()}): "
                         f"it counts toward {counted}, not {vaccine}, in {products.name}")
            continue
        if same_day[(dose.date, dose.cvx)] > 1:
            left_out.append(LeftOut(case, dose, "two doses of the same CVX on the same day cannot be told apart",
                                    written=True))
            lines.append(f"# no expectation for the {dose.date.isoformat()} CVX {dose.cvx} doses (CDC: {dose.cdc_words()}): "
                         "two doses of one product on one day cannot be told apart")
            continue
        lines.append("")
        lines.append(f"[[case.expect_doses]]  # CDC: {dose.cdc_words()}")
        lines.append(f"vaccine = {toml_string(vaccine)}")
        lines.append(f"date = {dose.date.isoformat()}")
        lines.append(f"cvx = {dose.cvx}")
        if dose.valid:
            lines.append("valid = true")
        elif dose.reason_id:
            lines.append(f"reason = {toml_string(dose.reason_id)}")
        else:
            lines.append("valid = false  # the CDC's reason has no counterpart among ours")
        expectations += 1
    return "\n".join(lines) + "\n", expectations


def fixture_texts(workbook: Workbook, ruleset: ast.Ruleset | None = None):
    """``{file name: TOML text}`` for the mapped groups, with the report (file paths are bare names)."""
    products = _Products(ruleset)
    by_group: dict[str, list[TestCase]] = {}
    skipped: Counter = Counter()
    for case in workbook.cases:
        canonical = canonical_group(case.vaccine_group)
        if canonical is None:
            skipped[case.vaccine_group] += 1
            continue
        by_group.setdefault(canonical, []).append(case)
    texts, counts, left_out, expectations = {}, [], [], 0
    source = Path(workbook.path).name
    for group in sorted(by_group):
        cases = by_group[group]
        vaccine = ruleset_group(group)
        header = [
            f"# CDC CDSi test cases, vaccine group {group} (vaxdsl group {vaccine}): {len(cases)} case(s).",
            f"# Imported by `vaxdsl cdsi import` from {source}, sheet '{workbook.sheet}'. Do not edit: import again.",
            "# Each case is evaluated at the CDC's assessment date, with no grade; the expectations are the",
            "# CDC's per-dose evaluation (Extraneous counts as not valid). docs/cdsi.md explains the mapping.",
        ]
        if ruleset is not None:
            header.append(f"# Doses are written for {products.name}: which doses count toward {vaccine} is its choice.")
        body, names = [], set()
        for case in cases:
            text, count = case_text(case, products, left_out)
            if case.title in names:  # CDC ids are unique; a copy-pasted row must not break the file
                text = text.replace(f"name = {toml_string(case.title)}",
                                    f"name = {toml_string(f'{case.title} (row {case.row})')}", 1)
            names.add(case.title)
            body.append(text)
            expectations += count
        name = fixture_file_name(group)
        texts[name] = "\n".join(header) + "\n\n" + "\n".join(body)
        counts.append((name, len(cases)))
    report = ImportReport(tuple(counts), dict(skipped), workbook.problems, tuple(left_out), expectations)
    return texts, report


def write_fixtures(workbook: Workbook, out_dir, ruleset: ast.Ruleset | None = None) -> ImportReport:
    """Write one fixture file per mapped CDC group into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    texts, report = fixture_texts(workbook, ruleset)
    for name, text in texts.items():
        (out / name).write_text(text, encoding="utf-8")
    return attrs.evolve(report, files=tuple((str(out / name), count) for name, count in report.files))
