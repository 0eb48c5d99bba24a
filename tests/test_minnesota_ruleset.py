"""The bundled Minnesota ruleset against its sources.

* The rule tables mirror the vendor's (seed 003, Infinite Campus "Immunization Rules (Minnesota)"),
  read from the seed text at test time: every vaccine's rule names verbatim and in order, each
  rule's outcome and its active start/end dates.
* The products and dose-validity series follow CDC's CDSi supporting data 4.64 (cvxToAntigenMap,
  absolute minimum ages and intervals, maximum ages, allowable vaccines, live-virus conflicts).
* The ruleset parses and the checker finds no errors; the example district file layers one local
  rule in the right place.

The seeds and the CDSi data live outside the repository, in ``shared/`` beside it; the tests that
need them are skipped, saying so, when they are absent.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from vaxdsl import ast
from vaxdsl.checker import check
from vaxdsl.loader import load
from vaxdsl.parser import parse
from vaxdsl.records import Dose, Student

from test_engines_agree import assert_agree

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
SEEDS = SHARED / "seeds"
CDSI = SHARED / "cdsi" / "supporting-data-4.64"
STATE = REPO / "rulesets" / "minnesota.vax"
DISTRICT = REPO / "rulesets" / "example-district.vax"

# Seed 003's section headings -> our vaccine group ids.
SECTIONS = {
    "Hepatitis B": "HepB",
    "DTaP": "DTaP",
    "Tdap": "Tdap",
    "Polio": "Polio",
    "MMR": "MMR",
    "Hib": "Hib",
    "Varicella": "Varicella",
    "Meningococcal": "MenACWY",
    "Hepatitis A": "HepA",
    "Pneumococcal": "PCV",
}


# ---- seed 003 --------------------------------------------------------------------------------------------


def _seed_003_text() -> str:
    found = sorted(SEEDS.glob("003_*.txt")) if SEEDS.is_dir() else []
    if not found:
        pytest.skip(f"seed 003 (the Infinite Campus rule tables) is not at {SEEDS}/003_*.txt")
    return found[0].read_text(encoding="utf-8")


_ACTIVE = re.compile(r"\s*Active (Start|End) Date: (\d{2}/\d{2}/\d{4})")


def _vendor_row(cell: str) -> tuple[str, date | None, date | None]:
    """A rule-name cell -> (name, active start, active end): the date suffixes parsed and stripped.
    Only the ends of the name are trimmed: inner spacing stays verbatim ("60 <=age < 84  In ...")."""
    start = end = None
    for kind, text in _ACTIVE.findall(cell):
        value = datetime.strptime(text, "%m/%d/%Y").date()
        if kind == "Start":
            start = value
        else:
            end = value
    return _ACTIVE.sub("", cell).strip(), start, end


def vendor_tables() -> dict[str, list[dict]]:
    """Seed 003's tables: group id -> its rows in order, each {name, start, end, text}.

    The rule name is the first cell of each row in every table (the Hepatitis B and Pneumococcal
    tables label their columns the other way round, but the first cell is still the rule name).
    A row is a rule when its requirement text is about students ("Students ...", "Student is ...");
    in the MMR table the first two rows, "PK and EC (PA-PJ, PS, EE)" and "K-12", describe the
    requirement instead ("The student receives ...", "MMR, MMRV, or ...") and carry no outcome:
    they are descriptions, not rules (digest, MMR). The Hepatitis B table's first row "In Process"
    ("Students are considered In Process when they are not compliant and: ...") is a rule, and the
    table's first rule: the digest lists it with the other Hepatitis B rules.
    """
    tables: dict[str, list[dict]] = {}
    current = None
    header_pending = False
    for line in _seed_003_text().splitlines():
        stripped = line.strip()
        if not line.startswith("|"):
            if stripped in SECTIONS:
                current = SECTIONS[stripped]
                tables[current] = []
                header_pending = True
            continue
        if current is None or stripped.startswith("|---"):
            continue
        cells = line.split("|")
        if header_pending:  # "| Rule | Requirements |" (or the other way round)
            header_pending = False
            continue
        name, start, end = _vendor_row(cells[1])
        text = cells[2].strip() if len(cells) > 2 else ""
        if not text.startswith("Student") and text != "N/A":
            continue  # a description row (MMR "PK and EC (...)", "K-12")
        tables[current].append({"name": name, "start": start, "end": end, "text": text})
    return tables


def expected_outcome(name: str, text: str) -> str:
    """The outcome a vendor rule's name (or, for "under 3 months", its text) states."""
    lowered = name.lower()
    if "no requirement" in lowered:
        return "no_requirement"
    if "non-compliant" in lowered:
        return "non_compliant"
    if "in grace period" in lowered:
        return "in_grace_period"
    if "in process" in lowered:
        return "in_process"
    if "compliant" in lowered:
        return "compliant"
    if "not required" in text:  # DTaP "under 3 months": "... are not required to receive any doses"
        return "no_requirement"
    raise AssertionError(f"cannot tell the outcome of vendor rule {name!r}")


