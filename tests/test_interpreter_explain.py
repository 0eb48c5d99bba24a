"""The explanation in words, what is still needed, and the ``vaxdsl explain`` command."""

import sqlite3
from datetime import date

import pytest

from vaxdsl.cli import main
from vaxdsl.interpreter import evaluate_student, explain_text, next_needs
from vaxdsl.loader import load_text
from vaxdsl.records import Dose, Exemption, Student

RULESET_TEXT = """
settings { tolerance 4 days }
grades { PA "Pre-K" KG "Kindergarten" 01 "Grade 1" }
product DTaP cvx 20 "DTaP" counts DTaP
product MMR cvx 03 "MMR" live counts MMR
product VAR cvx 21 "Varicella" live counts Varicella

predicate live_conflict(S, D)
  \"\"\"A live dose within 28 days after a different live vaccine.\"\"\"
  :- dose(S, D, Given, P), live(P), dose(S, _, Before, Q), live(Q), P != Q,
     Before < Given, Given < Before + 28 days.

vaccine DTaP "Diphtheria, Tetanus, Pertussis" {
  series {
    dose 1 { min age 6 weeks - 4 days }
    dose 2 { min interval 4 weeks - 4 days }
    dose 3 { min interval 4 weeks - 4 days }
    dose 4 { min age 12 months - 4 days min interval 4 months - 4 days }
    dose 5 { min age 4 years - 4 days min interval 6 months - 4 days }
  }
  rule "KG, 5 shots Compliant" => compliant when grade in KG and at least 5 valid doses
  rule "KG, 4 shots Compliant" => compliant when grade in KG and at least 4 valid doses and dose 4 at age >= 4 years
  rule "Old rule" => compliant active to 2019-06-30
  rule "KG Non-compliant" => non_compliant when grade in KG
  otherwise non_compliant
}
vaccine MMR "Measles, Mumps, Rubella" {
  series {
    dose 1 { min age 12 months - 4 days }
    dose 2 { min interval 4 weeks - 4 days }
    reject live_virus_conflict when live_conflict(student, dose)
  }
  rule "2 doses Compliant" => compliant when at least 2 valid doses
  otherwise non_compliant
}
vaccine Varicella "Varicella" {
  applies when grade in 01
  series { dose 1 { min age 12 months - 4 days } }
  rule "1 dose" => compliant when at least 1 valid dose
  otherwise non_compliant
}
"""
RULESET = load_text(RULESET_TEXT).ruleset
KID = Student("S1", date(2015, 3, 10), "KG")
AS_OF = date(2020, 9, 1)
DTAP = ["2015-05-10", "2015-07-10", "2015-09-10", "2016-06-10"]


def doses(*rows):
    return [Dose(i, "S1", date.fromisoformat(when), cvx) for i, (when, cvx) in enumerate(rows, start=1)]


def explain(rows, exemptions=(), student=KID, as_of=AS_OF, **kwargs) -> str:
    evaluation = evaluate_student(RULESET, student, doses(*rows), list(exemptions), as_of)
    return explain_text(evaluation, RULESET, student, as_of, **kwargs)


def test_a_kindergartner_four_doses_short_of_the_fifth():
    text = explain([(d, 20) for d in DTAP] + [("2016-03-01", 3), ("2016-04-01", 3)])
    assert text.startswith("Student S1, born 2015-03-10, grade KG; 5 years 5 months 22 days old on 2020-09-01.\n"
                           "Overall status on 2020-09-01: Non-compliant.\n")
    assert "\nDTaP (Diphtheria, Tetanus, Pertussis): Non-compliant\n" in text
    assert "    2015-05-10 DTaP (CVX 20): valid (dose 1)\n" in text
    assert "  Decided by: rule 'KG Non-compliant' => Non-compliant\n" in text
    assert ("    'KG, 5 shots Compliant' did not apply: needs at least 5 valid doses, has 4 "
            "(2015-05-10, 2015-07-10, 2015-09-10, 2016-06-10)\n") in text
    assert ("    'KG, 4 shots Compliant' did not apply: needs dose 4 at age >= 4 years, dose 4 was given "
            "2016-06-10, at 1 year 3 months (with 4 days' tolerance)\n") in text
    assert "    Not in effect on 2020-09-01:\n      'Old rule' (in effect until 2019-06-30)\n" in text
    # dose 5: 4 years - 4 days of age (2019-03-06) and 6 months - 4 days after dose 4 (2016-12-06)
    assert ("  Still needs: dose 5, can be given now, valid since 2019-03-06 (at age 4 years - 4 days; "
            "6 months - 4 days after dose 4 (2016-06-10)).\n") in text


