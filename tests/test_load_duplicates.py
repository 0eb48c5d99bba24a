"""Repeated doses when loading: found without a key per dose in memory, still reported as
file:row: reason naming the first row; the dose spool; the engine's covering index made at load."""

import os
import random
import sqlite3
from datetime import date, timedelta

import pytest

from vaxdsl import engine
from vaxdsl.cli import main
from vaxdsl.dosetable import DoseTable
from vaxdsl.errors import VaxError
from vaxdsl.factdb import build_database, read_student
from vaxdsl.facts import read_fact_dir
from vaxdsl.loader import load_text

RULESET_TEXT = '''
ruleset "duplicates test" { jurisdiction "MN" version "1" }
product HepB_ped cvx 08 counts HepB
product HepB_adult cvx 43 counts HepB
product HepB_2dose cvx 43 mvx MSD "Recombivax HB" counts HepB
product DTaP cvx 20 "Infanrix" counts DTaP
vaccine HepB { }
vaccine DTaP { }
'''
RULESET = load_text(RULESET_TEXT, "duplicates-test.vax").ruleset
TODAY = date(2025, 9, 2)
STUDENTS = "student_id,birth_date\nS1,2019-03-04\nS2,2018-01-15\nS3,2017-06-01\n"


def read(folder, **kwargs):
    return read_fact_dir(folder, products=RULESET.products, vaccines=RULESET.vaccines, today=TODAY, **kwargs)


def problems(facts):
    return [f"{p.file.rsplit('/', 1)[-1]}:{p.row}: {p.reason}" for p in facts.problems]


@pytest.fixture
def folder(tmp_path):
    def make(doses, students=STUDENTS, name="facts"):
        path = tmp_path / name
        path.mkdir()
        (path / "students.csv").write_text(students, encoding="utf-8")
        (path / "doses.csv").write_text("student_id,date,cvx,mvx,product\n" + doses, encoding="utf-8")
        return path

    return make


@pytest.fixture
def ruleset_file(tmp_path):
    path = tmp_path / "duplicates-test.vax"
    path.write_text(RULESET_TEXT, encoding="utf-8")
    return str(path)


def spool_files(where):
    return sorted(name for name in os.listdir(where) if name.startswith(".vaxdsl-doses-"))


# ---- within one file ----------------------------------------------------------------------------


def test_a_file_grouped_by_student_names_the_first_row(folder):
    facts = read(folder(
        "S1,2019-05-01,08,,\n"          # 2
        "S1,2019-05-01,20,,\n"          # 3 same day, another code: not a repeat
        "S1,2019-05-01,8,,\n"           # 4 repeats 2 (leading zeros do not matter)
        "S1,2019-05-01,08,,\n"          # 5 repeats 2 again
        "S2,2019-05-01,08,,\n"          # 6 same dose, another student: not a repeat
        "S2,2019-05-01,43,MSD,\n"       # 7
        "S2,2019-05-01,43,,\n"          # 8 no MVX: another product
        "S2,2019-05-01,43,MSD,\n"       # 9 repeats 7
        "S2,2019-05-01,,,Infanrix\n"    # 10 a product name: not the same row as code 20
        "S2,2019-05-01,,,Infanrix\n"))  # 11 repeats 10
    assert problems(facts) == ["doses.csv:4: duplicate of row 2", "doses.csv:5: duplicate of row 2",
                               "doses.csv:9: duplicate of row 7", "doses.csv:11: duplicate of row 10"]
    assert facts.doses.rows.tolist() == [2, 3, 6, 7, 8, 10]
    assert [d.id for d in facts.doses] == [1, 2, 3, 4, 5, 6]


def test_a_file_not_grouped_by_student_names_the_first_row_in_the_file(folder):
    facts = read(folder(
        "S1,2019-05-01,08,,\n"          # 2
        "S1,2019-05-01,08,,\n"          # 3 repeats 2, found while S1's first run lasts
        "S2,2019-05-01,20,,\n"          # 4
        "S1,2019-05-01,08,,\n"          # 5 S1 again after S2: repeats 2
        "S1,2019-05-01,08,,\n"          # 6 repeats 2, not 5
        "S2,2019-05-01,20,,\n"          # 7 repeats 4
        "S1,2019-06-01,20,,\n"          # 8
        "S3,2019-06-01,20,,\n"))        # 9
    assert problems(facts) == ["doses.csv:3: duplicate of row 2", "doses.csv:5: duplicate of row 2",
                               "doses.csv:6: duplicate of row 2", "doses.csv:7: duplicate of row 4"]
    assert facts.doses.rows.tolist() == [2, 4, 8, 9]
    # ids stay 1, 2, ... over the rows kept, in file order, in the table and in the database
    assert [(d.id, d.student_id) for d in facts.doses] == [(1, "S1"), (2, "S2"), (3, "S1"), (4, "S3")]