@pytest.fixture(scope="module")
def vendor() -> dict[str, list[dict]]:
    return vendor_tables()


def test_seed_003_reads_as_expected(vendor):
    # Guards the reader itself: the ten tables, the description rows left out, the odd names kept.
    assert list(vendor) == list(SECTIONS.values())
    assert [row["name"] for row in vendor["MMR"]][:1] == ["11 Months or Younger No Requirement"]
    assert vendor["HepB"][0]["name"] == "In Process"
    assert "60 <=age < 84  In Grace Period" in [row["name"] for row in vendor["DTaP"]]
    assert sum(len(rows) for rows in vendor.values()) == 5 + 33 + 3 + 16 + 11 + 12 + 6 + 6 + 1 + 5


def test_the_ten_groups_in_the_vendors_order(groups, vendor):
    assert list(groups) == list(vendor)
    for vaccine in groups.values():
        assert vaccine.name, f"{vaccine.id} has no display name"


@pytest.mark.parametrize("group_id", list(SECTIONS.values()))
def test_rule_names_verbatim_and_in_order(groups, vendor, group_id):
    assert [rule.name for rule in groups[group_id].rules] == [row["name"] for row in vendor[group_id]]


@pytest.mark.parametrize("group_id", list(SECTIONS.values()))
def test_rule_outcomes(groups, vendor, group_id):
    actual = [(rule.name, rule.outcome) for rule in groups[group_id].rules]
    expected = [(row["name"], expected_outcome(row["name"], row["text"])) for row in vendor[group_id]]
    assert actual == expected


@pytest.mark.parametrize("group_id", list(SECTIONS.values()))
def test_rule_active_dates(groups, vendor, group_id):
    actual = [(rule.name, rule.active_start, rule.active_end) for rule in groups[group_id].rules]
    expected = [(row["name"], row["start"], row["end"]) for row in vendor[group_id]]
    assert actual == expected


def test_the_two_inverted_windows_are_kept_verbatim(groups):
    rules = {(v.id, r.name): r for v in groups.values() for r in v.rules}
    nine_twelve = rules[("DTaP", "Grade 9-12 3 doses Compliant")]
    assert (nine_twelve.active_start, nine_twelve.active_end) == (date(2022, 7, 1), date(2022, 6, 30))
    twelve = rules[("Polio", "Grades 12 3 doses Compliant")]
    assert (twelve.active_start, twelve.active_end) == (date(2025, 7, 1), date(2025, 6, 30))


def test_hepatitis_b_grace_rules_have_zero_tolerance(groups, state):
    rules = {rule.name: rule for rule in groups["HepB"].rules}
    assert rules["1 dose In Grace Period"].tolerance_days == 0
    assert rules["2 doses In Grace Period"].tolerance_days == 0
    assert state.settings.tolerance_days == 4


def test_mmr_and_varicella_are_locked_and_no_other_group_is(groups):
    assert {vaccine.id for vaccine in groups.values() if vaccine.locked} == {"MMR", "Varicella"}


def test_grades_in_the_digests_order(state):
    expected = (["EC", "PS", "EE"] + [f"P{c}" for c in "ABCDEFGHIJ"] + [f"R{c}" for c in "ABCDEFGHIJ"]
                + ["KG"] + [f"{n:02d}" for n in range(1, 13)])
    assert [grade.code for grade in state.grade_decls] == expected
    assert all(grade.name for grade in state.grade_decls)
    assert "early_childhood" in {grade_set.name for grade_set in state.grade_sets}


def test_disease_history_choice_is_made(state):
    outcomes = {item.kind: item.outcome for item in state.settings.exemption_outcomes}
    assert outcomes.get("disease_history") in ("compliant", "exempt")


def test_groups_covering_only_some_students_say_so(groups):
    for group_id in ("Tdap", "MenACWY", "HepA"):
        assert groups[group_id].applies is not None, f"{group_id} needs an 'applies when'"


# ---- CDSi: products -------------------------------------------------------------------------------------------

ANTIGEN_GROUP = {
    "Diphtheria": "DTaP", "Tetanus": "DTaP", "Pertussis": "DTaP", "Polio": "Polio",
    "Measles": "MMR", "Mumps": "MMR", "Rubella": "MMR", "Varicella": "Varicella", "Hib": "Hib",
    "HepB": "HepB", "HepA": "HepA", "Meningococcal": "MenACWY", "Pneumococcal": "PCV",
}


def _xml(name: str) -> ET.Element:
    path = CDSI / name
    if not path.is_file():
        pytest.skip(f"CDSi supporting data is not at {path}")
    root = ET.parse(path).getroot()
    for element in root.iter():
        if "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    return root


