"""Run fixture cases through an engine and compare what it says with what the case expects.

The engine is the reference interpreter unless another ``evaluate`` function is given (the same
signature: ``evaluate(ruleset, student, doses, exemptions, as_of) -> StudentEvaluation``), so the
SQL engine, or a stub in a test, can be held to the same fixtures.

Each case ends as one of:

- ``pass``: every expectation holds;
- ``fail``: at least one does not (the mismatches say which);
- ``error``: the case could not run (a dose that resolves to no product, an unknown grade or vaccine
  group, the engine raised);
- ``xfail``: the case is marked ``xfail = "why"`` and fails as expected;
- ``xpass``: the case is marked ``xfail`` but passes: the mark is stale, which counts as a failure.
"""

from __future__ import annotations

import difflib
from collections import Counter
from typing import Callable

import attrs

from .. import ast
from ..fixtures import Case, FixtureError
from ..results import StudentEvaluation

OUTCOMES = ("pass", "fail", "error", "xfail", "xpass")
BAD_OUTCOMES = ("fail", "error", "xpass")


@attrs.frozen
class Mismatch:
    what: str  # e.g. "DTaP status", "DTaP rule", "overall", "HepB dose of 2019-07-10 validity"
    expected: object
    actual: object
    hint: str = ""
    quoted: bool = False  # names (rules) are shown in quotes

    def text(self) -> str:
        line = f"{self.what}: expected {_show(self.expected, self.quoted)}, got {_show(self.actual, self.quoted)}"
        return f"{line} ({self.hint})" if self.hint else line

    def as_json(self) -> dict:
        return {"what": self.what, "expected": self.expected, "actual": self.actual, "hint": self.hint or None}


@attrs.frozen
class CaseResult:
    case: Case
    outcome: str  # one of OUTCOMES
    mismatches: tuple[Mismatch, ...] = ()
    errors: tuple[str, ...] = ()
    evaluation: StudentEvaluation | None = None
    explanation: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome not in BAD_OUTCOMES

    def as_json(self, with_explanation: bool = True) -> dict:
        case = self.case
        data = {
            "file": case.file,
            "line": case.line,
            "name": case.name,
            "outcome": self.outcome,
            "xfail": case.xfail,
            "mismatches": [m.as_json() for m in self.mismatches],
            "errors": list(self.errors),
        }
        if self.evaluation is not None:
            data["actual"] = {
                "overall": self.evaluation.overall,
                "groups": [
                    {"vaccine": g.vaccine, "status": g.status, "rule": g.rule, "valid_doses": g.valid_doses}
                    for g in self.evaluation.groups
                ],
                "doses": [
                    {"date": d.date.isoformat(), "cvx": d.cvx, "vaccine": d.vaccine, "product": d.product,
                     "valid": d.valid, "reason": d.reason, "dose_number": d.dose_number}
                    for d in self.evaluation.doses
                ],
            }
        if with_explanation and self.explanation and not self.ok:
            data["explanation"] = self.explanation
        return data


@attrs.frozen
class RunReport:
    results: tuple[CaseResult, ...]
    file_errors: tuple[FixtureError, ...] = ()
    files: int = 0

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(result.outcome for result in self.results)
        return {outcome: counted.get(outcome, 0) for outcome in OUTCOMES}

    @property
    def ok(self) -> bool:
        return not self.file_errors and all(result.ok for result in self.results)

    def summary(self) -> str:
        counts = self.counts
        parts = [f"{counts['pass']} passed"]
        parts += [f"{counts[o]} {label}" for o, label in (("fail", "failed"), ("error", "error(s)"),
                                                          ("xfail", "expected failure(s)"),
                                                          ("xpass", "unexpectedly passed")) if counts[o]]
        if self.file_errors:
            parts.append(f"{len(self.file_errors)} fixture problem(s)")
        return f"{len(self.results)} case(s) in {self.files} file(s): " + ", ".join(parts)


Evaluate = Callable[..., StudentEvaluation]


