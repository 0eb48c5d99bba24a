"""How far a ruleset's dose evaluation agrees with the CDC's test cases.

Every test case of a mapped group is evaluated with the reference interpreter (or any engine with its
signature) at its assessment date, as a student with no grade; each dose the CDC evaluated is then
compared with what the ruleset's series walk made of it in the mapped group:

- a dose **agrees** when both call it valid, or both call it not valid for the same reason (when the
  CDC's reason maps to one of ours; when it does not, not valid on both sides agrees);
- **CDC not valid found** counts the doses the CDC calls Not Valid or Extraneous that we call not
  valid, whatever the reason: the doses a school must not count.

A dose whose product does not count toward the mapped group in the ruleset (a varicella dose in an
MMR case, there for the live-virus spacing; a CVX the ruleset does not declare) cannot be compared:
it is listed as *not compared*, with the reason, so a gap in the ruleset's products stays visible.

A **threshold** file records minimum figures (percent), per CDC group and overall::

    {"groups": {"DTAP": {"agreement": 95.4, "not_valid_found": 80.0}, ...},
     "overall": {"agreement": 96.1, "not_valid_found": 75.2}}

:func:`check_threshold` lists every figure below its floor. The floor only goes up (docs/cdsi.md).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Callable

import attrs

from .. import ast, records
from ..errors import VaxError
from ..results import DoseEvaluation, StudentEvaluation
from .mapping import GROUPS, canonical_group
from .workbook import CdcDose, TestCase, Workbook

FIGURES = ("agreement", "not_valid_found")


def percent(part: int, whole: int) -> float | None:
    """``part / whole`` in percent, None when there is nothing to measure.

    >>> percent(1, 4), percent(0, 0)
    (25.0, None)
    """
    return 100.0 * part / whole if whole else None


def show_percent(value: float | None) -> str:
    """
    >>> show_percent(99.95), show_percent(None), show_percent(100.0), show_percent(78.57)
    ('99.9%', 'n/a', '100.0%', '78.6%')
    """
    if value is None:
        return "n/a"
    text = f"{value:.1f}"
    if text == "100.0" and value < 100:
        text = "99.9"  # 99.95% is not 100%
    return f"{text}%"


@attrs.frozen
class Comparison:
    case: TestCase
    vaccine: str  # the ruleset group
    dose: CdcDose
    ours: DoseEvaluation

    @property
    def cdc_valid(self) -> bool:
        return self.dose.valid

    @property
    def validity_agrees(self) -> bool:
        return self.cdc_valid == self.ours.valid

    @property
    def agrees(self) -> bool:
        if not self.validity_agrees:
            return False
        if self.cdc_valid:
            return True
        wanted = self.dose.reason_id
        return wanted is None or wanted == self.ours.reason

    def ours_words(self) -> str:
        if self.ours.valid:
            return f"valid (dose {self.ours.dose_number})"
        return f"not valid ({self.ours.reason})"

    def cdc_words(self) -> str:
        mapped = self.dose.reason_id
        text = self.dose.cdc_words()
        return f"{text} [{mapped}]" if mapped and not self.cdc_valid else text

    def as_json(self) -> dict:
        return {
            "test_id": self.case.test_id, "name": self.case.name, "row": self.case.row,
            "cdc_group": canonical_group(self.case.vaccine_group), "vaccine": self.vaccine,
            "birth_date": self.case.birth_date.isoformat(), "as_of": self.case.assessment_date.isoformat(),
            "date": self.dose.date.isoformat(), "cvx": self.dose.cvx, "mvx": self.dose.mvx,
            "cdc_status": self.dose.status, "cdc_reason": self.dose.reason, "cdc_reason_id": self.dose.reason_id,
            "ours_valid": self.ours.valid, "ours_reason": self.ours.reason, "ours_dose_number": self.ours.dose_number,
            "ours_product": self.ours.product, "agrees": self.agrees,
        }


@attrs.frozen
class NotCompared:
    case: TestCase
    vaccine: str
    dose: CdcDose
    why: str

    def as_json(self) -> dict:
        return {"test_id": self.case.test_id, "name": self.case.name, "cdc_group": canonical_group(self.case.vaccine_group),
                "vaccine": self.vaccine, "date": self.dose.date.isoformat(), "cvx": self.dose.cvx,
                "cdc_status": self.dose.status, "cdc_reason": self.dose.reason, "why": self.why}


@attrs.frozen
class Figures:
    """The counts behind a group's (or the overall) figures."""

    cases: int = 0
    compared: int = 0
    agreeing: int = 0
    validity_agreeing: int = 0
    cdc_not_valid: int = 0
    not_valid_found: int = 0
    not_compared: int = 0

    @property
    def agreement(self) -> float | None:
        return percent(self.agreeing, self.compared)

    @property
    def validity_agreement(self) -> float | None:
        return percent(self.validity_agreeing, self.compared)

    @property
    def not_valid_found_pct(self) -> float | None:
        return percent(self.not_valid_found, self.cdc_not_valid)

    def figure(self, name: str) -> float | None:
        return self.agreement if name == "agreement" else self.not_valid_found_pct

    def __add__(self, other: Figures) -> Figures:
        return Figures(*(a + b for a, b in zip(attrs.astuple(self), attrs.astuple(other))))

    def as_json(self) -> dict:
        return {**attrs.asdict(self), "agreement_pct": self.agreement, "validity_agreement_pct": self.validity_agreement,
                "not_valid_found_pct": self.not_valid_found_pct}