@pytest.fixture(scope="module")
def schedule() -> ET.Element:
    return _xml("ScheduleSupportingData.xml")


def cdsi_groups_by_cvx(schedule) -> dict[int, set[str]]:
    """CVX -> our groups its CDSi antigens map to (Tdap, CVX 115, also counts toward Tdap)."""
    mapped = {}
    for entry in schedule.find("cvxToAntigenMap"):
        antigens = {assoc.findtext("antigen") for assoc in entry.findall("association")}
        found = {ANTIGEN_GROUP[a] for a in antigens if a in ANTIGEN_GROUP}
        if found:
            cvx = int(entry.findtext("cvx"))
            mapped[cvx] = found | ({"Tdap"} if cvx == 115 else set())
    return mapped


def cdsi_live_conflict_codes(schedule) -> set[int]:
    """Every CVX code CDSi's liveVirusConflicts name, before or after."""
    return {
        int(side.findtext("cvx"))
        for conflict in schedule.find("liveVirusConflicts")
        for side in (conflict.find("previous"), conflict.find("current"))
    }


def test_every_product_is_a_cdsi_code_counting_toward_its_antigens_groups(state, schedule):
    mapped = cdsi_groups_by_cvx(schedule)
    live_elsewhere = cdsi_live_conflict_codes(schedule) - set(mapped)
    for product in state.products:
        cvx = ast.cvx_key(product.cvx)
        if not product.vaccines:
            # Declared only so live-virus spacing sees it: it must be one of CDSi's conflicting products.
            assert product.live and cvx in live_elsewhere, f"product {product.id} counts toward nothing"
            continue
        assert cvx in mapped, f"product {product.id}: CVX {product.cvx} is not in CDSi's cvxToAntigenMap"
        assert set(product.vaccines) == mapped[cvx], f"product {product.id} (CVX {product.cvx})"
        assert product.name, f"product {product.id} has no display name"


def test_every_cdsi_code_of_the_ten_groups_is_declared(state, schedule):
    declared = {ast.cvx_key(product.cvx) for product in state.products}
    missing = sorted(set(cdsi_groups_by_cvx(schedule)) - declared)
    assert not missing, f"CVX codes CDSi maps to the ten groups but no product declares: {missing}"


def test_live_virus_products_are_marked_live(state, schedule):
    conflicting = {int(entry.find(side).findtext("cvx"))
                   for entry in schedule.find("liveVirusConflicts") for side in ("previous", "current")}
    for product in state.products:
        if ast.cvx_key(product.cvx) in conflicting:
            assert product.live, f"{product.id} (CVX {product.cvx}) is in CDSi's liveVirusConflicts"
    assert {p.id for p in state.products if p.live and ast.cvx_key(p.cvx) not in conflicting} <= {
        "OPV_trivalent", "OPV_bivalent", "OPV_monovalent", "OPV_unspecified"}  # live, but CDSi lists no conflict


def conflicts_before(schedule, current_cvx: int) -> dict[int, int]:
    """CVX of an earlier live dose -> CDSi's minimum conflict end in days, for a later dose of ``current_cvx``."""
    found = {}
    for entry in schedule.find("liveVirusConflicts"):
        if int(entry.find("current").findtext("cvx")) == current_cvx:
            days = entry.findtext("minConflictEndInterval").split()
            assert days[1] == "days", days
            found[int(entry.find("previous").findtext("cvx"))] = int(days[0])
    return found


def test_every_live_vaccine_cdsi_spaces_from_the_groups_is_declared(state, schedule):
    declared = {ast.cvx_key(product.cvx) for product in state.products}
    for current in sorted(cdsi_groups_by_cvx(schedule)):
        missing = sorted(set(conflicts_before(schedule, current)) - declared)
        assert not missing, f"CVX {current}: CDSi spaces it from CVX {missing}, which no product declares"


def test_a_live_vaccine_of_no_group_spaces_mmr_and_varicella_as_cdsi_does(evaluate, schedule):
    # the minimum conflict end CDSi gives after each live vaccine that counts toward no group (yellow
    # fever, smallpox, BCG, LAIV, ...): one day less conflicts, that day is valid
    mapped = cdsi_groups_by_cvx(schedule)
    for current, group in ((3, "MMR"), (21, "Varicella")):
        for before, days in conflicts_before(schedule, current).items():
            if before in mapped:
                continue  # doses of the groups themselves: their series' intervals speak too
            first = date(2020, 3, 1)
            for gap, expected in ((days - 1, [(False, "live_virus_conflict")]), (days, [(True, None)])):
                doses = [(before, first.isoformat()), (current, (first + timedelta(days=gap)).isoformat())]
                found = [(d.valid, d.reason) for d in evaluate("2019-01-01", "KG", doses, "2024-09-03", group)[2]]
                assert found == expected, f"CVX {current} {gap} days after CVX {before}"