def test_dose_reasons_in_words():
    # 2016-05-20 is 4 weeks + 2 days after the dose too soon (the next interval counts from it)
    text = explain([("2016-03-01", 3), ("2016-04-01", 3), ("2016-04-20", 3), ("2016-05-01", 21),
                    ("2016-05-20", 3), ("2016-06-20", 3)])
    assert ("    2016-03-01 MMR (CVX 03): not valid — given before the minimum age of 12 months - 4 days "
            "(at 11 months 20 days)\n") in text
    assert "    2016-04-01 MMR (CVX 03): valid (dose 1)\n" in text
    assert ("    2016-04-20 MMR (CVX 03): not valid — given too soon: 19 days after dose 1 (2016-04-01); "
            "the minimum interval is 4 weeks - 4 days\n") in text
    assert ("    2016-05-20 MMR (CVX 03): not valid — live virus conflict: live_conflict(student, dose) holds "
            "(A live dose within 28 days after a different live vaccine)\n") in text
    assert "    2016-06-20 MMR (CVX 03): valid (dose 2)\n" in text
    assert "  Decided by: rule '2 doses Compliant' => Compliant\n" in text
    assert "    at least 2 valid doses: has 2 (2016-04-01, 2016-06-20)\n" in text


def test_extra_doses_and_a_complete_group_needs_nothing():
    text = explain([("2016-04-01", 3), ("2016-05-01", 3), ("2017-01-01", 3)], vaccine="MMR")
    assert ("    2017-01-01 MMR (CVX 03): not valid — an extra dose: the series (2 doses) was already complete\n"
            in text)
    assert "  Still needs: nothing.\n" in text
    assert "DTaP" not in text


def test_an_exemption_and_a_group_that_does_not_apply():
    text = explain([], [Exemption("S1", "MMR", "medical", date(2019, 1, 2))])
    assert "MMR (Measles, Mumps, Rubella): Exempt\n" in text
    assert "  Decided by: the student has a medical exemption dated 2019-01-02 => Exempt\n" in text
    assert ("  Decided by: the requirement does not apply to this student (needs grade in 01, is in grade KG) "
            "=> No Requirement\n") in text
    assert "    none on record by 2020-09-01\n" in text


def test_no_rule_matched_uses_the_default():
    text = explain([], student=Student("S1", date(2015, 3, 10), None), vaccine="DTaP")
    assert "  Decided by: no rule matched, so the group's default (otherwise) => Non-compliant\n" in text
    assert "  Rules that did not match:\n" in text
    assert "  Still needs: dose 1, can be given now, valid since 2015-04-17 (at age 6 weeks - 4 days).\n" in text


def test_a_dose_no_product_matches_is_listed_apart():
    text = explain([("2016-04-01", 3), ("2016-05-01", 999)])
    assert text.endswith("Doses not counted toward any group (no product declared in the ruleset matches them):\n"
                         "  2016-05-01 CVX 999 (dose record 2)\n")


def test_next_needs_earliest_date_is_the_latest_threshold():
    student = Student("S1", date(2020, 1, 15), None)
    evaluation = evaluate_student(RULESET, student, doses(("2020-03-01", 20)), [], date(2020, 3, 10))
    need = next_needs(RULESET, evaluation, student, date(2020, 3, 10))["DTaP"]
    # dose 2: 4 weeks - 4 days after 2020-03-01 = 2020-03-25 (no age minimum)
    assert (need.dose_number, need.earliest) == (2, date(2020, 3, 25))
    assert need.words == "dose 2, valid from 2020-03-25 (4 weeks - 4 days after dose 1 (2020-03-01))"


# ---- the command ------------------------------------------------------------------------------------


SCHEMA = """
CREATE TABLE students(student_id TEXT PRIMARY KEY, birth_date TEXT, grade TEXT NULL, attributes TEXT);
CREATE TABLE doses(dose_id INTEGER PRIMARY KEY, student_id TEXT, date TEXT, cvx INTEGER,
                   mvx TEXT NULL, product_name TEXT NULL, source TEXT, row INTEGER);
CREATE TABLE exemptions(student_id TEXT, vaccine TEXT, kind TEXT, date TEXT NULL);
"""


@pytest.fixture
def ruleset_file(write_file):
    return write_file("rules.vax", RULESET_TEXT)


@pytest.fixture
def fact_db(tmp_path):
    path = tmp_path / "facts.db"
    connection = sqlite3.connect(path)
    connection.executescript(SCHEMA)
    connection.execute("INSERT INTO students VALUES ('S1', '2015-03-10', 'KG', '{}')")
    connection.execute("INSERT INTO students VALUES ('S2', '2014-01-01', NULL, '{}')")
    connection.executemany("INSERT INTO doses VALUES (?, 'S1', ?, 20, NULL, NULL, 'doses.csv', ?)",
                           [(i, when, i + 1) for i, when in enumerate(DTAP, start=1)])
    connection.execute("INSERT INTO doses VALUES (9, 'S2', '2015-01-01', 3, NULL, NULL, 'doses.csv', 10)")
    connection.execute("INSERT INTO exemptions VALUES ('S1', 'MMR', 'conscientious', NULL)")
    connection.commit()
    connection.close()
    return path


