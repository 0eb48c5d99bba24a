"""What every pass shares: the merged ruleset, the declared names, and a place to put diagnostics.

Positions: a node's span when it has one. Names inside lists (``counts HepB, Polio``) and clauses
that the tree keeps without a span (``otherwise``, ``tolerance``) are found again in the source text,
with strings and comments blanked out first, so a word in a doc string never attracts the caret.

>>> from vaxdsl.loader import load_text
>>> ctx = Context(load_text('product P cvx 1 "a P" counts HepB  # HepB here too'))
>>> ctx.locate(ctx.ruleset.products[0].span, "HepB")
Span(line=1, column=30, end_line=1, end_column=34, file='<string>')
>>> closest("Hepb", ["HepA", "HepB", "MMR"])
'HepB'
"""

from __future__ import annotations

import bisect
import difflib
import re
from functools import cached_property

from .. import ast
from ..errors import Diagnostic
from ..loader import Loaded

# The kind of value each position of a built-in relation holds (docs/semantics.md, "Derived predicates").
BUILTIN_TYPES: dict[str, tuple[str, ...]] = {
    "student": ("student",),
    "birth": ("student", "date"),
    "grade": ("student", "grade"),
    "dose": ("student", "dose", "date", "product"),
    "counts": ("product", "vaccine"),
    "live": ("product",),
    "exemption": ("student", "vaccine", "kind"),
    "valid": ("student", "vaccine", "dose", "int"),
    "invalid": ("student", "vaccine", "dose", "reason"),
    "as_of": ("date",),
}
TYPE_WORDS = {
    "student": "a student",
    "dose": "a dose",
    "date": "a date",
    "product": "a product",
    "vaccine": "a vaccine group",
    "kind": "an exemption kind",
    "reason": "an invalid-dose reason",
    "int": "a number",
    "grade": "a grade code",
}


def closest(name: str, candidates) -> str | None:
    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    if not found:  # case slips ("hepb") score low with difflib but are the commonest typo
        found = [c for c in candidates if c.lower() == name.lower()]
    return found[0] if found else None


def did_you_mean(name: str, candidates) -> str:
    match = closest(name, candidates)
    return f"; did you mean '{match}'?" if match else ""


def _mask(text: str) -> str:
    """Blank out strings, doc strings and comments, keeping every offset and newline."""
    blank = lambda m: re.sub(r"[^\n]", " ", m.group(0))  # noqa: E731
    return re.sub(r'"""(.|\n)*?"""|"([^"\\\n]|\\.)*"|#[^\n]*', blank, text)


class Context:
    def __init__(self, loaded: Loaded):
        self.loaded = loaded
        self.ruleset = loaded.ruleset
        self.diagnostics: list[Diagnostic] = []
        self._masked: dict[str, tuple[str, list[int]]] = {}

    # ---- declared names
    @cached_property
    def vaccine_ids(self) -> set[str]:
        return {v.id for v in self.ruleset.vaccines}

    @cached_property
    def product_ids(self) -> set[str]:
        return {p.id for p in self.ruleset.products}

    @cached_property
    def constants(self) -> dict[str, set[str]]:
        """Name -> the kinds of constant it is declared as (a product id may also be a group id)."""
        kinds: dict[str, set[str]] = {}
        for names, kind in ((self.product_ids, "product"), (self.vaccine_ids, "vaccine"),
                            (ast.EXEMPTION_KINDS, "kind"), (ast.INVALID_REASONS, "reason")):
            for name in names:
                kinds.setdefault(name, set()).add(kind)
        return kinds

    @cached_property
    def counted_products(self) -> dict[str, set[str]]:
        """Vaccine group -> the products whose doses count toward it."""
        table: dict[str, set[str]] = {}
        for product in self.ruleset.products:
            for vaccine in product.vaccines:
                table.setdefault(vaccine, set()).add(product.id)
        return table

    def tolerance_of(self, rule: ast.Rule) -> int:
        if rule.tolerance_days is not None:
            return rule.tolerance_days
        return self.ruleset.settings.tolerance_days or 0

    # ---- reporting
    def error(self, span: ast.Span, code: str, message: str) -> None:
        self._add(span, "error", code, message)

    def warning(self, span: ast.Span, code: str, message: str) -> None:
        self._add(span, "warning", code, message)

    def _add(self, span: ast.Span, severity: str, code: str, message: str) -> None:
        length = span.end_column - span.column if span.end_line == span.line and span.end_column > span.column else 1
        self.diagnostics.append(Diagnostic(span.file, span.line, span.column, severity, code, message, length))

    # ---- finding words again in the source
    def locate(self, span: ast.Span, word: str, nth: int = 0, after: str | None = None) -> ast.Span:
        """The ``nth`` whole-word occurrence of ``word`` inside ``span`` (after the keyword ``after``)."""
        found = self.locate_all(span, word, after)
        return found[nth] if nth < len(found) else span

    def locate_all(self, span: ast.Span, word: str, after: str | None = None) -> list[ast.Span]:
        text, starts = self._source(span.file)
        if not text or span.line < 1:
            return []
        begin = starts[span.line - 1] + span.column - 1
        end = starts[span.end_line - 1] + span.end_column - 1 if span.end_line else len(text)
        if after is not None:
            keyword = re.compile(rf"\b{after}\b" if after.isidentifier() else re.escape(after)).search(text, begin, end)
            if keyword is None:
                return []
            begin = keyword.end()
        pattern = rf"\b0*{int(word)}\b" if word.isdigit() else rf"\b{re.escape(word)}\b"
        return [self._span_at(span.file, starts, m.start(), m.end()) for m in re.compile(pattern).finditer(text, begin, end)]

    def _source(self, file: str) -> tuple[str, list[int]]:
        if file not in self._masked:
            text = _mask(self.loaded.sources.get(file, ""))
            starts = [0] + [m.end() for m in re.finditer("\n", text)]
            self._masked[file] = (text, starts)
        return self._masked[file]

    @staticmethod
    def _span_at(file: str, starts: list[int], begin: int, end: int) -> ast.Span:
        line = bisect.bisect_right(starts, begin) - 1
        return ast.Span(line + 1, begin - starts[line] + 1, line + 1, end - starts[line] + 1, file)
