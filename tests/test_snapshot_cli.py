"""`vaxdsl snapshot record|check`: the file written, the round trip, exit codes and the diff."""

from pathlib import Path

import pytest

from vaxdsl.cli import main

RULESET = '''\
ruleset "Tiny" { version "1.0" }
grades {
  KG "Kindergarten"
}
product MMR cvx 3 "MMR" counts MMR
vaccine MMR "MMR" {
  series {
    dose 1 { min age 12 months - 4 days }
    dose 2 { min age 13 months - 4 days  min interval 4 weeks - 4 days }
  }
  rule "2 doses Compliant" => compliant when at least 2 valid doses
  rule "1 dose In Grace Period" => in_grace_period when exactly 1 valid dose and since last dose < 28 days
  otherwise non_compliant
}
'''

CASES = '''\
[defaults]
as_of = 2024-09-03
grade = "KG"

[[case]]
name = "two doses"
birth_date = 2019-05-10
doses = [ { age = "12 months", cvx = 3 }, { age = "4 years", cvx = 3 } ]

[[case]]
name = "first dose too early"
birth_date = 2019-05-10
doses = [ { age = "12 months - 5 days", cvx = 3 }, { age = "4 years", cvx = 3 } ]
'''


@pytest.fixture
def project(tmp_path):
    (tmp_path / "cases").mkdir()
    (tmp_path / "tiny.vax").write_text(RULESET, encoding="utf-8")
    (tmp_path / "cases" / "mmr.toml").write_text(CASES, encoding="utf-8")
    return tmp_path


def run(capsys, *argv):
    code = main(list(map(str, argv)))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_record_writes_a_documented_sorted_file(project, capsys):
    code, out, _ = run(capsys, "snapshot", "record", project / "tiny.vax", project / "cases")
    assert code == 0
    target = project / "cases" / ".vaxdsl-snapshot.txt"
    assert f"wrote {target}: 6 line(s) for 2 case(s) in 1 file(s)" in out
    text = target.read_text(encoding="utf-8")
    header = [line for line in text.splitlines() if line.startswith("#")]
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert header[0] == "# vaxdsl snapshot format 1"
    assert header[1] == "# ruleset: Tiny 1.0"
    assert any("FILE | CASE | GROUP | STATUS | RULE | valid_doses=N" in line for line in header)
    assert body == [
        "mmr.toml | first dose too early | MMR | non_compliant | (no rule) | valid_doses=1",
        "mmr.toml | first dose too early | MMR | dose 2020-05-05 (11 months 25 days) cvx 3 MMR | not valid: too_young",
        "mmr.toml | first dose too early | MMR | dose 2023-05-10 (4 years) cvx 3 MMR | valid, dose 1",
        "mmr.toml | two doses | MMR | compliant | 2 doses Compliant | valid_doses=2",
        "mmr.toml | two doses | MMR | dose 2020-05-10 (1 year) cvx 3 MMR | valid, dose 1",
        "mmr.toml | two doses | MMR | dose 2023-05-10 (4 years) cvx 3 MMR | valid, dose 2",
    ]


def test_record_is_deterministic_byte_for_byte(project, capsys):
    first, second = project / "one.txt", project / "two.txt"
    assert run(capsys, "snapshot", "record", project / "tiny.vax", project / "cases", "--snapshot", first)[0] == 0
    assert run(capsys, "snapshot", "record", project / "tiny.vax", project / "cases", "--snapshot", second)[0] == 0
    assert first.read_bytes() == second.read_bytes()
    assert b"\r\n" not in first.read_bytes() and first.read_bytes().endswith(b"\n")


def test_check_passes_with_a_one_line_summary(project, capsys):
    run(capsys, "snapshot", "record", project / "tiny.vax", project / "cases")
    code, out, err = run(capsys, "snapshot", "check", project / "tiny.vax", project / "cases")
    assert code == 0, out + err
    assert out.strip().splitlines() == [f"{project / 'cases' / '.vaxdsl-snapshot.txt'}: unchanged: 6 line(s) for 2 case(s) in 1 file(s)"]


