"""Fact file formats: CSV and JSON Lines, encodings, headers, and problems with whole files."""

import json
from datetime import date

import pytest

from vaxdsl.errors import VaxError
from vaxdsl.facts import read_fact_dir
from vaxdsl.loader import load_text

RULESET = load_text('''
product HepB_ped cvx 08 "Engerix-B" counts HepB
product DTaP cvx 20 "Infanrix" counts DTaP
vaccine HepB { }
vaccine DTaP { }
''', "formats-test.vax").ruleset
TODAY = date(2025, 9, 2)


def read(folder):
    return read_fact_dir(folder, products=RULESET.products, vaccines=RULESET.vaccines, today=TODAY)


def problems(facts):
    return [f"{p.file.rsplit('/', 1)[-1]}:{p.row}: {p.reason}" for p in facts.problems]


def write_bytes(tmp_path, name, data: bytes):
    (tmp_path / name).write_bytes(data)


def test_jsonl_files_with_the_same_fields(write_file, tmp_path):
    write_file("students.jsonl", "\n".join(json.dumps(r) for r in [
        {"student_id": "S1", "birth_date": "2019-03-04", "grade": "K", "name": "Ann", "district": 625},
        {"student_id": "S2", "birth_date": "2018-01-15", "grade": 1},
        {"student_id": "S3", "birth_date": "2022-01-15", "grade": None},
    ]) + "\n")
    write_file("doses.jsonl", '{"student_id": "S1", "date": "2019-05-01", "cvx": 8}\n'
                              '\n'
                              '{"student_id": "S2", "date": "2018-03-01", "cvx": "020", "mvx": null}\n')
    write_file("exemptions.jsonl", '{"student_id": "S2", "vaccine": "HepB", "kind": "medical"}\n')
    facts = read(tmp_path)
    assert facts.problems == []
    assert [(s.id, s.grade) for s in facts.students] == [("S1", "KG"), ("S2", "01"), ("S3", None)]
    assert facts.students[0].attributes == {"name": "Ann", "district": 625}
    assert [(d.student_id, d.cvx, d.mvx) for d in facts.doses] == [("S1", 8, None), ("S2", 20, None)]
    assert facts.doses.rows.tolist() == [1, 3]  # line numbers, the blank line counted
    assert [(e.vaccine, e.kind) for e in facts.exemptions] == [("HepB", "medical")]


def test_bad_jsonl_lines(write_file, tmp_path):
    write_file("students.jsonl", '{"student_id": "S1", "birth_date": "2019-03-04"}\n'
                                 '{"student_id": "S2", "birth_date": }\n'
                                 '["S3", "2019-03-04"]\n'
                                 '{"student_id": "S4"}\n')
    write_file("doses.jsonl", '{"student_id": "S1", "date": "2019-05-01"}\n')
    assert problems(read(tmp_path)) == [
        "students.jsonl:2: not valid JSON: Expecting value",
        "students.jsonl:3: not a JSON object",
        "students.jsonl:4: missing field: birth_date",
        "doses.jsonl:1: no cvx code and no product",
    ]


def test_header_names_ignore_case_spaces_and_a_byte_order_mark(tmp_path):
    write_bytes(tmp_path, "students.csv", b"\xef\xbb\xbfStudent_ID , Birth_Date,GRADE\r\nS1,2019-03-04,K\r\n")
    write_bytes(tmp_path, "doses.csv", b"student_id,date,cvx\r\nS1,2019-05-01,08\r\n")
    facts = read(tmp_path)
    assert facts.problems == [] and facts.students[0].grade == "KG" and len(facts.doses) == 1


def test_a_line_that_is_not_utf8_costs_that_row_only(tmp_path):
    write_bytes(tmp_path, "students.csv", "student_id,birth_date,grade,name\nS1,2019-03-04,K,Zoë\n".encode()
                + b"S2,2019-03-04,K,Jos\xe9\nS3,2019-03-04,K,Ann\n")
    write_bytes(tmp_path, "doses.csv", b"student_id,date,cvx\nS1,2019-05-01,08\n")
    facts = read(tmp_path)
    assert problems(facts) == ["students.csv:3: not UTF-8 text (byte 0xe9 at column 20)"]
    assert [s.id for s in facts.students] == ["S1", "S3"]
    assert facts.students[0].attributes == {"name": "Zoë"}


