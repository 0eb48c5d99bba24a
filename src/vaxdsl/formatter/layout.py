"""The renderer: the tree laid out as lines (conditions filled or broken at and/or, series rows,
predicate bodies), each line knowing which source fragments it holds for comment placement."""

from __future__ import annotations

import attrs

from .. import ast
from .settings import STEP, WIDTH
from .source import Attached, Key, Line, Pos, Source
from .text import (atom_text, date_text, days_text, doc_lines, dose_ref_text, duration_text, grade_items_text,
                   literal_text, product_text, quote, reject_text)

# ---- layout of conditions ---------------------------------------------------------------------------------


@attrs.define
class Leaf:
    text: str
    key: Key | None


@attrs.define
class Group:
    prefix: str  # "", "(" or "not ("
    op: str  # "and", "or"
    items: list
    suffix: str  # "" or ")"


def flat_text(node) -> str:
    if isinstance(node, Leaf):
        return node.text
    return node.prefix + f" {node.op} ".join(flat_text(item) for item in node.items) + node.suffix


def leaves_of(node) -> list[Leaf]:
    if isinstance(node, Leaf):
        return [node]
    return [leaf for item in node.items for leaf in leaves_of(item)]


class Filler:
    """Lines of a condition (one operand per line when it does not fit) or of a comma list (filled)."""

    def __init__(self, renderer: "Renderer", indent: int, text: str, keys=()):
        self.renderer = renderer
        self.indent = indent
        self.text = text
        self.starts = [k for k in keys if k]
        self.ends = list(self.starts)
        self.pending = False  # a trailing comment ends the current line (comma lists)

    def fits(self, extra: int) -> bool:
        return self.indent + len(self.text) + extra <= WIDTH

    def newline(self, indent: int) -> None:
        self.renderer.add(Line(self.indent, self.text, self.starts, self.ends))
        self.indent, self.text, self.starts, self.ends, self.pending = indent, "", [], [], False

    def leaf(self, leaf: Leaf) -> None:
        # A test too long for the line (a long product list) breaks after its commas, the rest
        # hanging one step in; the test starts on its first line and ends on its last.
        pieces = [leaf.text]
        if ", " in leaf.text and not self.fits(len(leaf.text)):
            pieces = wrap_list(leaf.text, self.indent + len(self.text), STEP - len(self.text))
        if leaf.key:
            self.starts.append(leaf.key)
        self.text += pieces[0]
        hang = self.indent + STEP
        for piece in pieces[1:]:
            self.renderer.add(Line(self.indent, self.text, self.starts, self.ends))
            self.indent, self.text, self.starts, self.ends = hang, piece, [], []
        if leaf.key:
            self.ends.append(leaf.key)
        if self.renderer.has_trail(leaf.key):
            self.pending = True

    def finish(self) -> None:
        self.renderer.add(Line(self.indent, self.text, self.starts, self.ends))

    # conditions
    def node(self, node, indent: int, tail: int = 0) -> None:
        """Lay out a condition; ``tail`` is the length of the ``)`` that will follow it."""
        if isinstance(node, Leaf):
            self.leaf(node)
            return
        # On one line when it fits, else one operand per line (each laid out the same way).
        flat = not self._forced_inside(node) and self.fits(len(flat_text(node)) + tail)
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
        leaves = leaves_of(node)
        return (any(self.renderer.has_lead(leaf.key) for leaf in leaves[1:])
                or any(self.renderer.has_trail(leaf.key) for leaf in leaves[:-1]))

    # comma lists (predicate bodies)
    def items(self, leaves: list[Leaf], indent: int, separator: str, end: str) -> None:
        for index, leaf in enumerate(leaves):
            text = leaf.text + (separator if index < len(leaves) - 1 else end)
            if index:
                if self.pending or self.renderer.has_lead(leaf.key) or not self.fits(1 + len(text)):
                    self.newline(indent)
                else:
                    self.text += " "
            self.leaf(Leaf(text, leaf.key))



