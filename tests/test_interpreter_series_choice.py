"""Several series per group, start windows and `skip when` in the reference interpreter
(docs/semantics.md, "Skipping a series dose" and "Choosing among series")."""

from datetime import date

from vaxdsl.interpreter import evaluate_student, explain_text, next_needs
from vaxdsl.loader import load_text
from vaxdsl.records import Dose, Student

RULESET_TEXT = """
product IPV cvx 10 "IPV" counts Polio
product PRP_T cvx 48 "ActHIB" counts Hib
product PRP_OMP cvx 49 "PedvaxHIB" counts Hib

vaccine Polio {
  series "Polio 4-dose" {
    dose 1 { min age 6 weeks - 4 days }
    dose 2 { min age 10 weeks - 4 days  min interval 4 weeks - 4 days }
    dose 3 {
      min age 14 weeks - 4 days
      min interval 4 weeks - 4 days
      skip when age >= 4 years
      skip when age >= 4 years - 4 days and since last dose >= 6 months - 4 days
    }
    dose 4 { min age 4 years - 4 days  min interval 6 months - 4 days }
  }
  series "Polio 5-dose" {
    dose 1 { min age 6 weeks - 4 days }
    dose 2 { min age 10 weeks - 4 days  min interval 4 weeks - 4 days }
    dose 3 {
      min age 14 weeks - 4 days
      min interval 4 weeks - 4 days
      skip when age >= 4 years
      skip when age >= 4 years - 4 days and since last dose >= 6 months - 4 days
    }
    dose 4 {
      skip when age >= 4 years
    }
    dose 5 { min age 4 years - 4 days  min interval 6 months - 4 days }
  }
  rule "complete" => compliant
    when at least 4 valid doses or (at least 3 valid doses and dose 3 at age >= 4 years - 4 days)
  otherwise non_compliant
}

vaccine Hib {
  series "Hib start at 2 months" {
    start before age 7 months - 4 days
    dose 1 { min age 6 weeks - 4 days }
    dose 2 { min interval 4 weeks - 4 days  skip when age >= 15 months - 4 days }
    dose 3 { min interval 4 weeks - 4 days  skip when age >= 12 months }
    dose 4 { min age 12 months - 4 days  min interval 8 weeks - 4 days }
  }
  series "Hib start at 15 months" {
    start from age 15 months - 4 days
    dose 1 { min age 15 months - 4 days }
  }
  series "Hib PRP-OMP" {
    dose 1 { min age 6 weeks - 4 days  allow PRP_OMP }
    dose 2 { min interval 4 weeks - 4 days  allow PRP_OMP }
    dose 3 { min age 12 months - 4 days  min interval 8 weeks - 4 days  allow PRP_OMP }
  }
  series "Hib skip by count" {
    start from age 20 years
    dose 1 { min age 20 years }
    dose 2 { min interval 4 weeks - 4 days  skip when at least 2 doses of PRP_OMP }
    dose 3 {}
  }
  rule "done" => compliant
    when at least 1 valid dose
  otherwise non_compliant
}
"""
RULESET = load_text(RULESET_TEXT).ruleset


# born 2016-01-10: dose 3 on the 4th birthday, 3 months after dose 2
LATE_THIRD = [("2016-03-10", 10), ("2019-10-10", 10), ("2020-01-10", 10)]


def evaluate(birth: str, rows, as_of="2030-01-01"):
    student = Student("S1", date.fromisoformat(birth), "")
    doses = [Dose(i, "S1", date.fromisoformat(when), cvx) for i, (when, cvx) in enumerate(rows, start=1)]
    return student, evaluate_student(RULESET, student, doses, [], date.fromisoformat(as_of))


def verdicts(evaluation, group):
    return [(d.date.isoformat(), d.valid, d.reason, d.dose_number) for d in evaluation.doses if d.vaccine == group]


def group(evaluation, vaccine):
    return next(g for g in evaluation.groups if g.vaccine == vaccine)


