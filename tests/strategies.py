"""Hypothesis strategies for random but well-formed vaxdsl trees and ruleset texts.

Everything generated can be written in the concrete syntax and parsed back to an equal tree: names
are never keywords, numeric grade codes are normalised (``07``), strings hold no line break, doc
strings are what the parser makes of some doc string (``inspect.cleandoc`` output, odd whitespace
included), ``and`` and ``or`` have at least two operands, the first part of a duration is positive. Nothing promises
that the ruleset passes the checker: names are random unless a :class:`Vocabulary` narrows them.

>>> from hypothesis import given
>>> @given(rulesets())
... def test(ruleset): ...

Use ``conditions(vocab)`` / ``rules(vocab)`` / ``vaccines(vocab)`` for parts, ``Vocabulary.of(...)``
to draw names from fixed pools (for example the products and vaccine groups a test declared), and
``ruleset_texts()`` / ``commented_texts()`` for source text.
"""

from __future__ import annotations

import inspect
import re
from datetime import date

import attrs
from hypothesis import strategies as st

from vaxdsl import ast
from vaxdsl.resources import grammar_path

# ---- lexical -----------------------------------------------------------------------------------------------

_GRAMMAR = grammar_path().read_text(encoding="utf-8")
KEYWORDS = frozenset(re.findall(r'"([A-Za-z_]+)"', _GRAMMAR)) | {
    f"{word}{s}" for word in ("day", "week", "month", "year", "dose") for s in ("", "s")
}
NAME_RE = r"[A-Za-z_][A-Za-z0-9_]{0,9}"
COMPARISONS = ("<", "<=", "=", "!=", ">=", ">")
QUANTITY_OPS = (">=", "<=", "=", "<", ">")  # at least, at most, exactly, fewer than, more than
BUILTIN_RELATIONS = ("dose", "valid", "live", "student", "grade", "exemption", "counts", "birth", "invalid", "as_of")

_FAMILIAR = ["HepB", "MMR", "DTaP", "Polio", "Varicella", "Tdap", "MenACWY", "HepA", "Hib", "PCV", "DTaP_IPV",
             "early_childhood", "live_conflict", "medical", "conscientious", "x", "_x", "A1"]


def _is_name(text: str) -> bool:
    return re.fullmatch(NAME_RE.replace("{0,9}", "*"), text) is not None and text not in KEYWORDS


def names() -> st.SearchStrategy[str]:
    """Any NAME token that is not a keyword (with a bias towards familiar ones)."""
    return st.one_of(
        st.sampled_from([name for name in _FAMILIAR if _is_name(name)]),
        st.from_regex(NAME_RE, fullmatch=True).filter(lambda text: text not in KEYWORDS),
    )


def variables() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(["S", "D", "D1", "Date", "Before", "P", "Q", "N"]),
                     st.from_regex(r"[A-Z][A-Za-z0-9_]{0,6}", fullmatch=True).filter(lambda t: t not in KEYWORDS))


def texts(max_size: int = 24) -> st.SearchStrategy[str]:
    """String literal contents: any characters but line breaks, quotes and backslashes included."""
    return st.one_of(
        st.sampled_from(["", "Hepatitis B", 'say "hi"', "back\\slash", "2 doses K-12 Compliant", "\\\"", "é ü 中"]),
        st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\n\r"),
                 max_size=max_size),
    )


def docs() -> st.SearchStrategy[str]:
    """Doc strings as the parser leaves them: non-empty, ``cleandoc``-clean, no triple quotes."""
    line = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=20)
    indented = st.tuples(st.integers(0, 4), line).map(lambda pair: " " * pair[0] + pair[1])
    raw = st.one_of(
        st.sampled_from(["State rules.", 'Mirrors "the" vendor.', "Ends with a quote\"", "Line one\n  indented\nback"]),
        st.lists(indented, min_size=1, max_size=4).map("\n".join),
    )
    return raw.map(inspect.cleandoc).filter(lambda doc: doc and '"""' not in doc)


def dates() -> st.SearchStrategy[date]:
    return st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31))


