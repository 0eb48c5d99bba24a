"""Row checks of fact files: each bad-row reason, with its file and line (docs/facts.md)."""

from datetime import date

import pytest

from vaxdsl.facts import normalize_grade, read_fact_dir
from vaxdsl.loader import load_text

RULESET = load_text('''
ruleset "facts test" { jurisdiction "MN" version "1" }
grades { EC "Early Childhood" KG "Kindergarten" 01 "Grade 1" 02 "Grade 2" 07 "Grade 7" 12 "Grade 12" }
product HepB_ped cvx 08 "Engerix-B" counts HepB
product HepB_adult cvx 43 counts HepB
product HepB_2dose cvx 43 mvx MSD "Recombivax HB" counts HepB
product DTaP cvx 20 "Infanrix" counts DTaP
product Kinrix cvx 130 mvx SKB "Kinrix" counts DTaP, Polio
product MMRV cvx 94 "ProQuad" live counts MMR, Varicella
vaccine HepB { }
vaccine DTaP { }
vaccine Polio { }
vaccine MMR { }
vaccine Varicella { }
''', "facts-test.vax").ruleset
TODAY = date(2025, 9, 2)
STUDENTS = "student_id,birth_date,grade\nS1,2019-03-04,K\nS2,2018-01-15,1\n"


def read(folder, today=TODAY, **kwargs):
    return read_fact_dir(
        folder, products=RULESET.products, vaccines=RULESET.vaccines, today=today,
        grades=[g.code for g in RULESET.grade_decls], **kwargs,
    )


def problems(facts):
    """file name:row: reason, for comparing."""
    return [f"{p.file.rsplit('/', 1)[-1]}:{p.row}: {p.reason}" for p in facts.problems]


@pytest.fixture
def folder(write_file, tmp_path):
    def make(students=STUDENTS, doses="student_id,date,cvx\n", exemptions=None):
        write_file("students.csv", students)
        write_file("doses.csv", doses)
        if exemptions is not None:
            write_file("exemptions.csv", exemptions)
        return tmp_path

    return make


# ---- students ------------------------------------------------------------------------------------


def test_grades_are_normalised_and_extra_columns_kept_as_attributes(folder):
    facts = read(folder(students="student_id,birth_date,grade,name,School\n"
                                  "S1,2019-03-04,K,Ann Lee,Lincoln\nS2,2018-01-15,1,Bo,\nS3,2023-05-01,,Cy,Kids Inc\n"))
    assert facts.problems == []
    assert [(s.id, s.grade) for s in facts.students] == [("S1", "KG"), ("S2", "01"), ("S3", None)]
    assert facts.students[0].birth_date == date(2019, 3, 4)
    assert facts.students[0].attributes == {"name": "Ann Lee", "school": "Lincoln"}
    assert facts.students[1].attributes == {"name": "Bo"}  # an empty cell is no attribute


def test_normalize_grade():
    assert [normalize_grade(g) for g in ("k", "KG", "9", "09", "12", "ec", "")] == ["KG", "KG", "09", "09", "12", "EC", None]


def test_bad_student_rows_are_reported_with_line_and_reason(folder):
    facts = read(folder(students=(
        "student_id,birth_date,grade\n"
        "S1,2019-03-04,KG\n"        # 2 good
        ",2019-03-04,KG\n"          # 3 no id
        "S3,2019-02-30,KG\n"        # 4 impossible date
        "S4,03/04/2019,KG\n"        # 5 not ISO
        "S5,2026-01-01,KG\n"        # 6 after --today
        "S6,2019-03-04,13\n"        # 7 grade not declared
        "S1,2019-03-04,K\n"         # 8 same student again, same data
        "S1,2019-03-05,KG\n"        # 9 same student, different data
        "S7,,KG\n"                  # 10 no birth date
    )))
    assert problems(facts) == [
        "students.csv:3: student_id is empty",
        "students.csv:4: birth_date '2019-02-30' is not a real date",
        "students.csv:5: birth_date '03/04/2019' is not a YYYY-MM-DD date",
        "students.csv:6: birth_date 2026-01-01 is in the future (after 2025-09-02)",
        "students.csv:7: grade '13' is not a grade the ruleset declares",
        "students.csv:8: duplicate of row 2",
        "students.csv:9: student 'S1' already at row 2 with different data",
        "students.csv:10: birth_date is empty",
    ]
    assert [s.id for s in facts.students] == ["S1"]


