"""Synthetic populations: deterministic, plausible, and loadable."""

import csv
from collections import Counter, defaultdict
from datetime import date

import pytest

from vaxdsl.cli import main
from vaxdsl.facts import read_fact_dir
from vaxdsl.loader import load, load_text
from vaxdsl.resources import bundled_rulesets
from vaxdsl.synth import DEFAULT_AS_OF, GRADES, PRODUCTS, declarations, synthesize

GROUPS_OF = {int(cvx): groups for (cvx, _), (_, _, groups) in PRODUCTS.items()}


def rows(folder, name):
    with open(folder / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    """5,000 students as of the default date, read back per student."""
    folder = tmp_path_factory.mktemp("population")
    summary = synthesize(folder, 5000, seed=11)
    students = {r["student_id"]: r for r in rows(folder, "students")}
    doses, exemptions = defaultdict(list), defaultdict(list)
    for r in rows(folder, "doses"):
        doses[r["student_id"]].append((date.fromisoformat(r["date"]), int(r["cvx"]), r["mvx"]))
    for r in rows(folder, "exemptions"):
        exemptions[r["student_id"]].append((r["vaccine"], r["kind"], r["date"]))
    return folder, summary, students, doses, exemptions


def age_in_years(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def test_the_same_seed_gives_the_same_bytes(tmp_path):
    for name in ("a", "b", "c"):
        synthesize(tmp_path / name, 400, seed=5 if name != "c" else 6)
    for file in ("students.csv", "doses.csv", "exemptions.csv"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
    assert (tmp_path / "a" / "doses.csv").read_bytes() != (tmp_path / "c" / "doses.csv").read_bytes()


def test_counts_and_about_twenty_doses_a_student(population):
    _, summary, students, doses, exemptions = population
    assert summary.students == len(students) == 5000
    assert summary.doses == sum(len(d) for d in doses.values())
    assert 16 <= summary.doses / summary.students <= 24


def test_grades_follow_a_minnesota_like_mix(population):
    _, _, students, _, _ = population
    grades = Counter(s["grade"] for s in students.values())
    assert set(grades) <= set(GRADES)
    assert all(grades[f"{g:02d}"] > 250 for g in range(1, 13)) and grades["KG"] > 250
    assert 150 < grades[""] < 500  # child care
    assert sum(grades[g] for g in ("EC", "PS", "EE")) > 50 and sum(grades[g] for g in grades if g[:1] in "PR") > 50


def test_birth_dates_fit_the_grade(population):
    _, _, students, _, _ = population
    school_start = date(DEFAULT_AS_OF.year, 9, 1)
    off_by_a_year = 0
    for s in students.values():
        age = age_in_years(date.fromisoformat(s["birth_date"]), school_start)
        grade = s["grade"]
        if grade == "":
            assert 0 <= age <= 5
        elif grade in ("EC", "PS", "EE") or grade[0] in "PR":
            assert 3 <= age <= 4, s
        else:
            expected = 5 + (0 if grade == "KG" else int(grade))
            assert expected - 1 <= age <= expected + 1, s  # held back or started early
            off_by_a_year += age != expected
    assert 0 < off_by_a_year < 0.06 * len(students)


def test_no_dose_before_birth_or_after_the_as_of_date(population):
    _, _, students, doses, exemptions = population
    for student_id, history in doses.items():
        birth = date.fromisoformat(students[student_id]["birth_date"])
        assert all(birth <= when <= DEFAULT_AS_OF for when, _, _ in history)
        assert history == sorted(history, key=lambda d: d[0])
    for student_id, filed in exemptions.items():
        birth = date.fromisoformat(students[student_id]["birth_date"])
        assert all(not signed or birth <= date.fromisoformat(signed) <= DEFAULT_AS_OF for _, _, signed in filed)


def test_most_kindergarteners_are_fully_vaccinated_but_not_all(population):
    _, _, students, doses, exemptions = population
    complete = total = 0
    for student_id, s in students.items():
        if s["grade"] != "KG":
            continue
        total += 1
        birth = date.fromisoformat(s["birth_date"])
        fourth = date(birth.year + 4, birth.month, 28 if (birth.month, birth.day) == (2, 29) else birth.day)
        by_group = defaultdict(list)
        for when, cvx, _ in doses[student_id]:
            for group in GROUPS_OF[cvx]:
                by_group[group].append(when)

        def enough(group, full, short):
            dates = by_group[group]
            return len(dates) >= full or (len(dates) >= short and max(dates) >= fourth)

        varicella_history = ("Varicella", "disease_history") in {(v, k) for v, k, _ in exemptions[student_id]}
        complete += (enough("DTaP", 5, 4) and enough("Polio", 4, 3) and len(by_group["MMR"]) >= 2
                     and (len(by_group["Varicella"]) >= 2 or varicella_history) and len(by_group["HepB"]) >= 3)
    assert 0.75 <= complete / total <= 0.95  # Minnesota kindergarten: mid-80s percent


def test_histories_include_combinations_late_and_invalid_doses(population):
    _, _, students, doses, exemptions = population
    products = Counter((cvx, mvx) for history in doses.values() for _, cvx, mvx in history)
    for code in [(110, ""), (120, ""), (130, "SKB"), (130, "PMC"), (146, ""), (94, ""), (43, "MSD")]:
        assert products[code] > 0, code
    too_close = too_young = late = infant_tdap = 0
    for student_id, history in doses.items():
        birth = date.fromisoformat(students[student_id]["birth_date"])
        infant_tdap += any(cvx == 115 and (when - birth).days < 365 for when, cvx, _ in history)
        by_group = defaultdict(list)
        for when, cvx, _ in history:
            for group in GROUPS_OF[cvx]:
                by_group[group].append(when)
        too_close += any(0 < (b - a).days < 24 for dates in by_group.values() for a, b in zip(dates, dates[1:]))
        too_young += any((when - birth).days < 361 for when in by_group["MMR"])
        late += bool(by_group["DTaP"]) and (by_group["DTaP"][0] - birth).days > 120
    assert too_close > 10 and too_young > 10 and late > 50
    assert 0.001 < infant_tdap / len(doses) < 0.006  # Tdap in place of the 4-month DTaP dose (0.3%)
    kinds = Counter(kind for filed in exemptions.values() for _, kind, _ in filed)
    assert set(kinds) == {"medical", "conscientious", "lab_immunity", "disease_history"}
    exempt_students = sum(1 for filed in exemptions.values() if filed)
    assert 0.02 < exempt_students / len(students) < 0.08


def test_the_files_load_with_no_bad_rows(population):
    folder, summary, *_ = population
    ruleset = load_text(declarations(), "synth.vax").ruleset
    facts = read_fact_dir(folder, products=ruleset.products, vaccines=ruleset.vaccines, today=DEFAULT_AS_OF,
                          grades=[g.code for g in ruleset.grade_decls])
    assert facts.problems == []
    assert (len(facts.students), len(facts.doses), len(facts.exemptions)) == (summary.students, summary.doses, summary.exemptions)


@pytest.mark.skipif("minnesota" not in bundled_rulesets(), reason="the bundled minnesota ruleset is not written yet")
def test_the_bundled_minnesota_ruleset_declares_what_synth_uses(population):
    folder, *_ = population
    ruleset = load("minnesota").ruleset
    facts = read_fact_dir(folder, products=ruleset.products, vaccines=ruleset.vaccines, today=DEFAULT_AS_OF,
                          grades=[g.code for g in ruleset.grade_decls] or None)
    assert Counter(p.reason for p in facts.problems).most_common(5) == []


def test_as_of_moves_the_whole_population(tmp_path):
    synthesize(tmp_path, 300, seed=2, as_of=date(2020, 1, 15))
    students = rows(tmp_path, "students")
    assert max(r["date"] for r in rows(tmp_path, "doses")) <= "2020-01-15"
    kindergarten = [date.fromisoformat(s["birth_date"]) for s in students if s["grade"] == "KG"]
    # school year 2019-20: kindergarteners are 5 by 2019-09-01 (but for a few held back or early)
    assert kindergarten and sum(date(2013, 9, 2) <= b <= date(2014, 9, 1) for b in kindergarten) >= 0.9 * len(kindergarten)


def test_synth_command(tmp_path, capsys):
    assert main(["synth", "--students", "50", "--seed", "3", "--out", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.startswith("wrote 50 students, ")
    assert len(rows(tmp_path / "out", "students")) == 50
    with pytest.raises(SystemExit):
        main(["synth", "--students", "5", "--out", str(tmp_path), "--as-of", "2020-13-01"])
    (tmp_path / "file").write_text("")
    assert main(["synth", "--students", "5", "--out", str(tmp_path / "file")]) == 2
    assert "cannot write to" in capsys.readouterr().err
