"""`vaxdsl report`: status counts per vaccine group and per grade agree with per-student evaluation."""

import json
from collections import Counter

from vaxdsl.cli import main

STUDENTS = "student_id,birth_date,grade\nA,2019-05-10,KG\nB,2019-06-01,KG\nC,2012-01-01,07\nD,2024-01-01,\n"
DOSES = "student_id,date,cvx\n" + "".join(
    f"A,{day},20\n" for day in ("2019-07-10", "2019-09-10", "2019-11-10", "2020-08-10", "2023-06-01")
)


def test_report_counts_match_evaluate(write_file, capsys):
    write_file("facts/students.csv", STUDENTS)
    facts = write_file("facts/doses.csv", DOSES).parent
    assert main(["report", "minnesota", "--facts", str(facts), "--as-of", "2024-09-03", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert main(["evaluate", "minnesota", "--facts", str(facts), "--as-of", "2024-09-03"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for vaccine, counts in report["by_vaccine"].items():
        assert counts == dict(Counter(r["status"] for r in records if r["vaccine"] == vaccine))
    assert list(report["by_grade"]) == ["KG", "07", "(no grade)"]
    assert sum(report["by_grade"]["KG"].values()) == 2
    assert report["by_vaccine"]["DTaP"]["compliant"] == 1  # only A has the 5 kindergarten doses


def test_report_table_has_both_tables(write_file, capsys):
    write_file("facts/students.csv", STUDENTS)
    facts = write_file("facts/doses.csv", DOSES).parent
    assert main(["report", "minnesota", "--facts", str(facts), "--as-of", "2024-09-03"]) == 0
    out = capsys.readouterr().out
    assert "By vaccine group" in out and "By grade (overall status)" in out
    assert out.splitlines()[0] == "Minnesota: status on 2024-09-03"
