"""Formatting keeps the meaning: parse(format(tree)) == tree, format is idempotent, over generated
trees and every bundled ruleset (``rulesets/*.vax`` as it is when the tests run)."""

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies import Vocabulary, antigens, commented_texts, conditions, literals, rulesets, series
from vaxdsl import ast
from vaxdsl.formatter import format_ruleset, format_source
from vaxdsl.parser import parse, parse_with_comments

RULESETS = Path(__file__).resolve().parents[1] / "rulesets"
BUNDLED = sorted(RULESETS.glob("*.vax"))
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SMALLER = settings(PROPERTY, max_examples=80)


@PROPERTY
@given(rulesets())
def test_a_generated_tree_survives_format_then_parse(tree):
    text = format_ruleset(tree)
    assert parse(text) == tree
    assert format_source(text) == text  # the text format_ruleset writes is already canonical


@PROPERTY
@given(conditions(max_leaves=25))
def test_every_nesting_of_conditions_survives(condition):
    tree = ast.Ruleset((ast.Vaccine("A", applies=condition, rules=(ast.Rule("r", "compliant", condition),)),))
    assert parse(format_ruleset(tree)) == tree


@SMALLER
@given(st.lists(literals(), min_size=1, max_size=12))
def test_every_predicate_body_survives(body):
    tree = ast.Ruleset((ast.PredicateClause("p", ("S",), tuple(body)),))
    assert parse(format_ruleset(tree)) == tree


@SMALLER
@given(series())
def test_every_series_survives(generated):
    tree = ast.Ruleset((ast.Vaccine("A", series=(generated,)),))
    assert parse(format_ruleset(tree)) == tree


@SMALLER
@given(antigens())
def test_every_antigen_survives(generated):
    tree = ast.Ruleset((ast.Vaccine("A", antigens=(generated,)),))
    assert parse(format_ruleset(tree)) == tree


@SMALLER
@given(rulesets())
def test_format_source_is_idempotent_on_any_layout(tree):
    """Start from a squashed layout (everything on as few lines as the syntax allows)."""
    squashed = _squash(format_ruleset(tree))
    once = format_source(squashed)
    assert format_source(once) == once
    assert parse(once) == tree


def _squash(text: str) -> str:
    """Join lines, except inside doc strings (where line breaks are part of the text)."""
    out, inside = [], False
    for line in text.split("\n"):
        count = line.count('"""')
        stripped = line.strip()
        if inside or count % 2:
            out.append("\n" + line)
        else:
            out.append(" " + stripped)
        if count % 2:
            inside = not inside
    return "".join(out)


def test_bundled_rulesets_exist():
    assert BUNDLED, f"no rulesets in {RULESETS}"


@pytest.mark.parametrize("path", BUNDLED, ids=lambda path: path.name)
def test_bundled_ruleset_round_trips(path):
    text = path.read_text(encoding="utf-8")
    once = format_source(text, str(path))
    assert parse(once) == parse(text)
    assert format_source(once) == once
    before = Counter(c.text for c in parse_with_comments(text).comments)
    assert Counter(c.text for c in parse_with_comments(once).comments) == before


@pytest.mark.parametrize("path", BUNDLED, ids=lambda path: path.name)
def test_bundled_ruleset_tree_round_trips_without_comments(path):
    tree = parse(path.read_text(encoding="utf-8"))
    assert parse(format_ruleset(tree)) == tree


@pytest.mark.skipif(not BUNDLED, reason="no bundled rulesets")
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_bundled_rulesets_with_more_comments(data):
    path = data.draw(st.sampled_from(BUNDLED))
    text, added = data.draw(commented_texts(st.just(path.read_text(encoding="utf-8"))))
    once = format_source(text)
    before, after = parse_with_comments(text), parse_with_comments(once)
    assert Counter(c.text for c in after.comments) == Counter(c.text for c in before.comments)
    assert after.ruleset == before.ruleset
    assert format_source(once) == once


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rulesets(Vocabulary.of(vaccines=["HepB", "MMR"], products=["Engerix"], grades=["KG", "01"])))
def test_a_narrowed_vocabulary_round_trips_and_uses_only_its_names(tree):
    assert parse(format_ruleset(tree)) == tree
    for vaccine in tree.vaccines:
        assert vaccine.id in ("HepB", "MMR")
        for rule in vaccine.rules:
            assert rule.outcome in ast.OUTCOMES
    for product in tree.products:
        assert product.id == "Engerix" and set(product.vaccines) <= {"HepB", "MMR"}
