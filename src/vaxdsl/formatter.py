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

import bisect
import inspect
import re
from datetime import date

import attrs

from . import ast
from .parser import Comment, parse_with_comments

WIDTH = 100
STEP = 2  # spaces per indentation level

__all__ = ["WIDTH", "condition_text", "duration_text", "format_ruleset", "format_source", "quote"]


def format_source(text: str, file: str = "<string>") -> str:
    """The canonical form of one file, comments kept; raises ``VaxSyntaxError`` on a syntax error."""
    parsed = parse_with_comments(text, file)
    source = _Source(text, parsed.comments)
    attached = _Attached()
    if parsed.comments:
        probe = _Renderer(source, attached)  # a first layout to learn the fragments comments attach to
        probe.ruleset(parsed.ruleset)
        attached = _attach(parsed.comments, probe.fragments, source)
    return _render_text(_Renderer(source, attached), parsed.ruleset)


def format_ruleset(ruleset: ast.Ruleset) -> str:
    """The canonical text of a tree (no comments). Raises ``ValueError`` for a value the syntax
    cannot express (a string with a line break, a doc string containing three double quotes)."""
    return _render_text(_Renderer(None, _Attached()), ruleset)


def condition_text(condition) -> str:
    """A condition on one line, as the formatter writes it: ``age >= 12 months and not exempt``."""
    return _flat(_Renderer(None, _Attached()).layout(condition))


def _render_text(renderer: "_Renderer", ruleset: ast.Ruleset) -> str:
    renderer.ruleset(ruleset)
    return _assemble(renderer.lines, renderer.attached)


# ---- the source: token positions for pieces the tree keeps no span for -----------------------------

Pos = tuple[int, int]  # (line, column), 1-based, like Lark's

_TOKEN = re.compile(
    r'(?P<space>\s+)|(?P<comment>#[^\n]*)|(?P<doc>"""(?:.|\n)*?""")|(?P<string>"(?:[^"\\\n]|\\.)*")'
    r"|(?P<date>\d{4}-\d{2}-\d{2})|(?P<int>\d+)|(?P<word>[A-Za-z_]\w*)|(?P<symbol>=>|:-|\.\.|[<>!]=|.)"
)


@attrs.frozen
class _Token:
    start: Pos
    end: Pos
    text: str


class _Source:
    def __init__(self, text: str, comments=()):
        self.lines = text.split("\n")
        self.comment_lines = {comment.line for comment in comments}
        line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

        def position(offset: int) -> Pos:
            line = bisect.bisect_right(line_starts, offset) - 1
            return (line + 1, offset - line_starts[line] + 1)

        self.tokens = [
            _Token(position(m.start()), position(m.end()), m.group())
            for m in _TOKEN.finditer(text)
            if m.lastgroup not in ("space", "comment")
        ]
        self.starts = [token.start for token in self.tokens]

    def index_at(self, pos: Pos) -> int:
        return bisect.bisect_left(self.starts, pos)

    def between(self, low: Pos, high: Pos) -> list[int]:
        """Indexes of the tokens starting in [low, high)."""
        return list(range(self.index_at(low), self.index_at(high)))

    def is_blank(self, line: int) -> bool:
        return 1 <= line <= len(self.lines) and not self.lines[line - 1].strip()

    def code_before(self, comment: Comment) -> bool:
        return bool(self.lines[comment.line - 1][: comment.column - 1].strip())

    def blank_gap(self, after_line: int, before_line: int) -> bool:
        """Is there a blank line between the two lines, before any comment line?  (Blank lines
        around comments travel with the comments.)"""
        for line in range(after_line + 1, before_line):
            if line in self.comment_lines:
                return False
            if self.is_blank(line):
                return True
        return False


# ---- comment attachment -------------------------------------------------------------------------------

Key = tuple[Pos, Pos]  # a fragment of the layout: where its text was in the source
EOF = ((10**9, 0), (10**9, 0))


@attrs.define
class _Note:
    text: str
    pos: Pos
    blank_before: bool = False
    blank_after: bool = False