def default_engine() -> tuple[Evaluate, Callable[..., str] | None]:
    from ..interpreter import evaluate_student, explain_text

    return evaluate_student, explain_text


def run_cases(ruleset: ast.Ruleset, cases, evaluate: Evaluate | None = None,
              explain: Callable[..., str] | None = None, file_errors=(), files: int = 0) -> RunReport:
    """Run every case; ``explain`` (optional) renders the engine's explanation of failing cases."""
    if evaluate is None:
        evaluate, default_explain = default_engine()
        explain = explain if explain is not None else default_explain
    return RunReport(tuple(run_case(ruleset, case, evaluate, explain) for case in cases), tuple(file_errors), files)


def run_case(ruleset: ast.Ruleset, case: Case, evaluate: Evaluate,
             explain: Callable[..., str] | None = None) -> CaseResult:
    problems = _check_against_ruleset(ruleset, case)
    doses, dose_errors = case.dose_records(ruleset.products)
    problems += [error.message for error in dose_errors]
    if problems:
        return CaseResult(case, "error", errors=tuple(problems))
    try:
        evaluation = evaluate(ruleset, case.student, doses, list(case.exemptions), case.as_of)
    except Exception as error:  # noqa: BLE001 - one broken case must not stop the run
        return CaseResult(case, "error", errors=(f"the engine failed: {type(error).__name__}: {error}",))
    mismatches = tuple(compare(ruleset, case, evaluation))
    if case.xfail:
        outcome = "xfail" if mismatches else "xpass"
    else:
        outcome = "fail" if mismatches else "pass"
    explanation = ""
    if outcome in ("fail", "xfail") and explain is not None:
        try:
            explanation = explain(evaluation, ruleset, case.student, case.as_of)
        except Exception as error:  # noqa: BLE001 - an explanation is a help, not the verdict
            explanation = f"(no explanation: {type(error).__name__}: {error})"
    return CaseResult(case, outcome, mismatches, (), evaluation, explanation)


def compare(ruleset: ast.Ruleset, case: Case, evaluation: StudentEvaluation):
    """The mismatches between a case's expectations and an evaluation, in the order written."""
    groups = {group.vaccine: group for group in evaluation.groups}
    tables = {vaccine.id: vaccine for vaccine in ruleset.vaccines}
    for expected in case.expect:
        actual = groups.get(expected.vaccine)
        if actual is None:
            yield Mismatch(f"{expected.vaccine}", "an evaluation of the group", "none")
            continue
        if expected.status is not None and expected.status != actual.status:
            yield Mismatch(f"{expected.vaccine} status", expected.status, actual.status,
                           f"decided by {_rule_words(actual.rule)}")
        if expected.rule is not None and (expected.rule or None) != actual.rule:
            hint = ""
            names = [rule.name for rule in tables[expected.vaccine].rules] if expected.vaccine in tables else []
            if expected.rule and not expected.rule.startswith("exemption: ") and expected.rule not in names:
                close = difflib.get_close_matches(expected.rule, names, n=1, cutoff=0.6)
                hint = f"the {expected.vaccine} table has no rule of that name" + (f"; did you mean '{close[0]}'?" if close else "")
            yield Mismatch(f"{expected.vaccine} rule", expected.rule or None, actual.rule, hint, quoted=True)
        if expected.valid_doses is not None and expected.valid_doses != actual.valid_doses:
            yield Mismatch(f"{expected.vaccine} valid doses", expected.valid_doses, actual.valid_doses)
    for expected in case.expect_doses:
        found = [d for d in evaluation.doses
                 if d.vaccine == expected.vaccine and d.date == expected.date
                 and (expected.cvx is None or d.cvx == expected.cvx)]
        what = expected.describe()
        if not found:
            counted = sorted({d.vaccine for d in evaluation.doses if d.date == expected.date})
            hint = (f"doses of that date count toward {', '.join(counted)}" if counted
                    else "no dose of that date was evaluated (is it after as_of?)")
            yield Mismatch(what, "an evaluated dose", "none", hint)
            continue
        for dose in found:
            if expected.valid is not None and expected.valid != dose.valid:
                yield Mismatch(f"{what} validity", "valid" if expected.valid else "not valid",
                               "valid" if dose.valid else f"not valid ({dose.reason})")
                continue
            if expected.reason is not None and expected.reason != dose.reason:
                yield Mismatch(f"{what} reason", expected.reason, dose.reason)
            if expected.dose_number is not None and expected.dose_number != dose.dose_number:
                yield Mismatch(f"{what} dose number", expected.dose_number, dose.dose_number)
    if case.overall is not None and case.overall != evaluation.overall:
        yield Mismatch("overall", case.overall, evaluation.overall)