def test_any_grade_is_taken_without_a_grade_list(folder):
    facts = read_fact_dir(folder(students="student_id,birth_date,grade\nS1,2019-03-04,ZZ\n"), today=TODAY)
    assert facts.problems == [] and facts.students[0].grade == "ZZ"


def test_iso_week_and_compact_dates_are_not_taken(folder):
    # date.fromisoformat would accept both on Python 3.11
    facts = read(folder(students="student_id,birth_date,grade\nS1,20190304,KG\nS2,2019-W10-1,KG\n"))
    assert [p.reason for p in facts.problems] == [
        "birth_date '20190304' is not a YYYY-MM-DD date", "birth_date '2019-W10-1' is not a YYYY-MM-DD date"]


def test_today_defaults_to_the_real_today(folder):
    facts = read_fact_dir(folder(students="student_id,birth_date,grade\nS1,2999-01-01,KG\n"))
    assert "is in the future" in facts.problems[0].reason


# ---- doses -------------------------------------------------------------------------------------------


def test_good_doses_keep_file_order_ids_and_codes(folder):
    facts = read(folder(doses=(
        "student_id,date,cvx,mvx,product\n"
        "S1,2019-03-05,08,,\n"
        "S1,2019-05-06,8,,\n"            # leading zeros are optional
        "S2,2023-05-01,43,MSD,\n"
        "S2,2023-09-01,,,Recombivax HB\n"  # the product by name, no code
        "S2,2022-09-01,130,skb,\n"        # MVX case does not matter
    )))
    assert facts.problems == []
    doses = list(facts.doses)
    assert [(d.id, d.student_id, d.date.isoformat(), d.cvx, d.mvx, d.product_name) for d in doses] == [
        (1, "S1", "2019-03-05", 8, None, None),
        (2, "S1", "2019-05-06", 8, None, None),
        (3, "S2", "2023-05-01", 43, "MSD", None),
        (4, "S2", "2023-09-01", 43, None, "Recombivax HB"),
        (5, "S2", "2022-09-01", 130, "skb", None),
    ]
    assert facts.doses[-1] == doses[-1] and facts.doses[1:3] == doses[1:3]


def test_bad_dose_rows_are_reported_with_line_and_reason(folder):
    facts = read(folder(doses=(
        "student_id,date,cvx,mvx,product\n"
        "S9,2019-05-01,08,,\n"            # 2 unknown student
        ",2019-05-01,08,,\n"              # 3 no student id
        "S1,2019-02-29,08,,\n"            # 4 impossible date
        "S1,2025-09-03,08,,\n"            # 5 after today
        "S1,2019-03-01,08,,\n"            # 6 before birth (2019-03-04)
        "S1,2019-05-01,999,,\n"           # 7 CVX not declared
        "S1,2019-05-01,8a,,\n"            # 8 not a number
        "S1,2019-05-01,,,Foovax\n"        # 9 product not declared
        "S1,2019-05-01,20,,Engerix-B\n"   # 10 product and code disagree
        "S1,2019-05-01,130,XYZ,\n"        # 11 no product with that code and MVX
        "S1,2019-05-01,,,\n"              # 12 neither code nor product
        "S1,2019-05-01,08,,\n"            # 13 good
        "S1,2019-05-01,8,,\n"             # 14 the same dose again
        "S1,,08,,\n"                      # 15 no date
    )))
    assert problems(facts) == [
        "doses.csv:2: unknown student 'S9'",
        "doses.csv:3: student_id is empty",
        "doses.csv:4: date '2019-02-29' is not a real date",
        "doses.csv:5: date 2025-09-03 is in the future (after 2025-09-02)",
        "doses.csv:6: dose date 2019-03-01 is before the birth date 2019-03-04",
        "doses.csv:7: unknown CVX code 999 (not declared by the ruleset)",
        "doses.csv:8: CVX code '8a' is not a number",
        "doses.csv:9: unknown product 'Foovax' (not declared by the ruleset)",
        "doses.csv:10: product 'Engerix-B' has CVX code 08, not 20",
        "doses.csv:11: CVX code 130 with MVX 'XYZ' matches no product the ruleset declares",
        "doses.csv:12: no cvx code and no product",
        "doses.csv:14: duplicate of row 13",
        "doses.csv:15: date is empty",
    ]
    assert len(facts.doses) == 1 and facts.doses[0].id == 1


