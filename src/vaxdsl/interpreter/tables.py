"""A vaccine group's outcome (docs/semantics.md, "Rule tables"): applies, exemptions, first match.

The trace lists what was tried, in order. Besides one :class:`RuleTrace` per rule tried (every
rule up to and including the one that matched), two kinds of entries use reserved names:

* ``APPLIES`` ("applies when"), first, when the group has an ``applies when``: ``matched`` says
  whether the condition held;
* ``"exemption: KIND"`` when an exemption decided the group (its one check names the exemption).
"""

from __future__ import annotations

from datetime import date

from .. import ast
from ..results import ConditionCheck, GroupEvaluation, RuleTrace
from .conditions import GroupView, judge

APPLIES = "applies when"


def rule_is_active(rule: ast.Rule, as_of: date) -> bool:
    """Inclusive at both ends; a window whose end precedes its start is never active."""
    return (rule.active_start is None or rule.active_start <= as_of) and (
        rule.active_end is None or as_of <= rule.active_end)


def exemption_outcome(ruleset: ast.Ruleset, vaccine: ast.Vaccine, kind: str) -> str:
    """The group's ``exemption KIND => OUTCOME``, else the settings', else ``exempt``.

    Within one list the last line for a kind wins, so a district's ``extend vaccine`` line,
    appended after the state's, overrides it.
    """
    for lines in (vaccine.exemption_outcomes, ruleset.settings.exemption_outcomes):
        found = [line.outcome for line in lines if line.kind == kind]
        if found:
            return found[-1]
    return "exempt"


def evaluate_group(ruleset: ast.Ruleset, view: GroupView) -> GroupEvaluation:
    vaccine = view.vaccine
    valid_count = len(view.valid_dates)  # the group's valid doses (with antigens, not the verdicts)
    default_tolerance = ruleset.settings.tolerance_days or 0
    trace: list[RuleTrace] = []

    def decided(status: str, rule: str | None) -> GroupEvaluation:
        return GroupEvaluation(view.student.id, vaccine.id, status, rule, valid_count, tuple(trace))

    if vaccine.applies is not None:
        # Ages and dates here are the student's on E; tolerance relaxes only dose dates, so pass the default.
        holds, checks = judge(vaccine.applies, view, default_tolerance)
        trace.append(RuleTrace(APPLIES, True, holds, checks))
        if not holds:
            return decided("no_requirement", None)

    if view.exemptions:
        exemption = view.exemptions[0]
        outcome = exemption_outcome(ruleset, vaccine, exemption.kind)
        dated = f" dated {exemption.date.isoformat()}" if exemption.date else ""
        check = ConditionCheck("exempt", True, f"has a {exemption.kind} exemption{dated}")
        name = f"exemption: {exemption.kind}"
        trace.append(RuleTrace(name, True, True, (check,)))
        return decided(outcome, name)

    for rule in vaccine.rules:
        if not rule_is_active(rule, view.as_of):
            trace.append(RuleTrace(rule.name, False, False))
            continue
        tolerance = rule.tolerance_days if rule.tolerance_days is not None else default_tolerance
        holds, checks = judge(rule.condition, view, tolerance)
        trace.append(RuleTrace(rule.name, True, holds, checks))
        if holds:
            return decided(rule.outcome, rule.name)
    return decided(vaccine.otherwise or "non_compliant", None)