@pytest.mark.parametrize("before, gap", [(19, 29), (19, 30), (37, 27), (37, 28), (75, 27)],
                         ids=["bcg-29", "bcg-30", "yellow-fever-27", "yellow-fever-28", "smallpox-27"])
def test_both_engines_space_mmr_after_a_live_vaccine_of_no_group(before, gap):
    student = Student("s", date(2019, 1, 1), "KG")
    first = date(2020, 3, 1)
    doses = [Dose(1, "s", first, before), Dose(2, "s", first + timedelta(days=gap), 3)]
    assert_agree(load(STATE).ruleset, [student], doses, [], date(2024, 9, 3))


def test_the_2_dose_hepatitis_b_product_needs_its_manufacturer(state):
    by_cvx_43 = {product.id: product for product in state.products if ast.cvx_key(product.cvx) == 43}
    assert {p.mvx for p in by_cvx_43.values()} == {None, "MSD"}
    two_dose = next(p for p in by_cvx_43.values() if p.mvx == "MSD")
    assert two_dose.name == "Recombivax HB"
    assert two_dose.vaccines == ("HepB",)


# ---- CDSi: dose validity ------------------------------------------------------------------------------------------

_PART = re.compile(r"([+-])?\s*(\d+)\s*(day|week|month|year)s?")


def cdsi_duration(text: str | None) -> tuple | None:
    """ "12 months - 4 days" -> ((1, 12, 'months'), (-1, 4, 'days')); "0 days" or "" -> None."""
    if not text or not text.strip():
        return None
    parts = tuple((-1 if sign == "-" else 1, int(amount), unit + "s") for sign, amount, unit in _PART.findall(text))
    return None if all(amount == 0 for _, amount, _ in parts) else parts


def ours(duration: ast.Duration | None) -> tuple | None:
    if duration is None:
        return None
    return tuple((part.sign, part.amount, part.unit) for part in duration.parts)


def approx_days(parts: tuple | None) -> float:
    scale = {"days": 1, "weeks": 7, "months": 30.44, "years": 365.25}
    return sum(sign * amount * scale[unit] for sign, amount, unit in parts or ())


def _current(elements):
    """CDSi age/interval entries without a cessation date (in force today)."""
    return [e for e in elements if not (e.findtext("cessationDate") or "").strip()]


def cdsi_window(element: ET.Element) -> tuple:
    """(from, before) of a CDSi entry's effective and cessation dates, as ``given`` writes them: the
    cessation date is the last day in force."""
    def day(tag):
        text = (element.findtext(tag) or "").strip()
        return datetime.strptime(text, "%Y%m%d").date() if text else None

    cessation = day("cessationDate")
    return day("effectiveDate"), cessation + timedelta(days=1) if cessation else None


def our_window(window: ast.GivenWindow | None) -> tuple:
    return (window.start, window.before) if window is not None else (None, None)


# group -> (antigen file, default series name)
SERIES = {
    "HepB": ("HepB", "HepB 3-dose series"),
    "DTaP": ("Diphtheria", "Diphtheria standard series"),
    "Polio": ("Polio", "Polio 4-dose series"),
    "MMR": ("Measles", "Measles 2-dose series"),
    "Hib": ("Hib", "Hib start at 2 months 4-dose series"),
    "Varicella": ("Varicella", "Varicella childhood 2-dose series"),
    "MenACWY": ("Meningococcal", "Meningococcal ACWY 2-dose series"),
    "HepA": ("HepA", "HepA 2-dose series"),
    "PCV": ("Pneumococcal", "Pneumococcal 4-dose series"),
}


# Start ages that are a ruleset CHOICE, not CDSi's minAgeToStart: the adult pneumococcal series start
# from 19 years, where their doses count, so an adult's PPSV23 at 47 is valid (the CDC's case 2024-0102).
START_FROM = {f"Pneumococcal 50+ {name} series": "19 years" for name in ("1-dose PCV", "2-dose PCV13", "2-dose PPSV23-PCV")}

# Every series now runs to CDSi's length (the DTaP standard series has all 11 doses, PCV its dose 5).
SERIES_LENGTH: dict[str, int] = {}


def cdsi_series_element(antigen: str, name: str) -> ET.Element:
    root = _xml(f"AntigenSupportingData-{antigen}.xml")
    for series in root.findall("series"):
        if series.findtext("seriesName") == name:
            return series
    raise AssertionError(f"no CDSi series {name!r} for {antigen}")


def cdsi_series(antigen: str, name: str) -> list[ET.Element]:
    return cdsi_series_element(antigen, name).findall("seriesDose")


def named_series(group: ast.Vaccine, group_id: str):
    """(CDSi antigen, CDSi series name, our series, is it the antigen's default) for each series of the
    group: a series is named as CDSi names it; the first may be unnamed (then it is SERIES' one). A
    group with antigens names them as CDSi does (MMR: Measles, Mumps, Rubella)."""
    for antigen in group.walked_antigens:
        cdsi_antigen = antigen.name if group.antigens else SERIES[group_id][0]
        for index, series in enumerate(antigen.series):
            yield cdsi_antigen, series.name or SERIES[group_id][1], series, index == 0


