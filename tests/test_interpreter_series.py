"""The series walk: which doses are valid, and the reason for each one that is not."""

from datetime import date, timedelta

import pytest

from vaxdsl.interpreter import evaluate_student
from vaxdsl.loader import load_text
from vaxdsl.records import Dose, Student
from vaxdsl.results import DoseEvaluation

RULESET = load_text("""
product MMR cvx 03 "MMR" live counts MMR
product MMRV cvx 94 "MMRV" live counts MMR, Varicella
product VAR cvx 21 "Varicella" live counts Varicella
product DTaP cvx 20 "DTaP" counts DTaP
product Td cvx 09 "Td" counts DTaP
product HepB cvx 08 "HepB" counts HepB
product HepA cvx 83 "HepA" counts HepA

predicate live_conflict(S, D)
  \"\"\"A live dose within 28 days after a different live vaccine.\"\"\"
  :- dose(S, D, Date, P), live(P), dose(S, E, Before, Q), live(Q), P != Q,
     Before < Date, Date < Before + 28 days.

vaccine MMR {
  series {
    dose 1 { min age 12 months - 4 days allow MMR, MMRV before age 13 years }
    dose 2 { min interval 4 weeks - 4 days }
    reject live_virus_conflict when live_conflict(student, dose)
  }
  otherwise compliant
}
vaccine Varicella {
  series {
    dose 1 { min age 12 months - 4 days }
    dose 2 { min interval 12 weeks - 4 days }
    reject live_virus_conflict when live_conflict(student, dose)
  }
  otherwise compliant
}
vaccine DTaP {
  series {
    dose 1 { min age 6 weeks - 4 days max age 7 years allow DTaP }
    dose 2 { min interval 4 weeks - 4 days }
  }
  otherwise compliant
}
vaccine HepB {
  series {
    dose 1 { }
    dose 2 { min interval 4 weeks - 4 days }
    dose 3 { min age 24 weeks - 4 days min interval 8 weeks - 4 days min interval 16 weeks - 4 days from dose 1 }
  }
  otherwise compliant
}
vaccine HepA { otherwise compliant }
vaccine PCV { series { dose 1 { min interval 1 year from dose 1 } } otherwise compliant }
product PCV13 cvx 133 "PCV13" counts PCV
""").ruleset

BIRTH = date(2020, 1, 15)
AS_OF = date(2030, 1, 1)


def evaluate(*doses, birth=BIRTH, as_of=AS_OF):
    student = Student("S", birth, None)
    records = [Dose(number, "S", date.fromisoformat(when), cvx) for number, (when, cvx) in enumerate(doses, start=1)]
    return evaluate_student(RULESET, student, records, [], as_of)


def walk(group: str, *doses, **kwargs) -> list[tuple]:
    """(date, valid, reason, dose number) of each dose in ``group``."""
    return [(d.date.isoformat(), d.valid, d.reason, d.dose_number) for d in evaluate(*doses, **kwargs).doses
            if d.vaccine == group]


# MMR dose 1: min age 12 months - 4 days; the first birthday is 2021-01-15.
@pytest.mark.parametrize("days_before_first_birthday, valid", [(5, False), (4, True), (3, True), (0, True)])
def test_too_young_at_the_four_day_grace_boundary(days_before_first_birthday, valid):
    given = (date(2021, 1, 15) - timedelta(days=days_before_first_birthday)).isoformat()
    assert walk("MMR", (given, 3)) == [(given, valid, None if valid else "too_young", 1 if valid else None)]


def test_the_next_try_counts_from_the_dose_given_too_soon():
    # 23 days after dose 1 is too soon (4 weeks - 4 days = 24 days); the next try is measured from that
    # dose, not from dose 1 (docs/semantics.md, step 2): a day later is too soon, 24 days later valid.
    assert walk("MMR", ("2021-02-01", 3), ("2021-02-24", 3), ("2021-02-25", 3), ("2021-03-21", 3)) == [
        ("2021-02-01", True, None, 1),
        ("2021-02-24", False, "too_soon", None),
        ("2021-02-25", False, "too_soon", None),
        ("2021-03-21", True, None, 2),
    ]


def test_an_invalid_dose_is_no_anchor_for_the_next_interval():
    # dose 1 too young; the next dose is judged as dose 1 again (no interval to meet)
    assert walk("MMR", ("2020-06-01", 3), ("2021-02-01", 3)) == [
        ("2020-06-01", False, "too_young", None), ("2021-02-01", True, None, 1)]


def test_too_old_is_on_or_after_the_maximum_age():
    # DTaP dose 1: max age 7 years, born 2015-06-01 -> too old from 2022-06-01
    assert walk("DTaP", ("2022-05-31", 20), birth=date(2015, 6, 1)) == [("2022-05-31", True, None, 1)]
    assert walk("DTaP", ("2022-06-01", 20), birth=date(2015, 6, 1)) == [("2022-06-01", False, "too_old", None)]


def test_not_allowable_product_or_outside_its_age_window():
    assert walk("DTaP", ("2020-04-01", 9)) == [("2020-04-01", False, "not_allowable", None)]
    # dose 2 lists no products: anything counting toward DTaP goes
    assert walk("DTaP", ("2020-04-01", 20), ("2020-05-01", 9)) == [
        ("2020-04-01", True, None, 1), ("2020-05-01", True, None, 2)]
    # MMR dose 1 is allowed only before age 13 years (2033-01-15)
    assert walk("MMR", ("2033-01-14", 3), as_of=date(2040, 1, 1)) == [("2033-01-14", True, None, 1)]
    assert walk("MMR", ("2033-01-15", 3), as_of=date(2040, 1, 1)) == [("2033-01-15", False, "not_allowable", None)]


