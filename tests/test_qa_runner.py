"""`vaxdsl test`: runs fixture cases on a tiny ruleset, compares, reports, sets the exit status."""

import json
from datetime import date

import pytest

from vaxdsl.cli import main
from vaxdsl.fixtures import read_fixture_text
from vaxdsl.loader import load_text
from vaxdsl.qa.runner import compare, run_cases
from vaxdsl.results import DoseEvaluation, GroupEvaluation, StudentEvaluation

TINY = '''\
grades {
  KG "Kindergarten"
  01 "Grade 1"
}
product DTaP cvx 20 "DTaP" counts DTaP
product Pediarix cvx 110 "DTaP-HepB-IPV (Pediarix)" counts DTaP
vaccine DTaP "DTaP" {
  series {
    dose 1 { min age 6 weeks - 4 days }
    dose 2 { min age 10 weeks - 4 days  min interval 4 weeks - 4 days }
  }
  rule "under 3 months" => no_requirement
    when age < 3 months
  rule "2 doses Compliant" => compliant
    when at least 2 valid doses
  rule "Default Non-compliant" => non_compliant
}
'''

PASSING = '''\
[[case]]
name = "two valid doses"
as_of = 2024-09-03
birth_date = 2019-01-01
grade = "KG"
overall = "compliant"
doses = [ { age = "6 weeks - 4 days", cvx = 20 }, { age = "10 weeks", product = "Pediarix" } ]
[case.expect]
DTaP = { status = "compliant", rule = "2 doses Compliant", valid_doses = 2 }
[[case.expect_doses]]
vaccine = "DTaP"
age = "6 weeks - 4 days"
dose_number = 1
'''

FAILING = '''\
[[case]]
name = "first dose 5 days early"
as_of = 2024-09-03
birth_date = 2019-01-01
grade = "KG"
doses = [ { age = "6 weeks - 5 days", cvx = 20 }, { age = "10 weeks", cvx = 20 } ]
[case.expect]
DTaP = { status = "compliant", rule = "2 doses Compliant" }
[[case.expect_doses]]
vaccine = "DTaP"
age = "6 weeks - 5 days"
valid = true
'''


@pytest.fixture
def tiny(write_file):
    return write_file("tiny.vax", TINY)


def run_cli(capsys, *argv):
    code = main(list(map(str, argv)))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_passing_case_exits_0(tiny, write_file, capsys):
    cases = write_file("pass.toml", PASSING)
    code, out, _ = run_cli(capsys, "test", tiny, cases)
    assert code == 0
    assert "1 case(s) in 1 file(s): 1 passed" in out
    assert "FAIL" not in out


def test_failing_case_shows_expected_actual_and_explanation(tiny, write_file, capsys):
    cases = write_file("fail.toml", FAILING)
    code, out, _ = run_cli(capsys, "test", tiny, cases)
    assert code == 1
    assert f"FAIL {cases}:1: first dose 5 days early" in out
    assert "DTaP status: expected compliant, got non_compliant (decided by rule 'Default Non-compliant')" in out
    assert "DTaP rule: expected '2 doses Compliant', got 'Default Non-compliant'" in out
    assert "DTaP dose of 2019-02-07 validity: expected valid, got not valid (too_young)" in out
    assert "explanation:" in out and "Default Non-compliant" in out.split("explanation:")[1]
    assert "0 passed, 1 failed" in out


