"""Conditions, dose references and calls written back as the language writes them.

The interpreter quotes conditions this way in its trace ("at least 5 valid doses"), so an
explanation shows the rule's own words.

>>> from vaxdsl.parser import parse
>>> rule = parse('vaccine X { rule "r" => compliant when at least 2 valid doses of MMR at age >= 12 months '
...              'and not (exempt (medical) or grade in KG..02, early) }').vaccines[0].rules[0]
>>> condition_text(rule.condition)
'at least 2 valid doses of MMR at age >= 12 months and not (exempt (medical) or grade in KG..02, early)'
"""

from __future__ import annotations

from .. import ast
from ..dates import duration_text

QUANTITY_WORDS = {">=": "at least", "<=": "at most", "=": "exactly", "<": "fewer than", ">": "more than"}
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


def dose_ref_text(ref: ast.DoseRef) -> str:
    return f"dose {ref.number}" if ref.kind == "nth" else f"{ref.kind} dose"


def age_filter_text(filter: ast.AgeFilter) -> str:
    if filter.op == "..":
        return f"at age {duration_text(filter.low)} .. {duration_text(filter.high)}"
    return f"at age {filter.op} {duration_text(filter.low)}"


def grade_items_text(items) -> str:
    return ", ".join(f"{item.low}..{item.high}" if isinstance(item, ast.GradeRange) else item for item in items)


def call_text(call: ast.Call) -> str:
    def arg(item):
        if isinstance(item, ast.Student):
            return "student"
        if isinstance(item, ast.CurrentDose):
            return "dose"
        if isinstance(item, ast.Name):
            return item.name
        if isinstance(item, ast.DateLit):
            return item.value.isoformat()
        return str(item.value)

    return f"{call.name}({', '.join(arg(a) for a in call.args)})"


def count_text(condition: ast.CountDoses) -> str:
    if condition.op == "=" and condition.count == 0:
        words = "no"
    else:
        words = f"{QUANTITY_WORDS[condition.op]} {condition.count}"
    noun = "dose" if condition.count == 1 else "doses"
    text = f"{words}{' valid' if condition.valid else ''} {noun}"
    if condition.products:
        text += " of " + ", ".join(condition.products)
    if condition.age is not None:
        text += " " + age_filter_text(condition.age)
    return text


def condition_text(condition) -> str:
    if isinstance(condition, ast.And):
        return " and ".join(_grouped(item, ast.Or) for item in condition.items)
    if isinstance(condition, ast.Or):
        return " or ".join(_grouped(item, ast.And) for item in condition.items)
    if isinstance(condition, ast.Not):
        return "not " + _grouped(condition.item, (ast.And, ast.Or))
    if isinstance(condition, ast.Always):
        return "always"
    if isinstance(condition, ast.AgeCompare):
        return f"age {condition.op} {duration_text(condition.duration)}"
    if isinstance(condition, ast.AgeBetween):
        return f"age in {duration_text(condition.low)} .. {duration_text(condition.high)}"
    if isinstance(condition, ast.GradeIn):
        return "grade in " + grade_items_text(condition.items)
    if isinstance(condition, ast.NoGrade):
        return "no grade"
    if isinstance(condition, ast.CountDoses):
        return count_text(condition)
    if isinstance(condition, ast.DoseAge):
        return f"{dose_ref_text(condition.dose)} {age_filter_text(condition.filter)}"
    if isinstance(condition, ast.IntervalCompare):
        return (f"interval from {dose_ref_text(condition.start)} to {dose_ref_text(condition.end)} "
                f"{condition.op} {duration_text(condition.duration)}")
    if isinstance(condition, ast.SinceDose):
        return f"since {dose_ref_text(condition.dose)} {condition.op} {duration_text(condition.duration)}"
    if isinstance(condition, ast.Exempt):
        return f"exempt ({', '.join(condition.kinds)})" if condition.kinds else "exempt"
    if isinstance(condition, ast.EffectiveDate):
        return f"effective date {condition.op} {condition.value.isoformat()}"
    if isinstance(condition, ast.Call):
        return call_text(condition)
    raise TypeError(f"not a condition: {condition!r}")


def _grouped(condition, kinds) -> str:
    """Parenthesise a nested and/or where leaving them out would change the meaning."""
    text = condition_text(condition)
    return f"({text})" if isinstance(condition, kinds) else text
