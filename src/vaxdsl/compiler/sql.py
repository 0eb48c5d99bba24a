"""Small SQL-text helpers shared by the passes: literals, and layered SELECTs.

A **layer** is ``SELECT *, expr AS name, ... FROM (inner) LIMIT -1 OFFSET 0``. The ``OFFSET`` keeps
SQLite's query flattener from merging the layers (flattening would paste every column's
expression into each place it is used, and SQLite does not eliminate common subexpressions), so
each column is computed once per row and later layers read it from a register. The layers run as
co-routines: nothing is materialised.

>>> lit("O'Brien"), lit(3), lit(None)
("'O''Brien'", '3', 'NULL')
"""

from __future__ import annotations

from datetime import date


def lit(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, date):
        from .dates import jd_literal

        return jd_literal(value)
    return "'" + str(value).replace("'", "''") + "'"


def layer(inner: str, columns: list[tuple[str, str]], keep: str = "*") -> str:
    """``SELECT keep, columns FROM (inner)`` as a non-flattened co-routine."""
    if not columns:
        return inner
    listed = ",\n  ".join(f"{expr} AS {name}" for name, expr in columns)
    return f"SELECT {keep},\n  {listed}\nFROM (\n{inner}\n) LIMIT -1 OFFSET 0"


def any_of(items: list[str]) -> str:
    items = [i for i in items if i != "0"]
    if not items:
        return "0"
    if "1" in items:
        return "1"
    return items[0] if len(items) == 1 else "(" + " OR ".join(items) + ")"


def all_of(items: list[str]) -> str:
    items = [i for i in items if i != "1"]
    if not items:
        return "1"
    if "0" in items:
        return "0"
    return items[0] if len(items) == 1 else "(" + " AND ".join(items) + ")"


def not_(item: str) -> str:
    if item == "1":
        return "0"
    if item == "0":
        return "1"
    return f"(NOT {item})"