def _check_against_ruleset(ruleset: ast.Ruleset, case: Case) -> list[str]:
    """Names in the case that the ruleset does not know: most likely typos in the fixture."""
    problems = []
    groups = [vaccine.id for vaccine in ruleset.vaccines]
    grade = case.student.grade
    codes = [decl.code for decl in ruleset.grade_decls]
    if grade is not None and codes and grade not in codes:
        problems.append(f"grade '{grade}' is not declared by the ruleset{_did_you_mean(grade, codes)}")
    for expected in case.expect:
        if expected.vaccine not in groups:
            problems.append(f"expect.{expected.vaccine}: no vaccine group '{expected.vaccine}' in the ruleset"
                            f"{_did_you_mean(expected.vaccine, groups)}")
    for expected in case.expect_doses:
        if expected.vaccine not in groups:
            problems.append(f"expect_doses: no vaccine group '{expected.vaccine}' in the ruleset"
                            f"{_did_you_mean(expected.vaccine, groups)}")
    for exemption in case.exemptions:
        if exemption.vaccine not in groups:
            problems.append(f"exemption: no vaccine group '{exemption.vaccine}' in the ruleset"
                            f"{_did_you_mean(exemption.vaccine, groups)}")
    return problems


def _did_you_mean(word: str, candidates) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if not close:
        close = [c for c in candidates if c.casefold() == word.casefold()]
    return f" (did you mean '{close[0]}'?)" if close else ""


def _rule_words(rule: str | None) -> str:
    return f"rule '{rule}'" if rule else "no rule (applies/otherwise)"


def _show(value, quoted: bool = False) -> str:
    if value is None:
        return "none"
    return f"'{value}'" if quoted else str(value)


# ---- rendering ------------------------------------------------------------------------------------------


def render_text(report: RunReport, verbose: bool = False) -> str:
    lines: list[str] = []
    for error in report.file_errors:
        lines.append(f"ERROR {error}")
    for result in report.results:
        case = result.case
        if result.outcome == "pass" and not verbose:
            continue
        label = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "xfail": "XFAIL", "xpass": "XPASS"}[result.outcome]
        lines.append(f"{label} {case.where}: {case.name}")
        if result.outcome == "pass":
            continue
        if case.xfail:
            lines.append(f"  marked xfail: {case.xfail}")
            if result.outcome == "xpass":
                lines.append("  the case now passes: remove its xfail mark")
        if result.outcome == "xfail" and not verbose:
            continue
        for message in result.errors:
            lines.append(f"  {message}")
        if result.mismatches:
            lines.append(f"  student: born {case.student.birth_date}, grade {case.student.grade or '(none)'}, "
                         f"as of {case.as_of}")
            for mismatch in result.mismatches:
                lines.append(f"  {mismatch.text()}")
        if result.explanation:
            lines.append("  explanation:")
            lines.extend(f"    {line}" if line else "" for line in result.explanation.splitlines())
        lines.append("")
    lines.append(report.summary())
    return "\n".join(lines)


def render_json(report: RunReport, ruleset: ast.Ruleset) -> dict:
    header = ruleset.header
    return {
        "ruleset": {"name": header.name if header else "", "file": ruleset.file},
        "summary": {**report.counts, "cases": len(report.results), "files": report.files,
                    "fixture_errors": len(report.file_errors), "ok": report.ok},
        "fixture_errors": [error.as_json() for error in report.file_errors],
        "cases": [result.as_json() for result in report.results],
    }
