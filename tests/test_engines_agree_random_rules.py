"""The two engines agree on rule tables and series no one wrote: random rules (every kind of condition
from strategies.py, nested with and/or/not, random durations, tolerances and active windows) over
fixed products, series and grades; then random series as well (ages, intervals from any dose, given
windows, allowed products with age windows, skips, recurring last doses, start windows, ``only with``,
one to three series a group); then a group of random antigens with a random ``applies``. Each is
evaluated on a random population (test_engines_agree).

The hand-written rulesets of test_engines_agree exercise the conditions their authors thought of.
These properties found five faults, kept at the end as examples: an age in days or weeks alone
(``age >= 6 weeks``) did not compile; a dose 1 allowing no product of its group gave an empty CASE;
a dose listing too deep for SQLite's parser failed; ``only with`` in an antigen read different doses
in the two engines; an exemption kind listed twice. A group evaluation too deep for the parser is
tests/test_parser_limits.py's, as is the listing's example.
``VAXDSL_AGREE_EXAMPLES`` scales the number of examples as there.
"""

from __future__ import annotations

from datetime import date

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import strategies
from vaxdsl import ast
from vaxdsl.checker import check
from vaxdsl.formatter import format_ruleset
from vaxdsl.interpreter import evaluate_student
from vaxdsl.loader import load_text
from vaxdsl.records import Dose, Exemption, Student

from test_engines_agree import EXAMPLES, assert_agree, populations

PROPERTY = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])


BASE = '''
settings { tolerance 2 days  exemption lab_immunity => compliant }
grades {
  PK "Pre-K"  KG "Kindergarten"  01 "Grade 1"  07 "Grade 7"  12 "Grade 12"
  set primary = KG..01
}
product A1 cvx 10 "Alpha" counts Alpha
product A2 cvx 11 "Alpha Two" counts Alpha
product Combo cvx 12 "Combo" counts Alpha, Beta
product B1 cvx 20 "Beta" counts Beta

vaccine Alpha {
  series {
    dose 1 { min age 6 weeks - 4 days }
    dose 2 { min age 10 weeks - 4 days  min interval 4 weeks - 4 days }
    dose 3 { min age 4 years - 4 days  min interval 6 months - 4 days  allow A1, Combo }
  }
  otherwise non_compliant
}

vaccine Beta {
  otherwise no_requirement
}
'''
VOCABULARY = strategies.Vocabulary.of(products=["A1", "A2", "Combo", "B1"], grades=["PK", "KG", "01", "07", "12", "primary"])


def skip_conditions() -> st.SearchStrategy:
    """The tests a skip condition may hold (docs/semantics.md, "Skipping a series dose"), nested."""
    durations, refs, ops = strategies.durations(2), strategies.dose_refs(), st.sampled_from(strategies.COMPARISONS)
    products = st.lists(VOCABULARY.products, min_size=1, max_size=2).map(tuple)
    atoms = st.one_of(
        st.builds(ast.AgeCompare, ops, durations),
        st.builds(ast.AgeBetween, durations, durations),
        st.builds(ast.CountDoses, st.sampled_from(strategies.QUANTITY_OPS), st.integers(0, 4), st.booleans(),
                  st.just(()) | products, st.none() | strategies.age_filters()),
        st.builds(ast.DoseAge, refs, strategies.age_filters()),
        st.builds(ast.IntervalCompare, refs, refs, ops, durations),
        st.builds(ast.SinceDose, refs, ops, durations),
    )

    def extend(children):
        several = st.lists(children, min_size=2, max_size=3).map(tuple)
        return st.one_of(st.builds(ast.And, several), st.builds(ast.Or, several), st.builds(ast.Not, children))

    return st.recursive(atoms, extend, max_leaves=3)


