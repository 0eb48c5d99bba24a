"""Where things were in the source, which comment belongs to which piece of the layout, and the
output lines put back together with their comments."""

from __future__ import annotations

import bisect
import re

import attrs

from ..parser import Comment
from .settings import STEP

# ---- the source: token positions for pieces the tree keeps no span for -----------------------------

Pos = tuple[int, int]  # (line, column), 1-based, like Lark's

TOKEN = re.compile(
    r'(?P<space>\s+)|(?P<comment>#[^\n]*)|(?P<doc>"""(?:.|\n)*?""")|(?P<string>"(?:[^"\\\n]|\\.)*")'
    r"|(?P<date>\d{4}-\d{2}-\d{2})|(?P<int>\d+)|(?P<word>[A-Za-z_]\w*)|(?P<symbol>=>|:-|\.\.|[<>!]=|.)"
)


@attrs.frozen
class Token:
    start: Pos
    end: Pos
    text: str


class Source:
    def __init__(self, text: str, comments=()):
        self.lines = text.split("\n")
        self.comment_lines = {comment.line for comment in comments}
        line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

        def position(offset: int) -> Pos:
            line = bisect.bisect_right(line_starts, offset) - 1
            return (line + 1, offset - line_starts[line] + 1)

        self.tokens = [
            Token(position(m.start()), position(m.end()), m.group())
            for m in TOKEN.finditer(text)
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
class Note:
    text: str
    pos: Pos
    blank_before: bool = False
    blank_after: bool = False


@attrs.define
class Attached:
    lead: dict = attrs.Factory(dict)  # Key -> [Note], printed on their own lines above the fragment
    trail: dict = attrs.Factory(dict)  # Key -> [Note], printed after the line the fragment ends on


def attach(comments, fragments: list[Key], source: Source) -> Attached:
    attached = Attached()
    fragments = sorted(set(fragments))
    starts = [key[0] for key in fragments]
    for comment in comments:
        pos = (comment.line, comment.column)
        own_line = not source.code_before(comment)
        note = Note(comment.text, pos,
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
class Line:
    indent: int
    text: str
    starts: list = attrs.Factory(list)  # keys of fragments starting on this line
    ends: list = attrs.Factory(list)  # keys of fragments ending on this line
    kind: str = "text"  # "text", "open" (ends with '{'), "close" (a '}'), "blank"


def assemble(lines: list[Line], attached: Attached) -> str:
    out: list[str] = []
    last = None  # kind of the last line written

    def write(text: str, kind: str) -> None:
        nonlocal last
        out.append(text)
        last = kind

    def comments_above(notes: list[Note], indent: int, before_close: bool) -> None:
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
    trailing: dict[int, Note] = {}
    above: dict[int, list[Note]] = {}
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