@pytest.mark.parametrize("group_id", list(SERIES))
def test_series_minimum_ages_intervals_and_maximum_ages_follow_cdsi(groups, group_id):
    _antigen, default_name = SERIES[group_id]
    assert groups[group_id].has_series
    assert groups[group_id].all_series[0].name in ("", default_name), "the CDSi default series comes first"
    for antigen, name, series, default in named_series(groups[group_id], group_id):
        cdsi_doses = cdsi_series(antigen, name)
        select = cdsi_series_element(antigen, name).find("selectSeries")
        start_from = START_FROM.get(name, select.findtext("minAgeToStart"))
        assert ours(series.start_from) == cdsi_duration(start_from), f"{name}: start from"
        assert ours(series.start_before) == cdsi_duration(select.findtext("maxAgeToStart")), f"{name}: start before"
        length = SERIES_LENGTH.get(group_id, len(cdsi_doses)) if default else len(cdsi_doses)
        assert [dose.number for dose in series.doses] == list(range(1, length + 1)), name
        for dose, cdsi in zip(series.doses, cdsi_doses):
            where = f"{group_id} {name} dose {dose.number}"
            ages = _current(cdsi.findall("age"))
            age = ages[0] if ages else ET.Element("age")
            min_ages = [(cdsi_duration(a.findtext("absMinAge")), cdsi_window(a)) for a in cdsi.findall("age")]
            assert [(ours(m.duration), our_window(m.given)) for m in dose.min_ages] == [
                entry for entry in min_ages if entry[0] is not None], f"{where}: min ages"
            assert ours(dose.max_age) == cdsi_duration(age.findtext("maxAge")), f"{where}: max age"
            recurring = (cdsi.findtext("recurringDose") or "").strip().lower() == "yes"
            assert dose.recurring == recurring, f"{where}: recurring"
            # on dose 1 (CDSi's catch-up series), from the previous dose given, one the series does
            # not count: docs/semantics.md, step 2
            expected = cdsi_minimum_intervals(cdsi, dose.number)
            actual = [(i.start.number if i.start else None, ours(i.duration), our_window(i.given))
                      for i in dose.intervals]
            assert actual == expected, f"{where}: intervals"


def _interval(element: ET.Element, number: int) -> tuple:
    """(anchor, duration) of a CDSi interval: anchor None for the previous dose (and for target dose
    number - 1, the same dose when nothing is skipped), else the target dose it counts from."""
    anchor = None
    if (element.findtext("fromPrevious") or "").strip() != "Y":
        target = int(element.findtext("fromTargetDose"))
        anchor = None if target == number - 1 else target
    return anchor, cdsi_duration(element.findtext("absMinInt"))


def cdsi_minimum_intervals(cdsi: ET.Element, number: int) -> list[tuple]:
    """What CDSi's intervals of a series dose ask for, as the ruleset writes it: (anchor, duration,
    window). A dose is valid when it meets the minimum intervals or, failing them, the allowable
    interval (no grace unless CDSi writes one): the weaker of the two decides. A minimum of 0 days
    always holds. Intervals with effective or cessation dates (Polio's dose 4 before 2009-08-07) have
    no allowable interval beside them."""
    minimum = [(*_interval(e, number), cdsi_window(e)) for e in cdsi.findall("interval")
               if (e.findtext("fromPrevious") or "").strip() == "Y" or (e.findtext("fromTargetDose") or "").strip()]
    minimum = [entry for entry in minimum if entry[1] is not None]
    allowable = [_interval(e, number) for e in cdsi.findall("allowableInterval") if (e.findtext("absMinInt") or "").strip()]
    if not minimum or not allowable:
        return minimum
    assert all(window == (None, None) for *_, window in minimum), f"dose {number}: dated and allowable intervals"
    (anchor, duration), = allowable
    # meeting the minimum ones implies the allowable one when one of them counts from the same dose
    weaker = any(other_anchor == anchor and approx_days(duration) <= approx_days(other)
                 for other_anchor, other, _ in minimum)
    assert weaker or all(approx_days(duration) >= approx_days(other) for _, other, _ in minimum), \
        f"dose {number}: the allowable interval is neither weaker nor stronger than the minimum ones"
    return [(anchor, duration, (None, None))] if weaker else minimum


# CDSi intervals from the most recent dose of some products (`fromMostRecent`) that the language cannot
# write, in the series the ruleset walks: (series, dose) -> CVX codes. Those of 0 days never fail.
UNWRITTEN_INTERVALS = {
    # MenABCWY: dose 2 at least 8 weeks - 4 days after the latest MenABCWY dose as well as after the
    # previous dose; they differ only when another meningococcal dose came after the MenABCWY one.
    ("Meningococcal ACWY 2-dose series", 2): {316, 328},
}


