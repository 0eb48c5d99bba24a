"""Small traversals of the syntax tree that the checker and both engines need.

>>> from vaxdsl.parser import parse
>>> rule = parse('vaccine V { rule "r" => compliant when age < 2 years and not (no grade or always) }').vaccines[0].rules[0]
>>> [type(a).__name__ for a in atoms(rule.condition)]
['AgeCompare', 'NoGrade', 'Always']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from . import ast


def atoms(condition: ast.Condition | None) -> Iterator[ast.Condition]:
    """Every leaf condition, in source order."""
    if condition is None:
        return
    if isinstance(condition, (ast.And, ast.Or)):
        for item in condition.items:
            yield from atoms(item)
    elif isinstance(condition, ast.Not):
        yield from atoms(condition.item)
    else:
        yield condition


def conditions(vaccine: ast.Vaccine) -> Iterator[tuple[ast.Condition, ast.Rule | None]]:
    """The group's ``applies`` condition (with no rule) and each rule's condition."""
    if vaccine.applies is not None:
        yield vaccine.applies, None
    for rule in vaccine.rules:
        yield rule.condition, rule


def predicate_calls(ruleset: ast.Ruleset) -> Iterator[ast.Call]:
    """Every predicate call of the rule tables, ``applies`` conditions and series ``reject`` lines."""
    for vaccine in ruleset.vaccines:
        for condition, _rule in conditions(vaccine):
            yield from (atom for atom in atoms(condition) if isinstance(atom, ast.Call))
        for reject in vaccine.predicate_rejects:
            yield reject.call


def dose_refs(atom: ast.Condition) -> Iterator[ast.DoseRef]:
    if isinstance(atom, (ast.DoseAge, ast.SinceDose)):
        yield atom.dose
    elif isinstance(atom, ast.IntervalCompare):
        yield atom.start
        yield atom.end


def literal_atoms(body) -> Iterator[ast.Atom]:
    """Every atom of a clause body, inside counts too."""
    for literal in body:
        if isinstance(literal, ast.Atom):
            yield literal
        elif isinstance(literal, ast.CountAggregate):
            yield from literal_atoms(literal.body)


def term_names(term) -> Iterator[ast.Name]:
    if isinstance(term, ast.Name):
        yield term
    elif isinstance(term, ast.DateShift):
        yield from term_names(term.term)


def literal_names(literal) -> Iterator[ast.Name]:
    """The names of a literal's terms (a count's own variable is not a term; see datalog.py)."""
    if isinstance(literal, ast.Atom):
        for arg in literal.args:
            yield from term_names(arg)
    elif isinstance(literal, ast.Comparison):
        yield from term_names(literal.left)
        yield from term_names(literal.right)
    elif isinstance(literal, ast.CountAggregate):
        for inner in literal.body:
            yield from literal_names(inner)
        yield from term_names(literal.bound)


# A recurring dose is judged again for at most this many later doses; after that they are extraneous.
# The bound is the SQL's: it sums over a group's valid doses 1, 2, ... up to the most there can be.
RECURRENCES = 20


def series_length(series: ast.Series) -> int:
    """The series doses 1, 2, ... while they exist: the walk is complete once past the last."""
    numbers = {dose.number for dose in series.doses}
    length = 0
    while length + 1 in numbers:
        length += 1
    return length


def series_targets(series: ast.Series) -> Callable[[int], ast.SeriesDose | None]:
    """The series dose a dose is judged as when the walk's target is a number t: dose t, or past the
    last one, the last one again when it is ``recurring`` (RECURRENCES times at most); None when there
    is none (the dose is extraneous). The series is read once, for a walk that asks at every dose.

    >>> from vaxdsl.parser import parse
    >>> target = series_targets(parse('vaccine V { series { dose 1 { } dose 2 recurring { } } }').vaccines[0].series[0])
    >>> [getattr(target(t), 'number', None) for t in (0, 1, 2, 3, 2 + RECURRENCES, 3 + RECURRENCES)]
    [None, 1, 2, 2, 2, None]
    """
    length = series_length(series)
    by_number: dict[int, ast.SeriesDose] = {}
    for dose in series.doses:
        by_number.setdefault(dose.number, dose)  # the first of a number wins
    last = by_number.get(length)
    repeats = RECURRENCES if last is not None and last.recurring else 0

    def target(number: int) -> ast.SeriesDose | None:
        if 1 <= number <= length:
            return by_number[number]
        return last if length < number <= length + repeats else None

    return target


def series_target(series: ast.Series, number: int) -> ast.SeriesDose | None:
    """:func:`series_targets` for one target."""
    return series_targets(series)(number)


def max_valid(series: ast.Series) -> int:
    """The most valid doses a walk of the series can reach."""
    length = series_length(series)
    return length + (RECURRENCES if length and series_target(series, length + 1) is not None else 0)