def grade_codes() -> st.SearchStrategy[str]:
    """Grade codes as the parser normalises them: ``KG``, ``PA``, ``07``, ``12``."""
    return st.one_of(st.sampled_from(["EC", "PA", "PB", "KG", "01", "02", "07", "12"]),
                     st.integers(0, 99).map(lambda n: f"{n:02d}"), names())


# ---- vocabulary --------------------------------------------------------------------------------------------


@attrs.frozen
class Vocabulary:
    """Where names come from: by default anything well-formed; ``Vocabulary.of`` narrows to pools."""

    vaccines: st.SearchStrategy = attrs.field(factory=names)
    products: st.SearchStrategy = attrs.field(factory=names)
    grades: st.SearchStrategy = attrs.field(factory=grade_codes)  # codes and set names
    predicates: st.SearchStrategy = attrs.field(factory=names)
    outcomes: st.SearchStrategy = attrs.field(factory=lambda: st.one_of(st.sampled_from(ast.OUTCOMES), names()))
    kinds: st.SearchStrategy = attrs.field(factory=lambda: st.one_of(st.sampled_from(ast.EXEMPTION_KINDS), names()))
    reasons: st.SearchStrategy = attrs.field(
        factory=lambda: st.one_of(st.sampled_from(ast.INVALID_REASONS), names()))

    @classmethod
    def of(cls, vaccines=None, products=None, grades=None, predicates=None) -> "Vocabulary":
        """Draw names from the given lists (``None`` keeps the default); outcomes, kinds and reasons
        become the language's own."""
        pool = lambda values, default: st.sampled_from(list(values)) if values else default  # noqa: E731
        return cls(
            vaccines=pool(vaccines, names()), products=pool(products, names()), grades=pool(grades, grade_codes()),
            predicates=pool(predicates, names()), outcomes=st.sampled_from(ast.OUTCOMES),
            kinds=st.sampled_from(ast.EXEMPTION_KINDS), reasons=st.sampled_from(ast.INVALID_REASONS),
        )


DEFAULT = Vocabulary()


# ---- durations, dose references ----------------------------------------------------------------------------


def durations(max_parts: int = 3) -> st.SearchStrategy[ast.Duration]:
    part = st.builds(ast.DurationPart, st.sampled_from([1, -1]), st.integers(0, 30), st.sampled_from(ast.UNITS))
    return st.lists(part, min_size=1, max_size=max_parts).map(
        lambda parts: ast.Duration((attrs.evolve(parts[0], sign=1), *parts[1:]))
    )


def dose_refs() -> st.SearchStrategy[ast.DoseRef]:
    return st.one_of(st.builds(ast.DoseRef, st.just("nth"), st.integers(1, 6)),
                     st.sampled_from([ast.DoseRef("first"), ast.DoseRef("last")]))


def age_filters() -> st.SearchStrategy[ast.AgeFilter]:
    return st.one_of(
        st.builds(ast.AgeFilter, st.sampled_from(COMPARISONS), durations()),
        st.builds(ast.AgeFilter, st.just(".."), durations(), durations()),
    )


# ---- conditions --------------------------------------------------------------------------------------------


def grade_items(vocab: Vocabulary = DEFAULT):
    item = st.one_of(vocab.grades, st.builds(ast.GradeRange, vocab.grades, vocab.grades))
    return st.lists(item, min_size=1, max_size=4).map(tuple)


def calls(vocab: Vocabulary = DEFAULT, in_series: bool = False) -> st.SearchStrategy[ast.Call]:
    """Predicate calls: in a rule ``p(student, X, 3, 2020-01-01)``; in a series ``p(student, dose)``."""
    if in_series:
        return st.builds(ast.Call, vocab.predicates, st.just((ast.Student(), ast.CurrentDose())))
    arg = st.one_of(
        st.just(ast.Student()),
        st.builds(ast.Name, names()),
        st.builds(ast.IntLit, st.integers(0, 1000)),
        st.builds(ast.DateLit, dates()),
    )
    return st.builds(ast.Call, vocab.predicates, st.lists(arg, max_size=3).map(tuple))


