"""Antigens in the reference interpreter (docs/semantics.md, "Antigens"): each antigen walks the
doses of its own products, a dose is valid when every antigen walking it says so, and the group's
valid doses are the antigens' doses taken together."""

from datetime import date

from vaxdsl.interpreter import evaluate_student, explain_text, next_needs
from vaxdsl.loader import load_text
from vaxdsl.records import Dose, Student

RULESET_TEXT = """
product MMR cvx 03 "MMR" counts MMR
product MR cvx 04 "M/R" counts MMR
product Measles cvx 05 "measles" counts MMR
product Rubella cvx 06 "rubella" counts MMR
product Mumps cvx 07 "mumps" counts MMR
product Unlisted cvx 38 "rubella/mumps" counts MMR

vaccine MMR {
  antigen Measles of MMR, MR, Measles {
    series {
      dose 1 { min age 12 months - 4 days }
      dose 2 { min age 13 months - 4 days  min interval 4 weeks - 4 days }
    }
  }
  antigen Mumps of MMR, Mumps {
    series {
      dose 1 { min age 12 months - 4 days }
      dose 2 { min age 13 months - 4 days  min interval 4 weeks - 4 days }
    }
  }
  antigen Rubella of MMR, MR, Rubella {
    series {
      dose 1 { min age 12 months - 4 days }
      dose 2 { min age 13 months - 4 days  min interval 4 weeks - 4 days }
    }
  }
  rule "complete" => compliant
    when series complete and at least 2 valid doses
  rule "one dose" => in_process
    when exactly 1 valid dose and since last dose < 28 days
  rule "two MMR doses" => compliant
    when at least 2 valid doses of MMR
  otherwise non_compliant
}
"""
RULESET = load_text(RULESET_TEXT).ruleset
BIRTH = "2020-01-10"


def evaluate(rows, as_of="2030-01-01"):
    student = Student("S1", date.fromisoformat(BIRTH), "")
    doses = [Dose(i, "S1", date.fromisoformat(when), cvx) for i, (when, cvx) in enumerate(rows, start=1)]
    return student, evaluate_student(RULESET, student, doses, [], date.fromisoformat(as_of))


def verdicts(evaluation):
    return [(d.date.isoformat(), d.cvx, d.valid, d.reason, d.dose_number) for d in evaluation.doses]


def group(evaluation):
    return evaluation.groups[0]


def test_each_antigen_walks_only_the_doses_of_its_products():
    # A measles dose, then a mumps dose on the same day: each is dose 1 of its own antigen, not
    # dose 2 "too soon" after the other.
    _, evaluation = evaluate([("2021-02-01", 5), ("2021-02-01", 7), ("2021-02-01", 6)])
    assert verdicts(evaluation) == [("2021-02-01", 5, True, None, 1), ("2021-02-01", 7, True, None, 1),
                                    ("2021-02-01", 6, True, None, 1)]
    walk = group(evaluation).walk
    assert [(a.antigen.name, a.chosen.valid_count) for a in walk.antigens] == [("Measles", 1), ("Mumps", 1),
                                                                               ("Rubella", 1)]


def test_the_group_counts_the_doses_every_antigen_has():
    # Three single doses on one day are one group dose; the "one dose" rule sees exactly 1.
    _, evaluation = evaluate([("2021-02-01", 5), ("2021-02-01", 7), ("2021-02-01", 6)], as_of="2021-02-10")
    assert group(evaluation).walk.dose_dates == (date(2021, 2, 1),)
    assert (group(evaluation).status, group(evaluation).rule) == ("in_process", "one dose")


def test_group_dose_k_is_dated_when_the_last_antigen_got_its_kth_dose():
    # MMR, then measles 5 weeks later: measles has 2, mumps and rubella 1, so the group has 1 dose,
    # dated with the MMR.
    _, evaluation = evaluate([("2021-02-01", 3), ("2021-03-08", 5)], as_of="2021-03-20")
    assert group(evaluation).walk.dose_dates == (date(2021, 2, 1),)
    assert not group(evaluation).walk.complete
    # then mumps, then rubella: every antigen has its 2 doses; group dose 2 is the rubella day
    _, evaluation = evaluate([("2021-02-01", 3), ("2021-03-08", 5), ("2021-04-12", 7), ("2021-04-05", 6)],
                             as_of="2021-05-01")
    walk = group(evaluation).walk
    assert walk.dose_dates == (date(2021, 2, 1), date(2021, 4, 12))
    assert walk.complete
    assert (group(evaluation).status, group(evaluation).rule) == ("compliant", "complete")


