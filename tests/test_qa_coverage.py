"""`vaxdsl coverage`: rules hit per group in table order, rules that can never fire left out."""

import json

import pytest

from vaxdsl.cli import main
from vaxdsl.errors import Diagnostic
from vaxdsl.loader import load_text
from vaxdsl.qa.coverage import measure, unfireable
from vaxdsl.results import GroupEvaluation, StudentEvaluation

RULESET = '''\
grades {
  KG "Kindergarten"
}
product DTaP cvx 20 "DTaP" counts DTaP
vaccine DTaP "DTaP" {
  rule "under 3 months" => no_requirement
    when age < 3 months
  rule "2 doses Compliant" => compliant
    when at least 2 doses
  rule "Grade 9-12 3 doses Compliant" => compliant
    active from 2022-07-01 to 2022-06-30
    when at least 3 doses
  rule "1 dose In Grace Period" => in_grace_period
    when exactly 1 dose and since last dose < 8 weeks
  rule "Default Non-compliant" => non_compliant
}
vaccine HepA "Hepatitis A" {
  applies when age >= 12 months
  rule "1 dose Compliant" => compliant
    when at least 1 dose
  otherwise non_compliant
}
'''

CASES = '''\
[defaults]
as_of = 2024-09-03
grade = "KG"

[[case]]
name = "infant"
birth_date = 2024-07-01

[[case]]
name = "two doses"
birth_date = 2019-01-01
doses = [ { age = "2 months", cvx = 20 }, { age = "4 months", cvx = 20 } ]

[[case]]
name = "two doses again, expected wrongly (coverage counts it anyway)"
birth_date = 2019-01-01
doses = [ { age = "2 months", cvx = 20 }, { age = "4 months", cvx = 20 } ]
expect.DTaP = "non_compliant"

[[case]]
name = "none"
birth_date = 2019-01-01
exemptions = [ { vaccine = "HepA", kind = "medical" } ]
'''


@pytest.fixture
def files(write_file):
    return write_file("r.vax", RULESET), write_file("cases.toml", CASES)


def run_cli(capsys, *argv):
    code = main(list(map(str, argv)))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_text_report(files, capsys):
    code, out, _ = run_cli(capsys, "coverage", *files)
    assert code == 0
    lines = [line.strip() for line in out.splitlines()]
    assert "1  under 3 months" in lines
    assert "2  2 doses Compliant" in lines
    assert any(line.startswith("-  Grade 9-12 3 doses Compliant") and "can never fire" in line for line in lines)
    assert "0  1 dose In Grace Period           NOT HIT".split() == next(
        line for line in lines if "1 dose In Grace Period" in line).split()
    assert "1  Default Non-compliant" in lines
    assert "DTaP (DTaP): 3/4 rules hit" in lines
    assert "HepA" in out and "0/1 rules hit" in out
    assert "decided without a rule: exemption: medical x1, no rule (no_requirement) x1, no rule (non_compliant) x2" in lines
    assert "Rules never hit (2):" in lines
    assert "Coverage: 3/5 rules that can fire (60.0%); 1 rule(s) can never fire" in lines


def test_json_report_and_fail_under(files, capsys):
    code, out, _ = run_cli(capsys, "coverage", *files, "--format", "json", "--fail-under", "60")
    assert code == 0
    data = json.loads(out)
    assert (data["fireable_rules"], data["hit_rules"], data["percent"], data["ok"]) == (5, 3, 60.0, True)
    assert data["cases"] == 4 and data["files"] == 1
    dtap = data["groups"][0]
    assert [(r["rule"], r["hits"], r["fireable"]) for r in dtap["rules"]] == [
        ("under 3 months", 1, True), ("2 doses Compliant", 2, True), ("Grade 9-12 3 doses Compliant", 0, False),
        ("1 dose In Grace Period", 0, True), ("Default Non-compliant", 1, True),
    ]
    assert data["never_hit"] == [{"vaccine": "DTaP", "rule": "1 dose In Grace Period", "line": 13},
                                 {"vaccine": "HepA", "rule": "1 dose Compliant", "line": 19}]
    code, out, _ = run_cli(capsys, "coverage", *files, "--fail-under", "60.1")
    assert code == 1 and "required 60.1%: FAILED" in out
    with pytest.raises(SystemExit):
        main(["coverage", *map(str, files), "--fail-under", "150"])


