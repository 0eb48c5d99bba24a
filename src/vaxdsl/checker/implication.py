"""Does one rule condition imply another? A sound, incomplete decision used to find shadowed rules.

A condition becomes a disjunction of conjunctions of *facts* (negations pushed inwards where the
complement is exact). A fact is one of:

- a :class:`Bound`: ``subject OP point``, where the subject is the effective date, the student's age
  on it, a dose's age, an interval between doses, the time since a dose, or a dose count;
- a :class:`Grades` set: the student's grade is one of these codes;
- an :class:`Opaque` atom, compared only by syntactic equality.

``implies(a, b)`` answers True only when every student and date satisfying ``a`` satisfies ``b``;
False means "no, or cannot tell".

Durations become ``(months, days)``: ``birth + A`` adds the months first, then the days, and is
increasing in each, so ``A <= B`` is known when both components are, and unknown otherwise
(``1 month`` vs ``30 days``).

>>> from vaxdsl.parser import parse
>>> def cond(text):
...     return parse('vaccine V { rule "r" => compliant when ' + text + ' }').vaccines[0].rules[0].condition
>>> implies(to_dnf(cond("age < 2 months")), to_dnf(cond("age < 3 months")))
True
>>> implies(to_dnf(cond("age < 30 days")), to_dnf(cond("age < 1 month")))
False
>>> implies(to_dnf(cond("at least 4 valid doses")), to_dnf(cond("at least 3 doses")))
True
"""

from __future__ import annotations

from datetime import date

import attrs

from .. import ast

_MAX_DISJUNCTS = 64
_NEGATED = {">=": "<", "<": ">=", ">": "<=", "<=": ">", "=": "!=", "!=": "="}


@attrs.frozen
class Bound:
    subject: tuple
    kind: str  # "lo", "hi" or "eq"
    point: object  # (months, days), a date, or an int
    strict: bool = False
    dose_dated: bool = False


@attrs.frozen
class Grades:
    codes: frozenset


@attrs.frozen
class Opaque:
    atom: object
    dose_dated: bool = False


Fact = Bound | Grades | Opaque
Conjunction = tuple[Fact, ...]


def duration_point(duration: ast.Duration) -> tuple[int, int]:
    months = days = 0
    for part in duration.parts:
        if part.unit in ("years", "months"):
            months += part.sign * part.amount * (12 if part.unit == "years" else 1)
        else:
            days += part.sign * part.amount * (7 if part.unit == "weeks" else 1)
    return months, days


def surely_le(p, q) -> bool:
    """``p <= q`` for certain."""
    if isinstance(p, tuple):
        return p[0] <= q[0] and p[1] <= q[1]
    return p <= q


def surely_lt(p, q) -> bool:
    return surely_le(p, q) and p != q


# ---- conditions -> disjunctive normal form --------------------------------------------------------------


def to_dnf(condition: ast.Condition, grades=None, window: tuple[date | None, date | None] = (None, None)):
    """The condition (within an active window) as a tuple of conjunctions, or None when too large.

    ``grades`` expands a ``grade in`` list to a frozenset of codes, or None when it cannot.
    """
    result = _dnf(condition, False, grades or (lambda items: None))
    if result is None:
        return None
    start, end = window
    extra = []
    if start is not None:
        extra.append(Bound(("date",), "lo", start))
    if end is not None:
        extra.append(Bound(("date",), "hi", end))
    return tuple(conj + tuple(extra) for conj in result)


def _dnf(condition, negated: bool, grades):
    if isinstance(condition, ast.Not):
        return _dnf(condition.item, not negated, grades)
    if isinstance(condition, (ast.And, ast.Or)):
        parts = [_dnf(item, negated, grades) for item in condition.items]
        if any(part is None for part in parts):
            return None
        conjunctive = isinstance(condition, ast.And) != negated
        if not conjunctive:
            joined = tuple(conj for part in parts for conj in part)
            return joined if len(joined) <= _MAX_DISJUNCTS else None
        product: tuple[Conjunction, ...] = ((),)
        for part in parts:
            product = tuple(left + right for left in product for right in part)
            if len(product) > _MAX_DISJUNCTS:
                return None
        return product
    return _atom(condition, negated, grades)


def _atom(atom, negated: bool, grades):
    if isinstance(atom, ast.Always) and not negated:
        return ((),)
    if isinstance(atom, ast.AgeBetween):
        if negated:
            return (_bounds(("age",), "<", atom.low), _bounds(("age",), ">=", atom.high))
        return (_bounds(("age",), ">=", atom.low) + _bounds(("age",), "<", atom.high),)
    op = getattr(atom, "op", None)
    if negated and isinstance(atom, (ast.AgeCompare, ast.EffectiveDate, ast.CountDoses)):
        atom = attrs.evolve(atom, op=_NEGATED[atom.op])
        negated = False
        op = atom.op
    if not negated:
        if isinstance(atom, ast.AgeCompare) and op != "!=":
            return (_bounds(("age",), op, atom.duration),)
        if isinstance(atom, ast.EffectiveDate) and op != "!=":
            return (_bounds(("date",), op, atom.value),)
        if isinstance(atom, ast.CountDoses):
            return _count(atom)
        if isinstance(atom, ast.DoseAge) and atom.filter.op != "!=":
            return (_filter_bounds(("dose_age", _ref(atom.dose)), atom.filter),)
        if isinstance(atom, ast.IntervalCompare) and op != "!=":
            return (_bounds(("interval", _ref(atom.start), _ref(atom.end)), op, atom.duration, True),)
        if isinstance(atom, ast.SinceDose) and op != "!=":
            return (_bounds(("since", _ref(atom.dose)), op, atom.duration, True),)
        if isinstance(atom, ast.GradeIn):
            codes = grades(atom.items)
            if codes is not None:
                return ((Grades(codes),),)
    dose_dated = isinstance(atom, (ast.DoseAge, ast.IntervalCompare, ast.SinceDose)) or (
        isinstance(atom, ast.CountDoses) and atom.age is not None)
    return ((Opaque((negated, atom), dose_dated),),)