def test_bad_rows_between_a_students_rows_do_not_end_the_run(folder):
    facts = read(folder("S1,2019-05-01,08,,\nS2,2019-05-01,999,,\nS1,2019-05-01,08,,\n"))
    assert problems(facts) == ["doses.csv:3: unknown CVX code 999 (not declared by the ruleset)",
                               "doses.csv:4: duplicate of row 2"]


@pytest.mark.parametrize("shuffle", [False, True], ids=["grouped", "shuffled"])
def test_repeats_match_a_set_of_every_key(folder, shuffle):
    """The per-student check and the spool's GROUP BY both give what one set of all keys gives."""
    chance = random.Random(7)
    students = [f"S{n}" for n in range(40)]
    rows = [(s, (date(2019, 1, 1) + timedelta(days=chance.randrange(20))).isoformat(),
             chance.choice(["08", "20", "43"]), chance.choice(["", "", "MSD"]))
            for s in students for _ in range(chance.randrange(1, 12))]
    if shuffle:
        chance.shuffle(rows)
    facts = read(folder("".join(f"{s},{d},{c},{m},\n" for s, d, c, m in rows),
                        students="student_id,birth_date\n" + "".join(f"{s},2018-06-01\n" for s in students)))
    first_line: dict = {}
    expected = []
    for line, (s, d, c, m) in enumerate(rows, 2):
        key = (s, d, int(c), m)
        if key in first_line:
            expected.append(f"doses.csv:{line}: duplicate of row {first_line[key]}")
        else:
            first_line[key] = line
    assert expected, "the sample should have repeats"
    assert problems(facts) == expected
    assert facts.doses.rows.tolist() == sorted(first_line.values())


def test_the_spool_is_removed_when_the_fact_set_is_closed(folder, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    facts = read(folder("S1,2019-05-01,08,,\nS1,2019-05-01,08,,\n"), spool_dir=scratch)
    assert len(spool_files(scratch)) == 1 and len(facts.doses) == 1
    with facts:
        pass
    assert spool_files(scratch) == [] and len(facts.doses) == 0
    facts.close()  # closing twice is fine


def test_a_dose_table_without_rows_has_no_spool(tmp_path):
    table = DoseTable(spool_dir=tmp_path)
    assert len(table) == 0 and list(table) == [] and table.remove_repeats() == [] and table.spool() is None
    assert spool_files(tmp_path) == []
    table.append("S1", date(2020, 1, 1).toordinal(), 8, 2, mvx="SKB")
    assert table[0] == table[-1] == list(table)[0] and (table[0].id, table[0].date, table[0].mvx) == (1, date(2020, 1, 1), "SKB")
    assert len(spool_files(tmp_path)) == 1
    table.close()
    assert spool_files(tmp_path) == [] and len(table) == 0


def test_a_spool_folder_that_cannot_be_written_is_a_message(folder, tmp_path):
    with pytest.raises(VaxError, match="cannot make a scratch file for the dose rows"):
        read(folder("S1,2019-05-01,08,,\n"), spool_dir=tmp_path / "missing")


def test_a_cvx_code_too_large_for_the_database_is_a_bad_row(folder):
    facts = read_fact_dir(folder("S1,2019-05-01,123456789012345678901234,,\nS1,2019-05-01,08,,\n"), today=TODAY)
    assert problems(facts) == ["doses.csv:2: CVX code '123456789012345678901234' is too large"]
    assert [d.cvx for d in facts.doses] == [8]


# ---- the database -------------------------------------------------------------------------------


def test_ids_in_the_database_stay_consecutive_after_repeats(folder, tmp_path):
    facts = read(folder("S1,2019-05-01,08,,\nS2,2019-05-01,20,,\nS1,2019-05-01,08,,\nS3,2019-05-01,20,,\n"))
    assert problems(facts) == ["doses.csv:4: duplicate of row 2"]
    db = tmp_path / "facts.db"
    assert build_database(db, facts).doses == 3
    assert sqlite3.connect(db).execute("SELECT dose_id, student_id, row FROM doses ORDER BY dose_id").fetchall() == [
        (1, "S1", 2), (2, "S2", 3), (3, "S3", 5)]


def test_the_engines_covering_index_is_made_at_load(folder, tmp_path):
    db = tmp_path / "facts.db"
    build_database(db, read(folder("S1,2019-05-01,08,,\n")))
    conn = sqlite3.connect(db)
    columns = [row[2] for row in conn.execute(f"PRAGMA index_info({engine.INDEX_NAME})")]
    assert columns == list(engine.INDEX_COLUMNS)
    assert engine.covering(conn) and engine.dose_order_index(conn) == engine.INDEX_NAME
    before = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index'").fetchone()[0]
    assert engine.prepare_database(conn)  # nothing left for the first evaluation to add
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index'").fetchone()[0] == before


def test_an_empty_doses_file_still_gets_the_index(folder, tmp_path):
    db = tmp_path / "facts.db"
    assert build_database(db, read(folder(""))).doses == 0
    assert engine.covering(sqlite3.connect(db))


def test_append_adds_the_covering_index_to_an_older_database(folder, tmp_path):
    db = tmp_path / "facts.db"
    build_database(db, read(folder("S1,2019-05-01,08,,\n")))
    conn = sqlite3.connect(db)
    conn.execute(f"DROP INDEX {engine.INDEX_NAME}")  # as a database loaded before the loader made it
    conn.close()
    facts = read(folder("S1,2019-06-01,20,,\n", name="later"), known_students={})
    summary = build_database(db, facts, append=True)
    assert summary.doses == 1 and engine.covering(sqlite3.connect(db))


# ---- the command ------------------------------------------------------------------------------------


def load_cli(*args):
    return main(["load", "--today", TODAY.isoformat(), *args])


def test_load_reports_repeats_with_file_and_row(folder, ruleset_file, tmp_path, capsys):
    facts = folder("S1,2019-05-01,08,,\nS2,2019-05-01,20,,\nS1,2019-05-01,08,,\nS1,2019-05-01,08,,\n")
    db = tmp_path / "facts.db"
    assert load_cli("--facts", str(facts), "--db", str(db), "--ruleset", ruleset_file) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"{facts}/doses.csv:4: duplicate of row 2", f"{facts}/doses.csv:5: duplicate of row 2"]
    assert "doses.csv: 2 row(s) loaded, 2 skipped\n" in out
    assert engine.covering(sqlite3.connect(db))
    assert spool_files(tmp_path) == []  # the scratch file went next to the database, and is gone


