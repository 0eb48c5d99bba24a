"""The snapshot line format (vaxdsl.qa.snapshot): one record per line, stable, sorted, escaped."""

import random
import re

import attrs
import pytest

from vaxdsl.errors import VaxError
from vaxdsl.fixtures import read_fixture_text
from vaxdsl.interpreter import evaluate_student
from vaxdsl.loader import load, load_text
from vaxdsl.qa import snapshot

TINY = '''\
ruleset "Tiny" { version "1.0" }
grades {
  KG "Kindergarten"
  01 "Grade 1"
}
product DTaP cvx 20 "DTaP" counts DTaP
product Pediarix cvx 110 "DTaP-HepB-IPV" counts DTaP, HepB
product HepB cvx 8 "HepB" counts HepB
vaccine DTaP "DTaP" {
  series {
    dose 1 { min age 6 weeks - 4 days }
    dose 2 { min age 10 weeks - 4 days  min interval 4 weeks - 4 days }
  }
  rule "under 3 months" => no_requirement
    when age < 3 months
  rule "2 doses Compliant" => compliant
    when at least 2 valid doses
  rule "Default Non-compliant" => non_compliant
}
vaccine HepB "HepB" {
  rule "1 dose Compliant" => compliant when at least 1 valid dose
  otherwise non_compliant
}
'''

CASES = '''\
[[case]]
name = "two valid doses"
as_of = 2024-09-03
birth_date = 2019-01-01
grade = "KG"
doses = [ { age = "6 weeks - 4 days", cvx = 20 }, { age = "10 weeks", product = "Pediarix" } ]

[[case]]
name = "first dose 5 days early"
as_of = 2024-09-03
birth_date = 2019-01-01
grade = "KG"
doses = [ { age = "6 weeks - 5 days", cvx = 20 }, { age = "10 weeks", cvx = 20 } ]

[[case]]
name = "an unknown product"
as_of = 2024-09-03
birth_date = 2019-01-01
doses = [ { age = "2 months", cvx = 999 } ]
'''


@pytest.fixture(scope="module")
def tiny():
    return load_text(TINY).ruleset


@pytest.fixture(scope="module")
def cases():
    fixture = read_fixture_text(CASES, "cases.toml")
    assert fixture.errors == ()
    return list(fixture.cases)


def test_the_lines_of_a_case(tiny, cases):
    assert snapshot.case_lines(tiny, cases[0]) == [
        "cases.toml | two valid doses | DTaP | compliant | 2 doses Compliant | valid_doses=2",
        "cases.toml | two valid doses | DTaP | dose 2019-02-08 (1 month 7 days) cvx 20 DTaP | valid, dose 1",
        "cases.toml | two valid doses | DTaP | dose 2019-03-12 (2 months 11 days) cvx 110 Pediarix | valid, dose 2",
        "cases.toml | two valid doses | HepB | compliant | 1 dose Compliant | valid_doses=1",
        "cases.toml | two valid doses | HepB | dose 2019-03-12 (2 months 11 days) cvx 110 Pediarix | valid, dose 1",
    ]


def test_an_invalid_dose_and_a_group_decided_by_no_rule(tiny, cases):
    lines = snapshot.case_lines(tiny, cases[1])
    assert "cases.toml | first dose 5 days early | DTaP | dose 2019-02-07 (1 month 6 days) cvx 20 DTaP | not valid: too_young" in lines
    assert "cases.toml | first dose 5 days early | HepB | non_compliant | (no rule) | valid_doses=0" in lines


def test_a_case_that_cannot_run_is_one_error_line(tiny, cases):
    lines = snapshot.case_lines(tiny, cases[2])
    assert len(lines) == 1
    assert lines[0].startswith("cases.toml | an unknown product | ERROR | case 'an unknown product': dose CVX 999")


def _changed(evaluate, case_name, change):
    """An engine that gives ``change(evaluation)`` for one case and the interpreter's answer otherwise."""

    def engine(ruleset, student, doses, exemptions, as_of):
        evaluation = evaluate(ruleset, student, doses, exemptions, as_of)
        return change(evaluation) if student.id == case_name else evaluation

    return engine


def _diff(before, after):
    removed = [line for line in before if line not in after]
    added = [line for line in after if line not in before]
    return removed, added


def test_a_changed_group_outcome_changes_exactly_one_line(tiny, cases):
    before = snapshot.snapshot_lines(tiny, cases)

    def demote(evaluation):
        groups = tuple(attrs.evolve(g, status="in_process", rule="Something else") if g.vaccine == "DTaP" else g
                       for g in evaluation.groups)
        return attrs.evolve(evaluation, groups=groups)

    after = snapshot.snapshot_lines(tiny, cases, evaluate=_changed(evaluate_student, "two valid doses", demote))
    removed, added = _diff(before, after)
    assert removed == ["cases.toml | two valid doses | DTaP | compliant | 2 doses Compliant | valid_doses=2"]
    assert added == ["cases.toml | two valid doses | DTaP | in_process | Something else | valid_doses=2"]
    assert len(before) == len(after)
    assert before.index(removed[0]) == after.index(added[0])


