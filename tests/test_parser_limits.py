"""SQLite's parser limit: SQLite 3.40 parses at most 100 nested grammar states, and a fast-path walk
(a CASE tree per series, docs/performance.md) of a series with a few skips can nest deeper. The engine
then fits the walks to the parser (fewer skip events, more students left to the exact walk), and when
even that fails, walks every student exactly. The fast dose listing, whose reasons can nest deeper
than the walks, walks every student exactly when SQLite refuses it. Either way both engines agree.

The series below is the random series property's (test_engines_agree_random_rules), shrunk: four doses
and three ``skip when`` lines are enough.
"""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings

from vaxdsl import engine
from vaxdsl.compiler import compile_ruleset, fast_path
from vaxdsl.compiler.sql import sqlite_parses
from vaxdsl.interpreter import evaluate_student
from vaxdsl.loader import load_text
from vaxdsl.records import Dose, Student

from test_engines_agree import (EXAMPLES, FAVOURED, RULESETS, assert_agree, build_db, check_agreement, populations,
                                ruleset_named)

NEWER_SQLITE = sqlite3.sqlite_version_info >= (3, 46)  # grows its parser stack: nothing is too deep

SKIPPING = '''
product A1 cvx 10 "Alpha" counts Alpha
product A2 cvx 11 "Alpha Two" counts Alpha
product Combo cvx 12 "Combo" counts Alpha, Beta
vaccine Alpha {
  series {
    dose 1 { max age 30 days }
    dose 2 { skip when not age != 24 days }
    dose 3 {
      allow Combo, A2 before age 29 years
      skip when age in 8 months - 2 years .. 27 weeks
    }
    dose 4 recurring {
      min interval 25 days
      min interval 15 months - 2 years given before 2037-05-24
      allow Combo, A1 from age 22 days - 5 years before age 23 months
      skip when since dose 3 != 26 years or age in 9 weeks + 14 days .. 0 weeks - 4 days
    }
  }
  rule "done" => compliant when series complete
  otherwise non_compliant
}
vaccine Beta {
  otherwise no_requirement
}
'''

# the same series, its valid doses read by a predicate: the walk runs before the predicates (vx_fv)
READ_BY_A_PREDICATE = SKIPPING.replace('''vaccine Beta {
  otherwise no_requirement''', '''predicate alpha_late(S) :- valid(S, Alpha, D, N), N >= 2, dose(S, D, T, _), birth(S, B), T >= B + 2 years.
vaccine Beta {
  rule "late" => compliant when alpha_late(student)
  otherwise no_requirement''')

STUDENTS = [Student("S", date(2012, 7, 23)), Student("T", date(2015, 12, 29))]
DOSES = [Dose(1, "S", date(2012, 8, 1), 12), Dose(2, "S", date(2013, 4, 26), 11), Dose(3, "S", date(2013, 12, 6), 12),
         Dose(4, "S", date(2014, 1, 20), 10), Dose(5, "T", date(2016, 1, 10), 11), Dose(6, "T", date(2017, 8, 9), 12),
         Dose(7, "T", date(2017, 8, 12), 10), Dose(8, "T", date(2019, 12, 5), 12)]


def refused_statements(monkeypatch) -> list[str]:
    """The start of every statement SQLite refuses as too deep, as the engine runs."""
    refused = []
    original = engine.Prepared._execute

    def spying(self, sql, params):
        try:
            return original(self, sql, params)
        except engine.SqlTooDeep:
            refused.append(sql[:30])
            raise

    monkeypatch.setattr(engine.Prepared, "_execute", spying)
    return refused


def test_sqlite_parses_tells_a_tree_too_deep_for_the_parser():
    nested = "1"
    for depth in range(300):
        nested = f"(CASE WHEN a = {depth} THEN {nested} ELSE 0 END)"
    assert sqlite_parses("(CASE WHEN a THEN 1 ELSE 2 END)")
    assert sqlite_parses(nested) is NEWER_SQLITE


@pytest.mark.skipif(NEWER_SQLITE, reason="this SQLite grows its parser stack")
def test_fitting_a_walk_to_the_parser_follows_fewer_skips():
    compiled = compile_ruleset(load_text(SKIPPING).ruleset, date(2018, 4, 6))
    before = dict(compiled._fast_sql)
    assert not all(sqlite_parses(sql) for sql in before.values())
    compiled.fit_parser()
    assert compiled.fitted
    assert all(sqlite_parses(sql) for sql in compiled._fast_sql.values())
    changed = [v for v in before if compiled._fast_sql[v] != before[v]]
    assert changed and all(len(compiled._fast_sql[v]) < len(before[v]) for v in changed)


