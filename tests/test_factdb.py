"""The fact database: schema, indexes, reading back, appending, and the `vaxdsl load` command."""

import sqlite3
from datetime import date

import pytest

from vaxdsl.cli import main
from vaxdsl.engine import INDEX_COLUMNS
from vaxdsl.errors import VaxError
from vaxdsl.factdb import build_database, iter_students, read_student, read_students
from vaxdsl.facts import read_fact_dir
from vaxdsl.loader import load_text

RULESET_TEXT = '''
ruleset "db test" { jurisdiction "MN" version "1" }
grades { KG "Kindergarten" 01 "Grade 1" 05 "Grade 5" }
product HepB_ped cvx 08 counts HepB
product HepB_2dose cvx 43 mvx MSD "Recombivax HB" counts HepB
product DTaP cvx 20 "Infanrix" counts DTaP
vaccine HepB { }
vaccine DTaP { }
vaccine MMR { }
'''
RULESET = load_text(RULESET_TEXT, "db-test.vax").ruleset
TODAY = date(2025, 9, 2)


def facts_in(folder, known=None):
    return read_fact_dir(folder, products=RULESET.products, vaccines=RULESET.vaccines, today=TODAY,
                         known_students=known)


@pytest.fixture
def facts_dir(tmp_path):
    def make(name, students, doses, exemptions=None):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "students.csv").write_text(students, encoding="utf-8")
        (folder / "doses.csv").write_text(doses, encoding="utf-8")
        if exemptions is not None:
            (folder / "exemptions.csv").write_text(exemptions, encoding="utf-8")
        return folder

    return make


@pytest.fixture
def first(facts_dir):
    return facts_dir(
        "first",
        "student_id,birth_date,grade,school\nS1,2019-03-04,K,Lincoln\nS2,2018-01-15,1,\n",
        "student_id,date,cvx,mvx,product\n"
        "S1,2019-09-01,20,,\nS1,2019-05-01,20,,\nS1,2019-05-01,08,,\nS2,2031-01-01,20,,\n"
        "S2,2018-03-01,43,MSD,\nS2,2018-09-01,,,Recombivax HB\n",
        "student_id,vaccine,kind,date\nS1,MMR,medical,2020-01-01\nS2,DTaP,conscientious,\n",
    )


def test_build_writes_every_good_row_with_provenance(first, tmp_path):
    db = tmp_path / "facts.db"
    summary = build_database(db, facts_in(first))
    assert (summary.students, summary.doses, summary.exemptions, summary.written) == (2, 5, 2, True)
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT * FROM students ORDER BY student_id").fetchall() == [
        ("S1", "2019-03-04", "KG", '{"school": "Lincoln"}'), ("S2", "2018-01-15", "01", "{}")]
    assert conn.execute("SELECT * FROM doses ORDER BY dose_id").fetchall() == [
        (1, "S1", "2019-09-01", 20, None, None, "doses.csv", 2),
        (2, "S1", "2019-05-01", 20, None, None, "doses.csv", 3),
        (3, "S1", "2019-05-01", 8, None, None, "doses.csv", 4),
        (4, "S2", "2018-03-01", 43, "MSD", None, "doses.csv", 6),
        (5, "S2", "2018-09-01", 43, None, "Recombivax HB", "doses.csv", 7),
    ]
    assert conn.execute("SELECT * FROM exemptions").fetchall() == [
        ("S1", "MMR", "medical", "2020-01-01", "exemptions.csv", 2), ("S2", "DTaP", "conscientious", None, "exemptions.csv", 3)]


