"""The Minnesota fixture suite (tests/fixtures/minnesota) against rulesets/minnesota.vax.

The cases are written from the domain digest and the law, not from the engine's output; a known
disagreement between digest and ruleset is marked `xfail = "DISAGREEMENT ..."` in its fixture (it is
still run and reported), so this test passes while the disagreement stays visible.
"""

import json
from pathlib import Path

from vaxdsl.cli import main

SUITE = Path(__file__).resolve().parent / "fixtures" / "minnesota"
GROUPS = ("hepb", "dtap", "tdap", "polio", "mmr", "varicella", "hib", "pcv", "hepa", "menacwy", "general")


def test_one_file_per_vaccine_group_and_one_cross_cutting():
    assert sorted(path.stem for path in SUITE.glob("*.toml")) == sorted(GROUPS)


def test_minnesota_suite_passes(capsys):
    code = main(["test", "minnesota", str(SUITE), "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    failures = [
        f"{case['file']}:{case['line']}: {case['name']}: "
        + "; ".join([f"{m['what']}: expected {m['expected']}, got {m['actual']}" for m in case["mismatches"]]
                    + case["errors"])
        for case in data["cases"] if case["outcome"] in ("fail", "error", "xpass")
    ]
    assert failures == [] and data["fixture_errors"] == []
    assert code == 0
    assert data["summary"]["cases"] >= 200
    for case in data["cases"]:
        if case["outcome"] == "xfail":
            assert case["xfail"].startswith("DISAGREEMENT"), case["name"]


def test_minnesota_suite_checks_every_rule_that_can_fire(capsys):
    code = main(["coverage", "minnesota", str(SUITE), "--asserted", "--fail-under", "100", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert data["never_hit"] == []
    assert code == 0
    never = {(group["vaccine"], rule["rule"]) for group in data["groups"] for rule in group["rules"] if not rule["fireable"]}
    assert never == {("DTaP", "Grade 9-12 3 doses Compliant"), ("Polio", "Grades 12 3 doses Compliant")}