def test_directory_runs_every_file_and_json_output(tiny, write_file, tmp_path, capsys):
    write_file("suite/a.toml", PASSING)
    write_file("suite/sub/b.toml", FAILING)
    code, out, _ = run_cli(capsys, "test", tiny, tmp_path / "suite", "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["summary"]["pass"] == 1 and data["summary"]["fail"] == 1 and data["summary"]["ok"] is False
    assert data["summary"]["cases"] == 2 and data["summary"]["files"] == 2
    by_name = {case["name"]: case for case in data["cases"]}
    failed = by_name["first dose 5 days early"]
    assert failed["outcome"] == "fail" and failed["file"].endswith("b.toml") and failed["line"] == 1
    assert {"what": "DTaP status", "expected": "compliant", "actual": "non_compliant",
            "hint": "decided by rule 'Default Non-compliant'"} in failed["mismatches"]
    assert failed["actual"]["groups"][0]["rule"] == "Default Non-compliant"
    assert failed["actual"]["doses"][0] == {"date": "2019-02-07", "cvx": 20, "vaccine": "DTaP", "product": "DTaP",
                                             "valid": False, "reason": "too_young", "dose_number": None}
    assert "explanation" in failed
    assert by_name["two valid doses"]["outcome"] == "pass" and "explanation" not in by_name["two valid doses"]


def test_keyword_selects_cases(tiny, write_file, capsys):
    cases = write_file("both.toml", PASSING + "\n" + FAILING)
    code, out, _ = run_cli(capsys, "test", tiny, cases, "-k", "TWO VALID", "--verbose")
    assert code == 0
    assert "PASS" in out and "1 case(s)" in out


def test_xfail_and_stale_xfail(tiny, write_file, capsys):
    marked_failing = FAILING.replace('grade = "KG"', 'grade = "KG"\nxfail = "known: the grace is 4 days"')
    cases = write_file("xfail.toml", marked_failing)
    code, out, _ = run_cli(capsys, "test", tiny, cases)
    assert code == 0 and "1 expected failure(s)" in out and "XFAIL" in out

    marked_passing = PASSING.replace('grade = "KG"', 'grade = "KG"\nxfail = "was broken"')
    cases = write_file("xpass.toml", marked_passing)
    code, out, _ = run_cli(capsys, "test", tiny, cases)
    assert code == 1 and "1 unexpectedly passed" in out and "remove its xfail mark" in out


def test_cases_that_cannot_run_are_errors(tiny, write_file, capsys):
    text = PASSING.replace('cvx = 20 }', 'cvx = 21 }').replace('grade = "KG"', 'grade = "K"')
    text = text.replace("DTaP = {", "Dtap = {")
    cases = write_file("bad.toml", text)
    code, out, _ = run_cli(capsys, "test", tiny, cases)
    assert code == 1
    assert "ERROR" in out and "1 error(s)" in out
    assert "grade 'K' is not declared by the ruleset" in out
    assert "no vaccine group 'Dtap' in the ruleset (did you mean 'DTaP'?)" in out
    assert "no product of the ruleset has CVX 21" in out


def test_unknown_rule_name_gets_a_hint(tiny, write_file, capsys):
    cases = write_file("typo.toml", PASSING.replace('rule = "2 doses Compliant"', 'rule = "2 dose Compliant"'))
    code, out, _ = run_cli(capsys, "test", tiny, cases)
    assert code == 1
    assert "the DTaP table has no rule of that name; did you mean '2 doses Compliant'?" in out


def test_malformed_fixture_file_is_reported_and_others_still_run(tiny, write_file, tmp_path, capsys):
    write_file("suite/good.toml", PASSING)
    broken = write_file("suite/broken.toml", '[[case]]\nname = "x"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\ngrade = KG\n')
    code, out, err = run_cli(capsys, "test", tiny, tmp_path / "suite")
    assert code == 1
    assert f"ERROR {broken}:5:" in out
    assert "1 passed" in out and "1 fixture problem(s)" in out
    assert "Traceback" not in out + err


def test_missing_path_and_missing_ruleset_exit_2(tiny, tmp_path, capsys):
    code, _, err = run_cli(capsys, "test", tiny, tmp_path / "nowhere")
    assert code == 2 and "no such fixture file or directory" in err
    code, _, err = run_cli(capsys, "test", tmp_path / "nope.vax", tmp_path)
    assert code == 2 and "no ruleset" in err


# ---- the comparison on its own, with a stub engine --------------------------------------------------


def stub_evaluation(status="compliant", rule="2 doses Compliant", valid=True, reason=None):
    dose = DoseEvaluation("s", 1, date(2019, 2, 8), 20, "DTaP", "DTaP", valid, reason, 1 if valid else None)
    return StudentEvaluation("s", (GroupEvaluation("s", "DTaP", status, rule, 2),), (dose,))


def test_compare_with_a_stub_engine():
    ruleset = load_text(TINY).ruleset
    [case] = read_fixture_text(PASSING, "p.toml").cases
    assert list(compare(ruleset, case, stub_evaluation())) == []
    mismatches = list(compare(ruleset, case, stub_evaluation("non_compliant", None, False, "too_young")))
    assert [m.what for m in mismatches] == [
        "DTaP status", "DTaP rule", "DTaP dose of 2019-02-08 validity", "overall",
    ]
    assert mismatches[1].text() == "DTaP rule: expected '2 doses Compliant', got none"


def test_engine_errors_do_not_stop_the_run():
    ruleset = load_text(TINY).ruleset
    cases = read_fixture_text(PASSING, "p.toml").cases

    def broken(*args):
        raise RuntimeError("boom")

    report = run_cases(ruleset, cases, evaluate=broken)
    assert report.counts["error"] == 1 and not report.ok
    assert report.results[0].errors == ("the engine failed: RuntimeError: boom",)
    report = run_cases(ruleset, cases, evaluate=lambda *args: stub_evaluation())
    assert report.ok and report.counts["pass"] == 1


def test_missing_dose_expectation_says_why():
    ruleset = load_text(TINY).ruleset
    [case] = read_fixture_text(PASSING.replace('age = "6 weeks - 4 days"\ndose', 'date = 2030-01-01\ndose'), "p.toml").cases
    [mismatch] = list(compare(ruleset, case, stub_evaluation()))
    assert mismatch.actual == "none" and "after as_of" in mismatch.hint


def test_empty_directory_and_unmatched_keyword(tiny, write_file, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(capsys, "test", tiny, tmp_path / "empty")
    assert code == 2 and "no *.toml fixture files" in err
    cases = write_file("pass.toml", PASSING)
    code, _, err = run_cli(capsys, "test", tiny, cases, "-k", "nothing like this")
    assert code == 1 and "no case name or file contains" in err