def test_a_skipped_target_judges_the_dose_as_the_next_series_dose():
    # Dose 3 on the 4th birthday, 3 months after dose 2: dose 3 is not required ("age >= 4 years"),
    # so the dose is judged as dose 4 and is too soon (6 months - 4 days after dose 2).
    _, evaluation = evaluate("2016-01-10", LATE_THIRD)
    assert verdicts(evaluation, "Polio") == [("2016-03-10", True, None, 1), ("2019-10-10", True, None, 2),
                                             ("2020-01-10", False, "too_soon", None)]
    chosen = group(evaluation, "Polio").walk.chosen
    assert [(v.target, v.valid) for v in chosen.verdicts] == [(1, True), (2, True), (4, False)]
    assert chosen.next_target == 4  # the skip stays taken


def test_dose_3_at_four_more_than_six_months_after_dose_2_completes_the_series():
    _, evaluation = evaluate("2016-01-10", [("2016-03-10", 10), ("2016-05-10", 10), ("2020-01-08", 10)])
    assert [v[1] for v in verdicts(evaluation, "Polio")] == [True, True, True]
    assert group(evaluation, "Polio").walk.chosen.series.name == "Polio 4-dose"
    assert group(evaluation, "Polio").walk.chosen.complete
    assert group(evaluation, "Polio").status == "compliant"


def test_the_skip_tests_the_age_at_the_dose_being_judged_with_a_four_day_grace_on_the_interval_set():
    # 4 years - 5 days: neither skip line holds; judged as dose 3, valid (4 weeks after dose 2).
    _, evaluation = evaluate("2016-01-10", [("2016-03-10", 10), ("2016-05-10", 10), ("2020-01-05", 10)])
    chosen = group(evaluation, "Polio").walk.chosen
    assert chosen.skipped == ()
    assert chosen.next_target == 4


def test_the_series_with_more_valid_doses_is_chosen_when_none_is_complete():
    # Dose 4 at 18 months: too young in the 4-dose series, valid in the 5-dose series (dose 4 has
    # no minimum there).
    _, evaluation = evaluate("2016-01-10", [("2016-03-10", 10), ("2016-05-10", 10), ("2016-07-10", 10),
                                            ("2017-07-10", 10)], as_of="2018-01-01")
    walk = group(evaluation, "Polio").walk
    assert walk.chosen.series.name == "Polio 5-dose"
    assert [w.valid_count for w in walk.walks] == [3, 4]
    assert verdicts(evaluation, "Polio")[3] == ("2017-07-10", True, None, 4)


def test_ties_go_to_the_first_declared_series():
    _, evaluation = evaluate("2016-01-10", [("2016-03-10", 10), ("2016-05-10", 10), ("2016-07-10", 10),
                                            ("2020-02-10", 10)])
    walk = group(evaluation, "Polio").walk
    assert [(w.complete, w.valid_count) for w in walk.walks] == [(True, 4), (True, 4)]
    assert walk.chosen.series.name == "Polio 4-dose"
    # the 5-dose series skipped its dose 4 for the dose at 4 years
    assert [s.number for s in walk.walks[1].skipped] == [4]


def test_the_start_window_is_read_at_the_first_valid_dose():
    # First dose at 15 months: only "start at 15 months" and PRP-OMP may start; the one dose
    # completes the 1-dose series, so the 2-year dose is extraneous.
    _, evaluation = evaluate("2022-01-10", [("2023-04-10", 48), ("2024-01-10", 48)])
    walk = group(evaluation, "Hib").walk
    assert [w.candidate for w in walk.walks] == [False, True, True, False]
    assert walk.chosen.series.name == "Hib start at 15 months"
    assert verdicts(evaluation, "Hib") == [("2023-04-10", True, None, 1), ("2024-01-10", False, "extraneous", None)]


def test_a_complete_series_beats_one_with_more_valid_doses():
    # PRP-OMP at 2, 4 and 12 months completes the 3-dose PRP-OMP series; the 2-month series counts
    # the same three doses valid but still needs dose 4 (dose 3 at 12 months is skipped).
    _, evaluation = evaluate("2022-01-10", [("2022-03-10", 49), ("2022-05-10", 49), ("2023-01-10", 49)])
    walk = group(evaluation, "Hib").walk
    assert walk.walks[0].complete  # dose 3 skipped at 12 months, the dose counts as dose 4
    assert walk.chosen.series.name == "Hib start at 2 months"


