"""Fact files as rows of text: CSV (UTF-8, header row) or JSON Lines with the same field names.

:func:`open_fact_file` reads one file of a kind in :data:`COLUMNS` and yields its rows as text
values in column order (JSON Lines rows also carry their extra fields as attributes); what cannot be
read becomes a :class:`RowProblem` (file, line, reason), and a file that cannot be used at all is a
``file_level`` one. Checking the values is :mod:`vaxdsl.facts`' job.
"""

from __future__ import annotations

import codecs
import csv
import json
from pathlib import Path

import attrs

from .filekinds import HEAD_BYTES, other_than_text

# kind -> (required columns, optional columns); doses need a cvx or a product (checked apart)
COLUMNS = {
    "students": (("student_id", "birth_date"), ("grade",)),
    "doses": (("student_id", "date"), ("cvx", "product", "mvx")),
    "exemptions": (("student_id", "vaccine", "kind"), ("date",)),
}


@attrs.frozen
class RowProblem:
    file: str
    row: int  # line number in the file, header = 1
    reason: str
    file_level: bool = False  # the whole file could not be used

    def __str__(self) -> str:
        return f"{self.file}:{self.row}: {self.reason}" if self.row else f"{self.file}: {self.reason}"


def open_fact_file(path: Path, kind: str, problems: list[RowProblem]):
    """(columns, rows), rows yielding (line, values, attributes or None); None if the file is unusable."""
    required, optional = COLUMNS[kind]
    try:
        handle = path.open("rb")
    except OSError as error:
        problems.append(RowProblem(str(path), 0, f"cannot read: {error.strerror}", True))
        return None
    instead = other_than_text(handle.read(HEAD_BYTES))
    if instead is not None:
        handle.close()
        wanted = "JSON Lines" if path.suffix == ".jsonl" else "CSV"
        problems.append(RowProblem(str(path), 0, f"{instead}, not {wanted} text: save it as {wanted} in UTF-8", True))
        return None
    handle.seek(0)
    bad_lines: dict[int, str] = {}
    if _is_utf8(handle):
        # the common case: let the io module decode (in C) instead of decoding line by line
        lines = open(path, encoding="utf-8-sig", newline="")
    else:
        lines = _decoded(handle, bad_lines)
    if path.suffix == ".jsonl":
        return _jsonl(lines, bad_lines, str(path), required, optional, problems)
    return _csv(lines, bad_lines, str(path), required, problems)


def _is_utf8(handle) -> bool:
    """Whether the whole file is UTF-8: a quick pass in C, as 1 GB takes about a second."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while block := handle.read(1 << 24):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        handle.seek(0)
        return False
    handle.close()
    return True


def _decoded(handle, bad_lines: dict[int, str]):
    """The file's lines as text. A line that is not UTF-8 is noted in ``bad_lines`` (and decoded
    anyway), so one bad byte costs one row, not the file."""
    with handle:
        for number, raw in enumerate(handle, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                bad_lines[number] = f"not UTF-8 text (byte 0x{raw[error.start]:02x} at column {error.start + 1})"
                text = raw.decode("utf-8", "replace")
            yield text[1:] if number == 1 and text.startswith("\ufeff") else text


def _csv(lines, bad_lines, file: str, required, problems):
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
    except csv.Error as error:
        header, bad_lines[1] = None, str(error)
    columns = [name.strip().lower() for name in header or ()]
    missing = [name for name in required if name not in columns]
    twice = sorted({name for name in columns if columns.count(name) > 1})
    if 1 in bad_lines or missing or twice:
        reason = (f"header: {bad_lines[1]}" if 1 in bad_lines else
                  f"missing required column: {', '.join(missing)}" if missing else
                  f"column '{twice[0]}' appears twice")
        problems.append(RowProblem(file, 1, reason, True))
        lines.close()
        return None

    def rows():
        width, last = len(columns), reader.line_num
        try:
            while True:
                try:
                    for values in reader:
                        line, last = last + 1, reader.line_num  # a row spanning lines is reported at its first
                        if bad_lines and any(n in bad_lines for n in range(line, last + 1)):
                            problems.append(RowProblem(file, line, next(bad_lines[n] for n in range(line, last + 1) if n in bad_lines)))
                        elif len(values) == width and (values[0] or any(values)):
                            yield line, values, None
                        elif any(values):  # not a blank line, nor a spreadsheet's empty row
                            reason = f"row has {len(values)} fields, the header has {width}"
                            if last > line:
                                reason += f"; it runs on to line {last} (an unmatched quote?)"
                            problems.append(RowProblem(file, line, reason))
                    return
                except csv.Error as error:
                    problems.append(RowProblem(file, last + 1, f"not readable as CSV: {error}"))
                    last = reader.line_num
        finally:
            lines.close()

    return columns, rows()


def _jsonl(lines, bad_lines, file: str, required, optional, problems):
    fields = required + optional

    def rows():
        try:
            for line, text in enumerate(lines, 1):
                if line in bad_lines:
                    problems.append(RowProblem(file, line, bad_lines[line]))
                    continue
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                except ValueError as error:
                    problems.append(RowProblem(file, line, f"not valid JSON: {getattr(error, 'msg', error)}"))
                    continue
                if not isinstance(record, dict):
                    problems.append(RowProblem(file, line, "not a JSON object"))
                    continue
                record = {str(key).strip().lower(): value for key, value in record.items()}
                missing = [name for name in required if name not in record]
                if missing:
                    problems.append(RowProblem(file, line, f"missing field: {', '.join(missing)}"))
                    continue
                attributes = {key: value for key, value in record.items() if key not in fields and value is not None}
                yield line, [_text(record.get(name)) for name in fields], attributes
        finally:
            lines.close()

    return list(fields), rows()


def _text(value) -> str:
    """A JSON value as the text a CSV cell would hold: numbers as written, null as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else str(value)
