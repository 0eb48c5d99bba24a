"""The Minnesota ruleset's `skip when` lines against CDSi's conditional skips.

Every series dose skips exactly when CDSi's supporting data 4.64 says so in context Evaluation or Both
(Forecast-only skips say when a dose is *recommended*, which a school rule does not ask): each CDSi
set is one `skip when` line, its conditions joined by `and`. Both sides are brought to one plain form
and compared as sets, so the order of lines and of the products in a list does not matter, and a
count is compared as a bound ("greater than 4" and "at least 5" are one condition).

The CDSi data lives outside the repository; these tests skip, saying so, when it is absent.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from vaxdsl import ast
from vaxdsl.loader import load
from vaxdsl.records import Dose, Student

from test_engines_agree import assert_agree
from test_minnesota_ruleset import STATE, SERIES, cdsi_duration, cdsi_series_element, named_series, ours

Condition = tuple  # ("age", from, before) | ("interval", at least) | ("count", op, n, valid, cvx, from, before)

_CDSI_LOGIC = {"greater than": ">", "equal to": "=", "less than": "<"}


def _count_bound(op: str, count: int) -> tuple[str, int]:
    """A count test as at least / exactly / fewer than: '> 4' is '>= 5', '<= 2' is '< 3'."""
    if op == ">":
        return ">=", count + 1
    if op == "<=":
        return "<", count + 1
    assert op in (">=", "=", "<"), op
    return op, count


def cdsi_condition(condition: ET.Element, cvx_in_group: set[int]) -> Condition:
    kind = (condition.findtext("conditionType") or "").strip().lower()
    begin = cdsi_duration(condition.findtext("beginAge"))
    end = cdsi_duration(condition.findtext("endAge"))
    for tag in ("startDate", "endDate"):
        assert not (condition.findtext(tag) or "").strip(), f"a {kind} condition with a {tag}: not written"
    if kind == "age":
        return ("age", begin, end)
    if kind == "interval":
        return ("interval", cdsi_duration(condition.findtext("interval")))
    assert kind == "vaccine count by age", kind
    op, count = _count_bound(_CDSI_LOGIC[condition.findtext("doseCountLogic").strip().lower()],
                             int(condition.findtext("doseCount")))
    valid = condition.findtext("doseType").strip().lower() == "valid"
    codes = {int(code) for code in (condition.findtext("vaccineTypes") or "").replace(" ", "").split(";") if code}
    # a code the group declares no product for cannot be counted: the ruleset leaves it out
    products = frozenset(codes & cvx_in_group) if codes else None
    return ("count", op, count, valid, products, begin, end)


def cdsi_skips(dose: ET.Element, cvx_in_group: set[int]) -> set[frozenset[Condition]]:
    found = set()
    for skip in dose.findall("conditionalSkip"):
        if (skip.findtext("context") or "").strip() not in ("Evaluation", "Both"):
            continue
        for each in skip.findall("set"):
            for tag in ("effectiveDate", "cessationDate"):
                assert not (each.findtext(tag) or "").strip(), f"a skip set with a {tag}: not written"
            found.add(frozenset(cdsi_condition(c, cvx_in_group) for c in each.findall("condition")))
    return found


def _our_age_filter(age: ast.AgeFilter | None) -> tuple:
    if age is None:
        return (None, None)
    if age.op == "..":
        return (ours(age.low), ours(age.high))
    if age.op == ">=":
        return (ours(age.low), None)
    assert age.op == "<", f"'at age {age.op}' has no CDSi counterpart"
    return (None, ours(age.low))


def our_condition(condition, cvx_of: dict[str, int]) -> Condition:
    if isinstance(condition, ast.AgeCompare):
        assert condition.op in (">=", "<"), condition.op
        bound = ours(condition.duration)
        return ("age", bound, None) if condition.op == ">=" else ("age", None, bound)
    if isinstance(condition, ast.SinceDose):
        assert condition.dose.kind == "last" and condition.op == ">=", condition
        return ("interval", ours(condition.duration))
    assert isinstance(condition, ast.CountDoses), f"{type(condition).__name__} has no CDSi counterpart"
    op, count = _count_bound(condition.op, condition.count)
    products = frozenset(cvx_of[p] for p in condition.products) if condition.products else None
    return ("count", op, count, condition.valid, products, *_our_age_filter(condition.age))


def our_skips(dose: ast.SeriesDose, cvx_of: dict[str, int]) -> set[frozenset[Condition]]:
    found = set()
    for skip in dose.skips:
        items = skip.condition.items if isinstance(skip.condition, ast.And) else (skip.condition,)
        found.add(frozenset(our_condition(item, cvx_of) for item in items))
    return found


@pytest.fixture(scope="module")
def cvx_of(state) -> dict[str, int]:
    return {product.id: ast.cvx_key(product.cvx) for product in state.products}


@pytest.mark.parametrize("group_id", list(SERIES))
def test_skip_lines_follow_cdsis_conditional_skips(groups, state, cvx_of, group_id):
    in_group = {cvx_of[p.id] for p in state.products if group_id in p.vaccines}
    compared = 0
    for antigen, name, series, _default in named_series(groups[group_id], group_id):
        cdsi_doses = cdsi_series_element(antigen, name).findall("seriesDose")
        for dose, cdsi in zip(series.doses, cdsi_doses):
            expected = cdsi_skips(cdsi, in_group)
            assert our_skips(dose, cvx_of) == expected, f"{group_id} {name} dose {dose.number}"
            compared += len(expected)
    assert compared == sum(len(dose.skips) for s in groups[group_id].all_series for dose in s.doses)


def test_the_comparison_sees_a_changed_skip(groups, state, cvx_of):
    """The plain forms are not so loose that a different bound passes: Hib dose 2's '15 months - 4 days'
    is not CDSi's skip once it reads '15 months'."""
    hib = next(series for series in groups["Hib"].series if series.name == SERIES["Hib"][1])
    dose_2 = hib.doses[1]
    changed = ast.Skip(ast.AgeCompare(">=", ast.Duration((ast.DurationPart(1, 15, "months"),))))
    in_group = {cvx_of[p.id] for p in state.products if "Hib" in p.vaccines}
    cdsi = cdsi_series_element("Hib", SERIES["Hib"][1]).findall("seriesDose")[1]
    assert our_skips(dose_2, cvx_of) == cdsi_skips(cdsi, in_group)
    assert our_skips(ast.SeriesDose(2, skips=(changed,)), cvx_of) != cdsi_skips(cdsi, in_group)


