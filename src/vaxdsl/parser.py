"""Text -> syntax tree. Lark parses (LALR); a Transformer builds the attrs nodes of :mod:`vaxdsl.ast`.

Lark's exceptions never leave this module: they become :class:`~vaxdsl.errors.Diagnostic` s with the
position, the offending text and what was expected, in words. After an error the parser skips to the
next rule or declaration and goes on, so one run reports every error it can.

>>> tree = parse('vaccine HepA "Hepatitis A" { rule "1 dose Compliant" => compliant when at least 1 valid dose }')
>>> tree.vaccines[0].rules[0].condition
CountDoses(op='>=', count=1, valid=True, products=(), age=None)
"""

from __future__ import annotations

import inspect
import re
from datetime import date
from functools import lru_cache

import attrs
import lark
from lark import Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from . import ast
from .dates import LONGEST_YEARS
from .errors import Diagnostic, VaxSyntaxError
from .resources import grammar_path

# What a terminal is called in an error message, when it is not a literal keyword or symbol.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "INT": "a number",
    "STRING": 'a quoted string ("...")',
    "DATE": "a date (YYYY-MM-DD)",
    "DOC": 'a doc string ("""...""")',
    "CMP": "a comparison (<, <=, =, !=, >=, >)",
    "UNIT": "a unit (days, weeks, months, years)",
    "DOSE": "'dose'",
    "ARROW": "'=>'",
    "SIGN": "'+' or '-'",
    "$END": "the end of the file",
}
# After an error, parsing resumes at the next of these keywords (or a closing brace).
_SYNC_WORDS = {
    "rule", "vaccine", "extend", "product", "predicate", "grades", "settings", "ruleset",
    "extends", "series", "antigen", "applies", "otherwise", "}",
}
_BLANK = re.compile(r"(\s|#[^\n]*)*")
_CONDITION_STARTERS = {"'age'", "'grade'", "'at'", "'exactly'", "'interval'", "'since'"}
_DECLARATION_STARTERS = {"'vaccine'", "'product'", "'predicate'"}


class _Comments:
    """Collects comment tokens during one parse (Lark drops them from the tree)."""

    def __init__(self):
        self.tokens: list[Token] = []

    def __call__(self, token: Token) -> Token:
        self.tokens.append(token)
        return token


_COLLECTOR = _Comments()


@lru_cache(maxsize=1)
def _lark() -> lark.Lark:
    return lark.Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="basic",  # keywords stay reserved everywhere, so a misplaced one is reported as itself
        propagate_positions=True,
        maybe_placeholders=False,
        lexer_callbacks={"COMMENT": lambda token: _COLLECTOR(token)},
    )


@lru_cache(maxsize=1)
def _terminal_words() -> dict[str, str]:
    words = dict(_TERMINAL_WORDS)
    for terminal in _lark().terminals:
        if terminal.name not in words and isinstance(terminal.pattern, lark.lexer.PatternStr):
            words[terminal.name] = f"'{terminal.pattern.value}'"
    return words


def _expected_in_words(expected) -> str:
    words = sorted({_terminal_words().get(name, name.lower()) for name in expected})
    if _CONDITION_STARTERS <= set(words):
        return "a condition (age, grade, at least N doses, dose N at age, interval, since, exempt, ...)"
    if _DECLARATION_STARTERS <= set(words):
        return "a declaration (ruleset, settings, grades, product, vaccine, predicate, ...)"
    if len(words) == 1:
        return words[0]
    return "one of " + ", ".join(words)


def _describe_token(token: Token) -> str:
    if token.type == "$END":
        return "the end of the file"
    return f"'{token.value}'"


@attrs.frozen
class Comment:
    line: int
    column: int
    text: str


@attrs.frozen
class ParseResult:
    ruleset: ast.Ruleset
    comments: tuple[Comment, ...]


def parse(text: str, file: str = "<string>") -> ast.Ruleset:
    """Parse a ruleset; raise :class:`VaxSyntaxError` with every error found."""
    return parse_with_comments(text, file).ruleset


