"""`vaxdsl diff` of the bundled state ruleset against the example district on a synthetic population.

The district adds one DTaP rule (series completion within 8 months reported as In Process, placed
before the state's "Grade 1-12 Non-compliant"), so only DTaP outcomes can change, and only from
non_compliant to in_process. The SQL engine's diff is held to the reference interpreter's.
"""

import json
from datetime import date

import pytest

from vaxdsl.cli import main
from vaxdsl.commands._common import load_checked
from vaxdsl.factdb import build_database, iter_students
from vaxdsl.facts import read_fact_dir
from vaxdsl.interpreter import evaluate_student
from vaxdsl.synth import synthesize

AS_OF = date(2026, 9, 8)
DISTRICT_RULE = "Grade 1-12 Series Completion In Process"

# Catch-up students (synthetic histories start in infancy, so few are within 8 months of a first dose
# in grades 1-12): one the district moves, and two it does not (first dose 11 months ago; no dose).
CATCH_UP_STUDENTS = ["X0000001,2019-07-01,01", "X0000002,2019-07-01,01", "X0000003,2012-01-15,08"]
CATCH_UP_DOSES = ["X0000001,2026-05-01,20", "X0000002,2025-10-01,20"]


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    folder = tmp_path_factory.mktemp("district") / "facts"
    synthesize(folder, 120, seed=11, as_of=AS_OF)
    for name, rows in (("students.csv", CATCH_UP_STUDENTS), ("doses.csv", CATCH_UP_DOSES)):
        header = (folder / name).read_text(encoding="utf-8").splitlines()[0].split(",")
        with (folder / name).open("a", encoding="utf-8") as handle:
            for row in rows:
                handle.write(row + "," * (len(header) - len(row.split(","))) + "\n")
    db = folder.parent / "facts.db"
    build_database(db, read_fact_dir(folder, today=AS_OF))
    return folder, db


def interpreter_changes(db):
    old = load_checked("minnesota").ruleset
    new = load_checked("example-district").ruleset
    changes = set()
    for student, doses, exemptions in iter_students(db):
        before = evaluate_student(old, student, doses, exemptions, AS_OF).groups
        after = evaluate_student(new, student, doses, exemptions, AS_OF).groups
        for a, b in zip(before, after, strict=True):
            assert a.vaccine == b.vaccine
            if (a.status, a.rule) != (b.status, b.rule):
                changes.add((student.id, a.vaccine, a.status, b.status, a.rule, b.rule))
    return changes


def test_only_dtap_changes_and_the_engine_agrees_with_the_interpreter(population, capsys):
    _, db = population
    code = main(["diff", "minnesota", "example-district", "--db", str(db), "--as-of", AS_OF.isoformat(),
                 "--format", "json", "--fail-on-change"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert data["compared"] == 123 and data["groups_added"] == [] and data["groups_removed"] == []
    found = {(s, c["vaccine"], c["from_status"], c["to_status"], c["from_rule"], c["to_rule"])
             for c in data["changes"] for s in c["students"]}
    assert found == interpreter_changes(db)
    assert ("X0000001", "DTaP", "non_compliant", "in_process", "Grade 1-12 Non-compliant", DISTRICT_RULE) in found
    assert not {"X0000002", "X0000003"} & {s for s, *_ in found}
    assert {c["vaccine"] for c in data["changes"]} == {"DTaP"}
    assert all(c["to_rule"] == DISTRICT_RULE and c["to_status"] == "in_process" for c in data["changes"])
    assert data["changed"] == len(found) and data["unchanged"] == 123 - len(found)


def test_facts_folder_gives_the_same_diff_as_the_database(population, capsys):
    folder, db = population
    outputs = []
    for source in (("--facts", str(folder)), ("--db", str(db))):
        assert main(["diff", "minnesota", "example-district", *source, "--as-of", AS_OF.isoformat(),
                     "--format", "json"]) == 0
        data = json.loads(capsys.readouterr().out)
        outputs.append((data["compared"], data["changed"], data["changes"]))
    assert outputs[0] == outputs[1] and outputs[0][1] >= 1
