"""Values in the Datalog layer and the conditions: dates, integers and strings, compared strictly.

docs/semantics.md: values of different types are never equal; ordering them is an error (the checker
reports such comparisons before anything runs).
"""

from __future__ import annotations

import operator
from datetime import date

from ..errors import VaxError

_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def same(left, right) -> bool:
    """Equality without Python's cross-type leniency (1 == True)."""
    return type(left) is type(right) and left == right


def compare(left, op: str, right) -> bool:
    if op == "=":
        return same(left, right)
    if op == "!=":
        return not same(left, right)
    if type(left) is not type(right):
        raise VaxError(f"cannot compare {describe_value(left)} with {describe_value(right)} using '{op}'")
    return _ORDER[op](left, right)


def describe_value(item) -> str:
    if isinstance(item, date):
        return f"the date {item.isoformat()}"
    if isinstance(item, int):
        return f"the number {item}"
    return f"the text {item!r}"
