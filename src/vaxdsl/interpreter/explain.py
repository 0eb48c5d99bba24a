"""An evaluation in words an administrator or a parent can follow.

Per vaccine group: the dose history with each dose's validity and the reason in words, the rule
that decided the group, the earlier rules that did not match and why, and what is still needed.
The reasons for invalid doses are re-derived with the same functions the series walk used
(:mod:`.series`), from the evaluation's own dose list, so they cannot drift from the verdicts.
"""

from __future__ import annotations

from datetime import date

from .. import ast
from ..dates import describe_age
from ..records import Student
from ..results import DoseEvaluation, GroupEvaluation, StudentEvaluation
from .needs import next_needs
from .series import product_failure, timing_failure
from .tables import APPLIES
from ..formatter import call_text
from .wording import REASON_WORDS, doc_summary

INDENT = "  "


def explain_text(evaluation: StudentEvaluation, ruleset: ast.Ruleset, student: Student, as_of: date,
                 vaccine: str | None = None) -> str:
    """The whole explanation; ``vaccine`` limits it to one group."""
    grade = f"grade {student.grade}" if student.grade else "no grade"
    lines = [
        f"Student {student.id}, born {student.birth_date.isoformat()}, {grade}; "
        f"{describe_age(student.birth_date, as_of)} old on {as_of.isoformat()}.",
        f"Overall status on {as_of.isoformat()}: {_display(evaluation.overall)}.",
    ]
    vaccines = {v.id: v for v in ruleset.vaccines}
    products = {p.id: p for p in ruleset.products}
    docs = {clause.name: clause.doc for clause in ruleset.predicates if clause.doc}
    needs = next_needs(ruleset, evaluation, student, as_of)
    for group in evaluation.groups:
        if vaccine is not None and group.vaccine != vaccine:
            continue
        doses = [d for d in evaluation.doses if d.vaccine == group.vaccine]
        lines.append("")
        lines += _group_lines(group, vaccines[group.vaccine], doses, products, docs, student, as_of)
        lines.append(f"{INDENT}Still needs: {needs[group.vaccine].words}.")
    unmatched = [d for d in evaluation.doses if d.product is None]
    if unmatched and vaccine is None:
        lines += ["", "Doses not counted toward any group (no product declared in the ruleset matches them):"]
        lines += [f"{INDENT}{d.date.isoformat()} CVX {d.cvx:02d} (dose record {d.dose_id})" for d in unmatched]
    return "\n".join(lines) + "\n"


def _display(outcome: str) -> str:
    return ast.OUTCOME_DISPLAY.get(outcome, outcome)


def _group_lines(group: GroupEvaluation, vaccine: ast.Vaccine, doses: list[DoseEvaluation], products: dict,
                 docs: dict, student: Student, as_of: date) -> list[str]:
    title = f"{vaccine.id} ({vaccine.name})" if vaccine.name and vaccine.name != vaccine.id else vaccine.id
    lines = [f"{title}: {_display(group.status)}", f"{INDENT}Doses:"]
    if not doses:
        lines.append(f"{INDENT * 2}none on record by {as_of.isoformat()}")
    for dose, words in zip(doses, dose_words(vaccine, doses, products, student.birth_date, docs)):
        product = products[dose.product]
        lines.append(f"{INDENT * 2}{dose.date.isoformat()} {product.name or product.id} (CVX {product.cvx}): {words}")
    lines += _decision_lines(group, vaccine, as_of)
    return lines


def dose_words(vaccine: ast.Vaccine, doses: list[DoseEvaluation], products: dict, birth: date,
               docs: dict | None = None) -> list[str]:
    """"valid (dose 2)" or "not valid — <why>" for each of a group's doses, in walk order."""
    words, valid_dates = [], []
    for dose in doses:
        if dose.valid:
            valid_dates.append(dose.date)
            words.append(f"valid (dose {dose.dose_number})")
        else:
            words.append("not valid — " + _why_invalid(vaccine, dose, products, birth, valid_dates, docs or {}))
    return words


