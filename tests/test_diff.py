"""`vaxdsl diff`: which students' outcomes change between two rulesets, grouped and counted."""

import json
import re
import sqlite3
from datetime import date

import pytest

from vaxdsl.cli import main
from vaxdsl.errors import VaxError
from vaxdsl.factdb import build_database
from vaxdsl.facts import read_fact_dir
from vaxdsl.loader import load_text
from vaxdsl.qa.diff import (CaseRef, Comparison, diff_database, merge_streams, render_json, render_markdown,
                            render_table)

AS_OF = date(2024, 9, 3)

HEAD = '''\
grades {
  KG "Kindergarten"
  01 "Grade 1"
}
product MMR cvx 03 "MMR" counts MMR
product DTaP cvx 20 "DTaP" counts DTaP
'''

MMR_ONE = '''\
vaccine MMR "MMR" {
  rule "MMR Compliant" => compliant
    when at least 1 valid dose
  rule "MMR Non-compliant" => non_compliant
}
'''
MMR_TWO = MMR_ONE.replace("at least 1 valid dose", "at least 2 valid doses")
MMR_RENAMED = MMR_ONE.replace('"MMR Compliant"', '"MMR Compliant (1 dose)"')

DTAP = '''\
vaccine DTaP "DTaP" {
  rule "DTaP Compliant" => compliant
    when at least 1 dose
  rule "DTaP Non-compliant" => non_compliant
}
'''

HEPA = '''\
product HepA cvx 83 "HepA" counts HepA
vaccine HepA "HepA" {
  rule "HepA Compliant" => compliant
    when at least 1 dose
  rule "HepA Non-compliant" => non_compliant
}
'''

# student -> (MMR doses, DTaP doses); every student was born 2018-01-01, in KG
POPULATION = {
    "S01": (0, 0), "S02": (1, 1), "S03": (2, 1), "S04": (1, 0), "S05": (3, 1),
    "S06": (0, 1), "S07": (1, 1), "S08": (2, 0), "S09": (0, 0), "S10": (1, 0),
}
ONE_MMR = sorted(s for s, (mmr, _) in POPULATION.items() if mmr == 1)
ANY_MMR = sorted(s for s, (mmr, _) in POPULATION.items() if mmr >= 1)


def ruleset(*parts):
    return load_text(HEAD + "".join(parts)).ruleset