@attrs.frozen
class GroupResult:
    cdc_group: str
    vaccine: str
    figures: Figures
    comparisons: tuple[Comparison, ...] = ()
    not_compared: tuple[NotCompared, ...] = ()
    errors: tuple[str, ...] = ()  # cases the engine could not evaluate

    @property
    def disagreements(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if not c.agrees)


@attrs.frozen
class Report:
    workbook: Workbook
    ruleset_name: str
    ruleset_file: str
    groups: tuple[GroupResult, ...]
    skipped_groups: dict[str, int]  # CDC group -> cases not checked
    missing_groups: tuple[str, ...] = ()  # mapped CDC groups the ruleset has no group for

    @property
    def overall(self) -> Figures:
        total = Figures()
        for group in self.groups:
            total = total + group.figures
        return total

    @property
    def disagreements(self) -> tuple[Comparison, ...]:
        return tuple(c for group in self.groups for c in group.disagreements)


Evaluate = Callable[..., StudentEvaluation]


def parse_groups(text: str | None) -> list[str] | None:
    """``--groups DTAP,pol`` -> ``['DTAP', 'POL']``; unknown names are an error.

    >>> parse_groups("dtap, POL,HepB")
    ['DTAP', 'POL', 'HepB']
    >>> parse_groups("DTAP,HPV")
    Traceback (most recent call last):
    vaxdsl.errors.VaxError: --groups: HPV is not a CDC group vaxdsl maps (mapped: DTAP, POL, HIB, PCV, HepB, MMR, VAR, MCV, HepA)
    """
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if canonical_group(name) is None]
    if unknown:
        raise VaxError(f"--groups: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a CDC group vaxdsl maps "
                       f"(mapped: {', '.join(GROUPS)})")
    return [canonical_group(name) for name in names]


def run_check(ruleset: ast.Ruleset, workbook: Workbook, groups: list[str] | None = None,
              evaluate: Evaluate | None = None) -> Report:
    """Evaluate every case of the chosen CDC groups (default: every mapped group the ruleset has)."""
    if evaluate is None:
        from ..interpreter import evaluate_student as evaluate
    present = {vaccine.id for vaccine in ruleset.vaccines}
    wanted = groups if groups is not None else list(GROUPS)
    missing = tuple(group for group in wanted if GROUPS[group] not in present)
    chosen = [group for group in wanted if group not in missing]
    by_group: dict[str, list[TestCase]] = {group: [] for group in chosen}
    skipped: Counter = Counter()
    for case in workbook.cases:
        canonical = canonical_group(case.vaccine_group)
        if canonical in by_group:
            by_group[canonical].append(case)
        else:
            skipped[canonical or case.vaccine_group] += 1
    results = tuple(_check_group(ruleset, group, by_group[group], evaluate) for group in chosen)
    header = ruleset.header
    return Report(workbook, header.name if header else "", ruleset.file or "", results, dict(skipped), missing)


