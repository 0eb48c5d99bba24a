"""Rule coverage: which rules of a ruleset the fixture cases make decide a vaccine group.

A rule is **hit** by a case when it is the rule that decided the group for that case (first
match). Every evaluated case counts, whether it passed or not: coverage says what the cases
exercise, the test run says whether the ruleset got them right.

A rule that **can never fire** is left out of the percentage: its active window ends before it
starts, or the checker warns, somewhere inside the rule, that it can never be active (W201) or is
unreachable (W203), or any other warning whose message says "never".

>>> from vaxdsl.loader import load_text
>>> loaded = load_text('''
... vaccine X "X" {
...   rule "a" => compliant when age >= 5 years
...   rule "b" => compliant active from 2022-07-01 to 2022-06-30
...   rule "c" => non_compliant
... }''')
>>> unfireable(loaded.ruleset)
{('X', 'b'): 'its active window ends (2022-06-30) before it starts (2022-07-01)'}
"""

from __future__ import annotations

from collections import Counter

import attrs

from .. import ast
from ..results import StudentEvaluation

# Checker warnings that mean a rule cannot fire (docs/checks.md): never active, unreachable.
NEVER_FIRES_CODES = ("W201", "W203")


@attrs.frozen
class RuleCoverage:
    vaccine: str
    rule: str
    outcome: str
    line: int
    hits: int
    never_fires: str | None = None  # why the rule can never fire, if it cannot

    @property
    def fireable(self) -> bool:
        return self.never_fires is None


@attrs.frozen
class GroupCoverage:
    vaccine: str
    name: str
    rules: tuple[RuleCoverage, ...]
    other: tuple[tuple[str, int], ...] = ()  # decisions without a rule: ("no rule", n), ("exemption: medical", n)


@attrs.frozen
class CoverageReport:
    groups: tuple[GroupCoverage, ...]
    cases: int
    files: int = 0
    asserted_only: bool = False  # hits count only for the groups a case has expectations for

    @property
    def fireable(self) -> list[RuleCoverage]:
        return [rule for group in self.groups for rule in group.rules if rule.fireable]

    @property
    def never_hit(self) -> list[RuleCoverage]:
        return [rule for rule in self.fireable if not rule.hits]

    @property
    def hit(self) -> int:
        return sum(1 for rule in self.fireable if rule.hits)

    @property
    def percent(self) -> float:
        fireable = len(self.fireable)
        return 100.0 if not fireable else 100.0 * self.hit / fireable

    def as_json(self, ruleset: ast.Ruleset, fail_under: float | None = None) -> dict:
        header = ruleset.header
        return {
            "ruleset": {"name": header.name if header else "", "file": ruleset.file},
            "cases": self.cases,
            "files": self.files,
            "asserted_only": self.asserted_only,
            "groups": [
                {
                    "vaccine": group.vaccine,
                    "rules": [
                        {"rule": rule.rule, "outcome": rule.outcome, "line": rule.line, "hits": rule.hits,
                         "fireable": rule.fireable, "never_fires": rule.never_fires}
                        for rule in group.rules
                    ],
                    "decided_without_rule": dict(group.other),
                }
                for group in self.groups
            ],
            "never_hit": [{"vaccine": rule.vaccine, "rule": rule.rule, "line": rule.line} for rule in self.never_hit],
            "fireable_rules": len(self.fireable),
            "hit_rules": self.hit,
            "percent": round(self.percent, 1),
            "fail_under": fail_under,
            "ok": fail_under is None or self.percent >= fail_under,
        }


def unfireable(ruleset: ast.Ruleset, diagnostics=()) -> dict[tuple[str, str], str]:
    """(vaccine, rule) -> why it can never fire, for the rules that cannot."""
    found: dict[tuple[str, str], str] = {}
    relevant = [d for d in diagnostics
                if not d.is_error and (d.code in NEVER_FIRES_CODES or "never" in d.message)]
    for vaccine in ruleset.vaccines:
        for rule in vaccine.rules:
            key = (vaccine.id, rule.name)
            if rule.active_start and rule.active_end and rule.active_end < rule.active_start:
                found[key] = (f"its active window ends ({rule.active_end}) before it starts ({rule.active_start})")
                continue
            last = max(rule.span.end_line, rule.span.line)
            inside = [f"{d.code}: {d.message}" for d in relevant
                      if d.file == rule.span.file and rule.span.line <= d.line <= last]
            if inside:
                found[key] = "; ".join(inside)
    return found