def test_a_latin1_header_is_a_file_level_problem(tmp_path):
    write_bytes(tmp_path, "students.csv", b"student_id,birth_date,pr\xe9nom\nS1,2019-03-04,x\n")
    write_bytes(tmp_path, "doses.csv", b"student_id,date,cvx\n")
    facts = read(tmp_path)
    assert facts.fatal
    assert problems(facts)[0] == "students.csv:1: header: not UTF-8 text (byte 0xe9 at column 25)"


def test_a_workbook_saved_under_a_csv_name_is_named_as_such(tmp_path):
    write_bytes(tmp_path, "students.csv", b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + bytes(200))
    write_bytes(tmp_path, "doses.jsonl", "student_id,date,cvx\n".encode("utf-16"))
    facts = read(tmp_path)
    assert facts.fatal
    assert problems(facts) == [
        "students.csv:0: an .xlsx workbook or another ZIP archive, not CSV text: save it as CSV in UTF-8",
        "doses.jsonl:0: UTF-16 text, not JSON Lines text: save it as JSON Lines in UTF-8",
    ]


def test_rows_with_the_wrong_number_of_fields_and_blank_rows(write_file, tmp_path):
    write_file("students.csv", "student_id,birth_date,grade\nS1,2019-03-04,K\n\n,,\nS2,2019-03-04\nS3,2019-03-04,K,x\n")
    write_file("doses.csv", 'student_id,date,cvx\nS1,2019-05-01,08\nS1,"2019-06-01,20\nS1,2019-07-01,20\n')
    assert problems(read(tmp_path)) == [
        "students.csv:5: row has 2 fields, the header has 3",
        "students.csv:6: row has 4 fields, the header has 3",
        "doses.csv:3: row has 2 fields, the header has 3; it runs on to line 4 (an unmatched quote?)",
    ]


def test_quoted_fields_may_span_lines_and_rows_after_them_keep_their_numbers(write_file, tmp_path):
    write_file("students.csv", 'student_id,birth_date,grade,note\nS1,2019-03-04,K,"two\nlines"\nS2,2019-02-30,K,\n')
    write_file("doses.csv", "student_id,date,cvx\n")
    facts = read(tmp_path)
    assert facts.students[0].attributes == {"note": "two\nlines"}
    assert problems(facts) == ["students.csv:4: birth_date '2019-02-30' is not a real date"]


@pytest.mark.parametrize("name, text, reason", [
    ("students.csv", "student_id,grade\nS1,K\n", "missing required column: birth_date"),
    ("doses.csv", "student_id,cvx\n", "missing required column: date"),
    ("doses.csv", "student_id,date\n", "missing required column: cvx or product"),
    ("doses.csv", "", "missing required column: student_id, date"),
    ("doses.csv", "student_id,date,cvx,CVX\n", "column 'cvx' appears twice"),
])
def test_missing_columns_are_file_level(write_file, tmp_path, name, text, reason):
    write_file("students.csv", "student_id,birth_date\nS1,2019-03-04\n")
    write_file("doses.csv", "student_id,date,cvx\n")
    write_file(name, text)
    facts = read(tmp_path)
    assert facts.fatal
    assert [(p.file.rsplit("/", 1)[-1], p.row, p.reason, p.file_level) for p in facts.problems] == [(name, 1, reason, True)]


def test_missing_files_and_ambiguous_files(write_file, tmp_path):
    write_file("doses.csv", "student_id,date,cvx\n")
    facts = read(tmp_path)
    assert facts.fatal and str(facts.problems[0]).endswith("students.csv: missing: students.csv or students.jsonl")
    write_file("students.csv", "student_id,birth_date\n")
    write_file("students.jsonl", "")
    assert [str(p).rsplit("/", 1)[-1] for p in read(tmp_path).problems] == ["students.jsonl: both students.csv and students.jsonl: keep one"]


def test_a_missing_folder_is_a_user_error(tmp_path):
    with pytest.raises(VaxError, match="no such folder"):
        read_fact_dir(tmp_path / "nope")
