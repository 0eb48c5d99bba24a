"""Pieces of the tree as the language writes them: durations, conditions' atoms, terms, products.

>>> from vaxdsl.parser import parse
>>> atom_text(parse('vaccine V { rule "r" => compliant when at least 1 valid dose at age >= 12 months }').vaccines[0].rules[0].condition)
'at least 1 valid dose at age >= 12 months'
"""

from __future__ import annotations

import inspect
from datetime import date

from .. import ast

QUANTITY_WORDS = {">=": "at least", "<=": "at most", "=": "exactly", "<": "fewer than", ">": "more than"}


def quote(value: str) -> str:
    """A string literal: ``\\`` and ``"`` escaped."""
    if "\n" in value or "\r" in value:
        raise ValueError(f"a string cannot hold a line break: {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def duration_text(duration: ast.Duration) -> str:
    words = []
    for index, part in enumerate(duration.parts):
        if index:
            words.append("+" if part.sign > 0 else "-")
        elif part.sign < 0:
            raise ValueError("a duration cannot start with a negative amount")
        unit = part.unit if part.amount != 1 else part.unit.rstrip("s")
        words.append(f"{part.amount} {unit}")
    return " ".join(words)


def days_text(amount: int) -> str:
    return f"{amount} day" if amount == 1 else f"{amount} days"


def dose_ref_text(ref: ast.DoseRef) -> str:
    return f"dose {ref.number}" if ref.kind == "nth" else f"{ref.kind} dose"


def age_filter_text(age: ast.AgeFilter) -> str:
    if age.op == "..":
        return f"at age {duration_text(age.low)} .. {duration_text(age.high)}"
    return f"at age {age.op} {duration_text(age.low)}"


def grade_items_text(items) -> str:
    return ", ".join(f"{i.low}..{i.high}" if isinstance(i, ast.GradeRange) else str(i) for i in items)


def atom_text(cond) -> str:
    """One condition that is not ``and``/``or``/``not``."""
    if isinstance(cond, ast.Always):
        return "always"
    if isinstance(cond, ast.AgeCompare):
        return f"age {cond.op} {duration_text(cond.duration)}"
    if isinstance(cond, ast.AgeBetween):
        return f"age in {duration_text(cond.low)} .. {duration_text(cond.high)}"
    if isinstance(cond, ast.GradeIn):
        return f"grade in {grade_items_text(cond.items)}"
    if isinstance(cond, ast.NoGrade):
        return "no grade"
    if isinstance(cond, ast.SeriesComplete):
        return "series complete"
    if isinstance(cond, ast.CountDoses):
        if cond.op == "=" and cond.count == 0:
            words = ["no"]
        else:
            words = [QUANTITY_WORDS[cond.op], str(cond.count)]
        if cond.valid:
            words.append("valid")
        words.append("dose" if cond.count == 1 else "doses")
        if cond.products:
            words.append("of " + ", ".join(cond.products))
        if cond.age is not None:
            words.append(age_filter_text(cond.age))
        return " ".join(words)
    if isinstance(cond, ast.DoseAge):
        return f"{dose_ref_text(cond.dose)} {age_filter_text(cond.filter)}"
    if isinstance(cond, ast.IntervalCompare):
        return (f"interval from {dose_ref_text(cond.start)} to {dose_ref_text(cond.end)} "
                f"{cond.op} {duration_text(cond.duration)}")
    if isinstance(cond, ast.SinceDose):
        return f"since {dose_ref_text(cond.dose)} {cond.op} {duration_text(cond.duration)}"
    if isinstance(cond, ast.Exempt):
        return "exempt" + (f" ({', '.join(cond.kinds)})" if cond.kinds else "")
    if isinstance(cond, ast.EffectiveDate):
        return f"effective date {cond.op} {cond.value.isoformat()}"
    if isinstance(cond, ast.Call):
        return call_text(cond)
    raise TypeError(f"not a condition: {cond!r}")


def reject_text(reject: ast.SeriesReject) -> str:
    """A series ``reject`` line.

    >>> reject_text(ast.RejectAfterNotValid("live_virus_conflict", ast.Duration((ast.DurationPart(1, 28, "days"),))))
    'reject live_virus_conflict within 28 days after not valid dose'
    """
    if isinstance(reject, ast.RejectAfterNotValid):
        return f"reject {reject.reason} within {duration_text(reject.within)} after not valid dose"
    return f"reject {reject.reason} when {call_text(reject.call)}"


def call_text(call: ast.Call) -> str:
    return f"{call.name}({', '.join(call_arg_text(arg) for arg in call.args)})"


def call_arg_text(arg) -> str:
    if isinstance(arg, ast.Student):
        return "student"
    if isinstance(arg, ast.CurrentDose):
        return "dose"
    return term_text(arg)


def term_text(term) -> str:
    if isinstance(term, ast.Name):
        return term.name
    if isinstance(term, ast.Wildcard):
        return "_"
    if isinstance(term, ast.IntLit):
        return str(term.value)
    if isinstance(term, ast.DateLit):
        return term.value.isoformat()
    if isinstance(term, ast.StrLit):
        return quote(term.value)
    if isinstance(term, ast.DateShift):
        return f"{term_text(term.term)} {'+' if term.sign > 0 else '-'} {duration_text(term.duration)}"
    raise TypeError(f"not a term: {term!r}")


def literal_text(literal) -> str:
    if isinstance(literal, ast.Atom):
        atom = f"{literal.predicate}({', '.join(term_text(arg) for arg in literal.args)})"
        return "not " + atom if literal.negated else atom
    if isinstance(literal, ast.Comparison):
        return f"{term_text(literal.left)} {literal.op} {term_text(literal.right)}"
    if isinstance(literal, ast.CountAggregate):
        body = ", ".join(literal_text(item) for item in literal.body)
        return f"count {{ {literal.variable} : {body} }} {literal.op} {term_text(literal.bound)}"
    raise TypeError(f"not a literal: {literal!r}")


def doc_lines(doc: str, indent: int) -> list[tuple[int, str]]:
    """A doc string as (indent, text) lines: one line when it fits, else a block whose
    text starts on the line after the opening quotes. Each layout is checked against what the parser
    makes of it (``inspect.cleandoc``); a doc with blank-looking edges falls back to column 0."""
    if '"""' in doc:
        raise ValueError('a doc string cannot contain three double quotes (""")')
    lines = doc.split("\n")
    candidates = [
        [(indent, '"""' + doc + '"""')] if "\n" not in doc else [],
        [(indent, '"""'), *((indent if line else 0, line) for line in lines), (indent, '"""')],
        [(indent, '"""'), *((0, line) for line in lines), (0, '"""')],
    ]
    for candidate in filter(None, candidates):
        text = "\n".join(" " * spaces + line for spaces, line in candidate).lstrip(" ")
        if text.find('"""', 3) == len(text) - 3 and inspect.cleandoc(text[3:-3]) == doc:
            return candidate
    raise ValueError(f"cannot write this doc string: {doc!r}")  # pragma: no cover - cleandoc output always fits


def date_text(value: date) -> str:
    return value.isoformat()





def product_text(product: ast.Product) -> str:
    words = [f"product {product.id} cvx {product.cvx}"]
    if product.mvx is not None:
        words.append(f"mvx {product.mvx}")
    if product.name:
        words.append(quote(product.name))
    if product.live:
        words.append("live")
    if product.vaccines:
        words.append("counts " + ", ".join(product.vaccines))
    return " ".join(words)