def _predicate_words(call: ast.Call, docs: dict) -> str:
    doc = doc_summary(docs.get(call.name, ""))
    return f"{call_text(call)} holds" + (f" ({doc})" if doc else "")


def _why_invalid(vaccine, dose: DoseEvaluation, products, birth, valid_dates, docs) -> str:
    series = vaccine.series
    if series is not None:
        failure = timing_failure(series, dose.date, birth, valid_dates)
        if failure is not None and failure.reason == dose.reason:
            return failure.words
        rejects = [r for r in series.rejects if r.reason == dose.reason]
        if rejects:
            return f"{REASON_WORDS.get(dose.reason, dose.reason)}: " + " or ".join(
                _predicate_words(r.call, docs) for r in rejects)
        failure = product_failure(series, products[dose.product], dose.date, birth, len(valid_dates) + 1)
        if failure is not None and failure.reason == dose.reason:
            return failure.words
    return REASON_WORDS.get(dose.reason, dose.reason or "not valid")


def _decision_lines(group: GroupEvaluation, vaccine: ast.Vaccine, as_of: date) -> list[str]:
    rules = {rule.name: rule for rule in vaccine.rules}
    outcome = _display(group.status)
    tried = list(group.trace)
    applies = tried.pop(0) if tried and tried[0].rule == APPLIES else None
    if applies is not None and not applies.matched:
        failed = "; ".join(f"needs {c.text}, {c.observed}" for c in applies.checks if not c.holds)
        return [f"{INDENT}Decided by: the requirement does not apply to this student ({failed}) => {outcome}"]
    if group.rule is not None and group.rule.startswith("exemption: "):
        check = tried[-1].checks[0]
        return [f"{INDENT}Decided by: the student {check.observed} => {outcome}"]

    lines = []
    if group.rule is not None:
        decider = tried.pop()
        lines.append(f"{INDENT}Decided by: rule '{group.rule}' => {outcome}")
        lines += [f"{INDENT * 2}{c.text}: {c.observed}" for c in decider.checks if c.text != "always"]
    elif vaccine.otherwise is not None:
        lines.append(f"{INDENT}Decided by: no rule matched, so the group's default (otherwise) => {outcome}")
    else:
        lines.append(f"{INDENT}Decided by: no rule matched and the group has no default => {outcome}")
    if tried:
        lines.append(f"{INDENT}{'Earlier rules' if group.rule else 'Rules'} that did not match:")
    # One reason per rule reads better than all of them: the first condition that failed is the
    # answer to "why not this rule?"; the count says whether fixing it would be enough.
    for entry in (entry for entry in tried if entry.active):
        failed = [check for check in entry.checks if not check.holds]
        more = f" (and {len(failed) - 1} more condition(s))" if len(failed) > 1 else ""
        reason = f"needs {failed[0].text}, {failed[0].observed}" if failed else "its conditions did not hold"
        lines.append(f"{INDENT * 2}'{entry.rule}' did not apply: {reason}{more}")
    inactive = [entry for entry in tried if not entry.active]
    if inactive:
        lines.append(f"{INDENT * 2}Not in effect on {as_of.isoformat()}:")
        lines += [f"{INDENT * 3}'{entry.rule}' ({_window(rules.get(entry.rule))})" for entry in inactive]
    return lines


def _window(rule: ast.Rule | None) -> str:
    if rule is None:
        return "inactive"
    start, end = rule.active_start, rule.active_end
    if start and end and end < start:
        return f"its window {start.isoformat()} to {end.isoformat()} ends before it starts, so it never applies"
    if start and end:
        return f"in effect from {start.isoformat()} to {end.isoformat()}"
    if start:
        return f"in effect from {start.isoformat()}"
    return f"in effect until {end.isoformat()}"
