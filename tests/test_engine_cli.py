"""``vaxdsl evaluate``: formats, filters, --doses, --facts and --db, errors without tracebacks."""

from __future__ import annotations

import csv
import io
import json

import pytest

from vaxdsl.cli import main
from vaxdsl.interpreter import evaluate_student
from vaxdsl.loader import load

from test_engine_api import AS_OF, DOSES, EXEMPTIONS, STUDENTS
from test_engines_agree import build_db

MINNESOTA = load("minnesota").ruleset


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "facts.db"
    source = build_db(STUDENTS, DOSES, EXEMPTIONS)
    source.execute(f"VACUUM INTO '{path}'")
    source.close()
    return path


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _expected_groups():
    return [g for s in STUDENTS for g in evaluate_student(
        MINNESOTA, s, [d for d in DOSES if d.student_id == s.id], [e for e in EXEMPTIONS if e.student_id == s.id],
        AS_OF).groups]


def test_jsonl(capsys, db):
    code, out, err = _run(capsys, "evaluate", "minnesota", "--db", str(db), "--as-of", AS_OF.isoformat())
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert records == [{"student_id": g.student_id, "vaccine": g.vaccine, "status": g.status, "rule": g.rule,
                        "valid_doses": g.valid_doses} for g in _expected_groups()]
    assert "Traceback" not in err


def test_csv_to_a_file(capsys, db, tmp_path):
    out_file = tmp_path / "out.csv"
    code, out, err = _run(capsys, "evaluate", "minnesota", "--db", str(db), "--as-of", AS_OF.isoformat(),
                          "--format", "csv", "--output", str(out_file))
    assert code == 0 and out == ""
    rows = list(csv.DictReader(io.StringIO(out_file.read_text(encoding="utf-8"))))
    assert [(r["student_id"], r["vaccine"], r["status"], r["rule"], int(r["valid_doses"])) for r in rows] == \
        [(g.student_id, g.vaccine, g.status, g.rule or "", g.valid_doses) for g in _expected_groups()]


def test_table_for_some_students(capsys, db):
    code, out, err = _run(capsys, "evaluate", "minnesota", "--db", str(db), "--as-of", AS_OF.isoformat(),
                          "--format", "table", "--student", "B", "--student", "C", "nobody")
    assert code == 1 and err == f"vaxdsl: no student 'nobody' in {db}\n"  # the others are still written
    lines = out.splitlines()
    assert lines[0].split() == ["student_id", "vaccine", "status", "rule", "valid_doses"]
    assert {line.split()[0] for line in lines[1:]} == {"B", "C"}
    assert len(lines) == 1 + 2 * len(MINNESOTA.vaccines)


def test_doses(capsys, db):
    code, out, err = _run(capsys, "evaluate", "minnesota", "--db", str(db), "--as-of", AS_OF.isoformat(),
                          "--doses", "--student", "A")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert set(records[0]) == {"student_id", "date", "cvx", "vaccine", "valid", "reason", "dose_number"}
    assert all(isinstance(r["valid"], bool) for r in records)
    assert records[-1] == {"student_id": "A", "date": "2023-06-01", "cvx": 999, "vaccine": "", "valid": False,
                           "reason": None, "dose_number": None}


def test_doses_csv(capsys, db):
    code, out, err = _run(capsys, "evaluate", "minnesota", "--db", str(db), "--as-of", AS_OF.isoformat(),
                          "--doses", "--format", "csv", "--student", "B")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[1]["valid"] == "false" and rows[1]["reason"] == "too_soon"


def test_facts_folder(capsys, tmp_path):
    folder = tmp_path / "facts"
    folder.mkdir()
    (folder / "students.csv").write_text("student_id,birth_date,grade\nS1,2019-05-31,KG\nS2,2019-06-01,ZZ\n")
    (folder / "doses.csv").write_text("student_id,date,cvx\nS1,2020-06-01,03\nS1,2024-06-01,03\nS1,2020-13-01,03\n")
    code, out, err = _run(capsys, "evaluate", "minnesota", "--facts", str(folder), "--as-of", "2025-09-02")
    assert code == 0, err
    assert "doses.csv:4" in err  # the bad date is reported and skipped
    mmr = [json.loads(line) for line in out.splitlines() if '"MMR"' in line]
    assert mmr == [{"student_id": "S1", "vaccine": "MMR", "status": "compliant", "rule": "2 doses MMR K-12 Compliant",
                    "valid_doses": 2}]