def test_explain_from_a_fact_database(ruleset_file, fact_db, capsys):
    code = main(["explain", str(ruleset_file), "--db", str(fact_db), "--as-of", "2020-09-01", "S1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "'KG, 5 shots Compliant' did not apply: needs at least 5 valid doses, has 4" in out
    assert "Decided by: the student has a conscientious exemption => Exempt" in out


def test_explain_one_vaccine(ruleset_file, fact_db, capsys):
    code = main(["explain", str(ruleset_file), "--db", str(fact_db), "--as-of", "2020-09-01", "S1",
                 "--vaccine", "MMR"])
    out = capsys.readouterr().out
    assert code == 0 and "MMR (Measles" in out and "DTaP" not in out


def test_explain_an_unknown_student(ruleset_file, fact_db, capsys):
    code = main(["explain", str(ruleset_file), "--db", str(fact_db), "--as-of", "2020-09-01", "S404"])
    assert code == 1
    assert f"no student 'S404' in {fact_db}" in capsys.readouterr().err


def test_explain_an_unknown_vaccine_or_database(ruleset_file, fact_db, tmp_path, capsys):
    assert main(["explain", str(ruleset_file), "--db", str(fact_db), "--as-of", "2020-09-01", "S1",
                 "--vaccine", "Nope"]) != 0
    assert "no vaccine group 'Nope'" in capsys.readouterr().err
    assert main(["explain", str(ruleset_file), "--db", str(tmp_path / "none.db"), "--as-of", "2020-09-01",
                 "S1"]) != 0
    assert "no such fact database" in capsys.readouterr().err


def test_explain_needs_a_date(ruleset_file, fact_db, capsys):
    with pytest.raises(SystemExit):
        main(["explain", str(ruleset_file), "--db", str(fact_db), "--as-of", "2020-13-01", "S1"])
    assert "is not a date" in capsys.readouterr().err


def test_explain_from_fact_files(ruleset_file, write_file, capsys):
    write_file("facts/students.csv", "student_id,birth_date,grade\nS1,2015-03-10,K\n")
    write_file("facts/doses.csv", "student_id,date,cvx\n" + "".join(f"S1,{when},20\n" for when in DTAP))
    folder = ruleset_file.parent / "facts"
    code = main(["explain", str(ruleset_file), "--facts", str(folder), "--as-of", "2020-09-01", "S1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "grade KG" in out
    assert "'KG, 5 shots Compliant' did not apply: needs at least 5 valid doses, has 4" in out
    assert main(["explain", str(ruleset_file), "--facts", str(folder), "--as-of", "2020-09-01", "S9"]) == 1


def test_not_allowable_in_words():
    ruleset = load_text("""
        product A cvx 1 counts V
        product B cvx 2 counts V
        product C cvx 3 counts V
        product D cvx 4 counts V
        product E cvx 5 counts V
        product F cvx 6 counts V
        product G cvx 7 counts V
        vaccine V {
          series { dose 1 { allow A, B, C, D, E, F } dose 2 { allow A before age 1 year allow B from age 2 years } }
          otherwise non_compliant
        }
    """).ruleset
    student = Student("S1", date(2020, 1, 1), None)
    rows = [Dose(1, "S1", date(2020, 3, 1), 7), Dose(2, "S1", date(2020, 4, 1), 1), Dose(3, "S1", date(2021, 2, 1), 1)]
    evaluation = evaluate_student(ruleset, student, rows, [], date(2022, 1, 1))
    text = explain_text(evaluation, ruleset, student, date(2022, 1, 1))
    assert "not valid — G is not an allowed product for dose 1 (allowed: A, B, C, D, E and 1 more)" in text
    assert "2020-04-01 A (CVX 1): valid (dose 1)" in text
    assert ("not valid — A is allowed for dose 2 only before age 1 year (given at 1 year 1 month)" in text)
    # A was allowed only before age 1: at 2, only B is left.
    assert "Still needs: dose 2, which can be given now; allowed products: B." in text
    # At 1 year 5 months neither is allowed: A's window has closed and B's opens at 2 years.
    between = explain_text(evaluate_student(ruleset, student, rows, [], date(2021, 6, 1)), ruleset, student,
                           date(2021, 6, 1))
    assert ("Still needs: dose 2, valid from 2022-01-01 (when an allowed product's age window opens); "
            "allowed products: B.") in between


def test_an_earlier_rule_gives_its_first_failed_condition_and_counts_the_rest():
    ruleset = load_text('''
vaccine DTaP "DTaP" {
  rule "Grade 1 with 5 doses" => compliant when grade in 01 and at least 5 valid doses
  otherwise non_compliant
}
grades { KG "Kindergarten" 01 "Grade 1" }
product DTaP cvx 20 "DTaP" counts DTaP
''').ruleset
    evaluation = evaluate_student(ruleset, KID, doses(("2015-05-10", 20)), [], AS_OF)
    text = explain_text(evaluation, ruleset, KID, AS_OF)
    assert ("    'Grade 1 with 5 doses' did not apply: needs grade in 01, is in grade KG "
            "(and 1 more condition(s))\n") in text