def test_intervals_from_the_most_recent_product_dose_are_only_the_known_ones(groups):
    found = {}
    for group_id in SERIES:
        for antigen, name, series, _default in named_series(groups[group_id], group_id):
            for dose, cdsi in zip(series.doses, cdsi_series(antigen, name)):
                for interval in cdsi.findall("interval"):
                    codes = (interval.findtext("fromMostRecent") or "").replace(" ", "")
                    if codes and cdsi_duration(interval.findtext("absMinInt")) is not None:
                        found[(name, dose.number)] = {int(code) for code in codes.split(";")}
    assert found == UNWRITTEN_INTERVALS


def test_mmr_antigens_walk_the_products_cdsi_maps_to_them(groups, state):
    """Each MMR antigen names exactly the group's products whose CVX code CDSi's cvxToAntigenMap
    associates with that antigen."""
    cvx_map = {}
    for entry in _xml("ScheduleSupportingData.xml").find("cvxToAntigenMap"):
        cvx_map[int(entry.findtext("cvx"))] = {a.findtext("antigen") for a in entry.findall("association")}
    in_group = [p for p in state.products if "MMR" in p.vaccines]
    assert [antigen.name for antigen in groups["MMR"].antigens] == ["Measles", "Mumps", "Rubella"]
    for antigen in groups["MMR"].antigens:
        expected = {p.id for p in in_group if antigen.name in cvx_map.get(ast.cvx_key(p.cvx), set())}
        assert set(antigen.products) == expected, antigen.name


@pytest.mark.parametrize("group_id", [g for g in SERIES if g != "MMR"])
def test_allow_lines_follow_cdsi_allowable_vaccines(groups, state, group_id):
    """Each product an `allow` line names is an allowable vaccine of that dose in CDSi, with CDSi's
    end age, and CDSi's begin age unless it is no later than the dose's minimum age (then it cannot
    matter); and every CDSi-allowable product of the group is allowed. The one addition: Td and Tdap
    as DTaP doses 1-3 from age 7 (CDSi's catch-up doses 7-9 of the same series)."""
    antigen = SERIES[group_id][0]
    cvx_of = {product.id: ast.cvx_key(product.cvx) for product in state.products}
    in_group = {ast.cvx_key(p.cvx) for p in state.products if group_id in p.vaccines}
    catch_up = {"Td_adsorbed", "Td_preservative_free", "Tdap_vaccine", "Td_adult", "Td_unspecified",
                "Td_adsorbed_preservative_free"}
    for _antigen, name, series, default in named_series(groups[group_id], group_id):
        for dose, cdsi in zip(series.doses, cdsi_series(antigen, name)):
            where = f"{group_id} {name} dose {dose.number}"
            # a preferable vaccine is allowable too (the HepB adolescent series lists Recombivax only so)
            allowable = {int(v.findtext("cvx")): (cdsi_duration(v.findtext("beginAge")),
                                                  cdsi_duration(v.findtext("endAge")))
                         for v in cdsi.findall("preferableVaccine") + cdsi.findall("allowableVaccine")
                         if (v.findtext("cvx") or "").strip()}
            allowed = set()
            for line in dose.allows:
                for product in line.products:
                    cvx = cvx_of[product]
                    allowed.add(cvx)
                    if group_id == "DTaP" and default and dose.number <= 3 and product in catch_up:
                        assert ours(line.from_age) == ((1, 7, "years"),), where
                        continue
                    assert cvx in allowable, f"{where}: {product} (CVX {cvx}) is not allowable in CDSi"
                    begin, end = allowable[cvx]
                    assert ours(line.before_age) == end, f"{where}: {product} end age"
                    if line.from_age is not None or approx_days(begin) > approx_days(ours(dose.current_min_age)):
                        assert ours(line.from_age) == begin, f"{where}: {product} begin age"
            assert set(allowable) & in_group <= allowed, f"{where}: CDSi-allowable products left out"


@pytest.mark.parametrize("group_id", [g for g in SERIES if g != "MMR"])
def test_inadvertent_lines_follow_cdsi_inadvertent_vaccines(groups, state, group_id):
    """Each series dose lists as ``inadvertent`` exactly the products of the group that CDSi lists as
    inadvertent vaccines of that dose (Td and Tdap as DTaP doses 1-3, OPV in the Polio series, PPSV23
    in the childhood pneumococcal series)."""
    antigen = SERIES[group_id][0]
    cvx_of = {product.id: ast.cvx_key(product.cvx) for product in state.products}
    in_group = {ast.cvx_key(p.cvx) for p in state.products if group_id in p.vaccines}
    listed = 0
    for _antigen, name, series, _default in named_series(groups[group_id], group_id):
        for dose, cdsi in zip(series.doses, cdsi_series(antigen, name)):
            theirs = {int(v.findtext("cvx")) for v in cdsi.findall("inadvertentVaccine")
                      if (v.findtext("cvx") or "").strip()}
            assert {cvx_of[p] for p in dose.inadvertent} == theirs & in_group, f"{group_id} {name} dose {dose.number}"
            listed += len(dose.inadvertent)
    assert listed > 0 or group_id not in ("DTaP", "Polio", "PCV")