def test_extraneous_once_the_series_is_complete():
    assert walk("MMR", ("2021-02-01", 3), ("2021-03-01", 3), ("2021-04-01", 3)) == [
        ("2021-02-01", True, None, 1), ("2021-03-01", True, None, 2), ("2021-04-01", False, "extraneous", None)]


def test_live_virus_conflict_from_a_reject_predicate():
    # Varicella 2021-03-01; MMR 19 days later conflicts; an MMR the same day or 28 days later does not.
    assert walk("MMR", ("2021-03-01", 21), ("2021-03-20", 3)) == [("2021-03-20", False, "live_virus_conflict", None)]
    assert walk("MMR", ("2021-03-01", 21), ("2021-03-01", 3)) == [("2021-03-01", True, None, 1)]
    assert walk("MMR", ("2021-03-01", 21), ("2021-03-29", 3)) == [("2021-03-29", True, None, 1)]
    # the Varicella dose itself came first: no conflict for it
    assert walk("Varicella", ("2021-03-01", 21), ("2021-03-20", 3)) == [("2021-03-01", True, None, 1)]


def test_the_first_failing_step_gives_the_reason():
    # too young and not allowable (MMRV is allowed, VAR is not an MMR product at all here): age first
    assert walk("DTaP", ("2020-01-20", 9)) == [("2020-01-20", False, "too_young", None)]
    # rejected and not allowable at once: reject (step 5) before allow (step 6)
    assert walk("MMR", ("2033-02-01", 21), ("2033-02-10", 3), as_of=date(2040, 1, 1)) == [
        ("2033-02-10", False, "live_virus_conflict", None)]


def test_an_interval_from_a_named_dose_and_one_without_its_anchor():
    # HepB dose 3: 24 weeks - 4 days of age, 8 weeks - 4 days after dose 2, 16 weeks - 4 days after dose 1
    doses = [("2020-01-20", 8), ("2020-02-20", 8)]
    # too young, and a day short of the interval from dose 1 (2020-05-07): the interval is judged first
    assert walk("HepB", *doses, ("2020-05-06", 8))[-1] == ("2020-05-06", False, "too_soon", None)
    # 24 weeks after 2020-01-15 is 2020-07-01, less 4 days 2020-06-27; the intervals (to 2020-05-07 from
    # dose 1 and 2020-04-12 from dose 2) are met by then
    assert walk("HepB", *doses, ("2020-06-26", 8))[-1] == ("2020-06-26", False, "too_young", None)
    assert walk("HepB", *doses, ("2020-06-27", 8))[-1] == ("2020-06-27", True, None, 3)
    late_dose_2 = [("2020-01-20", 8), ("2020-05-20", 8)]
    # 8 weeks - 4 days after 2020-05-20 is 2020-07-11
    assert walk("HepB", *late_dose_2, ("2020-07-10", 8))[-1] == ("2020-07-10", False, "too_soon", None)
    assert walk("HepB", *late_dose_2, ("2020-07-11", 8))[-1] == ("2020-07-11", True, None, 3)
    # an interval whose anchor does not exist yet is skipped
    assert walk("PCV", ("2020-03-01", 133)) == [("2020-03-01", True, None, 1)]


def test_a_group_without_a_series_counts_every_dose():
    assert walk("HepA", ("2020-01-16", 83), ("2020-01-17", 83)) == [
        ("2020-01-16", True, None, 1), ("2020-01-17", True, None, 2)]


def test_one_dose_in_several_groups():
    result = evaluate(("2021-02-01", 94))
    assert [(d.vaccine, d.product, d.valid, d.dose_number) for d in result.doses] == [
        ("MMR", "MMRV", True, 1), ("Varicella", "MMRV", True, 1)]


def test_doses_after_the_effective_date_are_not_known_yet():
    assert walk("HepA", ("2020-02-01", 83), ("2021-02-01", 83), as_of=date(2021, 1, 31)) == [
        ("2020-02-01", True, None, 1)]
    # on the effective date itself, a dose counts
    assert len(walk("HepA", ("2020-02-01", 83), ("2021-02-01", 83), as_of=date(2021, 2, 1))) == 2


def test_doses_are_walked_by_date_then_id():
    student = Student("S", BIRTH, None)
    records = [Dose(9, "S", date(2021, 2, 1), 3), Dose(4, "S", date(2021, 2, 1), 3), Dose(1, "S", date(2021, 3, 1), 3)]
    result = evaluate_student(RULESET, student, records, [], AS_OF)
    assert [(d.dose_id, d.dose_number, d.reason) for d in result.doses] == [
        (4, 1, None), (9, None, "too_soon"), (1, 2, None)]


def test_a_dose_whose_product_does_not_resolve_counts_toward_nothing():
    result = evaluate(("2021-02-01", 999), ("2021-02-01", 3))
    assert result.doses == (
        DoseEvaluation("S", 2, date(2021, 2, 1), 3, "MMR", "MMR", True, None, 1),
        DoseEvaluation("S", 1, date(2021, 2, 1), 999, "", None, False, None, None),
    )
    assert [g.valid_doses for g in result.groups] == [1, 0, 0, 0, 0, 0]


def test_doses_of_another_student_are_ignored():
    student = Student("S", BIRTH, None)
    records = [Dose(1, "S", date(2021, 2, 1), 3), Dose(2, "T", date(2021, 2, 1), 3)]
    assert [d.dose_id for d in evaluate_student(RULESET, student, records, [], AS_OF).doses] == [1]