class Renderer:
    def __init__(self, source: Source | None, attached: Attached):
        self.source = source
        self.attached = attached
        self.lines: list[Line] = []
        self.fragments: list[Key] = []
        self.previous_end: list[int | None] = []  # per open block: source line where its last child ended

    # ---- fragments
    def add(self, line: Line) -> None:
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
        self.add(Line(indent, text, keys, list(keys), kind))

    def blank(self) -> None:
        self.lines.append(Line(0, "", kind="blank"))

    def doc(self, indent: int, doc: str, key) -> None:
        lines = doc_lines(doc, indent)
        for index, (spaces, text) in enumerate(lines):
            starts = [key] if key and index == 0 else []
            ends = [key] if key and index == len(lines) - 1 else []
            self.add(Line(spaces, text, starts, ends))

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
            self.add(Line(indent, head + " {}", keys, keys))
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
                self.line(indent, f"tolerance {days_text(settings.tolerance_days)}", key)
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
                    text = f"set {item.name}{display} = {grade_items_text(item.items)}"
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
        series_span = [item.span for item in vaccine.series + vaccine.antigens]

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
            for series in vaccine.series:
                self.child_span(series.span)
                self.series(indent, series)
            for antigen in vaccine.antigens:
                self.child_span(antigen.span)
                self.antigen(indent, antigen)
            for rule in vaccine.rules:
                self.child_span(rule.span)
                self.rule(indent, rule)
            if vaccine.otherwise is not None:
                at = self._find(vaccine.span, "otherwise")
                key = self.token_key(at, None if at is None else at + 1)
                self.child_key(key)
                self.line(indent, f"otherwise {vaccine.otherwise}", key)

        self.block(0, head, vaccine.span, body)

    def antigen(self, indent: int, antigen: ast.Antigen) -> None:
        def body(inner):
            for series in antigen.series:
                self.child_span(series.span)
                self.series(inner, series)

        self.block(indent, f"antigen {antigen.name} of {', '.join(antigen.products)}", antigen.span, body)

    def series(self, indent: int, series: ast.Series) -> None:
        def body(inner):
            if series.start_from is not None or series.start_before is not None:
                self.series_start(inner, series)
            if series.only_with:
                self.series_only(inner, series)
            for dose in series.doses:
                self.child_span(dose.span)
                self.series_dose(inner, dose)
            for reject in series.rejects:
                self.child_span(reject.span)
                self.line(inner, reject_text(reject), self.span_key(reject.span))

        self.block(indent, f"series {quote(series.name)}" if series.name else "series", series.span, body)

    def series_start(self, indent: int, series: ast.Series) -> None:
        text = "start" + age_window_text(series.start_from, series.start_before)
        last = series.start_before or series.start_from
        at = self._find(series.span, "start", last=False, exclude=[dose.span for dose in series.doses])
        key = None
        if at is not None and last.span.line:
            key = (self.source.tokens[at].start, (last.span.end_line, last.span.end_column))
        self.child_key(key)
        self.line(indent, text, key)

    def series_only(self, indent: int, series: ast.Series) -> None:
        doses = [dose.span for dose in series.doses]
        at = self._find(series.span, "only", last=False, exclude=doses)
        key = None
        if at is not None:  # from "only" to the last product named
            names = [i for i in self._span_tokens(series.span, doses)
                     if i > at + 1 and self.source.tokens[i].text in series.only_with][:len(series.only_with)]
            key = self.token_key(at, names[-1] if names else None)
        self.child_key(key)
        self.line(indent, f"only with {', '.join(series.only_with)}", key)

    def series_dose(self, indent: int, dose: ast.SeriesDose) -> None:
        requirements = []  # (text, key)
        for age in dose.min_ages:
            requirements.append((f"min age {duration_text(age.duration)}{given_text(age.given)}",
                                 self.span_key(age.span)))
        if dose.max_age is not None:
            value, key = dose.max_age, None
            if self.source is not None and value.span.line:
                at = self.source.index_at((value.span.line, value.span.column)) - 2
                key = (self.source.tokens[at].start, (value.span.end_line, value.span.end_column))
            requirements.append((f"max age {duration_text(value)}", key))
        for interval in dose.intervals:
            text = f"min interval {duration_text(interval.duration)}"
            if interval.start is not None:
                text += f" from {dose_ref_text(interval.start)}"
            requirements.append((text + given_text(interval.given), self.span_key(interval.span)))
        for allow in dose.allows:
            text = "allow " + ", ".join(allow.products) + age_window_text(allow.from_age, allow.before_age)
            requirements.append((text, self.span_key(allow.span)))
        for line in dose.inadvertents:
            requirements.append(("inadvertent " + ", ".join(line.products), self.span_key(line.span)))
        head = f"dose {dose.number}" + (" recurring" if dose.recurring else "")
        opener, closer = self._opener(dose.span), self._closer(dose.span)
        row = f"{head} {{ {'  '.join(text for text, _ in requirements)} }}" if requirements else f"{head} {{}}"
        one_row = (
            not dose.skips
            and indent + len(row) <= WIDTH
            and not any(self.has_lead(key) or self.has_trail(key) for _, key in requirements)
            and not self.has_lead(closer)
        )
        if one_row:
            keys = [k for k in [opener, *(key for _, key in requirements), closer] if k]
            self.add(Line(indent, row, keys, keys))
            return
        self.line(indent, head + " {", opener, kind="open")
        for text, key in requirements:
            lines, hang = [text], 0
            if indent + STEP + len(text) > WIDTH and text.startswith(("allow ", "inadvertent ")):
                hang = text.index(" ") + 1  # continuation lines line up under the first product
                lines = wrap_list(text, indent + STEP, hang)
            for index, piece in enumerate(lines):
                starts = [key] if key and index == 0 else []
                ends = [key] if key and index == len(lines) - 1 else []
                self.add(Line(indent + STEP + (hang if index else 0), piece, starts, ends))
        for skip in dose.skips:
            at = self._find(skip.span, "skip", last=False)
            self.condition(indent + STEP, "skip when ", skip.condition, self.token_key(at, None if at is None else at + 1))
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
            self.line(inner, f"tolerance {days_text(rule.tolerance_days)}", key)
        if rule.active_start is not None or rule.active_end is not None:
            text = "active"
            if rule.active_start is not None:
                text += f" from {date_text(rule.active_start)}"
            if rule.active_end is not None:
                text += f" to {date_text(rule.active_end)}"
            at = self._find(rule.span, "active", exclude=exclude)
            self.line(inner, text, self.token_key(at, None if at is None else at + len(text.split()) - 1))
        if not isinstance(rule.condition, ast.Always):
            at = self._find(rule.span, "when", exclude=exclude)
            self.condition(inner, "when ", rule.condition, self.token_key(at))

    def condition(self, indent: int, prefix: str, cond, prefix_key) -> None:
        filler = Filler(self, indent, prefix, [prefix_key])
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
            return Group("(" if parens else "", op, items, ")" if parens else "")
        if isinstance(cond, ast.Not):
            inner = self.layout(cond.item, "not")
            if isinstance(inner, Leaf):
                return Leaf("not " + inner.text, inner.key)
            return attrs.evolve(inner, prefix="not " + inner.prefix)
        return Leaf(atom_text(cond), self.span_key(cond.span))

    def predicate(self, clause: ast.PredicateClause) -> None:
        head = f"predicate {clause.name}({', '.join(clause.params)})"
        head_key = self.token_key(self._span_tokens(clause.span)[0], self._find(clause.span, ")", last=False)) \
            if self._span_tokens(clause.span) else None
        literals = [Leaf(literal_text(literal), self.span_key(literal.span)) for literal in clause.body]
        one_line = f"{head} :- {', '.join(leaf.text for leaf in literals)}."
        if (not clause.doc and len(one_line) <= WIDTH and not self.has_trail(head_key)
                and not any(self.has_lead(leaf.key) for leaf in literals)
                and not any(self.has_trail(leaf.key) for leaf in literals[:-1])):
            keys = [k for k in [head_key, *(leaf.key for leaf in literals)] if k]
            self.add(Line(0, one_line, keys, keys))
            return
        self.line(0, head, head_key)
        if clause.doc:
            self.doc(STEP, clause.doc, self.token_key(self._find_doc(clause.span)))
        filler = Filler(self, STEP, ":- ")
        filler.items(literals, STEP + 3, ",", ".")
        filler.finish()



def age_window_text(from_age: ast.Duration | None, before_age: ast.Duration | None) -> str:
    """`` from age A before age B`` (either part may be missing), after ``allow P`` or ``start``."""
    text = ""
    if from_age is not None:
        text += f" from age {duration_text(from_age)}"
    if before_age is not None:
        text += f" before age {duration_text(before_age)}"
    return text


def given_text(window: ast.GivenWindow | None) -> str:
    """`` given from D1 before D2`` (either part may be missing), after ``min age``/``min interval``."""
    if window is None:
        return ""
    return (" given" + (f" from {window.start.isoformat()}" if window.start else "")
            + (f" before {window.before.isoformat()}" if window.before else ""))


def wrap_list(text: str, indent: int, hang: int) -> list[str]:
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

