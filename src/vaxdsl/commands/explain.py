"""Explain one student's immunization status in plain words.

For each vaccine group: the student's doses, each valid or not and why ("given before the minimum
age of 12 months - 4 days (at 11 months 20 days)"), the rule that decided the group, the rules
before it that did not match and why ("needs at least 5 valid doses, has 4"), and what the student
still needs: the next dose of the series and the earliest date it would be valid.

The facts come from a fact folder (--facts: students, doses and exemptions files, CSV or JSONL)
or from a fact database (--db, an SQLite file with the schema in vaxdsl.records).

Exit status: 0 when the student was explained, 1 when there is no such student.

example:
  vaxdsl explain minnesota --facts facts/ --as-of 2024-09-03 S1001
  vaxdsl explain rulesets/example-district.vax --db facts.db --as-of 2024-09-03 S1001 --vaccine DTaP
"""

from __future__ import annotations

import sqlite3
import sys
from datetime import date
from pathlib import Path

from ..errors import VaxError
from ..interpreter import evaluate_student, explain_text
from ..records import Dose, Exemption, Student
from ._common import add_fact_source, iso_date, load_checked

NAME = "explain"
HELP = "explain one student's status, dose by dose and rule by rule"


def configure(parser):
    parser.add_argument("ruleset", metavar="RULESET", help="ruleset file or bundled ruleset name")
    add_fact_source(parser)
    parser.add_argument("--as-of", required=True, type=iso_date, metavar="YYYY-MM-DD",
                        help="the effective date the status is computed for")
    parser.add_argument("student", metavar="STUDENT_ID", help="the student to explain")
    parser.add_argument("--vaccine", metavar="V", help="explain only this vaccine group")


def run(args) -> int:
    ruleset = load_checked(args.ruleset).ruleset
    groups = [vaccine.id for vaccine in ruleset.vaccines]
    if args.vaccine is not None and args.vaccine not in groups:
        raise VaxError(f"no vaccine group '{args.vaccine}' in the ruleset (groups: {', '.join(groups)})")
    found = read_from_db(Path(args.db), args.student) if args.db else read_from_folder(Path(args.facts), args.student)
    if found is None:
        where = args.db or args.facts
        print(f"vaxdsl: error: no student '{args.student}' in {where}", file=sys.stderr)
        return 1
    student, doses, exemptions = found
    evaluation = evaluate_student(ruleset, student, doses, exemptions, args.as_of)
    print(explain_text(evaluation, ruleset, student, args.as_of, vaccine=args.vaccine), end="")
    return 0


# ---- reading one student's facts ------------------------------------------------------------------


def read_from_folder(folder: Path, student_id: str):
    """(student, doses, exemptions) from a fact folder, or None; skipped rows are noted on stderr."""
    from ..facts import read_fact_dir

    facts = read_fact_dir(folder)
    if facts.problems:
        first = facts.problems[0]
        print(f"note: {len(facts.problems)} row(s) of the fact files could not be used and were skipped "
              f"(first: {first})", file=sys.stderr)
    student = next((s for s in facts.students if s.id == student_id), None)
    if student is None:
        return None
    doses = [dose for dose in facts.doses if dose.student_id == student_id]
    exemptions = [e for e in facts.exemptions if e.student_id == student_id]
    return student, doses, exemptions


def read_from_db(path: Path, student_id: str):
    """(student, doses, exemptions) from a fact database (schema in :mod:`vaxdsl.records`), or None."""
    if not path.is_file():
        raise VaxError(f"{path}: no such fact database")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = connection.execute("SELECT student_id, birth_date, grade FROM students WHERE student_id = ?",
                                     (student_id,)).fetchone()
            if row is None:
                return None
            student = Student(row[0], _db_date(row[1], path), row[2] or None)
            doses = [
                Dose(int(dose_id), sid, _db_date(when, path), int(cvx or 0), mvx or None, product_name or None)
                for dose_id, sid, when, cvx, mvx, product_name in connection.execute(
                    "SELECT dose_id, student_id, date, cvx, mvx, product_name FROM doses WHERE student_id = ?",
                    (student_id,))
            ]
            exemptions = [
                Exemption(sid, vaccine, kind, _db_date(when, path) if when else None)
                for sid, vaccine, kind, when in connection.execute(
                    "SELECT student_id, vaccine, kind, date FROM exemptions WHERE student_id = ?", (student_id,))
            ]
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise VaxError(f"{path}: not a usable fact database ({error})") from None
    return student, doses, exemptions


def _db_date(text, path: Path) -> date:
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise VaxError(f"{path}: '{text}' is not a date (YYYY-MM-DD)") from None
