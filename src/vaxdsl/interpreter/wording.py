"""Words for explanations. Conditions themselves are quoted as the formatter writes them
(:func:`vaxdsl.formatter.condition_text`), so an explanation shows the rule's own words.

>>> product_list(["A", "B", "C", "D", "E", "F", "G"])
'A, B, C, D, E and 2 more'
"""

from __future__ import annotations

from .. import ast
from ..formatter import dose_ref_text

REASON_WORDS = {
    "too_young": "too young",
    "too_soon": "too soon",
    "too_old": "too old",
    "live_virus_conflict": "live virus conflict",
    "not_allowable": "not an allowable product",
    "extraneous": "extra dose",
}


def product_list(product_ids, shown: int = 5) -> str:
    """``"DTaP, DT_pediatric and 12 more"``: a long list of allowed products helps nobody."""
    ids = list(dict.fromkeys(product_ids))
    if len(ids) <= shown:
        return ", ".join(ids)
    return f"{', '.join(ids[:shown])} and {len(ids) - shown} more"


def doc_summary(doc: str) -> str:
    """The first paragraph of a doc string on one line, without its final full stop."""
    first = doc.strip().split("\n\n")[0]
    return " ".join(first.split()).rstrip(".")


def missing_dose_text(ref: ast.DoseRef) -> str:
    return f"has no valid {dose_ref_text(ref)}" if ref.kind == "nth" else "has no valid doses"

