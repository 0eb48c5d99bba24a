"""`vaxdsl cdsi check`: the bundled Minnesota ruleset against the CDC's CDSi test cases.

`test_minnesota_meets_the_recorded_floor` is the conformance gate CI runs: every figure must be at
least the one recorded in tests/cdsi_threshold.json. The floor only goes up: raise it (in the same
commit) when conformance improves, never lower it (docs/cdsi.md).
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from test_cdsi_workbook import WORKBOOK, make_row, make_workbook
from vaxdsl.cdsi import conformance
from vaxdsl.cdsi.workbook import read_workbook
from vaxdsl.cli import main
from vaxdsl.errors import VaxError
from vaxdsl.loader import load
from vaxdsl.results import DoseEvaluation, StudentEvaluation

ROOT = Path(__file__).resolve().parents[1]
THRESHOLD = ROOT / "tests" / "cdsi_threshold.json"
MINNESOTA_GROUPS = ["DTAP", "POL", "HIB", "PCV", "HepB", "MMR", "VAR", "MCV", "HepA"]


@pytest.fixture(scope="module")
def checked():
    if not WORKBOOK.is_file():
        pytest.skip(f"the CDC CDSi workbook is not at {WORKBOOK}")
    from io import StringIO
    from contextlib import redirect_stdout

    out = StringIO()
    with redirect_stdout(out):
        code = main(["cdsi", "check", str(WORKBOOK), "minnesota", "--threshold", str(THRESHOLD), "--format", "json"])
    return code, json.loads(out.getvalue())


# ---- the gate ----------------------------------------------------------------------------------------------


def test_minnesota_meets_the_recorded_floor(checked):
    code, data = checked
    below = [f"{b['scope']} {b['figure']}: {b['actual']} < {b['floor']}" for b in data["threshold"]["below"]]
    assert below == [], "conformance went below the floor in tests/cdsi_threshold.json:\n" + "\n".join(below)
    assert data["threshold"]["ok"] and data["threshold"]["notes"] == []
    assert code == 0


def test_the_floor_covers_every_group_minnesota_is_checked_on(checked):
    _, data = checked
    recorded = json.loads(THRESHOLD.read_text(encoding="utf-8"))
    assert [group["cdc_group"] for group in data["groups"]] == MINNESOTA_GROUPS
    assert sorted(recorded["groups"]) == sorted(MINNESOTA_GROUPS)
    for group in data["groups"]:
        floors = recorded["groups"][group["cdc_group"]]
        assert floors["agreement"] <= group["agreement_pct"] + 1e-9, group["cdc_group"]
        if group["not_valid_found_pct"] is not None:
            assert floors["not_valid_found"] <= group["not_valid_found_pct"] + 1e-9, group["cdc_group"]
    assert recorded["overall"]["agreement"] <= data["overall"]["agreement_pct"] + 1e-9
    assert recorded["overall"]["not_valid_found"] <= data["overall"]["not_valid_found_pct"] + 1e-9


def test_the_floor_never_goes_down():
    """Against the committed file: a floor may be raised, never lowered (docs/cdsi.md)."""
    try:
        shown = subprocess.run(["git", "show", "HEAD:tests/cdsi_threshold.json"], cwd=ROOT,
                               capture_output=True, text=True, check=False)
    except OSError:
        pytest.skip("git is not available")
    if shown.returncode != 0:
        pytest.skip("tests/cdsi_threshold.json is not committed yet")
    before, now = json.loads(shown.stdout), json.loads(THRESHOLD.read_text(encoding="utf-8"))
    lowered = []
    for scope, floors in [*before.get("groups", {}).items(), ("overall", before.get("overall", {}))]:
        current = now.get("overall", {}) if scope == "overall" else now.get("groups", {}).get(scope, {})
        for figure, value in floors.items():
            if value is not None and (current.get(figure) is None or current[figure] < value):
                lowered.append(f"{scope} {figure}: {value} -> {current.get(figure)}")
    assert lowered == [], "a conformance floor was lowered: " + "; ".join(lowered)


def test_the_text_report_lists_groups_disagreements_and_overall(capsys):
    if not WORKBOOK.is_file():
        pytest.skip(f"the CDC CDSi workbook is not at {WORKBOOK}")
    code = main(["cdsi", "check", str(WORKBOOK), "minnesota", "--groups", "dtap,POL"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert any(line.startswith("DTAP   DTaP ") for line in lines) and any(line.startswith("POL    Polio ") for line in lines)
    assert not any(line.startswith("HIB ") for line in lines)
    assert "Disagreements: " in out and out.rstrip().splitlines()[-1].startswith("Overall: ")


# ---- the comparison, on invented cases ----------------------------------------------------------------------


def _invented(tmp_path):
    dob = datetime(2020, 1, 1)
    rows = [
        make_row("T-1", "DTaP: one valid, one too young", dob, "DTAP", datetime(2020, 6, 1), [
            (datetime(2020, 2, 12), "20", None, "Valid", None),  # 6 weeks: valid for us too
            # 18 days later and before 10 weeks - 4 days: the walk names the interval first
            (datetime(2020, 3, 1), "20", None, "Not Valid", "Age: Too Young"),
        ]),
        make_row("T-2", "MMR with a varicella dose", dob, "MMR", datetime(2021, 6, 1), [
            (datetime(2021, 1, 1), "21", "MSD", "Valid", None),
            (datetime(2021, 1, 1), "03", "MSD", "Valid", None),
        ]),
        make_row("T-3", "an HPV case", dob, "HPV", datetime(2021, 6, 1)),
    ]
    return read_workbook(make_workbook(tmp_path / "cases.xlsx", rows))


def test_figures_and_disagreements(tmp_path):
    report = conformance.run_check(load("minnesota").ruleset, _invented(tmp_path))
    assert report.skipped_groups == {"HPV": 1}
    groups = {group.cdc_group: group for group in report.groups}
    dtap = groups["DTAP"].figures
    assert (dtap.cases, dtap.compared, dtap.agreeing, dtap.validity_agreeing, dtap.cdc_not_valid, dtap.not_valid_found) == (
        1, 2, 1, 2, 1, 1)
    [disagreement] = report.disagreements
    assert (disagreement.case.test_id, disagreement.ours.reason, disagreement.dose.reason_id) == ("T-1", "too_soon", "too_young")
    mmr = groups["MMR"]
    assert (mmr.figures.compared, mmr.figures.not_compared) == (1, 1)
    assert mmr.not_compared[0].why == "CVX 21 counts toward Varicella, not MMR, in the ruleset"
    text = conformance.render_text(report)
    assert "  T-1 DTaP: one valid, one too young" in text
    assert "2020-03-01 CVX 20 (born 2020-01-01, as of 2020-06-01): CDC Not Valid (Age: Too Young) [too_young] " \
           "vs ours not valid (too_soon)" in text
    assert conformance.current_floors(report)["groups"]["DTAP"] == {"agreement": 50.0, "not_valid_found": 100.0}


def test_any_engine_with_the_interpreters_signature(tmp_path):
    def everything_valid(ruleset, student, doses, exemptions, as_of):
        return StudentEvaluation(student.id, (), tuple(
            DoseEvaluation(student.id, dose.id, dose.date, dose.cvx, "DTaP", "x", True, None, n)
            for n, dose in enumerate(doses, start=1)))

    report = conformance.run_check(load("minnesota").ruleset, _invented(tmp_path), ["DTAP"], evaluate=everything_valid)
    figures = report.overall
    assert (figures.compared, figures.agreeing, figures.not_valid_found) == (2, 1, 0)
    assert figures.not_valid_found_pct == 0.0


def test_thresholds(tmp_path, capsys):
    book = make_workbook(tmp_path / "cases.xlsx", [make_row(
        "T-1", "x", datetime(2020, 1, 1), "DTAP", datetime(2020, 6, 1), [
            (datetime(2020, 2, 12), "20", None, "Valid", None),
            (datetime(2020, 3, 1), "20", None, "Not Valid", "Age: Too Young")])])
    floor = tmp_path / "floor.json"
    floor.write_text(json.dumps({"groups": {"DTAP": {"agreement": 50.0, "not_valid_found": 100}},
                                 "overall": {"agreement": 50}}), encoding="utf-8")
    assert main(["cdsi", "check", str(book), "minnesota", "--groups", "DTAP", "--threshold", str(floor)]) == 0
    assert "every figure is at or above its floor" in capsys.readouterr().out
    floor.write_text(json.dumps({"groups": {"DTAP": {"agreement": 50.1}}, "overall": {"agreement": 90}}), encoding="utf-8")
    assert main(["cdsi", "check", str(book), "minnesota", "--groups", "DTAP", "--threshold", str(floor),
                 "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [(b["scope"], b["figure"], b["floor"]) for b in data["threshold"]["below"]] == [
        ("DTAP", "agreement", 50.1), ("overall", "agreement", 90.0)]
    # A group that was not checked: its floors (and the overall ones) are not applied, and it says so.
    floor.write_text(json.dumps({"groups": {"POL": {"agreement": 99}}, "overall": {"agreement": 99}}), encoding="utf-8")
    assert main(["cdsi", "check", str(book), "minnesota", "--groups", "DTAP", "--threshold", str(floor)]) == 0
    out = capsys.readouterr().out
    assert "POL: not checked, so their floors were not applied" in out and "overall floors were not applied" in out


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "not a JSON threshold file"),
    ('{"groups": {"HPV": {"agreement": 1}}}', '"HPV" is not a CDC group'),
    ('{"groups": {"DTAP": {"agrement": 1}}}', 'unknown figure "agrement"'),
    ('{"overall": {"agreement": 101}}', "a percentage from 0 to 100"),
])
def test_bad_threshold_files(tmp_path, content, message):
    path = tmp_path / "t.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(VaxError, match=message):
        conformance.read_threshold(path)


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["cdsi", "check", str(tmp_path / "absent.xlsx"), "minnesota"]) == 2
    assert "no such workbook" in capsys.readouterr().err
    assert main(["cdsi", "check", str(tmp_path / "absent.xlsx"), "minnesota", "--groups", "DTAP,HPV"]) == 2
    assert "HPV is not a CDC group vaxdsl maps" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["cdsi"])


def test_a_workbook_given_as_the_ruleset_says_which_comes_first(tmp_path, capsys):
    book = make_workbook(tmp_path / "cases.xlsx", [])
    assert main(["cdsi", "check", "minnesota", str(book)]) == 2
    assert f"the workbook comes first, as in `vaxdsl cdsi check {book} minnesota`" in capsys.readouterr().err