def test_a_dose_is_valid_only_when_every_antigen_walking_it_says_so():
    # Measles at 13 months, then MMR 2 weeks later: for measles the MMR is too soon; for mumps and
    # rubella it is dose 1. The first antigen that finds it not valid gives the reason.
    _, evaluation = evaluate([("2021-02-10", 5), ("2021-02-24", 3)])
    assert verdicts(evaluation) == [("2021-02-10", 5, True, None, 1), ("2021-02-24", 3, False, "too_soon", None)]
    walk = group(evaluation).walk
    mumps = walk.antigens[1].chosen
    assert [v.valid for v in mumps.verdicts] == [True]  # the mumps walk counts the MMR
    # Every antigen has a valid dose 1 (measles the single, mumps and rubella the MMR), so the
    # group has one dose, dated when the last of them came.
    assert walk.dose_dates == (date(2021, 2, 24),)


def test_a_product_no_antigen_names_is_not_allowable():
    _, evaluation = evaluate([("2021-02-01", 38)])
    assert verdicts(evaluation) == [("2021-02-01", 38, False, "not_allowable", None)]


def test_a_dose_past_every_antigens_series_is_extraneous():
    # Two MMR doses complete every antigen; a third, measles-only dose is measles' extraneous dose 3.
    _, evaluation = evaluate([("2021-02-01", 3), ("2021-03-01", 3), ("2021-04-01", 5)])
    assert [v[2:4] for v in verdicts(evaluation)] == [(True, None), (True, None), (False, "extraneous")]
    assert (group(evaluation).status, group(evaluation).rule) == ("compliant", "complete")


COUNTS = load_text(RULESET_TEXT.split('  rule "complete"')[0] + """
  rule "two MMR doses" => compliant
    when at least 2 valid doses of MMR
  rule "two group doses" => in_process
    when at least 2 valid doses
  otherwise non_compliant
}
""").ruleset


def test_a_count_of_products_counts_the_doses_themselves():
    student = Student("S1", date.fromisoformat(BIRTH), "")

    def rule(rows):
        doses = [Dose(i, "S1", date.fromisoformat(when), cvx) for i, (when, cvx) in enumerate(rows, start=1)]
        return evaluate_student(COUNTS, student, doses, [], date(2030, 1, 1)).groups[0].rule

    # Measles, mumps and rubella singles twice: 2 group doses, but no dose of the MMR product.
    singles = [(day, cvx) for day in ("2021-02-01", "2021-03-01") for cvx in (5, 7, 6)]
    assert rule(singles) == "two group doses"
    assert rule([("2021-02-01", 3), ("2021-03-01", 3)]) == "two MMR doses"
    # Mumps alone twice: no measles or rubella dose, so no group dose, and no MMR dose.
    assert rule([("2021-02-01", 7), ("2021-03-01", 7)]) is None


def test_explain_names_each_antigens_series_and_needs_each_antigens_next_dose():
    student, evaluation = evaluate([("2021-02-01", 5), ("2021-02-01", 6)], as_of="2021-06-01")
    text = explain_text(evaluation, RULESET, student, date(2021, 6, 1))
    assert "Measles series: the series (not complete, 1 valid dose)" in text
    assert "Mumps series: the series (not complete, 0 valid doses)" in text
    need = next_needs(RULESET, evaluation, student, date(2021, 6, 1))["MMR"]
    assert need.words.startswith("Measles dose 2, ")
    assert "Mumps dose 1, " in need.words


def test_one_declared_antigen_still_reports_the_doses_it_does_not_walk():
    ruleset = load_text("""
product A cvx 1 "A" counts G
product B cvx 2 "B" counts G
vaccine G {
  antigen X of A { series { dose 1 { } dose 2 { } } }
  rule "two doses" => compliant when at least 2 doses
  otherwise non_compliant
}
""").ruleset
    student = Student("S1", date(2015, 1, 1), "")
    doses = [Dose(1, "S1", date(2016, 1, 1), 1), Dose(2, "S1", date(2016, 2, 1), 2)]
    evaluation = evaluate_student(ruleset, student, doses, [], date(2020, 1, 1))
    assert [(d.dose_id, d.valid, d.reason) for d in evaluation.doses] == [(1, True, None), (2, False, "not_allowable")]
    assert evaluation.groups[0].rule == "two doses"
