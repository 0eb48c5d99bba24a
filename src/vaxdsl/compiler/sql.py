"""Small SQL-text helpers shared by the passes: literals, and layered SELECTs.

A **layer** is ``SELECT cols, expr AS name, ... FROM previous LIMIT -1 OFFSET 0``. The ``OFFSET`` keeps
SQLite's query flattener from merging the layers (flattening would paste every column's
expression into each place it is used, and SQLite does not eliminate common subexpressions), so
each column is computed once per row and later layers read it from a register. The layers run as
co-routines: nothing is materialised.

>>> lit("O'Brien"), lit(3), lit(None)
("'O''Brien'", '3', 'NULL')
"""

from __future__ import annotations

import re
import sqlite3
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


def member(code_sql: str, codes) -> str:
    """SQL 0/1: is the small integer ``code_sql`` one of ``codes`` (a bit test when they fit 62 bits)?"""
    codes = sorted(set(codes))
    if not codes:
        return "0"
    if codes[-1] <= 62:
        return f"(({sum(1 << c for c in codes)} >> {code_sql}) & 1)"
    return f"({code_sql} IN ({', '.join(map(str, codes))}))"


def any_of(items: list[str]) -> str:
    items = [i for i in items if i != "0"]
    if not items:
        return "0"
    if "1" in items:
        return "1"
    return items[0] if len(items) == 1 else _chain(items, "OR")


def all_of(items: list[str]) -> str:
    items = [i for i in items if i != "1"]
    if not items:
        return "1"
    if "0" in items:
        return "0"
    return items[0] if len(items) == 1 else _chain(items, "AND")


# SQLite parses a chain of n ANDs (or ORs) as a tree n deep and refuses one deeper than 1000
# (SQLITE_MAX_EXPR_DEPTH); a longer chain is nested in halves, the order of its items kept.
_FLAT_CHAIN = 64


def _chain(items: list[str], word: str) -> str:
    """
    >>> _chain(["a", "b"], "AND")
    '(a AND b)'
    >>> _chain([f"c{i}" for i in range(65)], "OR").count("(")
    3
    """
    if len(items) <= _FLAT_CHAIN:
        return "(" + f" {word} ".join(items) + ")"
    half = len(items) // 2
    return f"({_chain(items[:half], word)} {word} {_chain(items[half:], word)})"


def not_(item: str) -> str:
    if item == "1":
        return "0"
    if item == "0":
        return "1"
    return f"(NOT {item})"


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def pipeline(base_columns: list[tuple[str, str]], base_from: str, layers: list[list[tuple[str, str]]],
             outputs: list[tuple[str, str]]) -> str:
    """``SELECT outputs`` over co-routine ``layers`` over ``SELECT base_columns base_from``.

    Each layer and the base select only the columns something after them reads (found by the
    identifiers in the later expressions), so no column is copied through a layer for nothing. The
    layers are common table expressions, each reading the one before: written one after the other
    rather than nested, so SQLite's parser (whose stack is a fixed 100 entries in most builds) does
    not hold every enclosing layer while it reads a deep expression.
    """
    defined = {name for name, _ in base_columns} | {name for lay in layers for name, _ in lay}

    def refs(expressions) -> set[str]:
        found = set()
        for expression in expressions:
            found.update(t for t in _IDENT.findall(expression) if t in defined)
        return found

    needed = refs(expr for _, expr in outputs)
    plans = []
    for lay in reversed(layers):
        own = [(name, expr) for name, expr in lay if name in needed]
        through = sorted(needed - {name for name, _ in lay})
        plans.append((through, own))
        needed = (needed - {name for name, _ in own}) | refs(expr for _, expr in own)
    base = [(name, expr) for name, expr in base_columns if name in needed]
    ctes = [f"vx_l0 AS (\nSELECT {', '.join(f'{expr} AS {name}' for name, expr in base) or '1'}\n{base_from}\n)"]
    for index, (through, own) in enumerate(reversed(plans), start=1):
        listed = through + [f"{expr} AS {name}" for name, expr in own]
        ctes.append(f"vx_l{index} AS (\nSELECT {', '.join(listed) or '1'}\nFROM vx_l{index - 1} LIMIT -1 OFFSET 0\n)")
    joined = ",\n".join(ctes)
    return (f"WITH {joined}\n"
            f"SELECT {', '.join(f'{expr} AS {name}' for name, expr in outputs)}\nFROM vx_l{len(plans)}")


def student_filter(mode: str):
    """The students a statement covers, as a test on a student id column: ``all``, ``range``
    (``:lo <= id < :hi``, one worker's share), ``list`` (``vx_sel``), ``slow`` and ``open`` (the
    students the fast path sent to the exact walk)."""
    if mode == "all":
        return lambda column: "1"
    if mode == "range":
        return lambda column: f"({column} >= :lo AND {column} < :hi)"
    if mode == "list":
        return lambda column: f"{column} IN (SELECT sid FROM vx_sel)"
    if mode == "slow":
        return lambda column: f"{column} IN (SELECT sid FROM vx_slow)"
    if mode == "open":
        return lambda column: f"{column} IN (SELECT sid FROM vx_open)"
    raise ValueError(f"unknown student filter mode {mode!r}")


# Parentheses to spare around a walk: room for a statement that puts it a little deeper than the
# engine's statements do (each reads its walks in one layer of pipeline()).
PARSER_MARGIN = 2


def sqlite_parses(expression: str) -> bool:
    """Whether SQLite's parser takes ``expression`` as a column of a layer of an INSERT's
    :func:`pipeline`, as the engine runs the walks, with :data:`PARSER_MARGIN` parentheses to spare.
    SQLite 3.40 parses at most 100 nested grammar states, so a CASE tree nested deep enough overflows
    it (newer versions grow the stack). Only the parser runs: the statement's table does not exist.

    >>> sqlite_parses("(CASE WHEN a THEN 1 ELSE 2 END)")
    True
    """
    deep = "(" * PARSER_MARGIN + expression + ")" * PARSER_MARGIN
    statement = "INSERT INTO vx_none " + pipeline([("a", "1")], "FROM vx_none", [[("b", "a"), ("w", deep)]],
                                                  [("b", "b"), ("w", "w")])
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute(statement)
    except sqlite3.Error as error:
        return "parser stack overflow" not in str(error)
    finally:
        connection.close()
    return True