def measure(ruleset: ast.Ruleset, evaluations, diagnostics=(), files: int = 0, groups_checked=None) -> CoverageReport:
    """Coverage of the ruleset's rules by these evaluations (one :class:`StudentEvaluation` per case).

    ``groups_checked``, when given, runs parallel to ``evaluations``: for each case, the vaccine groups
    whose outcome it asserts; only those groups count (a rule is then hit only when a case checks it).
    """
    pairs = list(zip(evaluations, groups_checked)) if groups_checked is not None else [(e, None) for e in evaluations]
    pairs = [(e, only) for e, only in pairs if isinstance(e, StudentEvaluation)]
    hits: Counter = Counter()
    other: dict[str, Counter] = {}
    for evaluation, only in pairs:
        for group in evaluation.groups:
            if only is not None and group.vaccine not in only:
                continue
            if group.rule is None:
                other.setdefault(group.vaccine, Counter())[f"no rule ({group.status})"] += 1
            elif group.rule.startswith("exemption: "):
                other.setdefault(group.vaccine, Counter())[group.rule] += 1
            else:
                hits[(group.vaccine, group.rule)] += 1
    never = unfireable(ruleset, diagnostics)
    groups = []
    for vaccine in ruleset.vaccines:
        rules = tuple(
            RuleCoverage(vaccine.id, rule.name, rule.outcome, rule.span.line, hits[(vaccine.id, rule.name)],
                         never.get((vaccine.id, rule.name)))
            for rule in vaccine.rules
        )
        groups.append(GroupCoverage(vaccine.id, vaccine.name, rules, tuple(sorted(other.get(vaccine.id, Counter()).items()))))
    return CoverageReport(tuple(groups), len(pairs), files, groups_checked is not None)


def render_text(report: CoverageReport, ruleset: ast.Ruleset, fail_under: float | None = None) -> str:
    header = ruleset.header
    title = header.name if header and header.name else ruleset.file
    lines = [f"Rule coverage of {title} by {report.cases} case(s) in {report.files} file(s)"
             + (", counting only the groups each case checks" if report.asserted_only else "")]
    for group in report.groups:
        fireable = [rule for rule in group.rules if rule.fireable]
        hit = sum(1 for rule in fireable if rule.hits)
        lines += ["", f"{group.name or group.vaccine} ({group.vaccine}): {hit}/{len(fireable)} rules hit"]
        width = max((len(rule.rule) for rule in group.rules), default=0)
        for rule in group.rules:
            if not rule.fireable:
                lines.append(f"  {'-':>5}  {rule.rule.ljust(width)}  can never fire: {rule.never_fires}")
            else:
                flag = "  NOT HIT" if not rule.hits else ""
                lines.append(f"  {rule.hits:>5}  {rule.rule.ljust(width)}{flag}".rstrip())
        if group.other:
            lines.append("  decided without a rule: " + ", ".join(f"{what} x{count}" for what, count in group.other))
    never_hit = report.never_hit
    lines.append("")
    if never_hit:
        lines.append(f"Rules never hit ({len(never_hit)}):")
        lines += [f"  {rule.vaccine}: {rule.rule} (line {rule.line})" for rule in never_hit]
    else:
        lines.append("Every rule that can fire was hit.")
    cannot = sum(1 for group in report.groups for rule in group.rules if not rule.fireable)
    summary = (f"Coverage: {report.hit}/{len(report.fireable)} rules that can fire ({report.percent:.1f}%)"
               + (f"; {cannot} rule(s) can never fire" if cannot else ""))
    if fail_under is not None:
        summary += f"; required {fail_under:g}%: " + ("ok" if report.percent >= fail_under else "FAILED")
    lines.append(summary)
    return "\n".join(lines)