def atoms(vocab: Vocabulary = DEFAULT, with_calls: bool = True) -> st.SearchStrategy:
    """Every kind of simple condition (predicate calls only ``with_calls``)."""
    products = st.lists(vocab.products, min_size=1, max_size=3).map(tuple)
    return st.one_of(
        st.just(ast.Always()),
        st.builds(ast.AgeCompare, st.sampled_from(COMPARISONS), durations()),
        st.builds(ast.AgeBetween, durations(), durations()),
        st.builds(ast.GradeIn, grade_items(vocab)),
        st.just(ast.NoGrade()),
        st.just(ast.SeriesComplete()),
        st.builds(ast.CountDoses, st.sampled_from(QUANTITY_OPS), st.integers(0, 8), st.booleans(),
                  st.one_of(st.just(()), products), st.none() | age_filters()),
        st.builds(ast.DoseAge, dose_refs(), age_filters()),
        st.builds(ast.IntervalCompare, dose_refs(), dose_refs(), st.sampled_from(COMPARISONS), durations()),
        st.builds(ast.SinceDose, dose_refs(), st.sampled_from(COMPARISONS), durations()),
        st.builds(ast.Exempt, st.lists(vocab.kinds, max_size=3).map(tuple)),
        st.builds(ast.EffectiveDate, st.sampled_from(COMPARISONS), dates()),
        *([calls(vocab)] if with_calls else []),
    )


def conditions(vocab: Vocabulary = DEFAULT, max_leaves: int = 10, with_calls: bool = True) -> st.SearchStrategy:
    """Conditions with ``and``/``or``/``not`` nested in every way (including ``(a and b) and c``)."""

    def extend(children):
        several = st.lists(children, min_size=2, max_size=4).map(tuple)
        return st.one_of(st.builds(ast.And, several), st.builds(ast.Or, several), st.builds(ast.Not, children))

    return st.recursive(atoms(vocab, with_calls), extend, max_leaves=max_leaves)


# ---- declarations ------------------------------------------------------------------------------------------


def rules(vocab: Vocabulary = DEFAULT, placements: bool = False, with_calls: bool = True) -> st.SearchStrategy[ast.Rule]:
    placement = st.builds(ast.Placement, st.sampled_from(["before", "after"]), texts())
    return st.builds(
        ast.Rule,
        name=texts(),
        outcome=vocab.outcomes,
        condition=st.one_of(st.just(ast.Always()), conditions(vocab, with_calls=with_calls)),
        tolerance_days=st.none() | st.integers(0, 30),
        active_start=st.none() | dates(),
        active_end=st.none() | dates(),
        doc=st.just("") | docs(),
        placement=st.none() | placement if placements else st.none(),
    )


def series(vocab: Vocabulary = DEFAULT) -> st.SearchStrategy[ast.Series]:
    allow = st.builds(ast.Allow, st.lists(vocab.products, min_size=1, max_size=3).map(tuple),
                      st.none() | durations(), st.none() | durations())
    interval = st.builds(ast.MinInterval, durations(), st.none() | dose_refs(), st.none() | given_windows())
    skip = st.builds(ast.Skip, conditions(vocab, max_leaves=3))
    inadvertent = st.builds(ast.Inadvertent, st.lists(vocab.products, min_size=1, max_size=2).map(tuple))
    dose = st.builds(ast.SeriesDose, st.integers(1, 6), min_ages(), st.none() | durations(),
                     st.lists(interval, max_size=2).map(tuple), st.lists(allow, max_size=2).map(tuple),
                     st.lists(skip, max_size=2).map(tuple), st.booleans(),
                     st.lists(inadvertent, max_size=1).map(tuple))
    reject = st.one_of(st.builds(ast.Reject, vocab.reasons, calls(vocab, in_series=True)),
                       st.builds(ast.RejectAfterNotValid, vocab.reasons, durations()))
    return st.builds(ast.Series, st.lists(dose, max_size=4).map(tuple), st.lists(reject, max_size=2).map(tuple),
                     st.just("") | texts(), st.none() | durations(), st.none() | durations(),
                     st.lists(vocab.products, max_size=2).map(tuple))