def test_check_fails_and_prints_the_changed_lines_as_a_unified_diff(project, capsys):
    run(capsys, "snapshot", "record", project / "tiny.vax", project / "cases")
    # The ruleset changes: a rule is renamed, so the one student it decides gets one changed line.
    (project / "tiny.vax").write_text(RULESET.replace("2 doses Compliant", "2 valid doses Compliant"), encoding="utf-8")
    code, out, _ = run(capsys, "snapshot", "check", project / "tiny.vax", project / "cases")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("--- ") and "(recorded)" in lines[0]
    assert lines[1] == "+++ now"
    changes = [line for line in lines[2:] if line[:1] in "+-"]
    assert changes == [
        "-mmr.toml | two doses | MMR | compliant | 2 doses Compliant | valid_doses=2",
        "+mmr.toml | two doses | MMR | compliant | 2 valid doses Compliant | valid_doses=2",
    ]
    assert any(line.startswith("@@ ") for line in lines)
    assert "changed: 1 line(s) recorded differ from 1 line(s) now" in lines[-1]


def test_check_reports_a_changed_fixture_too(project, capsys):
    run(capsys, "snapshot", "record", project / "tiny.vax", project / "cases")
    path = project / "cases" / "mmr.toml"
    path.write_text(path.read_text().replace('name = "two doses"', 'name = "two doses, renamed"'), encoding="utf-8")
    code, out, _ = run(capsys, "snapshot", "check", project / "tiny.vax", project / "cases")
    assert code == 1
    assert sum(1 for line in out.splitlines() if line.startswith("-mmr.toml | two doses |")) == 3
    assert sum(1 for line in out.splitlines() if line.startswith("+mmr.toml | two doses, renamed |")) == 3


def test_a_missing_snapshot_is_a_clear_error(project, capsys):
    code, out, err = run(capsys, "snapshot", "check", project / "tiny.vax", project / "cases")
    assert code == 2
    assert out == ""
    assert ".vaxdsl-snapshot.txt: no snapshot file; record one first with `vaxdsl snapshot record" in err


def test_several_paths_need_an_explicit_snapshot_file(project, capsys):
    code, _, err = run(capsys, "snapshot", "record", project / "tiny.vax", project / "cases",
                       project / "cases" / "mmr.toml")
    assert code == 2
    assert "give --snapshot FILE" in err
    target = project / "snap" / "all.txt"
    code, _, _ = run(capsys, "snapshot", "record", project / "tiny.vax", project / "cases" / "mmr.toml",
                     "--snapshot", target)
    assert code == 0 and target.is_file()
    assert run(capsys, "snapshot", "check", project / "tiny.vax", project / "cases" / "mmr.toml",
               "--snapshot", target)[0] == 0


def test_an_unreadable_fixture_records_nothing_and_fails_check(project, capsys):
    run(capsys, "snapshot", "record", project / "tiny.vax", project / "cases")
    snapshot_file = project / "cases" / ".vaxdsl-snapshot.txt"
    before = snapshot_file.read_bytes()
    (project / "cases" / "broken.toml").write_text("[[case]]\nname = \n", encoding="utf-8")
    code, _, err = run(capsys, "snapshot", "record", project / "tiny.vax", project / "cases")
    assert code == 1
    assert "ERROR broken.toml:2" in err and "snapshot not written" in err
    assert snapshot_file.read_bytes() == before
    code, _, err = run(capsys, "snapshot", "check", project / "tiny.vax", project / "cases")
    assert code == 1
    assert "ERROR broken.toml:2" in err


def test_check_notes_a_new_ruleset_version_but_compares_the_lines(project, capsys):
    run(capsys, "snapshot", "record", project / "tiny.vax", project / "cases")
    (project / "tiny.vax").write_text(RULESET.replace('version "1.0"', 'version "1.1"'), encoding="utf-8")
    code, out, _ = run(capsys, "snapshot", "check", project / "tiny.vax", project / "cases")
    assert code == 0
    assert "note: the snapshot was recorded with Tiny 1.0; checking with Tiny 1.1" in out


def test_the_command_and_the_regression_suite_write_the_same_lines(tmp_path, capsys):
    target = tmp_path / "mn.txt"
    tests = Path(__file__).resolve().parent
    assert run(capsys, "snapshot", "record", "minnesota", tests / "fixtures" / "minnesota", "--snapshot", target)[0] == 0
    body = [line for line in target.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    suite = sorted((tests / "__snapshots__" / "test_regression_minnesota").glob("*.txt"))
    assert len(suite) == 11
    assert body == [line for path in suite for line in path.read_text(encoding="utf-8").splitlines()]
    assert "dtap.toml | KG, 5 doses: KG, 5 shots Compliant | DTaP | compliant | KG, 5 shots Compliant | valid_doses=5" in body
