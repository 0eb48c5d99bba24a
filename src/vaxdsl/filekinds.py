"""Reading a file that should be UTF-8 text, and what it is instead, told by its first bytes.

Someone who gives the workbook where the CSV export goes, or the fact database where the ruleset
goes, should read what they gave, not a decoder's complaint about byte 15.

>>> other_than_text(b"PK\\x03\\x04\\x14\\x00")
'an .xlsx workbook or another ZIP archive'
>>> other_than_text(b"\\xff\\xfes\\x00t\\x00")
'UTF-16 text'
>>> other_than_text(b"student_id,date,cvx") is None
True
"""

from __future__ import annotations

HEAD_BYTES = 16  # enough for every signature below

_SIGNATURES = (
    (b"PK\x03\x04", "an .xlsx workbook or another ZIP archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an .xls workbook or another old Office file"),
    (b"%PDF-", "a PDF document"),
    # Excel's "Unicode Text" export and Windows tools write UTF-16 with a byte order mark.
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
)


def other_than_text(head: bytes) -> str | None:
    """What the file starting with ``head`` is, when its first bytes show it is not UTF-8 text."""
    for signature, words in _SIGNATURES:
        if head.startswith(signature):
            return words
    if b"\x00" in head:
        return "a binary file"
    return None


class NotText(Exception):
    """A file that cannot be read as UTF-8 text; the message says why, in words."""


def read_utf8(path, expected: str) -> str:
    """The text of the file at ``path``, which should be ``expected`` ("a ruleset (rulesets are UTF-8
    text)"); :class:`NotText` when it cannot be read, is some other kind of file, or is not UTF-8."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        raise NotText(error.strerror or str(error)) from None
    instead = other_than_text(raw[:HEAD_BYTES])
    if instead is not None:
        raise NotText(f"{instead}, not {expected}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotText(f"not UTF-8 text ({error.reason} at byte {error.start})") from None