def test_a_changed_dose_verdict_changes_exactly_one_line(tiny, cases):
    before = snapshot.snapshot_lines(tiny, cases)

    def reject_second(evaluation):
        doses = tuple(attrs.evolve(d, valid=False, reason="too_soon", dose_number=None)
                      if d.vaccine == "DTaP" and d.dose_number == 2 else d for d in evaluation.doses)
        return attrs.evolve(evaluation, doses=doses)

    after = snapshot.snapshot_lines(tiny, cases, evaluate=_changed(evaluate_student, "two valid doses", reject_second))
    removed, added = _diff(before, after)
    assert len(removed) == len(added) == 1
    assert removed[0].endswith("cvx 110 Pediarix | valid, dose 2")
    assert added[0].endswith("cvx 110 Pediarix | not valid: too_soon")


def test_lines_do_not_depend_on_case_order(tiny, cases):
    shuffled = list(cases)
    random.Random(4).shuffle(shuffled)
    assert shuffled != cases
    assert snapshot.snapshot_lines(tiny, shuffled) == snapshot.snapshot_lines(tiny, cases)


def test_each_group_line_comes_before_its_doses_and_doses_by_date(tiny, cases):
    lines = snapshot.snapshot_lines(tiny, cases)
    first = [line for line in lines if line.startswith("cases.toml | two valid doses | DTaP |")]
    assert "| dose " not in first[0]
    dates = [line.split("| dose ")[1][:10] for line in first[1:]]
    assert dates == sorted(dates) and len(dates) == 2


def test_separators_in_names_are_escaped(tiny):
    case = read_fixture_text('[[case]]\nname = "a | b \\\\ c"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\n',
                             "x.toml").cases[0]
    line = snapshot.case_lines(tiny, case)[0]
    assert line.startswith("x.toml | a \\| b \\\\ c | DTaP | ")
    fields = re.split(r"(?<!\\) \| ", line)  # the escaped bar is not a separator
    assert fields[:3] == ["x.toml", "a \\| b \\\\ c", "DTaP"] and len(fields) == 6
    assert snapshot.escape("two\nlines") == "two\\nlines"


def test_render_and_parse_round_trip(tiny, cases):
    lines = snapshot.snapshot_lines(tiny, cases)
    text = snapshot.render(tiny, lines, len(cases), 1)
    assert text.startswith("# vaxdsl snapshot format 1\n# ruleset: Tiny 1.0\n")
    assert text.endswith(lines[-1] + "\n")
    parsed = snapshot.parse(text)
    assert parsed.format == snapshot.FORMAT_VERSION
    assert parsed.ruleset == "Tiny 1.0"
    assert list(parsed.lines) == lines
    assert snapshot.compare(text, lines).unchanged


def test_compare_reports_the_changed_lines_only(tiny, cases):
    lines = snapshot.snapshot_lines(tiny, cases)
    text = snapshot.render(tiny, lines, len(cases), 1)
    changed = [line.replace("| compliant |", "| in_process |") if "HepB | compliant" in line else line for line in lines]
    comparison = snapshot.compare(text, changed)
    assert not comparison.unchanged
    body = [line for line in comparison.diff() if line[:1] in "+-" and line[:3] not in ("---", "+++")]
    assert body == ["-cases.toml | two valid doses | HepB | compliant | 1 dose Compliant | valid_doses=1",
                    "+cases.toml | two valid doses | HepB | in_process | 1 dose Compliant | valid_doses=1"]
    assert comparison.counts() == (1, 1)


def test_a_snapshot_of_another_format_or_no_snapshot_is_refused():
    with pytest.raises(VaxError, match="format 9"):
        snapshot.compare("# vaxdsl snapshot format 9\nx\n", ["x"])
    with pytest.raises(VaxError, match="not a vaxdsl snapshot"):
        snapshot.parse("hello\n")


def test_labels_are_relative_to_the_directory(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("b.toml", "sub/a.toml"):
        (tmp_path / name).write_text('[[case]]\nname = "n"\nas_of = 2024-09-03\nbirth_date = 2019-01-01\n')
    assert [label for label, _ in snapshot.labelled_files([tmp_path])] == ["b.toml", "sub/a.toml"]
    assert [label for label, _ in snapshot.labelled_files([tmp_path / "sub" / "a.toml"])] == ["a.toml"]
    labelled = snapshot.load_labelled([tmp_path])
    assert sorted(case.file for case in labelled.cases) == ["b.toml", "sub/a.toml"]


def test_two_files_with_one_label_are_an_error(tmp_path):
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.toml").write_text("")
    with pytest.raises(VaxError, match="both be labelled 'a.toml'"):
        snapshot.labelled_files([tmp_path / "one", tmp_path / "two"])


def test_minnesota_lines_are_stable_across_runs():
    ruleset = load("minnesota").ruleset
    labelled = snapshot.load_labelled(["tests/fixtures/minnesota/mmr.toml"])
    first = snapshot.snapshot_lines(ruleset, labelled.cases)
    again = snapshot.snapshot_lines(load("minnesota").ruleset, snapshot.load_labelled(["tests/fixtures/minnesota/mmr.toml"]).cases)
    assert first == again
    groups = len(ruleset.vaccines)
    assert sum(1 for line in first if "| dose " not in line) == groups * len(labelled.cases)
