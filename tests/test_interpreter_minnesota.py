"""Realistic Minnesota students through the bundled ruleset, end to end.

The expected outcomes come from the domain digest (shared/domain/minnesota-requirements.md): the
requirement table, the 4-day grace, live-virus spacing and the Hepatitis B adult 2-dose rule; rule
names are the vendor's, as the digest lists them.
"""

from datetime import date

import pytest

from vaxdsl.interpreter import evaluate_student, explain_text
from vaxdsl.loader import load
from vaxdsl.records import Dose, Exemption, Student
from vaxdsl.resources import bundled_rulesets

pytestmark = pytest.mark.skipif("minnesota" not in bundled_rulesets(), reason="rulesets/minnesota.vax not written yet")

AS_OF = date(2024, 9, 3)  # first day of school 2024-25
KINDERGARTNER = Student("K1", date(2019, 6, 1), "KG")  # 5 years 3 months on AS_OF
SEVENTH_GRADER = Student("G7", date(2012, 5, 1), "07")
TWELFTH_GRADER = Student("G12", date(2006, 10, 1), "12")

# CVX codes
DTAP, TD, TDAP, IPV, MMR, VAR, HEPB_ADULT, MENACWY = 20, 9, 115, 10, 3, 21, 43, 136


@pytest.fixture(scope="module")
def minnesota():
    return load("minnesota").ruleset


def evaluate(ruleset, student, rows, exemptions=(), as_of=AS_OF):
    doses = [Dose(i, student.id, date.fromisoformat(when), cvx, *extra)
             for i, (when, cvx, *extra) in enumerate(rows, start=1)]
    return evaluate_student(ruleset, student, doses, list(exemptions), as_of)


def group(evaluation, vaccine):
    return next(g for g in evaluation.groups if g.vaccine == vaccine)


# DTaP at 2, 4 and 6 months and 15 months; the 5th at 4 years 4 days.
PRIMARY_DTAP = [("2019-08-01", DTAP), ("2019-10-01", DTAP), ("2019-12-01", DTAP), ("2020-09-01", DTAP)]


def test_kindergartner_with_five_dtap_is_compliant(minnesota):
    result = group(evaluate(minnesota, KINDERGARTNER, PRIMARY_DTAP + [("2023-06-05", DTAP)]), "DTaP")
    assert (result.status, result.rule, result.valid_doses) == ("compliant", "KG, 5 shots Compliant", 5)


def test_kindergartner_with_four_dtap_the_fourth_after_the_fourth_birthday(minnesota):
    rows = PRIMARY_DTAP[:3] + [("2023-06-05", DTAP)]
    result = group(evaluate(minnesota, KINDERGARTNER, rows), "DTaP")
    assert (result.status, result.rule) == ("compliant", "KG, 4 shots Compliant")


def test_kindergartner_with_four_dtap_before_age_four_needs_a_fifth(minnesota):
    evaluation = evaluate(minnesota, KINDERGARTNER, PRIMARY_DTAP)
    result = group(evaluation, "DTaP")
    assert (result.status, result.rule, result.valid_doses) == ("non_compliant", "KG Non-compliant", 4)
    text = explain_text(evaluation, minnesota, KINDERGARTNER, AS_OF, vaccine="DTaP")
    assert "needs at least 5 valid doses, has 4" in text
    # dose 5: from 4 years - 4 days (2023-05-28), 6 months - 4 days after dose 4 (2021-02-25)
    assert "Still needs: dose 5, can be given now, valid since 2023-05-28" in text


def test_seventh_grader_missing_tdap(minnesota):
    result = group(evaluate(minnesota, SEVENTH_GRADER, []), "Tdap")
    assert result.status == "non_compliant"


def test_seventh_grader_with_tdap_at_eleven(minnesota):
    result = group(evaluate(minnesota, SEVENTH_GRADER, [("2023-06-01", TDAP)]), "Tdap")
    assert (result.status, result.rule) == ("compliant", "1 dose Compliant")


def test_a_td_alone_does_not_satisfy_tdap(minnesota):
    evaluation = evaluate(minnesota, SEVENTH_GRADER, [("2023-06-01", TD)])
    assert group(evaluation, "Tdap").status == "non_compliant"
    assert [d.vaccine for d in evaluation.doses] == ["DTaP"]


def test_a_tdap_before_the_seventh_birthday_does_not_count(minnesota):
    evaluation = evaluate(minnesota, SEVENTH_GRADER, [("2018-06-01", TDAP)])
    assert group(evaluation, "Tdap").status == "non_compliant"
    tdap = next(d for d in evaluation.doses if d.vaccine == "Tdap")
    assert (tdap.valid, tdap.reason) == (False, "too_young")