@attrs.define
class _Attached:
    lead: dict = attrs.Factory(dict)  # Key -> [_Note], printed on their own lines above the fragment
    trail: dict = attrs.Factory(dict)  # Key -> [_Note], printed after the line the fragment ends on


def _attach(comments, fragments: list[Key], source: _Source) -> _Attached:
    attached = _Attached()
    fragments = sorted(set(fragments))
    starts = [key[0] for key in fragments]
    for comment in comments:
        pos = (comment.line, comment.column)
        own_line = not source.code_before(comment)
        note = _Note(comment.text, pos,
                     own_line and source.is_blank(comment.line - 1),
                     own_line and source.is_blank(comment.line + 1))
        inside = [key for key in fragments if key[0] < pos < key[1]]
        if inside:
            key, kind = inside[-1], ("lead" if own_line else "trail")
        elif own_line:
            index = bisect.bisect_right(starts, pos)
            key, kind = (fragments[index] if index < len(fragments) else EOF), "lead"
        else:
            before = [key for key in fragments if key[1] <= pos]
            if before:
                key, kind = max(before, key=lambda k: k[1]), "trail"
            else:
                key, kind = (fragments[0] if fragments else EOF), "lead"
        getattr(attached, kind).setdefault(key, []).append(note)
    return attached


# ---- output lines -----------------------------------------------------------------------------------------


@attrs.define
class _Line:
    indent: int
    text: str
    starts: list = attrs.Factory(list)  # keys of fragments starting on this line
    ends: list = attrs.Factory(list)  # keys of fragments ending on this line
    kind: str = "text"  # "text", "open" (ends with '{'), "close" (a '}'), "blank"


def _assemble(lines: list[_Line], attached: _Attached) -> str:
    out: list[str] = []
    last = None  # kind of the last line written

    def write(text: str, kind: str) -> None:
        nonlocal last
        out.append(text)
        last = kind

    def comments_above(notes: list[_Note], indent: int, before_close: bool) -> None:
        for note in notes:
            if note.blank_before and last not in (None, "blank", "open"):
                write("", "blank")
            write(" " * indent + note.text, "comment")
        if notes and notes[-1].blank_after and not before_close:
            write("", "blank")

    # One trailing comment per line: when several end up on one line, the last stays and the others
    # go above the line where their fragment starts (where they are found again next time).
    start_of: dict = {}
    for index, line in enumerate(lines):
        for key in line.starts:
            start_of.setdefault(key, index)
    trailing: dict[int, _Note] = {}
    above: dict[int, list[_Note]] = {}
    for index, line in enumerate(lines):
        for key in line.starts:
            above.setdefault(index, []).extend(attached.lead.get(key, ()))
        notes = sorted(((n, key) for key in line.ends for n in attached.trail.get(key, ())), key=lambda p: p[0].pos)
        if notes:
            trailing[index] = notes[-1][0]
            for note, key in notes[:-1]:
                note = attrs.evolve(note, blank_before=False, blank_after=False)
                above.setdefault(start_of.get(key, index), []).append(note)

    for index, line in enumerate(lines):
        if line.kind == "blank":
            if last not in (None, "blank"):
                write("", "blank")
            continue
        closing = line.kind == "close"
        notes = sorted(above.get(index, ()), key=lambda n: n.pos)
        comments_above(notes, line.indent + (STEP if closing else 0), closing)
        text = " " * line.indent + line.text
        if index in trailing:
            text += "  " + trailing[index].text
        write(text, line.kind)
    placed = {key for line in lines for key in line.starts + line.ends}
    end_notes = sorted((note for notes in (attached.lead, attached.trail) for key, group in notes.items()
                        if key not in placed for note in group), key=lambda n: n.pos)  # EOF, or a safety net
    comments_above(end_notes, 0, True)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n" if out else ""


# ---- layout of conditions ---------------------------------------------------------------------------------


@attrs.define
class _Leaf:
    text: str
    key: Key | None


@attrs.define
class _Group:
    prefix: str  # "", "(" or "not ("
    op: str  # "and", "or"
    items: list
    suffix: str  # "" or ")"


def _flat(node) -> str:
    if isinstance(node, _Leaf):
        return node.text
    return node.prefix + f" {node.op} ".join(_flat(item) for item in node.items) + node.suffix