def parse_with_comments(text: str, file: str = "<string>") -> ParseResult:
    diagnostics: list[Diagnostic] = []
    recovery = _Recovery(file, text, diagnostics)
    _COLLECTOR.tokens = []
    try:
        tree = _lark().parse(text, on_error=recovery)
    except UnexpectedInput as error:
        recovery.record(error)
        tree = None
    comments = tuple(Comment(t.line, t.column, str(t).rstrip()) for t in _COLLECTOR.tokens)
    if diagnostics or tree is None:
        raise VaxSyntaxError(diagnostics, {file: text})
    try:
        items = _ToAst(file).transform(tree)
    except VisitError as error:  # a value the grammar accepts but the language does not (a bad date)
        original = error.orig_exc
        if isinstance(original, _BadValue):
            raise VaxSyntaxError([original.diagnostic], {file: text}) from None
        raise
    return ParseResult(ast.Ruleset(tuple(items), file=file, source=text), comments)


class _Recovery:
    """Lark ``on_error`` handler: record an error, then skip to a synchronising keyword."""

    def __init__(self, file: str, text: str, diagnostics: list[Diagnostic]):
        self.file = file
        self.text = text
        self.diagnostics = diagnostics
        self.panicking = False
        self.last_error_end = 0

    def record(self, error: UnexpectedInput) -> None:
        if isinstance(error, UnexpectedToken):
            found = _describe_token(error.token)
            message = f"unexpected {found}; expected {_expected_in_words(error.expected)}"
            length = max(1, len(str(error.token.value))) if error.token.type != "$END" else 1
            line, column = error.line, error.column
            if error.token.type == "$END":
                line, column = self._end_position()
        elif isinstance(error, UnexpectedCharacters):
            message = f"unexpected character {error.char!r}"
            if error.allowed:
                message += f"; expected {_expected_in_words(error.allowed)}"
            line, column, length = error.line, error.column, 1
        else:  # pragma: no cover - UnexpectedEOF is not raised by the LALR parser
            message, line, column, length = str(error), getattr(error, "line", 1), getattr(error, "column", 1), 1
        line = line if isinstance(line, int) and line > 0 else 1
        column = column if isinstance(column, int) and column > 0 else 1
        self.diagnostics.append(Diagnostic(self.file, line, column, "error", "E100", message, length))

    def _end_position(self) -> tuple[int, int]:
        lines = self.text.rstrip().splitlines() or [""]
        return len(lines), len(lines[-1]) + 1

    def __call__(self, error: UnexpectedInput) -> bool:
        position = error.pos_in_stream if isinstance(error, UnexpectedCharacters) else error.token.start_pos
        if not (self.panicking and self._only_skipped_text_since_last_error(position)):
            self.record(error)
            self.panicking = True
        if isinstance(error, UnexpectedCharacters):
            self.last_error_end = (position or 0) + 1
            return True  # Lark skips the character
        token = error.token
        if token.type == "$END":
            return False
        self.last_error_end = token.end_pos
        if str(token.value) in _SYNC_WORDS and self._resume_at(error.interactive_parser, token):
            self.panicking = False
        return True

    def _only_skipped_text_since_last_error(self, position) -> bool:
        """True while the parser has accepted nothing since the last error (still skipping)."""
        if position is None:
            return True
        return _BLANK.fullmatch(self.text, self.last_error_end, position) is not None

    @staticmethod
    def _resume_at(interactive, token: Token) -> bool:
        """Pop parser states until one accepts ``token``, then feed it; False when none does."""
        state = interactive.parser_state
        table = state.parse_conf.states
        while len(state.state_stack) > 1 and token.type not in table[state.state_stack[-1]]:
            state.state_stack.pop()
            state.value_stack.pop()
        if token.type not in table[state.state_stack[-1]]:
            return False
        interactive.feed_token(token)
        return True


class _BadValue(Exception):
    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


def _unquote(token: Token) -> str:
    body = str(token)[1:-1]
    return body.replace('\\"', '"').replace("\\\\", "\\")


def _doc_text(token: Token) -> str:
    return inspect.cleandoc(str(token)[3:-3])


_PLURAL_UNITS = {unit.rstrip("s"): unit for unit in ast.UNITS}
_MONTHS_PER = {"years": 12, "months": 1}
_DAYS_PER = {"weeks": 7, "days": 1}
_QUANTITY_OPS = {"at_least": ">=", "at_most": "<=", "exactly": "=", "fewer_than": "<", "more_than": ">"}