# ---- what the skips change ----------------------------------------------------------------------------------------

MMR = 94  # MMRV: one dose of every MMR antigen (and of Varicella)


def _dates(found) -> list[tuple]:
    return [(d.date.isoformat(), d.valid, d.reason, d.dose_number) for d in found]


def test_an_mmr_dose_at_19_finds_the_series_complete_and_still_counts_for_a_k12_student(evaluate):
    # born 2005-03-01: 19 years - 4 days is 2024-02-26; dose 1 at 18, dose 2 at 19 - 3 days
    doses = [(MMR, "2023-06-01"), (MMR, "2024-02-26")]
    status, rule, found = evaluate("2005-03-01", "12", doses, "2024-09-03", "MMR")
    assert _dates(found) == [("2023-06-01", True, None, 1), ("2024-02-26", False, "extraneous", None)]
    assert (status, rule) == ("compliant", "2 doses MMR K-12 Compliant")
    # a day earlier it is dose 2, as for a child
    doses = [(MMR, "2023-06-01"), (MMR, "2024-02-25")]
    assert _dates(evaluate("2005-03-01", "12", doses, "2024-09-03", "MMR")[2])[1] == ("2024-02-25", True, None, 2)


def test_one_mmr_dose_at_19_is_not_two_for_a_k12_student(evaluate):
    status, _rule, found = evaluate("2005-03-01", "12", [(MMR, "2024-06-01")], "2024-09-03", "MMR")
    assert _dates(found) == [("2024-06-01", True, None, 1)]
    assert status == "non_compliant"


def test_a_first_menacwy_dose_at_16_is_judged_as_dose_2_and_completes_the_series(evaluate):
    # born 2008-05-10: 16 years - 4 days is 2024-05-06; the dose number counts valid doses
    doses = [(114, "2024-05-06"), (114, "2024-08-01")]
    status, rule, found = evaluate("2008-05-10", "12", doses, "2025-09-02", "MenACWY")
    assert _dates(found) == [("2024-05-06", True, None, 1), ("2024-08-01", False, "extraneous", None)]
    assert (status, rule) == ("compliant", "1 Dose at Age 16 Compliant")
    # a day earlier it is dose 1, and the dose 12 weeks later dose 2
    doses = [(114, "2024-05-05"), (114, "2024-08-01")]
    status, rule, found = evaluate("2008-05-10", "12", doses, "2025-09-02", "MenACWY")
    assert _dates(found) == [("2024-05-05", True, None, 1), ("2024-08-01", True, None, 2)]
    assert (status, rule) == ("compliant", "2 Doses Compliant")


@pytest.mark.parametrize("birth, doses, as_of", [
    ("2005-03-01", [(MMR, "2023-06-01"), (MMR, "2024-02-26")], "2024-09-03"),
    ("2005-03-01", [(MMR, "2023-06-01"), (MMR, "2024-02-25")], "2024-09-03"),
    ("2005-03-01", [(MMR, "2024-06-01")], "2024-09-03"),
    ("2005-03-01", [(MMR, "2024-06-01"), (MMR, "2024-06-02")], "2024-09-03"),
    ("2008-05-10", [(114, "2024-05-06"), (114, "2024-08-01")], "2025-09-02"),
    ("2008-05-10", [(114, "2024-05-05"), (114, "2024-08-01")], "2025-09-02"),
], ids=["mmr-dose-2-at-19", "mmr-dose-2-before-19", "mmr-one-dose-at-19", "mmr-two-at-19",
        "menacwy-first-at-16", "menacwy-first-before-16"])
def test_both_engines_agree_on_the_adult_skips(birth, doses, as_of):
    student = Student("s", date.fromisoformat(birth), "12")
    rows = [Dose(n, "s", date.fromisoformat(day), cvx) for n, (cvx, day) in enumerate(doses, 1)]
    assert_agree(load(STATE).ruleset, [student], rows, [], date.fromisoformat(as_of))
