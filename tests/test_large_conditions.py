"""Conditions far longer or deeper than anyone writes by hand (a generated ruleset may): both engines
evaluate them alike, and the SQL stays within SQLite's expression depth (1000)."""

from __future__ import annotations

from datetime import date

import pytest

from vaxdsl.loader import load_text
from vaxdsl.records import Dose, Student

from test_engines_agree import assert_agree

AS_OF = date(2026, 1, 1)
STUDENTS = [Student("young", date(2024, 6, 1), "KG"), Student("old", date(2010, 6, 1), "KG")]
DOSES = [Dose(1, "young", date(2024, 8, 1), 3), Dose(2, "old", date(2011, 7, 1), 3)]


def ruleset(condition: str):
    return load_text(f'''
product MMR cvx 3 "MMR" counts MMR
vaccine MMR {{
  rule "long" => compliant when {condition}
  otherwise non_compliant
}}''').ruleset


@pytest.mark.parametrize(("word", "count"), [("and", 2000), ("or", 2000)])
def test_a_chain_of_thousands_of_tests(word, count):
    tests = [f"age >= {days} days" for days in range(1, count + 1)]
    assert_agree(ruleset(f" {word} ".join(tests)), STUDENTS, DOSES, [], AS_OF)


def test_parentheses_hundreds_deep():
    assert_agree(ruleset("(" * 300 + "age >= 1 year and at least 1 valid dose" + ")" * 300), STUDENTS, DOSES, [], AS_OF)