def test_tdap_does_not_apply_in_kindergarten(minnesota):
    assert group(evaluate(minnesota, KINDERGARTNER, []), "Tdap").status == "no_requirement"


@pytest.mark.parametrize("first_dose, valid", [("2020-05-27", False), ("2020-05-28", True), ("2020-06-01", True)])
def test_mmr_four_day_grace_before_the_first_birthday(minnesota, first_dose, valid):
    evaluation = evaluate(minnesota, KINDERGARTNER, [(first_dose, MMR)])
    (mmr,) = [d for d in evaluation.doses if d.vaccine == "MMR"]
    assert (mmr.valid, mmr.reason) == (valid, None if valid else "too_young")


def test_kindergartner_with_two_mmr_28_days_apart(minnesota):
    result = group(evaluate(minnesota, KINDERGARTNER, [("2020-06-01", MMR), ("2020-06-29", MMR)]), "MMR")
    assert (result.status, result.valid_doses) == ("compliant", 2)


def test_varicella_within_28_days_of_mmr_is_a_live_virus_conflict(minnesota):
    evaluation = evaluate(minnesota, KINDERGARTNER, [("2020-06-01", MMR), ("2020-06-21", VAR), ("2020-09-01", MMR)])
    varicella = next(d for d in evaluation.doses if d.vaccine == "Varicella")
    assert (varicella.valid, varicella.reason) == (False, "live_virus_conflict")
    assert group(evaluation, "MMR").status == "compliant"
    assert group(evaluation, "Varicella").status == "non_compliant"
    text = explain_text(evaluation, minnesota, KINDERGARTNER, AS_OF, vaccine="Varicella")
    assert "2020-06-21 varicella (CVX 21): not valid — live virus conflict" in text


def test_varicella_disease_history_is_compliant_in_minnesota(minnesota):
    history = [Exemption("K1", "Varicella", "disease_history", date(2022, 1, 10))]
    result = group(evaluate(minnesota, KINDERGARTNER, [], history), "Varicella")
    assert (result.status, result.rule) == ("compliant", "exemption: disease_history")


def test_a_conscientious_exemption_makes_the_group_exempt(minnesota):
    exemption = [Exemption("K1", "DTaP", "conscientious")]
    evaluation = evaluate(minnesota, KINDERGARTNER, [], exemption)
    assert (group(evaluation, "DTaP").status, group(evaluation, "DTaP").rule) == ("exempt", "exemption: conscientious")
    assert evaluation.overall == "non_compliant"  # the other groups still count


def test_hepb_two_dose_adult_schedule_needs_the_documented_product(minnesota):
    # Both doses at age 11, 4.5 months apart. With MVX MSD the row is Recombivax HB, the 2-dose product.
    recombivax = [("2023-05-15", HEPB_ADULT, "MSD"), ("2023-10-01", HEPB_ADULT, "MSD")]
    result = group(evaluate(minnesota, SEVENTH_GRADER, recombivax), "HepB")
    assert (result.status, result.rule) == ("compliant", "2 dose combo 11 and up Compliant")
    # CVX 43 alone does not say which adult product: 2 of 3 doses, long past the grace periods.
    generic = [("2023-05-15", HEPB_ADULT), ("2023-10-01", HEPB_ADULT)]
    assert group(evaluate(minnesota, SEVENTH_GRADER, generic), "HepB").status == "non_compliant"


def test_twelfth_grader_meningococcal_booster(minnesota):
    one_at_twelve = [("2018-10-15", MENACWY)]
    assert group(evaluate(minnesota, TWELFTH_GRADER, one_at_twelve), "MenACWY").status == "non_compliant"
    with_booster = one_at_twelve + [("2022-10-15", MENACWY)]  # the 2nd at 16
    assert group(evaluate(minnesota, TWELFTH_GRADER, with_booster), "MenACWY").status == "compliant"


def test_polio_is_not_required_from_age_18(minnesota):
    adult = Student("A", date(2005, 1, 1), "12")
    result = group(evaluate(minnesota, adult, []), "Polio")
    assert (result.status, result.rule) == ("no_requirement", "Age 18 and older No Requirement")


def test_every_group_is_explained(minnesota):
    evaluation = evaluate(minnesota, KINDERGARTNER, PRIMARY_DTAP + [("2020-06-01", MMR)])
    text = explain_text(evaluation, minnesota, KINDERGARTNER, AS_OF)
    assert text.count("  Still needs: ") == len(minnesota.vaccines)