@pytest.mark.parametrize("group_id", list(SERIES))
def test_every_standard_series_in_cdsis_order_of_preference(groups, group_id):
    """Every standard CDSi series of the group's antigens (Polio's five, HepB's ten, ...), ordered as
    CDSi prefers them (seriesGroup, then seriesPreference): on a tie the walk takes the series declared
    first. A group with one series may leave it unnamed."""
    for antigen in groups[group_id].walked_antigens:
        cdsi_antigen = antigen.name if groups[group_id].antigens else SERIES[group_id][0]
        root = _xml(f"AntigenSupportingData-{cdsi_antigen}.xml")
        standard = sorted((int(select.findtext("seriesGroup")), int(select.findtext("seriesPreference")),
                           series.findtext("seriesName"))
                          for series in root.findall("series") if series.findtext("seriesType") == "Standard"
                          for select in [series.find("selectSeries")])
        names = [series.name for series in antigen.series]
        if names == [""]:
            names = [SERIES[group_id][1]]
        assert names == [name for *_, name in standard], group_id


def test_live_vaccines_are_spaced_by_a_predicate_and_after_a_dose_not_valid(groups, state):
    """Each MMR antigen's and varicella series rejects a live-virus conflict by a predicate, and a dose
    within CDSi's conflictEndInterval after a dose not valid (between two MMR or two varicella doses,
    where the conflict after a valid dose, minConflictEndInterval, is the series' own interval)."""
    ends = {}
    for conflict in _xml("ScheduleSupportingData.xml").find("liveVirusConflicts"):
        previous, current = conflict.find("previous").findtext("cvx"), conflict.find("current").findtext("cvx")
        if previous == current:
            ends[previous] = (cdsi_duration(conflict.findtext("minConflictEndInterval")),
                              cdsi_duration(conflict.findtext("conflictEndInterval")))
    assert ends["03"] == ends["21"] == (((1, 24, "days"),), ((1, 28, "days"),))
    names = {clause.name for clause in state.predicates}
    for group_id in ("MMR", "Varicella"):
        for series in groups[group_id].all_series:  # each MMR antigen's series too
            by_predicate, after_not_valid = series.rejects
            assert by_predicate.reason == after_not_valid.reason == "live_virus_conflict", group_id
            assert by_predicate.call.name in names
            assert ours(after_not_valid.within) == ends["03"][1]
            dose_2 = series.doses[1]
            assert max(approx_days(ours(i.duration)) for i in dose_2.intervals) >= approx_days(ends["03"][0])
    assert "hepb_adolescent_two_dose" in names


# ---- the checker, the district layer ------------------------------------------------------------------------------


def test_the_checker_finds_no_errors_only_the_two_inverted_windows():
    diagnostics = check(load(STATE))
    errors = [d for d in diagnostics if d.is_error]
    assert not errors, "\n".join(f"{d.line}:{d.column} {d.code} {d.message}" for d in errors)
    never_active = sorted(d.line for d in diagnostics if d.code == "W201")
    text = STATE.read_text(encoding="utf-8").splitlines()
    assert [text[line - 1].strip() for line in never_active] == [
        "active from 2022-07-01 to 2022-06-30", "active from 2025-07-01 to 2025-06-30"]


def test_the_district_file_adds_its_rule_before_the_states_grade_1_12_default():
    loaded = load(DISTRICT)
    assert not loaded.diagnostics
    assert not [d for d in check(loaded) if d.is_error]
    merged = {vaccine.id: vaccine for vaccine in loaded.ruleset.vaccines}
    state_groups = {vaccine.id: vaccine for vaccine in parse(STATE.read_text(encoding="utf-8")).vaccines}
    names = [rule.name for rule in merged["DTaP"].rules]
    local = [name for name in names if name not in {r.name for r in state_groups["DTaP"].rules}]
    assert len(local) == 1
    assert names.index(local[0]) + 1 == names.index("Grade 1-12 Non-compliant")
    assert merged["DTaP"].rules[names.index(local[0])].outcome == "in_process"
    for group_id, vaccine in state_groups.items():
        if group_id != "DTaP":
            assert merged[group_id].rules == vaccine.rules, f"the district changed {group_id}"
    assert loaded.ruleset.header.name == "Example District"


# ---- a few choices, evaluated -----------------------------------------------------------------------------------------


