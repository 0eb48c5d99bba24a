"""`vaxdsl fixtures boundaries` (vaxdsl.qa.boundaries, with the thresholds of vaxdsl.qa.thresholds): students at every age and interval threshold."""

import re
from datetime import date

import pytest

from vaxdsl.cli import main
from vaxdsl.fixtures import read_fixture_text
from vaxdsl.interpreter import evaluate_student
from vaxdsl.loader import load, load_text
from vaxdsl.qa import boundaries, thresholds
from vaxdsl.qa.runner import run_case

AS_OF = date(2025, 9, 2)

TINY = '''\
ruleset "Tiny" { version "1" }
settings { tolerance 4 days }
grades {
  KG "Kindergarten"
  01 "Grade 1"
}
product DTaP cvx 20 "DTaP" counts DTaP
product DTaP_Hib cvx 50 "DTaP-Hib" counts DTaP, Hib
product Td cvx 9 "Td" counts DTaP
vaccine DTaP "DTaP" {
  series {
    dose 1 { min age 6 weeks - 4 days  allow DTaP, DTaP_Hib  allow Td from age 7 years }
    dose 2 { min age 10 weeks - 4 days  min interval 4 weeks - 4 days  max age 7 years }
    dose 3 { min age 14 weeks - 4 days  min interval 8 weeks - 4 days from dose 1 }
  }
  rule "under 3 months" => no_requirement
    when age < 3 months
  rule "KG 3 doses" => compliant
    when grade in KG and at least 3 valid doses and dose 3 at age >= 4 years
  rule "recent" => in_grace_period
    tolerance 0 days
    when exactly 2 valid doses and since last dose <= 28 days
  rule "spaced" => compliant
    when interval from dose 1 to dose 2 >= 6 months
  rule "catch-up" => compliant
    when at least 1 valid dose at age 7 years .. 8 years
  otherwise non_compliant
}
vaccine Hib "Hib" {
  rule "any" => compliant when at least 1 valid dose
  otherwise non_compliant
}
'''

# (source, text) -> offsets the module doc promises
EXPECTED = {
    ("series", "dose 1 min age 6 weeks - 4 days"): (-5, -4, 0),
    ("series", "dose 2 min age 10 weeks - 4 days"): (-5, -4, 0),
    ("series", "dose 2 min interval 4 weeks - 4 days"): (-5, -4, 0),
    ("series", "dose 2 max age 7 years"): (-1, 0, 1),
    ("series", "dose 3 min age 14 weeks - 4 days"): (-5, -4, 0),
    ("series", "dose 3 min interval 8 weeks - 4 days from dose 1"): (-5, -4, 0),
    ("rule 'under 3 months'", "age < 3 months"): (-1, 0, 1),
    ("rule 'KG 3 doses'", "dose 3 at age >= 4 years"): (-5, -4, 0),
    ("rule 'recent'", "since last dose <= 28 days"): (-1, 0, 1),
    ("rule 'spaced'", "interval from dose 1 to dose 2 >= 6 months"): (-5, -4, 0),
    ("rule 'catch-up'", "at least 1 valid dose at age 7 years .. 8 years (from)"): (-5, -4, 0),
    ("rule 'catch-up'", "at least 1 valid dose at age 7 years .. 8 years (before)"): (0, 3, 4),
}


@pytest.fixture(scope="module")
def tiny():
    return load_text(TINY).ruleset


@pytest.fixture(scope="module")
def tiny_files(tiny):
    return boundaries.generate(tiny, AS_OF)


def test_every_threshold_is_found_with_its_offsets(tiny):
    found = {(t.source, t.text): t.offsets for t in thresholds.thresholds(tiny)}
    assert found == EXPECTED


def test_one_file_per_group_with_thresholds(tiny_files):
    assert sorted(tiny_files) == ["dtap.toml"]  # Hib mentions no threshold


def test_the_cases_parse_and_run_without_errors(tiny, tiny_files):
    fixture = read_fixture_text(tiny_files["dtap.toml"], "dtap.toml")
    assert fixture.errors == ()
    assert len(fixture.cases) == 3 * len(EXPECTED)
    for case in fixture.cases:
        assert not case.has_expectations
        assert case.as_of == AS_OF
        result = run_case(tiny, case, evaluate_student)
        assert result.outcome == "pass", (case.name, result.errors)
        assert all(dose.date <= AS_OF for dose in case.doses), case.name