def write_facts(folder, population=POPULATION):
    folder.mkdir(parents=True, exist_ok=True)
    students = ["student_id,birth_date,grade"] + [f"{s},2018-01-01,KG" for s in population]
    doses = ["student_id,date,cvx"]
    for student, (mmr, dtap) in population.items():
        doses += [f"{student},{2019 + n}-02-01,03" for n in range(mmr)]
        doses += [f"{student},{2019 + n}-03-01,20" for n in range(dtap)]
    (folder / "students.csv").write_text("\n".join(students) + "\n", encoding="utf-8")
    (folder / "doses.csv").write_text("\n".join(doses) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def facts(tmp_path):
    return write_facts(tmp_path / "facts")


@pytest.fixture
def db(facts, tmp_path):
    path = tmp_path / "facts.db"
    build_database(path, read_fact_dir(facts, today=AS_OF))
    return path


def diff(db, old, new, **options):
    return diff_database(old, new, lambda: sqlite3.connect(db, check_same_thread=False), AS_OF, **options)


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---- grouping and counting --------------------------------------------------------------------------


def test_raising_mmr_to_two_doses_moves_exactly_the_one_dose_students(db):
    report = diff(db, ruleset(MMR_ONE, DTAP), ruleset(MMR_TWO, DTAP))
    assert (report.compared, report.changed, report.unchanged) == (10, len(ONE_MMR), 10 - len(ONE_MMR))
    [change] = report.changes
    assert (change.vaccine, change.kind, change.from_status, change.to_status) == \
        ("MMR", "status", "compliant", "non_compliant")
    assert (change.from_rule, change.to_rule) == ("MMR Compliant", "MMR Non-compliant")
    assert list(change.students) == ONE_MMR and change.count == len(ONE_MMR)
    assert not report.groups_added and not report.groups_removed and report.anything_changed


def test_a_renamed_rule_is_a_rule_change_with_the_same_status(db):
    report = diff(db, ruleset(MMR_ONE, DTAP), ruleset(MMR_RENAMED, DTAP))
    [change] = report.changes
    assert (change.vaccine, change.kind, change.from_status, change.to_status) == \
        ("MMR", "rule", "compliant", "compliant")
    assert (change.from_rule, change.to_rule) == ("MMR Compliant", "MMR Compliant (1 dose)")
    assert list(change.students) == ANY_MMR
    assert report.changed == len(ANY_MMR)


def test_identical_rulesets_change_nothing(db):
    report = diff(db, ruleset(MMR_ONE, DTAP), ruleset(MMR_ONE, DTAP))
    assert (report.compared, report.changed, report.changes, report.anything_changed) == (10, 0, (), False)


def test_changes_in_several_groups_count_a_student_once(db):
    report = diff(db, ruleset(MMR_ONE, DTAP),
                  ruleset(MMR_TWO, DTAP.replace('"DTaP Compliant"', '"DTaP done"')))
    assert [(c.vaccine, c.kind) for c in report.changes] == [("MMR", "status"), ("DTaP", "rule")]
    with_dtap = {s for s, (_, dtap) in POPULATION.items() if dtap}
    assert report.changed == len(set(ONE_MMR) | with_dtap)


def test_groups_added_and_removed_are_reported_with_their_outcomes(db):
    report = diff(db, ruleset(MMR_ONE, DTAP), ruleset(MMR_ONE, HEPA))
    assert report.changes == () and report.changed == 0
    assert [g.vaccine for g in report.groups_added] == ["HepA"]
    assert report.groups_added[0].outcomes == (("non_compliant", 10),)
    [removed] = report.groups_removed
    with_dtap = sum(1 for _, dtap in POPULATION.values() if dtap)
    assert removed.vaccine == "DTaP"
    assert removed.outcomes == (("non_compliant", 10 - with_dtap), ("compliant", with_dtap))
    assert report.anything_changed


def test_vaccine_narrows_the_comparison(db):
    old, new = ruleset(MMR_ONE, DTAP), ruleset(MMR_TWO, DTAP.replace('"DTaP Compliant"', '"DTaP done"'))
    report = diff(db, old, new, vaccines=["dtap"])
    assert {c.vaccine for c in report.changes} == {"DTaP"} and report.vaccines == ("DTaP",)
    with pytest.raises(VaxError, match="no vaccine group 'Hib'"):
        diff(db, old, new, vaccines=["Hib"])


def test_streams_that_list_different_students_are_an_error():
    comparison = Comparison(["MMR"], [], [])
    same = {"MMR": ("compliant", "r")}
    with pytest.raises(VaxError, match="different students"):
        merge_streams(comparison, [("A", same), ("B", same)], [("A", same), ("C", same)])
    with pytest.raises(VaxError, match="different students"):
        merge_streams(Comparison(["MMR"], [], []), [("A", same)], [("A", same), ("B", same)])


def test_changes_are_ordered_by_group_then_kind_then_size():
    comparison = Comparison(["MMR", "DTaP"], [], [])
    out = {"MMR": ("compliant", "a"), "DTaP": ("compliant", "x")}
    for student, mmr, dtap in [("1", ("compliant", "b"), ("compliant", "x")),
                               ("2", ("non_compliant", "n"), ("exempt", "e")),
                               ("3", ("in_process", "p"), ("compliant", "x")),
                               ("4", ("in_process", "p"), ("compliant", "x"))]:
        comparison.student(student, out, {"MMR": mmr, "DTaP": dtap})
    assert [(c.vaccine, c.kind, c.to_status, c.students) for c in comparison.changes()] == [
        ("MMR", "status", "in_process", ("3", "4")), ("MMR", "status", "non_compliant", ("2",)),
        ("MMR", "rule", "compliant", ("1",)), ("DTaP", "status", "exempt", ("2",))]
    assert (comparison.compared, comparison.changed) == (4, 4)


# ---- formats ------------------------------------------------------------------------------------------


def test_json_has_the_documented_schema(db):
    report = diff(db, ruleset(MMR_ONE, DTAP), ruleset(MMR_TWO, HEPA))
    data = json.loads(json.dumps(render_json(report)))
    assert set(data) == {"as_of", "source", "old", "new", "vaccines", "compared", "changed", "unchanged",
                         "changes", "groups_added", "groups_removed", "not_compared"}
    assert data["as_of"] == "2024-09-03" and data["compared"] == 10 and data["unchanged"] == 10 - len(ONE_MMR)
    assert set(data["old"]) == {"ruleset", "name", "jurisdiction", "version", "file"}
    [change] = data["changes"]
    assert change == {"vaccine": "MMR", "kind": "status", "from_status": "compliant", "to_status": "non_compliant",
                      "from_rule": "MMR Compliant", "to_rule": "MMR Non-compliant", "count": len(ONE_MMR),
                      "students": ONE_MMR}
    assert data["groups_added"] == [{"vaccine": "HepA", "students": 10, "outcomes": {"non_compliant": 10}}]
    assert [g["vaccine"] for g in data["groups_removed"]] == ["DTaP"]
    truncated = render_json(report, max_students=1)["changes"][0]
    assert truncated["count"] == len(ONE_MMR) and truncated["students"] == ONE_MMR[:1]


def test_table_lists_counts_first_then_the_students(db):
    report = diff(db, ruleset(MMR_ONE, DTAP), ruleset(MMR_TWO, DTAP))
    text = render_table(report)
    lines = text.splitlines()
    assert lines[1] == f"10 student(s) compared: {len(ONE_MMR)} changed, {10 - len(ONE_MMR)} unchanged"
    header = next(i for i, line in enumerate(lines) if line.startswith("vaccine"))
    assert re.match(r"MMR\s+status\s+4\s+compliant\s+non_compliant\s+'MMR Compliant' → 'MMR Non-compliant'$",
                    lines[header + 1])
    assert lines[header].index("from") == lines[header + 1].index("compliant")  # aligned
    headline = lines.index("MMR: 4 compliant → non_compliant, rule 'MMR Compliant' → 'MMR Non-compliant'")
    assert headline > header + 1 and lines[headline + 1].split() == ONE_MMR
    assert render_table(report, max_students=2).splitlines()[-1] == "  ... and 2 more"


def test_markdown_has_a_summary_table_and_details_blocks(db):
    report = diff(db, ruleset(MMR_ONE, DTAP), ruleset(MMR_RENAMED, DTAP))
    text = render_markdown(report)
    assert "| Vaccine | Change | Students | From | To | Rule before | Rule after |" in text
    assert (f"| `MMR` | same status, other rule | {len(ANY_MMR)} | `compliant` | `compliant` "
            f"| `MMR Compliant` | `MMR Compliant (1 dose)` |") in text
    assert text.index("| Vaccine |") < text.index("<details>")
    block = text[text.index("<details>"):text.index("</details>")]
    assert "(same status, other rule)" in block and all(s in block for s in ANY_MMR)
    assert f"... and {len(ANY_MMR) - 1} more" in render_markdown(report, max_students=1)
    assert "No student's outcome changes." in render_markdown(diff(db, ruleset(MMR_ONE), ruleset(MMR_ONE)))


def test_markdown_escapes_pipes_in_rule_names(db):
    report = diff(db, ruleset(MMR_ONE), ruleset(MMR_ONE.replace('"MMR Compliant"', '"MMR | 1 dose"')))
    assert "`MMR \\| 1 dose`" in render_markdown(report)


# ---- the command -------------------------------------------------------------------------------------


@pytest.fixture
def files(write_file):
    return {name: write_file(f"{name}.vax", HEAD + text) for name, text in {
        "old": MMR_ONE + DTAP, "new": MMR_TWO + DTAP, "same": MMR_ONE + DTAP}.items()}


@pytest.mark.parametrize("source", ["--facts", "--db"])
def test_fail_on_change_exit_codes(files, facts, db, source, capsys):
    where = facts if source == "--facts" else db
    common = (source, where, "--as-of", AS_OF)
    assert run_cli(capsys, "diff", files["old"], files["new"], *common)[0] == 0
    code, out, _ = run_cli(capsys, "diff", files["old"], files["new"], *common, "--fail-on-change")
    assert code == 1 and "MMR: 4 compliant → non_compliant" in out
    code, out, _ = run_cli(capsys, "diff", files["old"], files["same"], *common, "--fail-on-change")
    assert code == 0 and "10 student(s) compared: 0 changed, 10 unchanged" in out


def test_command_formats(files, db, capsys):
    common = ("diff", files["old"], files["new"], "--db", db, "--as-of", AS_OF)
    code, out, _ = run_cli(capsys, *common, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["source"] == {"kind": "db", "path": str(db)}
    assert data["old"]["ruleset"] == str(files["old"]) and data["changes"][0]["students"] == ONE_MMR
    code, out, _ = run_cli(capsys, *common, "--format", "markdown", "--vaccine", "MMR")
    assert code == 0 and out.startswith("### Ruleset diff:") and "<details>" in out
    assert "Vaccine groups compared: MMR." in out


def test_command_argument_errors(files, db, capsys):
    code, _, err = run_cli(capsys, "diff", files["old"], files["new"], "--db", db)
    assert code == 2 and "--as-of is required" in err
    code, _, err = run_cli(capsys, "diff", files["old"], files["new"], "--db", db, "--as-of", AS_OF,
                           "--vaccine", "Polio")
    assert code == 2 and "no vaccine group 'Polio'" in err


# ---- fixtures ----------------------------------------------------------------------------------------

FIXTURES = '''\
[defaults]
as_of = 2024-09-03
birth_date = 2018-01-01
grade = "KG"

[[case]]
name = "one MMR dose"
doses = [ { date = 2019-02-01, cvx = 3 } ]

[[case]]
name = "two MMR doses"
doses = [ { date = 2019-02-01, cvx = 3 }, { date = 2020-02-01, cvx = 3 } ]

[[case]]
name = "no doses, later"
as_of = 2025-09-02
'''

HEPA_CASE = '''\
[[case]]
name = "a HepA dose"
as_of = 2024-09-03
birth_date = 2018-01-01
doses = [ { date = 2019-02-01, cvx = 83 } ]
'''


def test_fixtures_are_compared_case_by_case(files, write_file, tmp_path, capsys):
    fixture = write_file("cases/mmr.toml", FIXTURES)
    write_file("cases/more/hepa.toml", HEPA_CASE)
    code, out, _ = run_cli(capsys, "diff", files["old"], files["new"], "--fixtures", tmp_path / "cases",
                           "--format", "json", "--fail-on-change")
    data = json.loads(out)
    assert code == 1 and data["as_of"] is None and data["compared"] == 3 and data["changed"] == 1
    [change] = data["changes"]
    assert change["students"] == [{"file": str(fixture), "line": 6, "case": "one MMR dose",
                                   "student_id": "one MMR dose"}]
    [skipped] = data["not_compared"]
    assert skipped["case"] == "a HepA dose" and skipped["ruleset"] == "both" and "CVX 83" in skipped["errors"][0]
    code, out, _ = run_cli(capsys, "diff", files["old"], files["new"], "--fixtures", fixture)
    assert code == 0 and f"  {fixture}:6: one MMR dose" in out.splitlines()


def test_fixtures_as_of_overrides_each_case(files, write_file, capsys):
    fixture = write_file("cases.toml", FIXTURES)
    code, out, _ = run_cli(capsys, "diff", files["old"], files["new"], "--fixtures", fixture, "--format", "json")
    assert json.loads(out)["changed"] == 1
    # On 2019-01-01 no case has had a dose yet: both rulesets say non_compliant.
    code, out, _ = run_cli(capsys, "diff", files["old"], files["new"], "--fixtures", fixture,
                           "--as-of", "2019-01-01", "--format", "json")
    data = json.loads(out)
    assert (data["as_of"], data["compared"], data["changed"]) == ("2019-01-01", 3, 0)


def test_fixture_refs_sort_by_file_and_line():
    refs = [CaseRef("b.toml", 1, "x"), CaseRef("a.toml", 9, "y"), CaseRef("a.toml", 2, "z")]
    assert [str(r) for r in sorted(refs)] == ["a.toml:2: z", "a.toml:9: y", "b.toml:1: x"]