@st.composite
def series_doses(draw, number: int, last: bool) -> ast.SeriesDose:
    durations = strategies.durations(2)
    earlier = st.builds(ast.DoseRef, st.just("nth"), st.integers(1, number - 1)) if number > 1 else st.nothing()
    interval = st.builds(ast.MinInterval, durations, st.none() | earlier, st.none() | strategies.given_windows())
    allow = st.builds(ast.Allow, st.lists(VOCABULARY.products, min_size=1, max_size=3).map(tuple),
                      st.none() | durations, st.none() | durations)
    skip = st.builds(ast.Skip, skip_conditions())
    inadvertent = st.builds(ast.Inadvertent, st.lists(VOCABULARY.products, min_size=1, max_size=2).map(tuple))
    return ast.SeriesDose(number, draw(strategies.min_ages()), draw(st.none() | durations),
                          tuple(draw(st.lists(interval, max_size=2))), tuple(draw(st.lists(allow, max_size=2))),
                          tuple(draw(st.lists(skip, max_size=2))) if number > 1 else (),
                          last and draw(st.booleans()), tuple(draw(st.lists(inadvertent, max_size=1))))


@st.composite
def random_series(draw, name: str, first: bool) -> ast.Series:
    count = draw(st.integers(1, 4))
    doses = tuple(draw(series_doses(number, number == count)) for number in range(1, count + 1))
    durations = strategies.durations(2)
    only_with = () if first else tuple(draw(st.lists(VOCABULARY.products, max_size=1)))
    # a reject that reads the walk itself (predicate rejects: test_engines_agree_random_predicates)
    after_not_valid = st.builds(ast.RejectAfterNotValid, st.sampled_from(["live_virus_conflict", "too_soon"]),
                                strategies.durations(2) | st.sampled_from([28, 30]).map(_days))
    rejects = tuple(draw(st.lists(after_not_valid, max_size=1)))
    return ast.Series(doses, rejects, name, draw(st.none() | durations), draw(st.none() | durations), only_with)


def _days(count: int) -> ast.Duration:
    return ast.Duration((ast.DurationPart(1, count, "days"),))


def _with(base, group: str, **changes):
    items = tuple(attrs.evolve(item, **changes) if isinstance(item, ast.Vaccine) and item.id == group else item
                  for item in base.items)
    loaded = load_text(format_ruleset(attrs.evolve(base, items=items)))
    assume(not any(diagnostic.is_error for diagnostic in check(loaded)))
    return loaded.ruleset


def _random_rules(draw):
    drawn = draw(st.lists(strategies.rules(VOCABULARY, with_calls=False), min_size=1, max_size=4))
    return tuple(attrs.evolve(rule, name=f"rule {number}") for number, rule in enumerate(drawn, start=1))


@st.composite
def rulesets_with_random_rules(draw):
    return _with(load_text(BASE).ruleset, draw(st.sampled_from(["Alpha", "Beta"])), rules=_random_rules(draw))


@st.composite
def rulesets_with_random_series(draw):
    count = draw(st.integers(1, 3))
    series = tuple(draw(random_series(f"series {number}" if count > 1 else "", number == 1))
                   for number in range(1, count + 1))
    return _with(load_text(BASE).ruleset, "Alpha", series=series, rules=_random_rules(draw))


@st.composite
def rulesets_with_random_antigens(draw):
    """Alpha as two or three antigens, each over some of its products with one or two random series,
    and a random ``applies`` condition."""
    antigens = []
    for number in range(1, draw(st.integers(2, 3)) + 1):
        products = tuple(draw(st.lists(st.sampled_from(["A1", "A2", "Combo"]), min_size=1, max_size=3, unique=True)))
        count = draw(st.integers(1, 2))
        series = tuple(draw(random_series(f"series {k}" if count > 1 else "", k == 1)) for k in range(1, count + 1))
        antigens.append(ast.Antigen(f"Antigen{number}", products, series))
    applies = draw(st.none() | strategies.conditions(VOCABULARY, max_leaves=3, with_calls=False))
    return _with(load_text(BASE).ruleset, "Alpha", series=(), antigens=tuple(antigens), applies=applies,
                 rules=_random_rules(draw))


@PROPERTY
@given(st.data())
def test_random_rules_agree(data):
    ruleset = data.draw(rulesets_with_random_rules())
    assert_agree(ruleset, *data.draw(populations(ruleset)))