def test_load_strict_refuses_repeats(folder, ruleset_file, tmp_path, capsys):
    facts = folder("S1,2019-05-01,08,,\nS1,2019-05-01,08,,\n")
    db = tmp_path / "facts.db"
    assert load_cli("--facts", str(facts), "--db", str(db), "--ruleset", ruleset_file, "--strict") == 1
    err = capsys.readouterr().err
    assert f"{facts}/doses.csv:3: duplicate of row 2" in err and "nothing written" in err
    assert not db.exists() and spool_files(tmp_path) == []


def test_load_append_reports_repeats_of_stored_doses_and_within_the_file(folder, ruleset_file, tmp_path, capsys):
    db = tmp_path / "facts.db"
    first = folder("S1,2019-05-01,08,,\nS2,2019-05-01,20,,\n")
    assert load_cli("--facts", str(first), "--db", str(db), "--ruleset", ruleset_file) == 0
    later = folder("S2,2019-06-01,20,,\n"     # 2 new
                   "S1,2019-05-01,08,,\n"     # 3 already in the database (first/doses.csv:2)
                   "S2,2019-06-01,20,,\n"     # 4 repeats 2 within the file
                   "S3,2019-07-01,20,,\n",    # 5 new
                   name="later")
    capsys.readouterr()
    assert load_cli("--facts", str(later), "--db", str(db), "--ruleset", ruleset_file, "--append") == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"{later}/doses.csv:3: duplicate of a dose already in the database (doses.csv:2)",
                                f"{later}/doses.csv:4: duplicate of row 2"]
    assert "doses.csv: 2 row(s) loaded, 2 skipped\n" in out
    # ids go on after the stored ones by place in the file: the refused row 3 leaves a gap
    assert [(d.id, d.date) for d in read_student(db, "S2")[1]] == [(2, date(2019, 5, 1)), (3, date(2019, 6, 1))]
    assert [d.id for d in read_student(db, "S3")[1]] == [5]
    assert load_cli("--facts", str(later), "--db", str(db), "--ruleset", ruleset_file, "--append", "--strict") == 1
    assert spool_files(tmp_path) == []