def given_windows() -> st.SearchStrategy[ast.GivenWindow]:
    return st.one_of(st.builds(ast.GivenWindow, dates(), st.none() | dates()),
                     st.builds(ast.GivenWindow, st.none(), dates()))


@st.composite
def min_ages(draw) -> tuple[ast.MinAge, ...]:
    """None, one, or a change of minimum age on a date (the windows meet there, as the checker wants)."""
    count = draw(st.integers(0, 2))
    if count < 2:
        return tuple(ast.MinAge(draw(durations())) for _ in range(count))
    day = draw(dates())
    return (ast.MinAge(draw(durations()), ast.GivenWindow(before=day)),
            ast.MinAge(draw(durations()), ast.GivenWindow(start=day)))


def antigens(vocab: Vocabulary = DEFAULT) -> st.SearchStrategy[ast.Antigen]:
    return st.builds(ast.Antigen, names(), st.lists(vocab.products, min_size=1, max_size=3).map(tuple),
                     st.lists(series(vocab), max_size=2).map(tuple))


def exemption_outcomes(vocab: Vocabulary = DEFAULT):
    return st.lists(st.builds(ast.ExemptionOutcome, vocab.kinds, vocab.outcomes), max_size=2).map(tuple)


def vaccines(vocab: Vocabulary = DEFAULT, extension: bool | None = None) -> st.SearchStrategy[ast.Vaccine]:
    """Vaccine groups, or (``extension``) ``extend vaccine`` blocks, whose rules may have placements."""
    declared = st.builds(
        ast.Vaccine,
        id=vocab.vaccines, name=texts(), locked=st.booleans(), doc=st.just("") | docs(),
        applies=st.none() | conditions(vocab, max_leaves=4), series=st.lists(series(vocab), max_size=2).map(tuple),
        rules=st.lists(rules(vocab), max_size=4).map(tuple), otherwise=st.none() | vocab.outcomes,
        exemption_outcomes=exemption_outcomes(vocab), antigens=st.lists(antigens(vocab), max_size=2).map(tuple),
    )
    extended = st.builds(
        ast.Vaccine,
        id=vocab.vaccines, doc=st.just("") | docs(),
        applies=st.none() | conditions(vocab, max_leaves=4), series=st.lists(series(vocab), max_size=2).map(tuple),
        rules=st.lists(rules(vocab, placements=True), max_size=4).map(tuple), otherwise=st.none() | vocab.outcomes,
        exemption_outcomes=exemption_outcomes(vocab), extends_existing=st.just(True),
    )
    if extension is None:
        return st.one_of(declared, extended)
    return extended if extension else declared


def products(vocab: Vocabulary = DEFAULT) -> st.SearchStrategy[ast.Product]:
    return st.builds(
        ast.Product,
        id=vocab.products,
        cvx=st.from_regex(r"[0-9]{1,3}", fullmatch=True),
        vaccines=st.lists(vocab.vaccines, max_size=3).map(tuple),
        name=texts(),
        mvx=st.none() | names(),
        live=st.booleans(),
    )


def grades(vocab: Vocabulary = DEFAULT) -> st.SearchStrategy[ast.Grades]:
    decl = st.builds(ast.GradeDecl, grade_codes(), texts())
    grade_set = st.builds(ast.GradeSet, names(), grade_items(vocab), texts())
    return st.builds(ast.Grades, st.lists(st.one_of(decl, grade_set), max_size=6).map(tuple))


def headers() -> st.SearchStrategy[ast.Header]:
    return st.builds(ast.Header, texts(), texts(), texts(), st.just("") | docs())


def settings(vocab: Vocabulary = DEFAULT) -> st.SearchStrategy[ast.Settings]:
    return st.builds(ast.Settings, st.none() | st.integers(0, 30), exemption_outcomes(vocab))


# ---- Datalog -----------------------------------------------------------------------------------------------


def simple_terms() -> st.SearchStrategy:
    return st.one_of(
        st.builds(ast.Name, st.one_of(variables(), names())),
        st.just(ast.Wildcard()),
        st.builds(ast.IntLit, st.integers(0, 10_000)),
        st.builds(ast.DateLit, dates()),
        st.builds(ast.StrLit, texts(8)),
    )


