"""The canonical layout of a ruleset file, comments kept (``vaxdsl fmt``).

:func:`format_source` formats one file as written: ``extends`` and ``extend vaccine`` stay, nothing
is merged. :func:`format_ruleset` writes a tree without comments (for tools that write rules back).

The layout reads like the vendor's rule tables:

- top-level declarations in source order, a blank line between them; consecutive ``product`` lines
  stay together, and so do predicate clauses written together (without a source: clauses of one name);
- two spaces of indentation; inside a vaccine group: doc, ``applies``, ``exemption`` lines,
  ``series``, the rule table, ``otherwise``; one blank line is kept between the statements of a block
  where the source had any (paragraphs of a rule table), never after ``{`` or before ``}``;
- a rule is a ``rule "NAME" => OUTCOME [before|after "RULE"]`` line, then one indented line each for
  its doc, ``tolerance``, ``active`` and ``when`` (a rule that always matches has no ``when``);
- a series dose is one row, ``dose 2 { min age 13 months  min interval 4 weeks }`` (two spaces
  between requirements), or a block when the row does not fit; long ``allow`` lists wrap after commas;
- a condition that does not fit its line puts each operand of ``and``/``or`` on its own line,
  operator first, two spaces further in (nested groups the same way); every nested ``and``/``or``
  group is parenthesised, so nobody needs the precedence rules to read it; predicate bodies fill lines;
- durations say ``1 month`` / ``2 months``, counts ``at least 1 valid dose`` / ``2 valid doses``,
  ``no valid doses``; grade codes as the parser normalised them (``07``); strings are re-escaped; a
  doc of one line stays on one line, else it becomes a block whose text starts on the line
  after the opening quotes, indented like its item.

Comments are attached to the nearest piece of the layout by position: a comment on its own line
stays above the piece that follows it (or before the ``}`` that ends its block), a comment after code
stays at the end of the line that piece ends on. Only when two trailing comments would share one
line does the earlier move above it. Formatting is idempotent.

>>> print(format_source('vaccine HepA { rule "1 dose" => compliant when at least 1 valid doses # ok\\n}'), end="")
vaccine HepA {
  rule "1 dose" => compliant
    when at least 1 valid dose  # ok
}
"""

from __future__ import annotations

from .. import ast
from ..parser import parse_with_comments
from .layout import Renderer, flat_text
from .settings import WIDTH
from .source import Attached, Source, assemble, attach
from .text import (atom_text, call_text, dose_ref_text, duration_text, literal_text, product_text, quote,
                   term_text)

__all__ = ["WIDTH", "atom_text", "call_text", "condition_text", "dose_ref_text", "duration_text",
           "format_ruleset", "format_source", "literal_text", "product_text", "quote", "term_text"]


def format_source(text: str, file: str = "<string>") -> str:
    """The canonical form of one file, comments kept; raises ``VaxSyntaxError`` on a syntax error."""
    parsed = parse_with_comments(text, file)
    source = Source(text, parsed.comments)
    attached = Attached()
    if parsed.comments:
        probe = Renderer(source, attached)  # a first layout to learn the fragments comments attach to
        probe.ruleset(parsed.ruleset)
        attached = attach(parsed.comments, probe.fragments, source)
    return render_text(Renderer(source, attached), parsed.ruleset)


def format_ruleset(ruleset: ast.Ruleset) -> str:
    """The canonical text of a tree (no comments). Raises ``ValueError`` for a value the syntax
    cannot express (a string with a line break, a doc string containing three double quotes)."""
    return render_text(Renderer(None, Attached()), ruleset)


def condition_text(condition) -> str:
    """A condition on one line, as the formatter writes it: ``age >= 12 months and not exempt``."""
    return flat_text(Renderer(None, Attached()).layout(condition))


def render_text(renderer: "Renderer", ruleset: ast.Ruleset) -> str:
    renderer.ruleset(ruleset)
    return assemble(renderer.lines, renderer.attached)