def _leaves(node) -> list[_Leaf]:
    if isinstance(node, _Leaf):
        return [node]
    return [leaf for item in node.items for leaf in _leaves(item)]


class _Filler:
    """Lines of a condition (one operand per line when it does not fit) or of a comma list (filled)."""

    def __init__(self, renderer: "_Renderer", indent: int, text: str, keys=()):
        self.renderer = renderer
        self.indent = indent
        self.text = text
        self.starts = [k for k in keys if k]
        self.ends = list(self.starts)
        self.pending = False  # a trailing comment ends the current line (comma lists)

    def fits(self, extra: int) -> bool:
        return self.indent + len(self.text) + extra <= WIDTH

    def newline(self, indent: int) -> None:
        self.renderer.add(_Line(self.indent, self.text, self.starts, self.ends))
        self.indent, self.text, self.starts, self.ends, self.pending = indent, "", [], [], False

    def leaf(self, leaf: _Leaf) -> None:
        self.text += leaf.text
        if leaf.key:
            self.starts.append(leaf.key)
            self.ends.append(leaf.key)
        if self.renderer.has_trail(leaf.key):
            self.pending = True

    def finish(self) -> None:
        self.renderer.add(_Line(self.indent, self.text, self.starts, self.ends))

    # conditions
    def node(self, node, indent: int, tail: int = 0) -> None:
        """Lay out a condition; ``tail`` is the length of the ``)`` that will follow it."""
        if isinstance(node, _Leaf):
            self.leaf(node)
            return
        # On one line when it fits, else one operand per line (each laid out the same way).
        flat = not self._forced_inside(node) and self.fits(len(_flat(node)) + tail)
        self.text += node.prefix
        last = len(node.items) - 1
        for index, item in enumerate(node.items):
            if index:
                if flat:
                    self.text += f" {node.op} "
                else:
                    self.newline(indent)
                    self.text = node.op + " "
            self.node(item, indent + STEP, tail + len(node.suffix) if index == last else 0)
        self.text += node.suffix

    def _forced_inside(self, node) -> bool:
        leaves = _leaves(node)
        return (any(self.renderer.has_lead(leaf.key) for leaf in leaves[1:])
                or any(self.renderer.has_trail(leaf.key) for leaf in leaves[:-1]))

    # comma lists (predicate bodies)
    def items(self, leaves: list[_Leaf], indent: int, separator: str, end: str) -> None:
        for index, leaf in enumerate(leaves):
            text = leaf.text + (separator if index < len(leaves) - 1 else end)
            if index:
                if self.pending or self.renderer.has_lead(leaf.key) or not self.fits(1 + len(text)):
                    self.newline(indent)
                else:
                    self.text += " "
            self.leaf(_Leaf(text, leaf.key))


# ---- the renderer ----------------------------------------------------------------------------------------------

_QUANTITY = {">=": "at least", "<=": "at most", "=": "exactly", "<": "fewer than", ">": "more than"}


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


def _days(amount: int) -> str:
    return f"{amount} day" if amount == 1 else f"{amount} days"


def dose_ref_text(ref: ast.DoseRef) -> str:
    return f"dose {ref.number}" if ref.kind == "nth" else f"{ref.kind} dose"


def _age_filter(age: ast.AgeFilter) -> str:
    if age.op == "..":
        return f"at age {duration_text(age.low)} .. {duration_text(age.high)}"
    return f"at age {age.op} {duration_text(age.low)}"


def _grade_items(items) -> str:
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
        return f"grade in {_grade_items(cond.items)}"
    if isinstance(cond, ast.NoGrade):
        return "no grade"
    if isinstance(cond, ast.CountDoses):
        if cond.op == "=" and cond.count == 0:
            words = ["no"]
        else:
            words = [_QUANTITY[cond.op], str(cond.count)]
        if cond.valid:
            words.append("valid")
        words.append("dose" if cond.count == 1 else "doses")
        if cond.products:
            words.append("of " + ", ".join(cond.products))
        if cond.age is not None:
            words.append(_age_filter(cond.age))
        return " ".join(words)
    if isinstance(cond, ast.DoseAge):
        return f"{dose_ref_text(cond.dose)} {_age_filter(cond.filter)}"
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