def terms() -> st.SearchStrategy:
    shifted = st.builds(ast.DateShift, simple_terms(), st.sampled_from([1, -1]), durations(2))
    return st.one_of(simple_terms(), shifted)


def literals(vocab: Vocabulary = DEFAULT) -> st.SearchStrategy:
    relation = st.one_of(st.sampled_from(BUILTIN_RELATIONS), vocab.predicates)
    atom = st.builds(ast.Atom, relation, st.lists(terms(), min_size=1, max_size=4).map(tuple), st.booleans())
    comparison = st.builds(ast.Comparison, terms(), st.sampled_from(COMPARISONS), terms())

    def extend(children):
        body = st.lists(children, min_size=1, max_size=3).map(tuple)
        return st.builds(ast.CountAggregate, variables(), body, st.sampled_from(COMPARISONS), terms())

    return st.recursive(st.one_of(atom, comparison), extend, max_leaves=4)


def predicates(vocab: Vocabulary = DEFAULT) -> st.SearchStrategy[ast.PredicateClause]:
    return st.builds(
        ast.PredicateClause,
        vocab.predicates,
        st.lists(variables(), min_size=1, max_size=3).map(tuple),
        st.lists(literals(vocab), min_size=1, max_size=6).map(tuple),
        st.just("") | docs(),
    )


# ---- whole files -------------------------------------------------------------------------------------------


def declarations(vocab: Vocabulary = DEFAULT) -> st.SearchStrategy:
    return st.one_of(
        headers(), st.builds(ast.Extends, texts()), settings(vocab), grades(vocab), products(vocab),
        vaccines(vocab), predicates(vocab),
    )


def rulesets(vocab: Vocabulary = DEFAULT, max_items: int = 8) -> st.SearchStrategy[ast.Ruleset]:
    """One file's tree: any declarations in any order (consecutive products and clauses included)."""
    return st.lists(declarations(vocab), max_size=max_items).map(lambda items: ast.Ruleset(tuple(items)))


def ruleset_texts(vocab: Vocabulary = DEFAULT) -> st.SearchStrategy[str]:
    """Canonically formatted source text of a random ruleset."""
    from vaxdsl.formatter import format_ruleset

    return rulesets(vocab).map(format_ruleset)


_COMMENT = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=12).map(
    lambda body: ("# " + body).rstrip())


def commented_texts(text_strategy: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[tuple[str, list[str]]]:
    """Source text (default: :func:`ruleset_texts`) with ``# comments`` sprinkled on their own lines
    and at line ends (never inside a doc string), and the list of comments added."""
    texts_ = text_strategy if text_strategy is not None else ruleset_texts()
    one_in_five, one_in_six, indents = st.integers(0, 4), st.integers(0, 5), st.integers(0, 6)

    @st.composite
    def sprinkle(draw):
        text = draw(texts_)
        lines = text.split("\n")
        in_doc = lines_inside_docs(lines)
        added: list[str] = []
        out: list[str] = []
        for index, line in enumerate(lines):
            if not in_doc[index] and draw(one_in_six) == 0:
                comment = draw(_COMMENT)
                added.append(comment)
                out.append(" " * draw(indents) + comment)
                if draw(st.booleans()):
                    out.append("")
            if line.strip() and not in_doc[index] and draw(one_in_five) == 0:
                comment = draw(_COMMENT)
                added.append(comment)
                line = line + " " + comment
            out.append(line)
        if draw(st.booleans()):
            comment = draw(_COMMENT)
            added.append(comment)
            out.append(comment)
        return "\n".join(out), added

    return sprinkle()


def lines_inside_docs(lines: list[str]) -> list[bool]:
    """For each line: is it inside (or closes, or opens) a multi-line doc string, where '#' is text?"""
    inside, flags = False, []
    for line in lines:
        count = line.count('"""')
        flags.append(inside or count % 2 == 1)
        if count % 2 == 1:
            inside = not inside
    return flags