def _check_group(ruleset: ast.Ruleset, cdc_group: str, cases: list[TestCase], evaluate: Evaluate) -> GroupResult:
    vaccine = GROUPS[cdc_group]
    comparisons, not_compared, errors = [], [], []
    for case in cases:
        student = records.Student(case.test_id, case.birth_date, None)
        doses = [records.Dose(dose.number, case.test_id, dose.date, dose.cvx, dose.mvx) for dose in case.doses]
        try:
            evaluation = evaluate(ruleset, student, doses, [], case.assessment_date)
        except Exception as error:  # noqa: BLE001 - one case the engine cannot take must not stop the run
            errors.append(f"{case.test_id}: the engine failed: {type(error).__name__}: {error}")
            not_compared.extend(NotCompared(case, vaccine, dose, "the engine failed on this case") for dose in case.doses)
            continue
        ours = {(d.dose_id, d.vaccine): d for d in evaluation.doses}
        for dose in case.doses:
            found = ours.get((dose.number, vaccine))
            if found is not None:
                comparisons.append(Comparison(case, vaccine, dose, found))
                continue
            counted = sorted(d.vaccine for (number, _), d in ours.items() if number == dose.number and d.vaccine)
            if dose.date > case.assessment_date:
                why = f"given after the assessment date ({case.assessment_date})"
            elif counted:
                why = f"CVX {dose.cvx} counts toward {', '.join(counted)}, not {vaccine}, in the ruleset"
            elif (dose.number, "") in ours:  # the engines list a dose no product matches with group ""
                why = f"CVX {dose.cvx}" + (f" (MVX {dose.mvx})" if dose.mvx else "") + " is not declared by the ruleset"
            else:
                why = f"CVX {dose.cvx} counts toward no group in the ruleset"
            not_compared.append(NotCompared(case, vaccine, dose, why))
    figures = Figures(
        cases=len(cases),
        compared=len(comparisons),
        agreeing=sum(c.agrees for c in comparisons),
        validity_agreeing=sum(c.validity_agrees for c in comparisons),
        cdc_not_valid=sum(not c.cdc_valid for c in comparisons),
        not_valid_found=sum(not c.cdc_valid and not c.ours.valid for c in comparisons),
        not_compared=len(not_compared),
    )
    return GroupResult(cdc_group, vaccine, figures, tuple(comparisons), tuple(not_compared), tuple(errors))


# ---- thresholds -----------------------------------------------------------------------------------------


@attrs.frozen
class Shortfall:
    scope: str  # a CDC group, or "overall"
    figure: str  # "agreement" or "not_valid_found"
    actual: float | None
    floor: float

    def __str__(self) -> str:
        return f"{self.scope} {self.figure.replace('_', ' ')}: {show_percent(self.actual)} is below the floor {self.floor:.1f}%"

    def as_json(self) -> dict:
        return attrs.asdict(self)