def test_the_compiled_queries_have_their_indexes(first, tmp_path):
    db = tmp_path / "facts.db"
    build_database(db, facts_in(first))
    indexed = {(table, tuple(r[2] for r in sqlite3.connect(db).execute(f"PRAGMA index_info('{name}')")))
               for table, name in sqlite3.connect(db).execute(
                   "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    assert indexed == {("doses", INDEX_COLUMNS), ("exemptions", ("student_id",))}  # one dose index serves all


def test_read_student_orders_doses_by_date_then_id(first, tmp_path):
    db = tmp_path / "facts.db"
    build_database(db, facts_in(first))
    student, doses, exemptions = read_student(db, "S1")
    assert (student.id, student.birth_date, student.grade, student.attributes) == ("S1", date(2019, 3, 4), "KG", {"school": "Lincoln"})
    assert [(d.id, d.date, d.cvx) for d in doses] == [(2, date(2019, 5, 1), 20), (3, date(2019, 5, 1), 8), (1, date(2019, 9, 1), 20)]
    assert [(e.vaccine, e.kind, e.date) for e in exemptions] == [("MMR", "medical", date(2020, 1, 1))]
    assert read_student(sqlite3.connect(db), "nobody") is None
    assert [s.id for s, _, _ in iter_students(db)] == ["S1", "S2"]
    assert [(s.id, len(d), len(e)) for s, d, e in iter_students(db)] == [("S1", 3, 1), ("S2", 2, 1)]


def test_multi_row_inserts_keep_every_row_and_its_rare_columns(tmp_path, facts_dir):
    # more rows than one INSERT takes, with MVX and product names scattered among them
    students = "student_id,birth_date\n" + "".join(f"S{i},2010-01-01\n" for i in range(30))
    doses = "student_id,date,cvx,mvx,product\n" + "".join(
        f"S{i % 30},2011-{1 + i // 28 % 12:02d}-{1 + i % 28:02d},"
        + ("43,MSD,\n" if i % 37 == 0 else ",,Infanrix\n" if i % 53 == 0 else "08,,\n") for i in range(333))
    folder = facts_dir("many", students, doses)
    facts = facts_in(folder)
    assert facts.problems == []
    db = tmp_path / "many.db"
    build_database(db, facts)
    stored = sqlite3.connect(db).execute("SELECT * FROM doses ORDER BY dose_id").fetchall()
    assert stored == list(facts.doses.db_rows())
    assert sum(row[4] == "MSD" for row in stored) == 9 and sum(row[5] == "Infanrix" for row in stored) == 6


def test_a_rebuild_replaces_the_database(first, facts_dir, tmp_path):
    db = tmp_path / "facts.db"
    build_database(db, facts_in(first))
    other = facts_dir("other", "student_id,birth_date\nS9,2019-01-01\n", "student_id,date,cvx\n")
    build_database(db, facts_in(other))
    assert list(read_students(db)) == ["S9"]
    assert not (tmp_path / "facts.db.part").exists()


def test_file_level_problems_write_nothing(facts_dir, tmp_path):
    folder = facts_dir("broken", "student_id,birth_date\nS1,2019-01-01\n", "student_id,cvx\n")
    with pytest.raises(VaxError, match="nothing written"):
        build_database(tmp_path / "x.db", facts_in(folder))
    assert not (tmp_path / "x.db").exists()


def test_append_continues_dose_ids_and_checks_against_the_database(first, facts_dir, tmp_path):
    db = tmp_path / "facts.db"
    build_database(db, facts_in(first))
    later = facts_dir(
        "later",
        "student_id,birth_date,grade,school\n"
        "S1,2019-03-04,KG,Lincoln\n"      # 2 identical: skipped quietly
        "S2,2018-01-16,01,\n"             # 3 different: refused
        "S3,2017-06-01,,\n",              # 4 new
        "student_id,date,cvx\n"
        "S1,2020-05-01,20\n"              # 2 new dose for a student in the database
        "S1,2019-05-01,08\n"              # 3 already in the database
        "S2,2019-05-01,20\n"              # 4 its student was refused
        "S3,2018-05-01,08\n",             # 5 new
        "student_id,vaccine,kind,date\nS1,MMR,medical,2020-01-01\nS3,MMR,medical,\n",
    )
    summary = build_database(db, facts_in(later, known=read_students(db)), append=True)
    assert [str(p).split("/")[-1] for p in summary.problems] == [
        "doses.csv:3: duplicate of a dose already in the database (doses.csv:4)",
        "doses.csv:4: student 'S2' was not loaded (students.csv:3)",
        "exemptions.csv:2: duplicate of an exemption already in the database (exemptions.csv:2)",
        "students.csv:3: student 'S2' is already in the database with different data",
    ]
    assert (summary.students, summary.doses, summary.exemptions, summary.already_present) == (1, 2, 1, 1)
    assert read_student(db, "S2")[0].birth_date == date(2018, 1, 15)  # the first one stays
    _, doses, _ = read_student(db, "S1")
    assert [(d.id, d.date) for d in doses][-1] == (6, date(2020, 5, 1))
    assert [(d.id, d.date) for d in read_student(db, "S3")[1]] == [(9, date(2018, 5, 1))]  # ids continue; gaps allowed
    assert sqlite3.connect(db).execute("SELECT count(*) FROM doses").fetchone()[0] == 7


def test_strict_append_writes_nothing_when_a_row_clashes(first, tmp_path):
    db = tmp_path / "facts.db"
    build_database(db, facts_in(first))
    before = sqlite3.connect(db).execute("SELECT count(*) FROM doses").fetchone()[0]
    summary = build_database(db, facts_in(first, known=read_students(db)), append=True, strict=True)
    assert not summary.written and len(summary.problems) == 7  # 5 doses, 2 exemptions already there
    assert sqlite3.connect(db).execute("SELECT count(*) FROM doses").fetchone()[0] == before


def test_database_errors_are_messages(first, tmp_path):
    with pytest.raises(VaxError, match="no such folder"):
        build_database(tmp_path / "missing" / "facts.db", facts_in(first))
    (tmp_path / "facts.db").mkdir()  # a folder where the file should go: SQLite cannot replace it
    with pytest.raises(VaxError, match="facts.db"):
        build_database(tmp_path / "facts.db", facts_in(first))


def test_append_needs_a_fact_database(first, tmp_path):
    with pytest.raises(VaxError, match="no such fact database"):
        build_database(tmp_path / "none.db", facts_in(first), append=True)
    (tmp_path / "junk.db").write_text("not sqlite")
    with pytest.raises(VaxError, match="not a fact database"):
        build_database(tmp_path / "junk.db", facts_in(first), append=True)


# ---- the command ------------------------------------------------------------------------------------


@pytest.fixture
def ruleset_file(tmp_path):
    path = tmp_path / "db-test.vax"
    path.write_text(RULESET_TEXT, encoding="utf-8")
    return str(path)


def load_cli(*args):
    return main(["load", "--today", "2025-09-02", *args])


def test_load_reports_bad_rows_and_keeps_the_good(first, ruleset_file, tmp_path, capsys):
    db = tmp_path / "facts.db"
    assert load_cli("--facts", str(first), "--db", str(db), "--ruleset", ruleset_file) == 0
    out, err = capsys.readouterr()
    assert err.strip().endswith("doses.csv:5: date 2031-01-01 is in the future (after 2025-09-02)")
    assert "students.csv: 2 row(s) loaded\n" in out
    assert "doses.csv: 5 row(s) loaded, 1 skipped\n" in out
    assert "exemptions.csv: 2 row(s) loaded\n" in out
    assert read_student(db, "S2") is not None


def test_load_strict_writes_nothing(first, ruleset_file, tmp_path, capsys):
    db = tmp_path / "facts.db"
    assert load_cli("--facts", str(first), "--db", str(db), "--ruleset", ruleset_file, "--strict") == 1
    assert "nothing written" in capsys.readouterr().err
    assert not db.exists()


def test_load_append_and_strict_append(facts_dir, ruleset_file, tmp_path, capsys):
    db = tmp_path / "facts.db"
    clean = facts_dir("clean", "student_id,birth_date\nS1,2019-03-04\nS2,2018-01-15\n",
                      "student_id,date,cvx\nS1,2019-05-01,08\n")
    more = facts_dir("more", "student_id,birth_date\nS3,2019-03-04\n",
                     "student_id,date,cvx\nS2,2019-05-01,08\nS3,2019-05-01,08\n")
    assert load_cli("--facts", str(clean), "--db", str(db), "--ruleset", ruleset_file, "--strict") == 0
    assert load_cli("--facts", str(clean), "--db", str(db), "--ruleset", ruleset_file, "--append", "--strict") == 1
    out, err = capsys.readouterr()
    assert "1 row(s) clash with the database and --strict" in err
    assert load_cli("--facts", str(clean), "--db", str(db), "--ruleset", ruleset_file, "--append") == 0
    out, err = capsys.readouterr()
    assert "students.csv: 0 row(s) loaded, 2 already in the database" in out
    assert "doses.csv:2: duplicate of a dose already in the database (doses.csv:2)" in err
    # doses may name students only the database has (S2)
    assert load_cli("--facts", str(more), "--db", str(db), "--ruleset", ruleset_file, "--append", "--strict") == 0
    assert [len(read_student(db, s)[1]) for s in ("S1", "S2", "S3")] == [1, 1, 1]


def test_load_file_level_problem_exits_1(facts_dir, ruleset_file, tmp_path, capsys):
    folder = facts_dir("bad", "student_id,grade\nS1,K\n", "student_id,date,cvx\n")
    assert load_cli("--facts", str(folder), "--db", str(tmp_path / "x.db"), "--ruleset", ruleset_file) == 1
    err = capsys.readouterr().err
    assert "students.csv:1: missing required column: birth_date" in err and "nothing written" in err


def test_load_caps_the_problems_it_prints(facts_dir, ruleset_file, tmp_path, capsys):
    doses = "student_id,date,cvx\n" + "".join(f"S{i},2019-01-01,08\n" for i in range(12))
    folder = facts_dir("many", "student_id,birth_date\nS0,2018-01-01\n", doses)
    assert load_cli("--facts", str(folder), "--db", str(tmp_path / "x.db"), "--ruleset", ruleset_file,
                    "--max-problems", "3") == 0
    err = capsys.readouterr().err.splitlines()
    assert err[:3] == [f"{folder}/doses.csv:{n}: unknown student 'S{n - 2}'" for n in (3, 4, 5)]
    assert "... and 8 more bad row(s)" in err[3]
    assert err[4].split() == ["11", "unknown", "student", "'…'"]


def test_load_user_errors_are_messages(tmp_path, ruleset_file, capsys):
    assert main(["load", "--facts", str(tmp_path / "nope"), "--db", "x.db", "--ruleset", ruleset_file]) == 2
    assert "no such folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["load", "--facts", ".", "--db", "x.db", "--today", "soon"])
    assert "argument --today: 'soon' is not a date (YYYY-MM-DD)" in capsys.readouterr().err