def test_when_no_series_may_start_every_series_competes():
    _, evaluation = evaluate("2022-01-10", [], as_of="2022-11-01")  # 9 months old, no doses
    walk = group(evaluation, "Hib").walk
    assert [w.candidate for w in walk.walks] == [False, False, True, False]
    assert walk.chosen.series.name == "Hib PRP-OMP"
    _, newborn = evaluate("2022-01-10", [], as_of="2022-02-01")
    assert group(newborn, "Hib").walk.chosen.series.name == "Hib start at 2 months"


def test_a_skip_may_count_every_earlier_dose_of_a_product_valid_or_not():
    # The first PRP-OMP dose is too young for the adult series, the second is its dose 1; the
    # next day's dose would be too soon as dose 2, but two PRP-OMP doses came before it (valid or
    # not), so dose 2 is not required and it counts as dose 3.
    _, evaluation = evaluate("2000-01-10", [("2019-12-10", 49), ("2020-02-10", 49), ("2020-02-11", 48)])
    adult = group(evaluation, "Hib").walk.walks[3]
    assert adult.candidate
    assert [(v.valid, v.reason, v.target) for v in adult.verdicts] == [
        (False, "too_young", 1), (True, None, 1), (True, None, 3)]
    assert [s.number for s in adult.skipped] == [2]
    assert adult.complete and adult.valid_count == 2


def test_the_explanation_names_the_series_and_the_skipped_doses():
    student, evaluation = evaluate("2016-01-10", LATE_THIRD)
    text = explain_text(evaluation, RULESET, student, date(2030, 1, 1), vaccine="Polio")
    assert "Series: 'Polio 4-dose' (not complete, 2 valid doses), chosen over 'Polio 5-dose'" in text
    assert "Series dose 3 not required: age >= 4 years held for the dose of 2020-01-10" in text
    assert "given too soon: 3 months after dose 2 (2019-10-10); the minimum interval is 6 months - 4 days" in text


def test_what_is_still_needed_follows_the_chosen_series_past_its_skips():
    student, evaluation = evaluate("2016-01-10", LATE_THIRD, as_of="2020-02-01")
    need = next_needs(RULESET, evaluation, student, date(2020, 2, 1))["Polio"]
    assert need.dose_number == 4
    # 6 months - 4 days after the dose given too soon (2020-01-10), which sets the clock
    assert need.earliest == date(2020, 7, 6)
    assert "6 months - 4 days after the previous dose (not valid) (2020-01-10)" in need.words


def test_series_complete_is_the_chosen_series_being_complete():
    ruleset = load_text(RULESET_TEXT.replace(
        'rule "complete" => compliant\n    when at least 4 valid doses or (at least 3 valid doses and dose 3 at age >= 4 years - 4 days)',
        'rule "complete" => compliant\n    when series complete')).ruleset
    student = Student("S1", date(2016, 1, 10), "")

    def status(rows):
        doses = [Dose(i, "S1", date.fromisoformat(when), 10) for i, when in enumerate(rows, start=1)]
        evaluation = evaluate_student(ruleset, student, doses, [], date(2021, 1, 1))
        return group(evaluation, "Polio").status

    assert status(["2016-03-10", "2016-05-10", "2020-01-08"]) == "compliant"  # dose 3 skipped at 4 years
    assert status(["2016-03-10", "2016-05-10", "2016-07-10"]) == "non_compliant"
    assert status(["2016-03-10", "2016-05-10", "2016-07-10", "2020-02-10"]) == "compliant"


def test_series_complete_never_holds_without_a_series_and_the_checker_says_so():
    from vaxdsl.checker import check

    loaded = load_text('product P cvx 1 counts V\nvaccine V {\n  rule "r" => compliant when series complete\n'
                       '  otherwise non_compliant\n}\n')
    assert [(d.code, d.line) for d in check(loaded)] == [("W205", 3)]
    student = Student("S1", date(2016, 1, 10), "")
    evaluation = evaluate_student(loaded.ruleset, student, [Dose(1, "S1", date(2017, 1, 1), 1)], [], date(2020, 1, 1))
    assert evaluation.groups[0].status == "non_compliant"