def read_threshold(path) -> dict:
    """The threshold file, checked: ``{"groups": {GROUP: {FIGURE: PCT}}, "overall": {FIGURE: PCT}}``."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VaxError(f"{path}: no such threshold file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise VaxError(f"{path}: not a JSON threshold file ({error})") from None
    if not isinstance(data, dict):
        raise VaxError(f"{path}: a threshold file is a JSON object with \"groups\" and \"overall\"")
    groups = data.get("groups", {})
    if not isinstance(groups, dict):
        raise VaxError(f"{path}: \"groups\" must be an object of CDC group -> floors")
    for scope, floors in [*groups.items(), ("overall", data.get("overall", {}))]:
        if scope != "overall" and canonical_group(scope) is None:
            raise VaxError(f"{path}: \"{scope}\" is not a CDC group vaxdsl maps (mapped: {', '.join(GROUPS)})")
        if not isinstance(floors, dict):
            raise VaxError(f"{path}: the floors of {scope} must be an object such as {{\"agreement\": 95.0}}")
        for figure, value in floors.items():
            if figure not in FIGURES:
                raise VaxError(f"{path}: {scope}: unknown figure \"{figure}\" (figures: {', '.join(FIGURES)})")
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100):
                raise VaxError(f"{path}: {scope}.{figure} must be a percentage from 0 to 100 (or null)")
    return data


def check_threshold(report: Report, threshold: dict) -> tuple[list[Shortfall], list[str]]:
    """The figures below their floors, and notes on floors that could not be applied.

    A group's floors apply when the group was checked; the overall floors only when exactly the
    groups the file records were checked (the overall of other groups is another figure).
    """
    shortfalls, notes = [], []
    results = {group.cdc_group: group for group in report.groups}
    recorded = {canonical_group(name): floors for name, floors in threshold.get("groups", {}).items()}
    unchecked = [group for group in recorded if group not in results]
    for group, floors in recorded.items():
        if group in results:
            shortfalls += _below(group, results[group].figures, floors)
    if unchecked:
        notes.append(f"{', '.join(unchecked)}: not checked, so their floors were not applied")
    overall = threshold.get("overall", {})
    if overall:
        if set(results) == set(recorded):
            shortfalls += _below("overall", report.overall, overall)
        else:
            notes.append("overall: the groups checked are not the groups the threshold records, "
                         "so the overall floors were not applied")
    return shortfalls, notes


def _below(scope: str, figures: Figures, floors: dict) -> list[Shortfall]:
    found = []
    for name in FIGURES:
        floor = floors.get(name)
        if floor is None:
            continue
        actual = figures.figure(name)
        if actual is None or actual + 1e-9 < floor:
            found.append(Shortfall(scope, name, actual, float(floor)))
    return found


def current_floors(report: Report) -> dict:
    """The report's figures as a threshold (rounded down to 0.1), for recording a new floor."""

    def floors(figures: Figures) -> dict:
        return {name: (None if figures.figure(name) is None else int(figures.figure(name) * 10 + 1e-9) / 10)
                for name in FIGURES}

    return {"groups": {group.cdc_group: floors(group.figures) for group in report.groups},
            "overall": floors(report.overall)}


# ---- rendering ----------------------------------------------------------------------------------------------


def _dose_words(comparison: Comparison | NotCompared) -> str:
    dose = comparison.dose
    mvx = f"/{dose.mvx}" if dose.mvx else ""
    return f"{dose.date.isoformat()} CVX {dose.cvx}{mvx}"