def test_today_can_be_moved_for_reproducible_runs(folder):
    made = folder(doses="student_id,date,cvx\nS1,2024-06-01,20\n")
    assert read(made, today=date(2024, 5, 31)).problems[0].reason == "date 2024-06-01 is in the future (after 2024-05-31)"
    assert read(made, today=date(2024, 6, 1)).problems == []


def test_doses_of_a_refused_student_name_the_student_row(folder):
    facts = read(folder(students="student_id,birth_date,grade\nS1,2019-02-30,KG\n",
                        doses="student_id,date,cvx\nS1,2019-05-01,20\n"))
    assert problems(facts) == ["students.csv:2: birth_date '2019-02-30' is not a real date",
                               "doses.csv:2: student 'S1' was not loaded (students.csv:2)"]


def test_duplicates_with_mvx_or_product_are_found(folder):
    facts = read(folder(doses=("student_id,date,cvx,mvx,product\n"
                               "S2,2023-05-01,43,MSD,\nS2,2023-05-01,43,MSD,\n"
                               "S2,2023-06-01,,,Kinrix\nS2,2023-06-01,,,Kinrix\n"
                               "S2,2023-07-01,43,,\n")))  # same code, no MVX: another product
    assert problems(facts) == ["doses.csv:3: duplicate of row 2", "doses.csv:5: duplicate of row 4"]


def test_without_a_ruleset_any_code_is_taken_but_a_bare_name_is_not(folder):
    facts = read_fact_dir(folder(doses="student_id,date,cvx,product\nS1,2019-05-01,999,\nS1,2019-05-02,,Foovax\n"),
                          today=TODAY)
    assert [d.cvx for d in facts.doses] == [999]
    assert problems(facts) == ["doses.csv:3: product 'Foovax' has no cvx code (and no ruleset to look it up)"]


def test_doses_may_name_students_already_in_the_database(folder):
    from vaxdsl.records import Student

    known = {"OLD": Student("OLD", date(2015, 1, 1), "05")}
    facts = read(folder(doses="student_id,date,cvx\nOLD,2016-01-01,20\nOLD,2014-12-31,20\n"), known_students=known)
    assert [d.student_id for d in facts.doses] == ["OLD"]
    assert problems(facts) == ["doses.csv:3: dose date 2014-12-31 is before the birth date 2015-01-01"]


# ---- exemptions -----------------------------------------------------------------------------------


def test_exemptions_good_and_bad(folder):
    facts = read(folder(exemptions=(
        "student_id,vaccine,kind,date\n"
        "S1,MMR,medical,2020-01-01\n"       # 2 good
        "S1,varicella,Disease_History,\n"   # 3 good: names are not case sensitive, the date optional
        "S1,Hepb2,medical,\n"               # 4 unknown group
        "S1,MMR,religious,\n"               # 5 unknown kind
        "S9,MMR,medical,\n"                 # 6 unknown student
        "S1,MMR,medical,2020-01-01\n"       # 7 duplicate
        "S1,DTaP,conscientious,2031-01-01\n"  # 8 future
        "S1,DTaP,conscientious,2019-01-01\n"  # 9 before birth
        "S1,,medical,\n"                    # 10 no group
    )))
    assert problems(facts) == [
        "exemptions.csv:4: unknown vaccine group 'Hepb2'",
        "exemptions.csv:5: unknown exemption kind 'religious' (expected medical, conscientious, lab_immunity or disease_history)",
        "exemptions.csv:6: unknown student 'S9'",
        "exemptions.csv:7: duplicate of row 2",
        "exemptions.csv:8: date 2031-01-01 is in the future (after 2025-09-02)",
        "exemptions.csv:9: exemption date 2019-01-01 is before the birth date 2019-03-04",
        "exemptions.csv:10: vaccine is empty",
    ]
    assert [(e.vaccine, e.kind, e.date) for e in facts.exemptions] == [
        ("MMR", "medical", date(2020, 1, 1)), ("Varicella", "disease_history", None)]
    assert facts.exemption_rows == [2, 3]


def test_exemptions_file_is_optional(folder):
    facts = read(folder())
    assert facts.problems == [] and facts.exemptions == [] and "exemptions" not in facts.files