@pytest.mark.parametrize("text", [SKIPPING, READ_BY_A_PREDICATE], ids=["rules", "predicate"])
def test_a_walk_too_deep_for_sqlite_is_fitted_and_both_engines_agree(text, monkeypatch):
    refused = refused_statements(monkeypatch)
    ruleset = load_text(text).ruleset
    for as_of in (date(2014, 1, 1), date(2018, 4, 6), date(2040, 1, 1)):
        assert_agree(ruleset, STUDENTS, DOSES, [], as_of)
    table = "INSERT INTO vx_result" if text is SKIPPING else "INSERT INTO vx_fv"
    assert NEWER_SQLITE or (refused and all(sql.startswith(table) for sql in refused))
    check_agreement(ruleset)


@pytest.mark.skipif(NEWER_SQLITE, reason="this SQLite grows its parser stack")
@pytest.mark.parametrize("text", [SKIPPING, READ_BY_A_PREDICATE], ids=["rules", "predicate"])
def test_when_fitting_is_not_enough_every_student_takes_the_exact_walk(text, monkeypatch):
    """The last resort, reached here by a parser check that accepts every walk (fitting changes nothing)."""
    monkeypatch.setattr(fast_path, "sqlite_parses", lambda sql: True)
    refused = refused_statements(monkeypatch)
    ruleset = load_text(text).ruleset
    assert_agree(ruleset, STUDENTS, DOSES, [], date(2018, 4, 6))
    assert len(refused) >= 2  # before fitting and after: the fast path never ran
    check_agreement(ruleset)


# found by the random series property: the walks parse, the fast dose listing (its reasons) does not
LISTING_TOO_DEEP = '''
product A1 cvx 10 "Alpha" counts Alpha
product Combo cvx 12 "Combo" counts Alpha
vaccine Alpha {
  series "series 1" {
    dose 1 {
      max age 6 days - 28 days
      min interval 14 weeks + 24 weeks given before 2035-10-21
      min interval 8 months - 8 weeks given before 2034-02-10
      allow Combo, A1 from age 7 years
    }
    dose 2 {
      min age 16 years - 8 months
      min interval 24 weeks + 3 days given before 2037-01-08
      min interval 10 months + 30 days given from 2000-01-09
    }
  }
  series "series 2" { dose 1 { min age 1 year  allow A1  allow A1 before age 0 years } }
  series "series 3" { dose 1 { max age 4 years - 21 months } }
  otherwise non_compliant
}
'''


def test_a_dose_listing_too_deep_for_sqlite_takes_the_exact_walk(monkeypatch):
    """The listing then walks every student exactly: same verdicts."""
    refused = refused_statements(monkeypatch)
    students = [Student("S", date(2002, 1, 2)), Student("T", date(2010, 5, 1))]
    doses = [Dose(1, "S", date(2002, 1, 2), 12), Dose(2, "T", date(2011, 6, 1), 10), Dose(3, "T", date(2012, 1, 9), 12)]
    for as_of in (date(2002, 1, 2), date(2030, 1, 1)):
        assert_agree(load_text(LISTING_TOO_DEEP).ruleset, students, doses, [], as_of)
    assert NEWER_SQLITE or refused


FAST_PATH_STATEMENTS = ("INSERT INTO vx_result WITH", "INSERT INTO vx_fv WITH", "INSERT INTO vx_fd WITH")


@pytest.mark.parametrize("name", sorted(RULESETS))
def test_every_student_on_the_exact_walk_agrees(name, monkeypatch):
    """The last resort on every ruleset of test_engines_agree, Minnesota's included: SQLite made to
    refuse every statement of the fast path (the main statement, the fast path of ``valid``, the fast
    dose listing), so every student takes the exact walk, for outcomes and for doses."""
    monkeypatch.setattr(fast_path, "sqlite_parses", lambda sql: True)  # fitting changes nothing
    refused = []
    original = engine.Prepared._execute

    def refusing(self, sql, params):
        if sql.startswith(FAST_PATH_STATEMENTS):
            refused.append(sql.split(" WITH")[0])
            raise engine.SqlTooDeep("refused for the test")
        return original(self, sql, params)

    monkeypatch.setattr(engine.Prepared, "_execute", refusing)
    ruleset = ruleset_named(name)

    @settings(max_examples=max(EXAMPLES // 10, 5), deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(populations(ruleset, FAVOURED.get(name, ())))
    def check(population):
        assert_agree(ruleset, *population)

    check()
    assert {"INSERT INTO vx_result", "INSERT INTO vx_fd"} <= set(refused)


@pytest.mark.parametrize("text", [SKIPPING, READ_BY_A_PREDICATE], ids=["rules", "predicate"])
def test_a_dose_listing_alone_fits_the_walks_too(text):
    """``vaxdsl evaluate --doses`` runs the steps before the main statement (the fast path of ``valid``)
    without the group evaluation, so it fits the walks itself."""
    ruleset = load_text(text).ruleset
    conn = build_db(STUDENTS, DOSES, [])
    try:
        listed = list(engine.evaluate_doses(ruleset, conn, date(2018, 4, 6)))
    finally:
        conn.close()
    expected = [dose for student in STUDENTS
                for dose in evaluate_student(ruleset, student, [d for d in DOSES if d.student_id == student.id], [],
                                             date(2018, 4, 6)).doses]
    assert listed == expected