def render_text(report: Report, shortfalls=None, notes=(), show_not_compared: bool = True) -> str:
    workbook = report.workbook
    lines = [f"CDSi conformance of {report.ruleset_name or 'the ruleset'} ({report.ruleset_file}) "
             f"with {Path(workbook.path).name}, sheet '{workbook.sheet}'"]
    checked = sum(group.figures.cases for group in report.groups)
    skipped = ", ".join(f"{name} {count}" for name, count in sorted(report.skipped_groups.items()))
    lines.append(f"{len(workbook.cases)} test case(s) read: {checked} checked in {len(report.groups)} group(s)"
                 + (f", {sum(report.skipped_groups.values())} skipped ({skipped})" if skipped else "")
                 + (f"; {len(workbook.problems)} bad row(s) skipped" if workbook.problems else ""))
    for problem in workbook.problems:
        lines.append(f"  bad row: {problem}")
    if report.missing_groups:
        lines.append("the ruleset has no group for: "
                     + ", ".join(f"{group} ({GROUPS[group]})" for group in report.missing_groups))
    lines.append("")
    head = f"{'group':<7}{'vaxdsl':<11}{'cases':>6}{'doses':>7}{'agree':>7}{'agreement':>11}   {'CDC not valid found':<22}{'not compared':>13}"
    lines.append(head)

    def row(label: str, vaccine: str, figures: Figures) -> str:
        found = (f"{figures.not_valid_found}/{figures.cdc_not_valid} {show_percent(figures.not_valid_found_pct)}"
                 if figures.cdc_not_valid else "0/0 n/a")
        return (f"{label:<7}{vaccine:<11}{figures.cases:>6}{figures.compared:>7}{figures.agreeing:>7}"
                f"{show_percent(figures.agreement):>11}   {found:<22}{figures.not_compared:>13}")

    for group in report.groups:
        lines.append(row(group.cdc_group, group.vaccine, group.figures))
    lines.append(row("overall", "", report.overall))
    overall = report.overall
    lines.append(f"(validity alone, reasons aside: {overall.validity_agreeing}/{overall.compared} "
                 f"{show_percent(overall.validity_agreement)})")

    disagreements = report.disagreements
    lines.append("")
    lines.append(f"Disagreements: {len(disagreements)}")
    for group in report.groups:
        if not group.disagreements:
            continue
        lines.append(f"{group.cdc_group} ({group.vaccine}):")
        for c in group.disagreements:
            lines.append(f"  {c.case.test_id} {c.case.name}")
            lines.append(f"      {_dose_words(c)} (born {c.case.birth_date}, as of {c.case.assessment_date}): "
                         f"CDC {c.cdc_words()} vs ours {c.ours_words()}")
    errors = [error for group in report.groups for error in group.errors]
    if errors:
        lines.append("")
        lines.append(f"Cases the engine could not evaluate: {len(errors)}")
        lines.extend(f"  {error}" for error in errors)
    not_compared = [item for group in report.groups for item in group.not_compared]
    if not_compared and show_not_compared:
        lines.append("")
        lines.append(f"Doses not compared: {len(not_compared)}")
        for item in not_compared:
            lines.append(f"  {item.case.test_id} {item.vaccine}: {_dose_words(item)} (CDC {item.dose.cdc_words()}): {item.why}")
    lines.append("")
    lines.append(f"Overall: {overall.agreeing}/{overall.compared} doses agree ({show_percent(overall.agreement)}); "
                 f"CDC not valid doses found not valid: {overall.not_valid_found}/{overall.cdc_not_valid} "
                 f"({show_percent(overall.not_valid_found_pct)})")
    if shortfalls is not None:
        for note in notes:
            lines.append(f"threshold: {note}")
        if shortfalls:
            lines.append(f"BELOW THE FLOOR: {len(shortfalls)} figure(s)")
            lines.extend(f"  {shortfall}" for shortfall in shortfalls)
        else:
            lines.append("threshold: every figure is at or above its floor")
    return "\n".join(lines)


def render_json(report: Report, shortfalls=None, notes=(), threshold_file: str | None = None) -> dict:
    workbook = report.workbook
    data = {
        "workbook": workbook.path,
        "sheet": workbook.sheet,
        "ruleset": {"name": report.ruleset_name, "file": report.ruleset_file},
        "cases": len(workbook.cases),
        "bad_rows": [{"row": p.row, "test_id": p.test_id, "message": p.message} for p in workbook.problems],
        "skipped_groups": report.skipped_groups,
        "missing_groups": list(report.missing_groups),
        "groups": [{"cdc_group": g.cdc_group, "vaccine": g.vaccine, **g.figures.as_json(), "errors": list(g.errors)}
                   for g in report.groups],
        "overall": report.overall.as_json(),
        "disagreements": [c.as_json() for c in report.disagreements],
        "not_compared": [item.as_json() for group in report.groups for item in group.not_compared],
        "floors": current_floors(report),  # these figures as a threshold file, to raise the floor with
    }
    if shortfalls is not None:
        data["threshold"] = {"file": threshold_file, "ok": not shortfalls,
                             "below": [s.as_json() for s in shortfalls], "notes": list(notes)}
    return data