def test_hepb_2_dose_schedule_needs_the_recombivax_product(evaluate):
    two = [(43, "2021-03-01", "MSD"), (43, "2021-07-05", "MSD")]
    assert evaluate("2010-01-01", "08", two, "2024-09-03", "HepB")[:2] == (
        "compliant", "2 dose combo 11 and up Compliant")
    generic = [(43, "2021-03-01"), (43, "2021-07-05")]
    assert evaluate("2010-01-01", "08", generic, "2024-09-03", "HepB")[0] == "non_compliant"


def test_hepb_in_process_leaves_the_grace_rows_their_cases(evaluate):
    assert evaluate("2010-01-01", "08", [(8, "2024-08-24")], "2024-09-03", "HepB")[:2] == (
        "in_grace_period", "1 dose In Grace Period")
    assert evaluate("2010-01-01", "08", [(8, "2024-07-24")], "2024-09-03", "HepB")[:2] == (
        "in_process", "In Process")
    assert evaluate("2010-01-01", "08", [(8, "2023-12-01")], "2024-09-03", "HepB")[0] == "non_compliant"


def test_a_different_live_vaccine_within_28_days_is_not_valid(evaluate):
    status, _, doses = evaluate("2019-03-10", "KG", [(3, "2021-03-10"), (21, "2021-04-06")], "2024-09-03", "Varicella")
    assert [(d.valid, d.reason) for d in doses] == [(False, "live_virus_conflict")]
    _, _, doses = evaluate("2019-03-10", "KG", [(3, "2021-03-10"), (21, "2021-04-07")], "2024-09-03", "Varicella")
    assert [d.valid for d in doses] == [True]
    _, _, doses = evaluate("2019-03-10", "KG", [(3, "2021-03-10"), (21, "2021-03-10")], "2024-09-03", "Varicella")
    assert [d.valid for d in doses] == [True]  # same day is fine
    _, _, doses = evaluate("2019-03-10", "KG", [(3, "2021-03-10"), (3, "2021-04-04")], "2024-09-03", "MMR")
    assert [d.valid for d in doses] == [True, True]  # MMR after MMR: the series' 4 weeks - 4 days


def test_separate_measles_mumps_rubella_doses_count(evaluate):
    separate = [(5, "2020-03-15"), (6, "2020-03-15"), (7, "2020-03-15"),
                (5, "2023-04-01"), (6, "2023-04-01"), (7, "2023-04-01")]
    assert evaluate("2019-03-10", "KG", separate, "2024-09-03", "MMR")[:2] == (
        "compliant", "2 doses Measles, Mumps, Rubella K-12 Compliant")
    assert evaluate("2019-03-10", "KG", separate[:3], "2024-09-03", "MMR")[0] == "non_compliant"


def test_varicella_disease_history_is_compliant(evaluate):
    assert evaluate("2010-01-01", "08", [], "2024-09-03", "Varicella", [("Varicella", "disease_history")])[0] == "compliant"


def test_dtap_catch_up_begun_at_7_needs_6_months_before_the_3rd_dose(evaluate):
    ok = [(9, "2018-03-01"), (9, "2018-04-01"), (115, "2018-10-05")]
    assert evaluate("2011-01-01", "08", ok, "2024-09-03", "DTaP")[:2] == ("compliant", "Grade 1-12 3 doses Compliant")
    short = [(9, "2018-03-01"), (9, "2018-04-01"), (115, "2018-06-05")]
    assert evaluate("2011-01-01", "08", short, "2024-09-03", "DTaP")[0] == "non_compliant"


def test_the_phase_out_rules_follow_their_windows(evaluate):
    three = [(20, "2009-03-01"), (20, "2009-05-01"), (20, "2009-07-01")]
    assert evaluate("2009-01-01", "11", three, "2024-09-03", "DTaP")[:2] == ("compliant", "Grade 11-12 3 doses Compliant")
    assert evaluate("2009-01-01", "11", three, "2025-09-03", "DTaP")[0] == "non_compliant"
    assert evaluate("2008-01-01", "12", three, "2025-09-03", "DTaP")[:2] == ("compliant", "Grade 12 3 doses Compliant")


def test_the_district_rule_turns_a_started_overdue_series_in_process():
    interpreter = pytest.importorskip("vaxdsl.interpreter")
    from vaxdsl.records import Dose, Student

    student = Student("s", date(2016, 1, 1), "03")
    doses = [Dose(1, "s", date(2024, 2, 1), 20), Dose(2, "s", date(2024, 3, 1), 20)]  # begun at 8; 3rd overdue
    outcomes = {}
    for path in (STATE, DISTRICT):
        result = interpreter.evaluate_student(load(path).ruleset, student, doses, [], date(2024, 9, 20))
        found = next(g for g in result.groups if g.vaccine == "DTaP")
        outcomes[path.name] = (found.status, found.rule)
    assert outcomes == {
        "minnesota.vax": ("non_compliant", "Grade 1-12 Non-compliant"),
        "example-district.vax": ("in_process", "Grade 1-12 Series Completion In Process"),
    }
