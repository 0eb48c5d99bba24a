"""Diagnostics with source positions, and the small error hierarchy the CLI turns into messages.

>>> d = Diagnostic("a.vax", 2, 7, "error", "E201", "unknown vaccine group 'Hepb'")
>>> print(d.render("line one\\nrule x when Hepb\\n"))
a.vax:2:7: error[E201]: unknown vaccine group 'Hepb'
    rule x when Hepb
          ^
"""

from __future__ import annotations

import attrs


@attrs.frozen(order=True)
class Diagnostic:
    file: str
    line: int
    column: int
    severity: str  # "error" or "warning"
    code: str
    message: str
    length: int = attrs.field(default=1, eq=False, order=False)

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def headline(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.severity}[{self.code}]: {self.message}"

    def render(self, source: str | None = None) -> str:
        """The headline, then the source line with a caret under the column."""
        lines = [self.headline()]
        if source is not None and self.line > 0:
            source_lines = source.splitlines()
            if self.line <= len(source_lines):
                text = source_lines[self.line - 1].expandtabs(1)
                lines.append("    " + text)
                lines.append("    " + " " * (self.column - 1) + "^" * max(1, min(self.length, len(text) - self.column + 1)))
        return "\n".join(lines)

    def as_json(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
        }


class VaxError(Exception):
    """Anything a user can cause; the CLI prints it without a traceback."""


class DiagnosticsError(VaxError):
    """A ruleset that cannot be used: carries the diagnostics and the sources to render them."""

    def __init__(self, diagnostics: list[Diagnostic], sources: dict[str, str] | None = None):
        self.diagnostics = sorted(set(diagnostics))
        self.sources = sources or {}
        super().__init__("\n".join(d.headline() for d in self.diagnostics))

    def render(self) -> str:
        return "\n".join(d.render(self.sources.get(d.file)) for d in self.diagnostics)


class VaxSyntaxError(DiagnosticsError):
    """The text does not follow the grammar."""


class RulesetNotFound(VaxError):
    """An ``extends`` target or a command-line ruleset that does not exist."""