def test_errors_are_messages(capsys, tmp_path):
    code, out, err = _run(capsys, "evaluate", "minnesota", "--db", str(tmp_path / "missing.db"), "--as-of", "2025-09-02")
    assert code == 2 and "no such fact database" in err and "Traceback" not in err
    not_db = tmp_path / "x.db"
    not_db.write_text("hello")
    code, out, err = _run(capsys, "evaluate", "minnesota", "--db", str(not_db), "--as-of", "2025-09-02")
    assert code == 2 and "not a fact database" in err
    with pytest.raises(SystemExit):
        main(["evaluate", "minnesota", "--db", "x", "--as-of", "2025-13-01"])
    assert "is not a date" in capsys.readouterr().err
    bad = tmp_path / "bad.vax"
    bad.write_text("vaccine X { rule }")
    code, out, err = _run(capsys, "evaluate", str(bad), "--db", str(not_db), "--as-of", "2025-09-02")
    assert code == 1 and "bad.vax:1" in err


def test_an_output_that_cannot_be_written_is_a_message(capsys, db, tmp_path):
    code, out, err = _run(capsys, "evaluate", "minnesota", "--db", str(db), "--as-of", "2025-09-02",
                          "--output", str(tmp_path))
    assert code == 2 and err == f"vaxdsl: error: {tmp_path}: Is a directory\n"


def test_dose_lines_are_what_json_dumps_gives():
    """The dose records' JSON Lines are built from cached pieces: each line must be exactly
    ``json.dumps`` of the record's fields, for awkward ids and every kind of value."""
    from datetime import date

    from vaxdsl.commands.evaluate import DOSE_FIELDS, _Writer
    from vaxdsl.results import DoseEvaluation

    records = [
        DoseEvaluation('A "quoted" \\ id', 1, date(2020, 1, 31), 8, "HepB", "HepB_pediatric", True, None, 1),
        DoseEvaluation('A "quoted" \\ id', 2, date(2020, 2, 1), 8, "HepB", "HepB_pediatric", False, "too_soon", None),
        DoseEvaluation("élève ü", 3, date(2021, 12, 1), 999, "", None, False, None, None),
        DoseEvaluation("B", 4, date(2022, 5, 5), 3, "MMR", "MMR", True, None, 2),
        DoseEvaluation("B", 5, date(2022, 5, 6), 3, "MMR", "MMR", False, "live_virus_conflict", None),
    ]
    out = io.StringIO()
    writer = _Writer(out, "jsonl", DOSE_FIELDS)
    for record in records:
        writer.dose(record)
    writer.close()
    expected = [json.dumps(dict(zip(DOSE_FIELDS, (r.student_id, r.date.isoformat(), r.cvx, r.vaccine, r.valid,
                                                   r.reason, r.dose_number)))) for r in records]
    assert out.getvalue().splitlines() == expected


def test_dose_csv_lines_are_what_csv_writer_gives():
    from datetime import date

    from vaxdsl.commands.evaluate import DOSE_FIELDS, _Writer
    from vaxdsl.results import DoseEvaluation

    records = [
        DoseEvaluation('A, "quoted" id', 1, date(2020, 1, 31), 8, "HepB", "HepB_pediatric", True, None, 1),
        DoseEvaluation('A, "quoted" id', 2, date(2020, 2, 1), 8, "HepB", "HepB_pediatric", False, "too_soon", None),
        DoseEvaluation("line\nbreak", 3, date(2021, 12, 1), 999, "", None, False, None, None),
        DoseEvaluation("B", 4, date(2022, 5, 5), 3, "MMR", "MMR", True, None, 2),
    ]
    out = io.StringIO()
    writer = _Writer(out, "csv", DOSE_FIELDS)
    for record in records:
        writer.dose(record)
    writer.close()
    expected = io.StringIO()
    rows = csv.writer(expected, lineterminator="\r\n")
    rows.writerow(DOSE_FIELDS)
    for r in records:
        rows.writerow([r.student_id, r.date.isoformat(), r.cvx, r.vaccine, "true" if r.valid else "false",
                       r.reason or "", "" if r.dose_number is None else r.dose_number])
    assert out.getvalue() == expected.getvalue()
    assert list(csv.DictReader(io.StringIO(out.getvalue())))[2]["student_id"] == "line\nbreak"