def normalise_grade(code: str) -> str:
    """Grade codes: numbers are two digits (``7`` -> ``07``); letters as written."""
    return code.zfill(2) if code.isdigit() else code


@v_args(meta=True)
class _ToAst(Transformer):
    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def _span(self, meta) -> ast.Span:
        if getattr(meta, "empty", True):
            return ast.NO_SPAN
        return ast.Span(meta.line, meta.column, meta.end_line, meta.end_column, self.file)

    def _token_span(self, token: Token) -> ast.Span:
        return ast.Span(token.line, token.column, token.end_line, token.end_column, self.file)

    def _date(self, token: Token) -> date:
        try:
            return date.fromisoformat(str(token))
        except ValueError:
            raise _BadValue(Diagnostic(self.file, token.line, token.column, "error", "E101",
                                       f"'{token}' is not a calendar date", len(token)))

    # ---- top level
    def start(self, meta, items):
        return items

    def header(self, meta, children):
        fields = dict(children[1:])
        return ast.Header(_unquote(children[0]), fields.get("jurisdiction", ""), fields.get("version", ""),
                          fields.get("doc", ""), span=self._span(meta))

    def jurisdiction(self, meta, children):
        return ("jurisdiction", _unquote(children[0]))

    def version(self, meta, children):
        return ("version", _unquote(children[0]))

    def doc(self, meta, children):
        return ("doc", _doc_text(children[0]))

    def extends(self, meta, children):
        return ast.Extends(_unquote(children[0]), span=self._span(meta))

    def settings(self, meta, children):
        tolerance = next((c[1] for c in children if isinstance(c, tuple) and c[0] == "tolerance"), None)
        outcomes = tuple(c for c in children if isinstance(c, ast.ExemptionOutcome))
        return ast.Settings(tolerance, outcomes, span=self._span(meta))

    def tolerance(self, meta, children):
        return ("tolerance", self._days(children))

    def _days(self, children) -> int:
        amount, unit = children
        if not str(unit).startswith("day"):
            raise _BadValue(Diagnostic(self.file, unit.line, unit.column, "error", "E101",
                                       f"a tolerance is a number of days, not {unit}", len(unit)))
        return int(amount)

    def exemption_outcome(self, meta, children):
        return ast.ExemptionOutcome(str(children[0]), str(children[2]), span=self._span(meta))

    # ---- grades
    def grades(self, meta, children):
        return ast.Grades(tuple(children), span=self._span(meta))

    def grade_decl(self, meta, children):
        return ast.GradeDecl(children[0], _unquote(children[1]), span=self._span(meta))

    def grade_set(self, meta, children):
        name, *middle, sign, items = children
        if str(sign) != "=":
            raise _BadValue(Diagnostic(self.file, sign.line, sign.column, "error", "E100",
                                       f"unexpected '{sign}'; expected '='", len(sign)))
        display = _unquote(middle[0]) if middle else ""
        return ast.GradeSet(str(name), items, display, span=self._span(meta))

    def grade_items(self, meta, children):
        return tuple(children)

    def grade_range(self, meta, children):
        return ast.GradeRange(children[0], children[1], span=self._span(meta))

    def grade_code(self, meta, children):
        return normalise_grade(str(children[0]))

    # ---- products
    def product(self, meta, children):
        product_id, cvx, *rest = children
        vaccines = rest.pop() if rest and isinstance(rest[-1], tuple) else ()
        mvx = name = None
        live = False
        for child in rest:
            if child.type == "NAME":
                mvx = str(child)
            elif child.type == "STRING":
                name = _unquote(child)
            elif child.type == "LIVE":
                live = True
        return ast.Product(str(product_id), str(cvx), vaccines, name or "", mvx, live, span=self._span(meta))

    def name_list(self, meta, children):
        return tuple(str(c) for c in children)

    # ---- vaccines
    def vaccine(self, meta, children):
        vaccine_id = str(children[0])
        name, locked, items = "", False, []
        for child in children[1:]:
            if isinstance(child, Token) and child.type == "STRING":
                name = _unquote(child)
            elif isinstance(child, Token) and child.type == "LOCKED":
                locked = True
            else:
                items.append(child)
        return self._vaccine(meta, vaccine_id, name, locked, items, extends_existing=False)

    def extend_vaccine(self, meta, children):
        return self._vaccine(meta, str(children[0]), "", False, children[1:], extends_existing=True)

    def _vaccine(self, meta, vaccine_id, name, locked, items, extends_existing):
        fields = {"doc": "", "applies": None, "otherwise": None}
        rules, exemption_outcomes, series, antigens = [], [], [], []
        for item in items:
            if isinstance(item, ast.Rule):
                rules.append(item)
            elif isinstance(item, ast.Series):
                series.append(item)
            elif isinstance(item, ast.Antigen):
                antigens.append(item)
            elif isinstance(item, ast.ExemptionOutcome):
                exemption_outcomes.append(item)
            else:
                key, value = item
                fields[key] = value
        return ast.Vaccine(vaccine_id, name, locked, fields["doc"], fields["applies"], tuple(series),
                           tuple(rules), fields["otherwise"], tuple(exemption_outcomes), extends_existing,
                           span=self._span(meta), antigens=tuple(antigens))

    def applies(self, meta, children):
        return ("applies", children[0])

    def otherwise(self, meta, children):
        return ("otherwise", str(children[0]))

    # ---- series
    def antigen(self, meta, children):
        name, products, *series = children
        return ast.Antigen(str(name), products, tuple(series), span=self._span(meta))

    def series(self, meta, children):
        name = next((_unquote(c) for c in children if isinstance(c, Token) and c.type == "STRING"), "")
        doses = tuple(c for c in children if isinstance(c, ast.SeriesDose))
        rejects = tuple(c for c in children if isinstance(c, (ast.Reject, ast.RejectAfterNotValid)))
        window = next((dict(c[1]) for c in children if isinstance(c, tuple) and c[0] == "start"), {})
        only_with = tuple(p for c in children if isinstance(c, tuple) and c[0] == "only" for p in c[1])
        return ast.Series(doses, rejects, name, window.get("from"), window.get("before"), only_with,
                          span=self._span(meta))

    def series_start(self, meta, children):
        return ("start", tuple(children))

    def series_only(self, meta, children):
        return ("only", children[0])

    def series_dose(self, meta, children):
        _dose, number, *requirements = children
        fields = {"max_age": None, "recurring": False}
        min_ages, intervals, allows, inadvertents, skips = [], [], [], [], []
        for requirement in requirements:
            if isinstance(requirement, ast.MinAge):
                min_ages.append(requirement)
            elif isinstance(requirement, ast.MinInterval):
                intervals.append(requirement)
            elif isinstance(requirement, ast.Allow):
                allows.append(requirement)
            elif isinstance(requirement, ast.Inadvertent):
                inadvertents.append(requirement)
            elif isinstance(requirement, ast.Skip):
                skips.append(requirement)
            else:
                fields[requirement[0]] = requirement[1]
        return ast.SeriesDose(int(number), tuple(min_ages), fields["max_age"], tuple(intervals), tuple(allows),
                              tuple(skips), fields["recurring"], tuple(inadvertents), span=self._span(meta))

    def recurring(self, meta, children):
        return ("recurring", True)

    def skip(self, meta, children):
        return ast.Skip(children[0], span=self._span(meta))

    def min_age(self, meta, children):
        return ast.MinAge(children[0], children[1] if len(children) > 1 else None, span=self._span(meta))

    def max_age(self, meta, children):
        return ("max_age", children[0])

    def min_interval(self, meta, children):
        duration, *rest = children
        start = next((c for c in rest if isinstance(c, ast.DoseRef)), None)
        given = next((c for c in rest if isinstance(c, ast.GivenWindow)), None)
        return ast.MinInterval(duration, start, given, span=self._span(meta))

    def given(self, meta, children):
        days = dict(children)
        return ast.GivenWindow(days.get("from"), days.get("before"), span=self._span(meta))

    def given_from(self, meta, children):
        return ("from", self._date(children[0]))

    def given_before(self, meta, children):
        return ("before", self._date(children[0]))

    def allow(self, meta, children):
        products, *limits = children
        ages = dict(limits)
        return ast.Allow(products, ages.get("from"), ages.get("before"), span=self._span(meta))

    def inadvertent(self, meta, children):
        return ast.Inadvertent(children[0], span=self._span(meta))

    def allow_from(self, meta, children):
        return ("from", children[0])

    def allow_before(self, meta, children):
        return ("before", children[0])

    def reject(self, meta, children):
        return ast.Reject(str(children[0]), children[1], span=self._span(meta))

    def reject_after_not_valid(self, meta, children):
        return ast.RejectAfterNotValid(str(children[0]), children[1], span=self._span(meta))

    # ---- rules
    def rule(self, meta, children):
        name, _arrow, outcome, *items = children
        fields = {"doc": "", "tolerance": None, "when": ast.Always(), "placement": None}
        start = end = None
        for item in items:
            if isinstance(item, ast.Placement):
                fields["placement"] = item
            elif item[0] == "active":
                start, end = item[1], item[2]
            else:
                fields[item[0]] = item[1]
        return ast.Rule(_unquote(name), str(outcome), fields["when"], fields["tolerance"], start, end,
                        fields["doc"], fields["placement"], span=self._span(meta),
                        outcome_span=self._token_span(outcome))

    def place_before(self, meta, children):
        return ast.Placement("before", _unquote(children[0]), span=self._span(meta))

    def place_after(self, meta, children):
        return ast.Placement("after", _unquote(children[0]), span=self._span(meta))

    def rule_tolerance(self, meta, children):
        return ("tolerance", self._days(children))

    def active_from(self, meta, children):
        return ("active", self._date(children[0]), self._date(children[1]) if len(children) > 1 else None)

    def active_to(self, meta, children):
        return ("active", None, self._date(children[0]))

    def when(self, meta, children):
        return ("when", children[0])

    # ---- conditions
    def or_cond(self, meta, children):
        return ast.Or(tuple(children), span=self._span(meta))

    def and_cond(self, meta, children):
        return ast.And(tuple(children), span=self._span(meta))

    def not_cond(self, meta, children):
        return ast.Not(children[0], span=self._span(meta))

    def always(self, meta, children):
        return ast.Always(span=self._span(meta))

    def age_test(self, meta, children):
        return ast.AgeCompare(str(children[0]), children[1], span=self._span(meta))

    def age_range(self, meta, children):
        return ast.AgeBetween(children[0], children[1], span=self._span(meta))

    def grade_in(self, meta, children):
        return ast.GradeIn(children[0], span=self._span(meta))

    def no_grade(self, meta, children):
        return ast.NoGrade(span=self._span(meta))

    def series_complete(self, meta, children):
        word = children[0]
        if str(word) != "complete":
            raise _BadValue(Diagnostic(self.file, word.line, word.column, "error", "E101",
                                       f"expected 'series complete', found 'series {word}'", len(word)))
        return ast.SeriesComplete(span=self._span(meta))

    def count_doses(self, meta, children):
        (op, count), *rest = children
        valid = isinstance(rest[0], Token) and rest[0].type == "VALID"
        products, age = (), None
        for item in rest:
            if isinstance(item, Token):
                continue
            if isinstance(item, ast.AgeFilter):
                age = item
            else:
                products = item[1]
        return ast.CountDoses(op, count, valid, products, age, span=self._span(meta))

    def none(self, meta, children):
        return ("=", 0)

    def of_products(self, meta, children):
        return ("of", children[0])

    def at_age(self, meta, children):
        return ast.AgeFilter(str(children[0]), children[1], span=self._span(meta))

    def at_age_range(self, meta, children):
        return ast.AgeFilter("..", children[0], children[1], span=self._span(meta))

    def dose_age(self, meta, children):
        return ast.DoseAge(children[0], ast.AgeFilter(str(children[1]), children[2], span=self._span(meta)),
                           span=self._span(meta))

    def dose_age_range(self, meta, children):
        return ast.DoseAge(children[0], ast.AgeFilter("..", children[1], children[2], span=self._span(meta)),
                           span=self._span(meta))

    def interval(self, meta, children):
        return ast.IntervalCompare(children[0], children[1], str(children[2]), children[3], span=self._span(meta))

    def since(self, meta, children):
        return ast.SinceDose(children[0], str(children[1]), children[2], span=self._span(meta))

    def exempt(self, meta, children):
        return ast.Exempt(children[0] if children else (), span=self._span(meta))

    def effective_date(self, meta, children):
        return ast.EffectiveDate(str(children[0]), self._date(children[1]), span=self._span(meta))

    def call(self, meta, children):
        name, *args = children
        converted = []
        for arg in args:
            if isinstance(arg, Token) and arg.type == "STUDENT":
                converted.append(ast.Student(span=self._token_span(arg)))
            elif isinstance(arg, Token) and arg.type == "DOSE":
                converted.append(ast.CurrentDose(span=self._token_span(arg)))
            else:
                converted.append(arg)
        return ast.Call(str(name), tuple(converted), span=self._span(meta))

    def nth_dose(self, meta, children):
        return ast.DoseRef("nth", int(children[1]), span=self._span(meta))

    def first_dose(self, meta, children):
        return ast.DoseRef("first", span=self._span(meta))

    def last_dose(self, meta, children):
        return ast.DoseRef("last", span=self._span(meta))

    # ---- quantities: "at least 3" -> (">=", 3)
    def __default__(self, data, children, meta):
        if data in _QUANTITY_OPS:
            return (_QUANTITY_OPS[data], int(children[0]))
        return super().__default__(data, children, meta)

    # ---- Datalog
    def predicate(self, meta, children):
        name, *rest = children
        body = rest.pop()
        doc = ""
        if rest and isinstance(rest[-1], Token) and rest[-1].type == "DOC":
            doc = _doc_text(rest.pop())
        return ast.PredicateClause(str(name), tuple(str(p) for p in rest), body, doc, span=self._span(meta))

    def body(self, meta, children):
        return tuple(children)

    def atom(self, meta, children):
        return ast.Atom(str(children[0]), tuple(children[1:]), span=self._span(meta))

    def negated(self, meta, children):
        return attrs.evolve(children[0], negated=True, span=self._span(meta))

    def comparison(self, meta, children):
        return ast.Comparison(children[0], str(children[1]), children[2], span=self._span(meta))

    def count_agg(self, meta, children):
        return ast.CountAggregate(str(children[0]), children[1], str(children[2]), children[3], span=self._span(meta))

    def date_shift(self, meta, children):
        term, sign, duration = children
        return ast.DateShift(term, 1 if str(sign) == "+" else -1, duration, span=self._span(meta))

    def var(self, meta, children):
        return ast.Name(str(children[0]), span=self._span(meta))

    name = var

    def wildcard(self, meta, children):
        return ast.Wildcard(span=self._span(meta))

    def int(self, meta, children):
        return ast.IntLit(int(children[0]), span=self._span(meta))

    def date(self, meta, children):
        return ast.DateLit(self._date(children[0]), span=self._span(meta))

    def string(self, meta, children):
        return ast.StrLit(_unquote(children[0]), span=self._span(meta))

    # ---- durations
    def duration(self, meta, children):
        parts, sign = [], 1
        index = 0
        while index < len(children):
            token = children[index]
            if token.type == "SIGN":
                sign = 1 if str(token) == "+" else -1
                index += 1
                continue
            unit = _PLURAL_UNITS.get(str(children[index + 1]), str(children[index + 1]))
            parts.append(ast.DurationPart(sign, int(token), unit))
            index += 2
        # bounded so that any date vaxdsl accepts (dates.EARLIEST..LATEST) plus a duration stays in the calendar
        months = sum(part.amount * _MONTHS_PER.get(part.unit, 0) for part in parts)
        days = sum(part.amount * _DAYS_PER.get(part.unit, 0) for part in parts)
        if months / (12 * LONGEST_YEARS) + days / (365.25 * LONGEST_YEARS) > 1:
            raise _BadValue(Diagnostic(self.file, meta.line, meta.column, "error", "E101",
                                       f"a duration longer than {LONGEST_YEARS} years: no age or interval is that long",
                                       meta.end_column - meta.column if meta.line == meta.end_line else 1))
        return ast.Duration(tuple(parts), span=self._span(meta))