def test_each_threshold_has_its_three_points(tiny_files):
    names = re.findall(r'^name = "(.*)"$', tiny_files["dtap.toml"], re.M)
    for (source, text), offsets in EXPECTED.items():
        mine = [name for name in names if name.startswith(f"{source}: {text}: ")]
        assert len(mine) == 3, (source, text, mine)
        labels = [name.rsplit(" [", 1)[1].rstrip("]") for name in mine]
        assert set(labels) == {"holds", "fails"}, mine


def test_min_age_points_are_the_dose_ages_around_the_grace(tiny_files):
    text = tiny_files["dtap.toml"]
    block = text.split('name = "series: dose 3 min age 14 weeks - 4 days: dose 3 at 14 weeks - 5 days [fails]"')[1]
    block = block.split("[[case]]")[0]
    assert '{ age = "14 weeks - 5 days", cvx = 20 },  # dose 3: DTaP' in block
    assert block.count("{ age =") == 3  # doses 1 and 2 first, at valid spacing
    for offset in ("14 weeks - 4 days", "14 weeks"):
        assert f'{{ age = "{offset}", cvx = 20 }},  # dose 3: DTaP' in text


def test_the_series_points_behave_as_labelled(tiny, tiny_files):
    """[holds] means the tested dose is valid, [fails] that it is rejected for the tested reason."""
    reasons = {"min age": "too_young", "max age": "too_old", "min interval": "too_soon"}
    checked = 0
    for case in read_fixture_text(tiny_files["dtap.toml"], "dtap.toml").cases:
        found = re.match(r"series: dose (\d) (min age|max age|min interval)", case.name)
        if not found:
            continue
        k = int(found.group(1))
        evaluation = run_case(tiny, case, evaluate_student).evaluation
        doses = [d for d in evaluation.doses if d.vaccine == "DTaP"]
        assert all(d.valid for d in doses[:k - 1]), case.name
        if case.name.endswith("[holds]"):
            assert doses[k - 1].valid, case.name
        else:
            assert doses[k - 1].reason == reasons[found.group(2)], case.name
        checked += 1
    assert checked == 18


def test_rule_points_follow_the_tolerance(tiny, tiny_files):
    """'KG 3 doses' (tolerance 4): dose 3 at 4 years - 4 days counts, at - 5 days it does not."""
    cases = {case.name: case for case in read_fixture_text(tiny_files["dtap.toml"], "dtap.toml").cases}
    prefix = "rule 'KG 3 doses': dose 3 at age >= 4 years: dose 3 at "
    outcomes = {}
    for suffix in ("4 years - 5 days [fails]", "4 years - 4 days [holds]", "4 years [holds]"):
        case = cases[prefix + suffix]
        assert case.student.grade == "KG"  # the rule's grade
        group = run_case(tiny, case, evaluate_student).evaluation.groups[0]
        outcomes[suffix] = group.rule
    assert outcomes == {"4 years - 5 days [fails]": None, "4 years - 4 days [holds]": "KG 3 doses",
                        "4 years [holds]": "KG 3 doses"}


def test_since_points_move_the_effective_date(tiny, tiny_files):
    cases = [case for case in read_fixture_text(tiny_files["dtap.toml"], "dtap.toml").cases
             if case.name.startswith("rule 'recent': since last dose <= 28 days")]
    gaps = sorted((AS_OF - case.doses[-1].date).days for case in cases)
    assert gaps == [27, 28, 29]
    assert all(len(case.doses) == 2 for case in cases)  # "exactly 2 valid doses"


def test_age_points_move_the_birth_date(tiny_files):
    cases = [case for case in read_fixture_text(tiny_files["dtap.toml"], "dtap.toml").cases
             if case.name.startswith("rule 'under 3 months': age < 3 months")]
    from vaxdsl.fixtures import add_age

    assert sorted((AS_OF - add_age(case.student.birth_date, "3 months")).days for case in cases) == [-1, 0, 1]


def test_generation_is_deterministic(tiny):
    assert boundaries.generate(tiny, AS_OF) == boundaries.generate(load_text(TINY).ruleset, AS_OF)
    assert boundaries.generate(tiny, date(2026, 9, 8)) != boundaries.generate(tiny, AS_OF)


def test_minnesota_thresholds_and_labels():
    ruleset = load("minnesota").ruleset
    found = thresholds.thresholds(ruleset)
    texts = {(t.vaccine, t.source, t.text): t.offsets for t in found}
    assert texts[("MMR", "series 'Measles 2-dose series'", "dose 1 min age 12 months - 4 days")] == (-5, -4, 0)
    assert texts[("DTaP", "rule 'KG, 4 shots Compliant'", "dose 4 at age >= 4 years")] == (-5, -4, 0)
    assert texts[("DTaP", "rule 'KG, 3 doses In Grace Period'", "since last dose < 6 months")] == (0, 3, 4)
    assert texts[("HepB", "rule '2 doses In Grace Period'", "since last dose <= 112 days")] == (-1, 0, 1)
    assert texts[("MenACWY", "series", "dose 1 min age 10 years")] == (-1, 0, 1)
    assert texts[("PCV", "rule '3 doses Compliant'", "age < 16 months + 4 weeks + 4 days")] == (0, 3, 4)
    assert {t.vaccine for t in found} == {v.id for v in ruleset.vaccines}


