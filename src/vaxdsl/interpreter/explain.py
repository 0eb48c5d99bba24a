"""An evaluation in words an administrator or a parent can follow.

Per vaccine group: the dose history with each dose's validity and the reason in words, the rule
that decided the group, the earlier rules that did not match and why, and what is still needed.
The reasons for invalid doses are the words the series walk (:mod:`.series`) gave each verdict, so
they cannot drift from the verdicts; with several series, the explanation says which one judged
the doses and why.
"""

from __future__ import annotations

from datetime import date

from .. import ast
from ..dates import describe_age
from ..records import Student
from ..results import DoseEvaluation, GroupEvaluation, StudentEvaluation
from .needs import next_needs
from .tables import APPLIES
from ..formatter import call_text, condition_text
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
    lines = [f"{title}: {_display(group.status)}"]
    walk = group.walk
    if walk is not None:
        lines += _series_lines(walk, student.birth_date)
    lines.append(f"{INDENT}Doses:")
    if not doses:
        lines.append(f"{INDENT * 2}none on record by {as_of.isoformat()}")
    verdicts = {v.known.dose.id: v for v in walk.verdicts} if walk is not None else {}
    for dose in doses:
        product = products[dose.product]
        words = _dose_words(dose, verdicts.get(dose.dose_id), vaccine, docs)
        lines.append(f"{INDENT * 2}{dose.date.isoformat()} {product.name or product.id} (CVX {product.cvx}): {words}")
    lines += _decision_lines(group, vaccine, as_of)
    return lines


def _series_lines(walk, birth: date) -> list[str]:
    """Which series judged the doses (and why that one, when there were several), per antigen when
    the group has several, and the series doses the skips made unnecessary."""
    lines = []
    several = len(walk.antigens) > 1
    for antigen_walk in walk.antigens:
        label = f"{antigen_walk.antigen.name} series" if several else "Series"
        chosen = antigen_walk.chosen
        others = [_series_summary(other, birth) for other in antigen_walk.walks
                  if other is not chosen and not other.left_out]
        left_out: dict[tuple, list[str]] = {}  # `only with` products -> the series left out for want of them
        for other in antigen_walk.walks:
            if other.left_out:
                left_out.setdefault(other.series.only_with, []).append(f"'{other.series.name}'")
        if several or others or left_out:
            over = ", chosen over " + "; ".join(others) if others else ""
            over += "".join(f"; {' and '.join(names)} left out (no dose of {', '.join(products)})"
                            for products, names in left_out.items())
            lines.append(f"{INDENT}{label}: {_series_summary(chosen, birth)}{over}")
        for skipped in chosen.skipped:
            lines.append(f"{INDENT}{label} dose {skipped.number} not required: "
                         f"{condition_text(skipped.skip.condition)} held for the dose of {skipped.given.isoformat()}")
    return lines


def _series_summary(series_walk, birth: date) -> str:
    name = f"'{series_walk.series.name}'" if series_walk.series.name else "the series"
    facts = ["complete" if series_walk.complete else "not complete", _doses(series_walk.valid_count)]
    if not series_walk.candidate:
        facts.append(f"cannot start at {describe_age(birth, series_walk.start_age)}")
    return f"{name} ({', '.join(facts)})"


def _doses(count: int) -> str:
    return "1 valid dose" if count == 1 else f"{count} valid doses"


def _dose_words(dose: DoseEvaluation, verdict, vaccine: ast.Vaccine, docs: dict) -> str:
    """"valid (dose 2)" or "not valid — <why>", with the words the walk gave its verdict."""
    if dose.valid:
        return f"valid (dose {dose.dose_number})"
    if verdict is not None and verdict.words:
        return "not valid — " + verdict.words
    rejects = [r for r in vaccine.predicate_rejects if r.reason == dose.reason]
    if rejects:
        return f"not valid — {REASON_WORDS.get(dose.reason, dose.reason)}: " + " or ".join(
            _predicate_words(r.call, docs) for r in rejects)
    return "not valid — " + REASON_WORDS.get(dose.reason, dose.reason or "not valid")


def _predicate_words(call: ast.Call, docs: dict) -> str:
    doc = doc_summary(docs.get(call.name, ""))
    return f"{call_text(call)} holds" + (f" ({doc})" if doc else "")


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
