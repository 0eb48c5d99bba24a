"""The two engines agree on rule tables no one wrote: random rules (every kind of condition from
strategies.py, nested with and/or/not, random durations, tolerances and active windows) over fixed
products, series and grades, each evaluated on a random population (test_engines_agree).

The hand-written rulesets of test_engines_agree exercise the conditions their authors thought of;
this one found that an age in days or weeks alone (``age >= 6 weeks``) did not compile.
``VAXDSL_AGREE_EXAMPLES`` scales the number of examples as there.
"""

from __future__ import annotations

import attrs
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import strategies
from vaxdsl import ast
from vaxdsl.checker import check
from vaxdsl.formatter import format_ruleset
from vaxdsl.loader import load_text

from test_engines_agree import EXAMPLES, assert_agree, populations

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


@st.composite
def rulesets_with_random_rules(draw):
    base = load_text(BASE).ruleset
    drawn = draw(st.lists(strategies.rules(VOCABULARY, with_calls=False), min_size=1, max_size=4))
    rules = tuple(attrs.evolve(rule, name=f"rule {number}") for number, rule in enumerate(drawn, start=1))
    group = draw(st.sampled_from(["Alpha", "Beta"]))
    items = tuple(attrs.evolve(item, rules=rules) if isinstance(item, ast.Vaccine) and item.id == group else item
                  for item in base.items)
    loaded = load_text(format_ruleset(attrs.evolve(base, items=items)))
    assume(not any(diagnostic.is_error for diagnostic in check(loaded)))
    return loaded.ruleset


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(st.data())
def test_random_rules_agree(data):
    ruleset = data.draw(rulesets_with_random_rules())
    assert_agree(ruleset, *data.draw(populations(ruleset)))
