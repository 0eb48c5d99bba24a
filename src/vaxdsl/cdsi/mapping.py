"""How the CDC's words map to ours: vaccine groups, evaluation statuses and not-valid reasons.

The CDC test-case workbook names a vaccine group per case (``DTAP``, ``POL``, ...) and gives each dose
a status (``Valid``, ``Not Valid``, ``Extraneous``) and, when it is not valid, a reason in words
(``Age: Too Young``, ``Interval: too Soon``, ...). Capitals vary from row to row, so every comparison
is case-insensitive; the CDC's own text is kept beside the mapped id for reports.

>>> ruleset_group("DTAP"), ruleset_group("var"), ruleset_group("HPV"), canonical_group("polio")
('DTaP', 'Varicella', None, 'POL')
>>> [reason_id(text) for text in ("Age: Too Young", "Interval: too Soon", "Inadvertent Vaccine",
...                               "Not a preferable or allowable vaccine", "Series Already Complete")]
['too_young', 'too_soon', 'not_allowable', 'not_allowable', 'extraneous']
>>> reason_id("Age: Too Old"), reason_id("LIVE VIRUS CONFLICT"), reason_id("something new")
('too_old', 'live_virus_conflict', None)
>>> reason_id(None, "Extraneous"), status_valid("Valid"), status_valid(" not valid "), status_valid("Extraneous")
('extraneous', True, False, False)
>>> status_valid("Maybe") is None
True
>>> canonical_status("not  VALID"), canonical_status("Substandard"), canonical_status("Maybe")
('Not Valid', 'Sub-standard', None)
"""

from __future__ import annotations

import re

# CDC vaccine group (as the workbook spells it) -> ruleset vaccine group id. The CDC spells some in
# capitals (DTAP), some not (HepB), so lookups ignore case. Groups not listed (HPV, FLU, COVID-19,
# ROTA, MENB, ZOSTER, RSV, ...) have no school requirement and are skipped.
GROUPS: dict[str, str] = {
    "DTAP": "DTaP",
    "POL": "Polio",
    "HIB": "Hib",
    "PCV": "PCV",
    "HepB": "HepB",
    "MMR": "MMR",
    "VAR": "Varicella",
    "MCV": "MenACWY",
    "HepA": "HepA",
}
# Other spellings of those groups (the CDSi supporting data's names, the products' short names), so a
# workbook exported with them reads the same way.
ALIASES: dict[str, str] = {
    "DTaP/Tdap/Td": "DTAP", "Td/Tdap": "DTAP", "Polio": "POL", "IPV": "POL", "Varicella": "VAR",
    "Meningococcal": "MCV", "MenACWY": "MCV", "MCV4": "MCV", "Pneumococcal": "PCV", "Hep B": "HepB",
    "Hep A": "HepA",
}

# CDSi's evaluation statuses; a sub-standard dose (expired, recalled, a partial dose) is not valid.
STATUSES = ("Valid", "Not Valid", "Extraneous", "Sub-standard")

# Exact CDC reason labels (case-folded, spaces collapsed) -> ast.INVALID_REASONS.
REASONS: dict[str, str] = {
    "age: too young": "too_young",
    "age: below absolute minimum": "too_young",
    "interval: too soon": "too_soon",
    "interval: below absolute minimum": "too_soon",
    "live virus conflict": "live_virus_conflict",
    "not a preferable or allowable vaccine": "not_allowable",
    "inadvertent vaccine": "not_allowable",
    "age: too old": "too_old",
    "series already complete": "extraneous",
    "extraneous": "extraneous",
}
# Labels not listed above are read by their key words (a later workbook may reword a label).
_KEY_WORDS = (
    ("too young", "too_young"),
    ("too soon", "too_soon"),
    ("too old", "too_old"),
    ("live virus", "live_virus_conflict"),
    ("inadvertent", "not_allowable"),
    ("allowable", "not_allowable"),
    ("already complete", "extraneous"),
)


def fold(text: str | None) -> str:
    """Case-folded, with runs of white space as one space: how CDC labels are compared."""
    return re.sub(r"\s+", " ", (text or "").strip()).casefold()


_GROUPS_FOLDED = {fold(name): cdc for name, cdc in (*((cdc, cdc) for cdc in GROUPS), *ALIASES.items())}


def canonical_group(cdc_group: str | None) -> str | None:
    """The CDC group as this module spells it (``"dtap"`` -> ``"DTAP"``), or None when not mapped."""
    return _GROUPS_FOLDED.get(fold(cdc_group))


def ruleset_group(cdc_group: str | None) -> str | None:
    """The ruleset vaccine group a CDC group maps to, or None when the group is skipped."""
    canonical = canonical_group(cdc_group)
    return GROUPS[canonical] if canonical else None


def canonical_status(status: str | None) -> str | None:
    """The status as :data:`STATUSES` spells it (capitals, spaces and hyphens aside), or None."""
    key = re.sub(r"[\s-]", "", fold(status))
    return next((name for name in STATUSES if re.sub(r"[\s-]", "", fold(name)) == key), None)


def status_valid(status: str | None) -> bool | None:
    """True for ``Valid``; False for the other statuses; None for anything else."""
    name = canonical_status(status)
    return None if name is None else name == "Valid"


def reason_id(text: str | None, status: str | None = None) -> str | None:
    """Our reason id for a CDC reason label, or None when it has no counterpart.

    An ``Extraneous`` dose without a reason is ``extraneous``; with one (``Age: Too Old``) the reason
    decides.
    """
    word = fold(text)
    if word:
        if word in REASONS:
            return REASONS[word]
        for key, reason in _KEY_WORDS:
            if key in word:
                return reason
        return None
    return "extraneous" if fold(status) == "extraneous" else None