def _ref(ref: ast.DoseRef) -> tuple[str, int]:
    return ("nth", 1) if ref.kind == "first" else (ref.kind, ref.number)


def _bounds(subject: tuple, op: str, value, dose_dated: bool = False) -> Conjunction:
    point = duration_point(value) if isinstance(value, ast.Duration) else value
    make = lambda kind, strict=False: Bound(subject, kind, point, strict, dose_dated)  # noqa: E731
    if op == "=":
        return (make("eq"), make("lo"), make("hi"))
    return (make("lo" if op[0] == ">" else "hi", strict=len(op) == 1),)


def _filter_bounds(subject: tuple, age: ast.AgeFilter) -> Conjunction:
    if age.op == "..":
        return _bounds(subject, ">=", age.low, True) + _bounds(subject, "<", age.high, True)
    return _bounds(subject, age.op, age.low, True)


def _count(atom: ast.CountDoses):
    """Counts are whole numbers: every comparison becomes inclusive bounds."""
    subject = ("count", atom.valid, frozenset(atom.products), atom.age)
    dated = atom.age is not None
    n, op = atom.count, atom.op
    if op == "!=":
        return ((Bound(subject, "hi", n - 1, dose_dated=dated),), (Bound(subject, "lo", n + 1, dose_dated=dated),))
    low = {">=": n, ">": n + 1, "=": n}.get(op)
    high = {"<=": n, "<": n - 1, "=": n}.get(op)
    facts = []
    if low is not None:
        facts.append(Bound(subject, "lo", low, dose_dated=dated))
    if high is not None:
        facts.append(Bound(subject, "hi", high, dose_dated=dated))
    return (tuple(facts),)


# ---- implication ----------------------------------------------------------------------------------------


def implies(premise, conclusion, same_tolerance: bool = True) -> bool:
    """Every disjunct of the premise implies some disjunct of the conclusion."""
    if premise is None or conclusion is None:
        return False
    return all(any(conj_implies(p, c, same_tolerance) for c in conclusion) for p in premise)


def conj_implies(premise: Conjunction, conclusion: Conjunction, same_tolerance: bool = True) -> bool:
    if not same_tolerance:  # a dose-date test means something else under another tolerance
        if any(getattr(fact, "dose_dated", False) for fact in conclusion):
            return False
        premise = tuple(fact for fact in premise if not getattr(fact, "dose_dated", False))
    return all(_fact_implied(premise, fact) for fact in conclusion)


def _fact_implied(premise: Conjunction, fact: Fact) -> bool:
    if isinstance(fact, Opaque):
        return fact in premise
    if isinstance(fact, Grades):
        known = [p.codes for p in premise if isinstance(p, Grades)]
        return bool(known) and frozenset.intersection(*known) <= fact.codes
    if fact.subject[0] == "count":
        return _count_implied(premise, fact)
    same = [p for p in premise if isinstance(p, Bound) and p.subject == fact.subject]
    if fact.kind == "eq":
        return any(p.kind == "eq" and p.point == fact.point for p in same)
    return any(_bound_implies(p, fact) for p in same if p.kind == fact.kind)


def _bound_implies(premise: Bound, conclusion: Bound) -> bool:
    """``x > p`` (or ``>=``) implies ``x > q`` (or ``>=``); and the mirror image for upper bounds."""
    p, q = premise.point, conclusion.point
    if conclusion.kind == "hi":
        p, q = q, p  # an upper bound p implies an upper bound q when p <= q
    if conclusion.strict and not premise.strict:
        return surely_lt(q, p)
    return surely_le(q, p)


def _selects_fewer(inner: tuple, outer: tuple) -> bool:
    """Every dose counted by the ``inner`` count key is counted by the ``outer`` one."""
    _, inner_valid, inner_products, inner_age = inner
    _, outer_valid, outer_products, outer_age = outer
    return ((inner_valid or not outer_valid)
            and (not outer_products or (bool(inner_products) and inner_products <= outer_products))
            and (outer_age is None or inner_age == outer_age))


def _count_implied(premise: Conjunction, fact: Bound) -> bool:
    counts = [p for p in premise if isinstance(p, Bound) and p.subject[0] == "count"]
    if fact.kind == "lo":
        lows = [p.point for p in counts if p.kind == "lo" and _selects_fewer(p.subject, fact.subject)]
        return fact.point <= max(lows, default=0)
    highs = [p.point for p in counts if p.kind == "hi" and _selects_fewer(fact.subject, p.subject)]
    return bool(highs) and min(highs) <= fact.point