def test_the_command_writes_files_that_snapshot_record_accepts(tmp_path, capsys):
    out = tmp_path / "bounds"
    assert main(["fixtures", "boundaries", "minnesota", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out / 'dtap.toml'}:" in printed
    names = sorted(path.name for path in out.glob("*.toml"))
    assert names == ["dtap.toml", "hepa.toml", "hepb.toml", "hib.toml", "menacwy.toml", "mmr.toml", "pcv.toml",
                     "polio.toml", "tdap.toml", "varicella.toml"]
    first = {name: (out / name).read_bytes() for name in names}

    again = tmp_path / "again"
    assert main(["fixtures", "boundaries", "minnesota", "--out", str(again)]) == 0
    assert {name: (again / name).read_bytes() for name in names} == first

    capsys.readouterr()
    assert main(["snapshot", "record", "minnesota", str(out)]) == 0
    written = sum(len(read_fixture_text((out / name).read_text(encoding="utf-8"), name).cases) for name in names)
    assert written > 500
    assert f"for {written} case(s) in 10 file(s)" in capsys.readouterr().out
    snapshot_text = (out / ".vaxdsl-snapshot.txt").read_text(encoding="utf-8")
    assert ("mmr.toml | series 'Measles 2-dose series': dose 1 min age 12 months - 4 days: dose 1 at 12 months "
            "- 5 days [fails] | MMR | dose ") in snapshot_text
    # every case read and ran: no case is an error
    assert not [line for line in snapshot_text.splitlines() if " | ERROR | " in line and not line.startswith("#")]


def test_minnesota_series_points_behave_as_labelled(tmp_path):
    ruleset = load("minnesota").ruleset
    reasons = {"min age": "too_young", "max age": "too_old", "min interval": "too_soon"}
    checked = 0
    for name, text in boundaries.generate(ruleset, AS_OF).items():
        fixture = read_fixture_text(text, name)
        assert fixture.errors == ()
        for case in fixture.cases:
            found = re.match(r"series(?: '([^']*)')?: dose (\d+) (min age|max age|min interval)", case.name)
            if not found:
                continue
            series_name, k, test = found.group(1) or "", int(found.group(2)), found.group(3)
            group = next(v.id for v in ruleset.vaccines if f"{v.id.lower()}.toml" == name)
            evaluation = run_case(ruleset, case, evaluate_student).evaluation
            # judged in the walk of the series the threshold belongs to (another may be chosen)
            walk = next(g.walk for g in evaluation.groups if g.vaccine == group)
            # each antigen's default series (the group's own, when it has no antigens)
            default = next((a.walks[0] for a in walk.antigens if a.walks[0].series.name == series_name), None)
            if default is None:
                continue  # the schedule is built for the default series' minimums
            verdicts = default.verdicts
            if [v.target for v in verdicts[:k]] != list(range(1, k + 1)):
                continue  # a `skip` moved the schedule off the dose numbers: not a point of this test
            assert all(v.valid for v in verdicts[:k - 1]), case.name
            if case.name.endswith("[holds]"):
                verdict = verdicts[k - 1].valid
            else:  # a dose below its minimum age may also be too soon: the interval is judged first
                expected = {reasons[test], "too_soon"} if test == "min age" else {reasons[test]}
                verdict = verdicts[k - 1].reason in expected
            assert verdict, (name, case.name, verdicts[k - 1])
            checked += 1
    assert checked >= 150


def test_a_bad_as_of_is_a_usage_error(tmp_path, capsys):
    assert main(["fixtures", "boundaries", "minnesota", "--out", str(tmp_path), "--as-of", "2025-02-30"]) == 2
    assert "--as-of '2025-02-30' is not a date" in capsys.readouterr().err


def test_the_offsets_helper():
    assert thresholds.offsets_for(">=", -4) == (-5, -4, 0)
    assert thresholds.offsets_for("<", 4) == (0, 3, 4)
    assert thresholds.offsets_for("<=", 4) == (0, 4, 5)
    assert thresholds.offsets_for(">", -4) == (-4, -3, 0)
    assert thresholds.offsets_for("=", 0) == (-1, 0, 1)