def test_unreadable_fixture_makes_coverage_exit_1(files, write_file, capsys):
    broken = write_file("broken.toml", "[[case]\n")
    code, out, err = run_cli(capsys, "coverage", files[0], files[1], broken)
    assert code == 1
    assert f"{broken}:1:" in err and "Coverage:" in out


def test_checker_warnings_that_say_never_exclude_a_rule():
    loaded = load_text(RULESET, "r.vax")
    rule = loaded.ruleset.vaccines[0].rules[3]
    warning = Diagnostic("r.vax", rule.span.line, rule.span.column, "warning", "W299",
                         "rule '1 dose In Grace Period' can never match: an earlier rule always matches first")
    unrelated = Diagnostic("r.vax", rule.span.line, 1, "warning", "W206", "'x' is listed twice")
    found = unfireable(loaded.ruleset, [warning, unrelated])
    assert found[("DTaP", "1 dose In Grace Period")].startswith("W299: ")
    assert ("DTaP", "Grade 9-12 3 doses Compliant") in found
    assert len(found) == 2


def test_measure_counts_the_deciding_rule():
    loaded = load_text(RULESET, "r.vax")

    def evaluation(rule, status="compliant"):
        return StudentEvaluation("s", (GroupEvaluation("s", "DTaP", status, rule, 0),), ())

    report = measure(loaded.ruleset, [evaluation("2 doses Compliant"), evaluation("2 doses Compliant"),
                                      evaluation("exemption: medical", "exempt"), None])
    dtap = report.groups[0]
    assert [rule.hits for rule in dtap.rules] == [0, 2, 0, 0, 0]
    assert dict(dtap.other) == {"exemption: medical": 1}
    assert report.cases == 3
    assert report.hit == 1 and len(report.fireable) == 5 and report.percent == pytest.approx(20.0)
    assert measure(load_text('vaccine X { rule "a" => compliant active from 2022-07-01 to 2021-01-01 }').ruleset,
                   []).percent == 100.0


def test_unreachable_warning_anywhere_inside_the_rule_counts():
    loaded = load_text(RULESET, "r.vax")
    rule = loaded.ruleset.vaccines[0].rules[3]  # "1 dose In Grace Period", two lines long
    warning = Diagnostic("r.vax", rule.span.end_line, 5, "warning", "W203", "unreachable: an earlier rule matches first")
    assert rule.span.end_line > rule.span.line
    assert ("DTaP", "1 dose In Grace Period") in unfireable(loaded.ruleset, [warning])
    elsewhere = Diagnostic("r.vax", rule.span.end_line + 1, 5, "warning", "W203", "unreachable")
    assert ("DTaP", "1 dose In Grace Period") not in unfireable(loaded.ruleset, [elsewhere])


def test_asserted_counts_only_the_groups_a_case_checks(files, capsys):
    code, out, _ = run_cli(capsys, "coverage", *files, "--asserted", "--format", "json")
    data = json.loads(out)
    # only one case has an expectation (DTaP of "two doses again"): one hit in all
    hits = {(g["vaccine"], r["rule"]): r["hits"] for g in data["groups"] for r in g["rules"]}
    assert sum(hits.values()) == 1 and hits[("DTaP", "2 doses Compliant")] == 1
    assert data["asserted_only"] is True and data["percent"] == 20.0
    code, out, _ = run_cli(capsys, "coverage", *files, "--asserted")
    assert "counting only the groups each case checks" in out
