"""Pass 6: a group's rule table -> one CASE giving its decision (docs/semantics.md, "Rule tables").

The decision of a group for a student is an integer code, decoded by :class:`Decisions`:

* ``-5``: ``applies when`` does not hold -> ``no_requirement``, no rule;
* ``-1 .. -4``: an exemption counting on E, by the first kind in the order medical, conscientious,
  lab_immunity, disease_history -> the group's ``exemption KIND =>`` line (the last for the kind),
  else the settings', else ``exempt``; rule ``exemption: KIND``. (A kind outside those four, which
  the fact loader refuses, comes back as its text and decodes the same way.)
* ``1 .. n``: the first active rule whose condition holds (its index in the table, from 1);
* ``0``: no rule matched -> ``otherwise``, or ``non_compliant``.

Activity is decided at compile time (E is known), so inactive rules are simply left out.
"""

from __future__ import annotations

from datetime import date

import attrs

from .. import ast
from .conditions import KIND_BITS, GroupConditions
from .sql import lit

NOT_APPLICABLE = -5


def rule_is_active(rule: ast.Rule, as_of: date) -> bool:
    return (rule.active_start is None or rule.active_start <= as_of) and (
        rule.active_end is None or as_of <= rule.active_end)


def exemption_outcome(ruleset: ast.Ruleset, vaccine: ast.Vaccine, kind: str) -> str:
    for lines in (vaccine.exemption_outcomes, ruleset.settings.exemption_outcomes):
        found = [line.outcome for line in lines if line.kind == kind]
        if found:
            return found[-1]
    return "exempt"


@attrs.frozen
class Decisions:
    """Decodes a group's decision code into (status, rule)."""

    vaccine: str
    rules: tuple[tuple[str, str], ...]  # (outcome, name) by index - 1
    otherwise: str
    exemption: dict  # kind -> outcome for the group

    def decode(self, code) -> tuple[str, str | None]:
        if isinstance(code, str):
            return self.exemption.get(code, "exempt"), f"exemption: {code}"
        if code is None or code == 0:
            return self.otherwise, None
        if code == NOT_APPLICABLE:
            return "no_requirement", None
        if code < 0:
            kind = ast.EXEMPTION_KINDS[-code - 1]
            return self.exemption[kind], f"exemption: {kind}"
        outcome, name = self.rules[code - 1]
        return outcome, name


def decisions(ruleset: ast.Ruleset, vaccine: ast.Vaccine) -> Decisions:
    return Decisions(
        vaccine.id,
        tuple((rule.outcome, rule.name) for rule in vaccine.rules),
        vaccine.otherwise or "non_compliant",
        {kind: exemption_outcome(ruleset, vaccine, kind) for kind in ast.EXEMPTION_KINDS},
    )


def decision_sql(ruleset: ast.Ruleset, vaccine: ast.Vaccine, conditions: GroupConditions, as_of: date) -> str:
    g = conditions.g
    default_tolerance = ruleset.settings.tolerance_days or 0
    arms = []
    if vaccine.applies is not None:
        applies = conditions.compile(vaccine.applies, default_tolerance)
        if applies != "1":
            arms.append(f"WHEN NOT {applies} THEN {NOT_APPLICABLE}")
    exemption = f"coalesce(x_{g}, 0)"
    kinds = " ".join(f"WHEN {exemption} & {bit} THEN {-(index + 1)}"
                     for index, bit in enumerate(KIND_BITS.values()))
    arms.append(f"WHEN {exemption} <> 0 THEN (CASE {kinds} ELSE xu_{g} END)")
    for index, rule in enumerate(vaccine.rules, start=1):
        if not rule_is_active(rule, as_of):
            continue
        tolerance = rule.tolerance_days if rule.tolerance_days is not None else default_tolerance
        condition = conditions.compile(rule.condition, tolerance)
        if condition == "0":
            continue
        arms.append(f"WHEN {condition} THEN {index}")
        if condition == "1":
            break
    return f"(CASE {' '.join(arms)} ELSE 0 END)"


def outcome_literal(value: str) -> str:
    return lit(value)