@PROPERTY
@given(st.data())
def test_random_series_agree(data):
    ruleset = data.draw(rulesets_with_random_series())
    assert_agree(ruleset, *data.draw(populations(ruleset)))


@PROPERTY
@given(st.data())
def test_random_antigens_agree(data):
    ruleset = data.draw(rulesets_with_random_antigens())
    assert_agree(ruleset, *data.draw(populations(ruleset)))


# ---- what the properties found, kept as examples --------------------------------------------------------------

FOUND = '''
product A1 cvx 10 "Alpha" counts Alpha
product B1 cvx 20 "Beta" counts Beta
vaccine Alpha {
  series { %s }
  rule "six weeks" => in_process when age >= 6 weeks and age < 300 days
  rule "complete" => compliant when series complete
  otherwise non_compliant
}
'''


@pytest.mark.parametrize("series", ["dose 1 { allow B1 }", "dose 1 { allow B1 }  dose 2 { min age 5 days }",
                                    "dose 1 { min age 1 day }"])
def test_found_examples_agree(series):
    """An age in weeks alone did not compile (julianday(None)); a dose 1 allowing no product of its
    group gave an empty CASE in the fast path."""
    ruleset = load_text(FOUND % series).ruleset
    students = [Student("S", date(2016, 1, 2)), Student("T", date(2023, 9, 1))]
    doses = [Dose(1, "S", date(2016, 3, 6), 10), Dose(2, "S", date(2018, 2, 4), 10), Dose(3, "T", date(2023, 11, 1), 10)]
    for as_of in (date(2023, 10, 12), date(2023, 10, 13), date(2024, 3, 13)):
        assert_agree(ruleset, students, doses, [], as_of)


def test_an_exemption_kind_listed_twice_agrees():
    """``exempt (lab_immunity, medical, lab_immunity)`` summed the kinds' bits, so the SQL engine tested
    another kind (found by the antigens property, in an ``applies``)."""
    ruleset = load_text('''
product A1 cvx 10 "Alpha" counts Alpha
vaccine Alpha {
  applies when exempt (lab_immunity, medical, lab_immunity) or exempt (conscientious, conscientious)
  otherwise non_compliant
}
''').ruleset
    as_of = date(2023, 10, 12)
    kinds = {"L": "lab_immunity", "M": "medical", "C": "conscientious", "D": "disease_history"}
    students = [Student(sid, date(2016, 1, 2)) for sid in kinds]
    exemptions = [Exemption(sid, "Alpha", kind) for sid, kind in kinds.items()]
    assert_agree(ruleset, students, [], exemptions, as_of)
    statuses = {s.id: evaluate_student(ruleset, s, [], [e for e in exemptions if e.student_id == s.id], as_of)
                .groups[0].status for s in students}
    assert statuses == {"L": "exempt", "M": "exempt", "C": "exempt", "D": "no_requirement"}


ONLY_WITH_IN_ANTIGEN = '''
product A1 cvx 10 "Alpha" counts Alpha
product Combo cvx 12 "Combo" counts Alpha
vaccine Alpha {
  antigen First of A1 {
    series "late" { dose 1 { min age 10 years } }
    series "with combo" { only with Combo  dose 1 { } }
  }
  antigen Second of A1, Combo { series { dose 1 { } } }
  rule "done" => compliant when series complete
  otherwise non_compliant
}
'''


def test_only_with_counts_the_groups_doses_in_an_antigen_that_does_not_walk_them():
    """Found by the antigen property: the interpreter looked for the Combo dose among the antigen's own
    doses (never, as First does not walk Combo), the SQL engine among the group's."""
    ruleset = load_text(ONLY_WITH_IN_ANTIGEN).ruleset
    student = Student("S", date(2020, 1, 1))
    doses = [Dose(1, "S", date(2021, 1, 1), 10), Dose(2, "S", date(2021, 6, 1), 12)]
    assert_agree(ruleset, [student], doses, [], date(2022, 1, 1))
    group = next(g for g in evaluate_student(ruleset, student, doses, [], date(2022, 1, 1)).groups)
    assert group.status == "compliant"  # First takes "with combo", where the A1 dose is dose 1
