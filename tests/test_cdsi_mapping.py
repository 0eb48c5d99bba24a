"""The CDC's vaccine groups, statuses and reasons, mapped to ours (vaxdsl.cdsi.mapping)."""

import pytest

from vaxdsl import ast
from vaxdsl.cdsi.mapping import GROUPS, REASONS, canonical_group, reason_id, ruleset_group, status_valid


@pytest.mark.parametrize(("cdc", "ours"), [
    ("DTAP", "DTaP"), ("POL", "Polio"), ("HIB", "Hib"), ("PCV", "PCV"), ("HepB", "HepB"),
    ("MMR", "MMR"), ("VAR", "Varicella"), ("MCV", "MenACWY"), ("HepA", "HepA"),
])
def test_the_nine_school_groups_map(cdc, ours):
    assert ruleset_group(cdc) == ours
    assert ruleset_group(cdc.lower()) == ours and ruleset_group(f" {cdc.upper()} ") == ours


@pytest.mark.parametrize("cdc", ["HPV", "FLU", "COVID-19", "ROTA", "MENB", "ZOSTER", "RSV", "", None])
def test_other_groups_are_skipped(cdc):
    assert ruleset_group(cdc) is None and canonical_group(cdc) is None


def test_every_mapped_group_exists_in_minnesota():
    from vaxdsl.loader import load

    groups = {vaccine.id for vaccine in load("minnesota").ruleset.vaccines}
    assert set(GROUPS.values()) <= groups


@pytest.mark.parametrize(("text", "status", "ours"), [
    ("Age: Too Young", "Not Valid", "too_young"),
    ("Interval: too Soon", "Not Valid", "too_soon"),
    ("INTERVAL: TOO SOON", "Not Valid", "too_soon"),
    ("Live Virus Conflict", "Not Valid", "live_virus_conflict"),
    ("Not a preferable or allowable vaccine", "Not Valid", "not_allowable"),
    ("Inadvertent Vaccine", "Not Valid", "not_allowable"),
    ("inadvertent  vaccine", "Not Valid", "not_allowable"),
    ("Age: Too Old", "Extraneous", "too_old"),
    ("Series Already Complete", "Extraneous", "extraneous"),
    (None, "Extraneous", "extraneous"),
    ("", "Extraneous", "extraneous"),
    (None, "Not Valid", None),
    ("Age: Too Young; Interval: Too Soon", "Not Valid", "too_young"),  # the first key word wins
    ("Patient is on vacation", "Not Valid", None),
])
def test_reasons_map_case_insensitively(text, status, ours):
    assert reason_id(text, status) == ours


def test_every_mapped_reason_is_one_of_ours():
    assert set(REASONS.values()) <= set(ast.INVALID_REASONS)


def test_statuses():
    assert [status_valid(s) for s in ("Valid", "VALID", "Not Valid", "not valid", "Extraneous", "extraneous")] == [
        True, True, False, False, False, False]
    assert status_valid("Pending") is None and status_valid(None) is None