def call_text(call: ast.Call) -> str:
    return f"{call.name}({', '.join(_call_arg(arg) for arg in call.args)})"


def _call_arg(arg) -> str:
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


def _doc_lines(doc: str, indent: int) -> list[tuple[int, str]]:
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


def _date(value: date) -> str:
    return value.isoformat()


class _Renderer:
    def __init__(self, source: _Source | None, attached: _Attached):
        self.source = source
        self.attached = attached
        self.lines: list[_Line] = []
        self.fragments: list[Key] = []
        self.previous_end: list[int | None] = []  # per open block: source line where its last child ended

    # ---- fragments
    def add(self, line: _Line) -> None:
        self.lines.append(line)
        self.fragments.extend(key for key in line.starts if key)

    def has_lead(self, key) -> bool:
        return key is not None and key in self.attached.lead

    def has_trail(self, key) -> bool:
        return key is not None and key in self.attached.trail

    def span_key(self, span: ast.Span) -> Key | None:
        if self.source is None or span.line == 0:
            return None
        return ((span.line, span.column), (span.end_line, span.end_column))

    def token_key(self, first: int | None, last: int | None = None) -> Key | None:
        if self.source is None or first is None:
            return None
        tokens = self.source.tokens
        return (tokens[first].start, tokens[first if last is None else last].end)

    def _span_tokens(self, span: ast.Span, exclude=()) -> list[int]:
        """Tokens inside ``span``, leaving out those inside the ``exclude`` spans."""
        if self.source is None or span.line == 0:
            return []
        found = self.source.between((span.line, span.column), (span.end_line, span.end_column))
        for other in exclude:
            if other.line:
                inner = set(self.source.between((other.line, other.column), (other.end_line, other.end_column)))
                found = [index for index in found if index not in inner]
        return found

    def _find(self, span: ast.Span, text: str, last=True, exclude=()) -> int | None:
        found = [i for i in self._span_tokens(span, exclude) if self.source.tokens[i].text == text]
        if not found:
            return None
        return found[-1] if last else found[0]

    def _find_doc(self, span: ast.Span, exclude=()) -> int | None:
        found = [i for i in self._span_tokens(span, exclude) if self.source.tokens[i].text.startswith('"""')]
        return found[-1] if found else None

    def _opener(self, span: ast.Span) -> Key | None:
        return self.token_key(self._span_tokens(span)[0], self._find(span, "{", last=False)) \
            if self._span_tokens(span) else None

    def _closer(self, span: ast.Span) -> Key | None:
        tokens = self._span_tokens(span)
        return self.token_key(tokens[-1]) if tokens else None

    # ---- line helpers
    def line(self, indent: int, text: str, key=None, kind="text") -> None:
        keys = [key] if key else []
        self.add(_Line(indent, text, keys, list(keys), kind))

    def blank(self) -> None:
        self.lines.append(_Line(0, "", kind="blank"))

    def doc(self, indent: int, doc: str, key) -> None:
        lines = _doc_lines(doc, indent)
        for index, (spaces, text) in enumerate(lines):
            starts = [key] if key and index == 0 else []
            ends = [key] if key and index == len(lines) - 1 else []
            self.add(_Line(spaces, text, starts, ends))

    def child(self, start: Pos | int | None, end: Pos | int | None) -> None:
        """Before each statement of a block: keep one blank line where the source had one."""
        start_line = start[0] if isinstance(start, tuple) else start
        end_line = end[0] if isinstance(end, tuple) else end
        previous = self.previous_end[-1] if self.previous_end else None
        if self.source is not None and previous and start_line and previous < start_line \
                and self.source.blank_gap(previous, start_line):
            self.blank()
        if self.previous_end:
            self.previous_end[-1] = end_line or None

    def child_span(self, span: ast.Span) -> None:
        self.child(span.line or None, span.end_line or None)

    def child_key(self, key: Key | None, end: Pos | int | None = None) -> None:
        self.child(key[0] if key else None, end if end is not None else (key[1] if key else None))

    def block(self, indent: int, head: str, span: ast.Span, body) -> None:
        opener, closer = self._opener(span), self._closer(span)
        mark = len(self.lines)
        self.line(indent, head + " {", opener, kind="open")
        self.previous_end.append(None)
        body(indent + STEP)
        self.previous_end.pop()
        if len(self.lines) == mark + 1 and not self.has_lead(closer):
            self.lines.pop()
            keys = [k for k in (opener, closer) if k]
            self.add(_Line(indent, head + " {}", keys, keys))
            return
        self.line(indent, "}", closer, kind="close")

    # ---- the file
    def ruleset(self, ruleset: ast.Ruleset) -> None:
        previous = None
        for item in ruleset.items:
            if previous is not None and not self._together(previous, item):
                self.blank()
            self.item(item)
            previous = item

    def _together(self, previous, item) -> bool:
        """Declarations written without a blank line between them: consecutive products; consecutive
        predicate clauses grouped as in the source (without a source: the clauses of one name)."""
        if isinstance(previous, ast.Product) and isinstance(item, ast.Product):
            return True
        if not (isinstance(previous, ast.PredicateClause) and isinstance(item, ast.PredicateClause)):
            return False
        if self.source is None or not previous.span.line or not item.span.line:
            return previous.name == item.name
        return not self.source.blank_gap(previous.span.end_line, item.span.line)

    def item(self, item) -> None:
        if isinstance(item, ast.Header):
            self.header(item)
        elif isinstance(item, ast.Extends):
            self.line(0, f"extends {quote(item.target)}", self.span_key(item.span))
        elif isinstance(item, ast.Settings):
            self.settings(item)
        elif isinstance(item, ast.Grades):
            self.grades(item)
        elif isinstance(item, ast.Product):
            self.line(0, product_text(item), self.span_key(item.span))
        elif isinstance(item, ast.Vaccine):
            self.vaccine(item)
        elif isinstance(item, ast.PredicateClause):
            self.predicate(item)
        else:
            raise TypeError(f"not a top-level declaration: {item!r}")

    def header(self, header: ast.Header) -> None:
        def body(indent):
            for field in ("jurisdiction", "version"):
                value = getattr(header, field)
                if value:
                    at = self._find(header.span, field)
                    key = self.token_key(at, None if at is None else at + 1)
                    self.child_key(key)
                    self.line(indent, f"{field} {quote(value)}", key)
            if header.doc:
                key = self.token_key(self._find_doc(header.span))
                self.child_key(key)
                self.doc(indent, header.doc, key)

        self.block(0, f"ruleset {quote(header.name)}", header.span, body)

    def settings(self, settings: ast.Settings) -> None:
        def body(indent):
            if settings.tolerance_days is not None:
                at = self._find(settings.span, "tolerance", last=False)
                key = self.token_key(at, None if at is None else at + 2)
                self.child_key(key)
                self.line(indent, f"tolerance {_days(settings.tolerance_days)}", key)
            for outcome in settings.exemption_outcomes:
                self.exemption(indent, outcome)

        self.block(0, "settings", settings.span, body)

    def exemption(self, indent: int, outcome: ast.ExemptionOutcome) -> None:
        self.child_span(outcome.span)
        self.line(indent, f"exemption {outcome.kind} => {outcome.outcome}", self.span_key(outcome.span))

    def grades(self, grades: ast.Grades) -> None:
        def body(indent):
            for item in grades.items:
                if isinstance(item, ast.GradeDecl):
                    text = f"{item.code} {quote(item.name)}"
                else:
                    display = f" {quote(item.display)}" if item.display else ""
                    text = f"set {item.name}{display} = {_grade_items(item.items)}"
                self.child_span(item.span)
                self.line(indent, text, self.span_key(item.span))

        self.block(0, "grades", grades.span, body)

    def vaccine(self, vaccine: ast.Vaccine) -> None:
        if vaccine.extends_existing:
            head = f"extend vaccine {vaccine.id}"
        else:
            head = f"vaccine {vaccine.id}"
            if vaccine.name:
                head += f" {quote(vaccine.name)}"
            if vaccine.locked:
                head += " locked"
        rule_spans = [rule.span for rule in vaccine.rules]
        series_span = [vaccine.series.span] if vaccine.series else []

        def body(indent):
            if vaccine.doc:
                key = self.token_key(self._find_doc(vaccine.span, rule_spans + series_span))
                self.child_key(key)
                self.doc(indent, vaccine.doc, key)
            if vaccine.applies is not None:
                at = self._find(vaccine.span, "applies", exclude=rule_spans)
                key = self.token_key(at, None if at is None else at + 1)
                self.child_key(key, vaccine.applies.span.end_line or None)
                self.condition(indent, "applies when ", vaccine.applies, key)
            for outcome in vaccine.exemption_outcomes:
                self.exemption(indent, outcome)
            if vaccine.series is not None:
                self.child_span(vaccine.series.span)
                self.series(indent, vaccine.series)
            for rule in vaccine.rules:
                self.child_span(rule.span)
                self.rule(indent, rule)
            if vaccine.otherwise is not None:
                at = self._find(vaccine.span, "otherwise")
                key = self.token_key(at, None if at is None else at + 1)
                self.child_key(key)
                self.line(indent, f"otherwise {vaccine.otherwise}", key)

        self.block(0, head, vaccine.span, body)

    def series(self, indent: int, series: ast.Series) -> None:
        def body(inner):
            for dose in series.doses:
                self.child_span(dose.span)
                self.series_dose(inner, dose)
            for reject in series.rejects:
                self.child_span(reject.span)
                self.line(inner, f"reject {reject.reason} when {call_text(reject.call)}", self.span_key(reject.span))

        self.block(indent, "series", series.span, body)

    def series_dose(self, indent: int, dose: ast.SeriesDose) -> None:
        requirements = []  # (text, key)
        for field in ("min_age", "max_age"):
            value = getattr(dose, field)
            if value is not None:
                key = None
                if self.source is not None and value.span.line:
                    at = self.source.index_at((value.span.line, value.span.column)) - 2
                    key = (self.source.tokens[at].start, (value.span.end_line, value.span.end_column))
                requirements.append((f"{field.replace('_', ' ')} {duration_text(value)}", key))
        for interval in dose.intervals:
            text = f"min interval {duration_text(interval.duration)}"
            if interval.start is not None:
                text += f" from {dose_ref_text(interval.start)}"
            requirements.append((text, self.span_key(interval.span)))
        for allow in dose.allows:
            text = "allow " + ", ".join(allow.products)
            if allow.from_age is not None:
                text += f" from age {duration_text(allow.from_age)}"
            if allow.before_age is not None:
                text += f" before age {duration_text(allow.before_age)}"
            requirements.append((text, self.span_key(allow.span)))
        head = f"dose {dose.number}"
        opener, closer = self._opener(dose.span), self._closer(dose.span)
        row = f"{head} {{ {'  '.join(text for text, _ in requirements)} }}" if requirements else f"{head} {{}}"
        one_row = (
            indent + len(row) <= WIDTH
            and not any(self.has_lead(key) or self.has_trail(key) for _, key in requirements)
            and not self.has_lead(closer)
        )
        if one_row:
            keys = [k for k in [opener, *(key for _, key in requirements), closer] if k]
            self.add(_Line(indent, row, keys, keys))
            return
        self.line(indent, head + " {", opener, kind="open")
        for text, key in requirements:
            lines = [text]
            if indent + STEP + len(text) > WIDTH and text.startswith("allow "):
                lines = _wrap_list(text, indent + STEP, len("allow "))
            for index, piece in enumerate(lines):
                starts = [key] if key and index == 0 else []
                ends = [key] if key and index == len(lines) - 1 else []
                self.add(_Line(indent + STEP + (len("allow ") if index else 0), piece, starts, ends))
        self.line(indent, "}", closer, kind="close")

    def rule(self, indent: int, rule: ast.Rule) -> None:
        head = f"rule {quote(rule.name)} => {rule.outcome}"
        end_span = rule.outcome_span
        if rule.placement is not None:
            head += f" {rule.placement.where} {quote(rule.placement.rule)}"
            end_span = rule.placement.span
        key = None
        if self.source is not None and rule.span.line and end_span.line:
            key = ((rule.span.line, rule.span.column), (end_span.end_line, end_span.end_column))
        self.line(indent, head, key)
        inner = indent + STEP
        exclude = [rule.condition.span] if rule.condition.span.line else []
        if rule.doc:
            self.doc(inner, rule.doc, self.token_key(self._find_doc(rule.span, exclude)))
        if rule.tolerance_days is not None:
            at = self._find(rule.span, "tolerance", exclude=exclude)
            key = self.token_key(at, None if at is None else at + 2)
            self.line(inner, f"tolerance {_days(rule.tolerance_days)}", key)
        if rule.active_start is not None or rule.active_end is not None:
            text = "active"
            if rule.active_start is not None:
                text += f" from {_date(rule.active_start)}"
            if rule.active_end is not None:
                text += f" to {_date(rule.active_end)}"
            at = self._find(rule.span, "active", exclude=exclude)
            self.line(inner, text, self.token_key(at, None if at is None else at + len(text.split()) - 1))
        if not isinstance(rule.condition, ast.Always):
            at = self._find(rule.span, "when", exclude=exclude)
            self.condition(inner, "when ", rule.condition, self.token_key(at))

    def condition(self, indent: int, prefix: str, cond, prefix_key) -> None:
        filler = _Filler(self, indent, prefix, [prefix_key])
        filler.node(self.layout(cond), indent + STEP)
        filler.finish()

    def layout(self, cond, parent: str = ""):
        """The condition as leaves and groups; ``parent`` is the operator it sits under."""
        if isinstance(cond, (ast.And, ast.Or)):
            op = "and" if isinstance(cond, ast.And) else "or"
            items = [self.layout(item, op) for item in cond.items]
            # Every nested group is parenthesised: an admin should not need the precedence table to
            # read `a or (b and c)`.
            parens = bool(parent)
            return _Group("(" if parens else "", op, items, ")" if parens else "")
        if isinstance(cond, ast.Not):
            inner = self.layout(cond.item, "not")
            if isinstance(inner, _Leaf):
                return _Leaf("not " + inner.text, inner.key)
            return attrs.evolve(inner, prefix="not " + inner.prefix)
        return _Leaf(atom_text(cond), self.span_key(cond.span))

    def predicate(self, clause: ast.PredicateClause) -> None:
        head = f"predicate {clause.name}({', '.join(clause.params)})"
        head_key = self.token_key(self._span_tokens(clause.span)[0], self._find(clause.span, ")", last=False)) \
            if self._span_tokens(clause.span) else None
        literals = [_Leaf(literal_text(literal), self.span_key(literal.span)) for literal in clause.body]
        one_line = f"{head} :- {', '.join(leaf.text for leaf in literals)}."
        if (not clause.doc and len(one_line) <= WIDTH and not self.has_trail(head_key)
                and not any(self.has_lead(leaf.key) for leaf in literals)
                and not any(self.has_trail(leaf.key) for leaf in literals[:-1])):
            keys = [k for k in [head_key, *(leaf.key for leaf in literals)] if k]
            self.add(_Line(0, one_line, keys, keys))
            return
        self.line(0, head, head_key)
        if clause.doc:
            self.doc(STEP, clause.doc, self.token_key(self._find_doc(clause.span)))
        filler = _Filler(self, STEP, ":- ")
        filler.items(literals, STEP + 3, ",", ".")
        filler.finish()


def _wrap_list(text: str, indent: int, hang: int) -> list[str]:
    """Break ``text`` after commas so that its lines fit; continuation lines hang by ``hang``."""
    pieces = [piece + "," for piece in text.split(", ")]
    pieces[-1] = pieces[-1][:-1]
    lines = [pieces[0]]
    for piece in pieces[1:]:
        width = indent + (hang if len(lines) > 1 else 0) + len(lines[-1]) + 1 + len(piece)
        if width > WIDTH:
            lines.append(piece)
        else:
            lines[-1] += " " + piece
    return lines


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


