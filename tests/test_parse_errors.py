"""Syntax errors: position, caret, what was expected in words, several per file, never a traceback."""

import pytest

from vaxdsl.cli import main
from vaxdsl.errors import VaxSyntaxError
from vaxdsl.parser import parse


def errors_of(text):
    with pytest.raises(VaxSyntaxError) as caught:
        parse(text, "t.vax")
    return caught.value.diagnostics


def test_error_has_position_and_expected_words():
    [error] = errors_of('vaccine HepB "Hepatitis B" {\n  rule "A" => compliant\n    when age >> 3 months\n}\n')
    assert (error.file, error.line, error.column) == ("t.vax", 3, 15)
    assert error.message == "unexpected '>'; expected a number"


def test_missing_arrow_names_the_arrow():
    [error] = errors_of('vaccine HepB { rule "B" compliant }')
    assert "expected '=>'" in error.message
    assert error.column == 25


def test_expected_condition_is_described_not_listed():
    [error] = errors_of('vaccine HepB { rule "C" => compliant when }')
    assert "expected a condition" in error.message
    assert "__ANON" not in error.message and "NAME" not in error.message


def test_several_errors_are_all_reported():
    text = (
        'vaccine HepB "Hepatitis B" {\n'
        '  rule "A" => compliant\n'
        '    when age >> 3 months\n'
        '  rule "B" compliant\n'
        '    when at least 2 valid doses\n'
        '  rule "C" => compliant\n'
        '    when grade in KG..12 and\n'
        '  rule "D" => compliant\n'
        '}\n'
    )
    assert [e.line for e in errors_of(text)] == [3, 4, 8]


def test_end_of_file_is_reported_at_the_last_line():
    [error] = errors_of('product X cvx 12 counts\n\n')
    assert error.line == 1
    assert "end of the file" in error.message and "a name" in error.message


def test_keywords_are_reserved_so_a_misplaced_keyword_is_named():
    [error] = errors_of('vaccine HepB { rule "C" => compliant when grade in KG and\n rule "D" => compliant }')
    assert error.line == 2 and "'rule'" in error.message


def test_impossible_date_is_an_error_with_position():
    [error] = errors_of('vaccine HepB { rule "D" => compliant active from 2022-13-01 }')
    assert error.column == 50 and "not a calendar date" in error.message


def test_tolerance_must_be_days():
    [error] = errors_of('settings { tolerance 4 weeks }')
    assert "number of days" in error.message


def test_unexpected_character():
    [error] = errors_of('vaccine HepB { rule "A" => compliant when age >= 3 months ; }')
    assert "unexpected character ';'" in error.message


def test_render_shows_source_line_and_caret():
    with pytest.raises(VaxSyntaxError) as caught:
        parse('vaccine HepB {\n  rule "B" compliant\n}\n', "t.vax")
    rendered = caught.value.render()
    assert rendered.splitlines() == [
        "t.vax:2:12: error[E100]: unexpected 'compliant'; expected '=>'",
        '      rule "B" compliant',
        "               ^^^^^^^^^",
    ]


def test_cli_check_reports_syntax_errors_without_traceback(write_file, capsys):
    path = write_file("bad.vax", 'vaccine HepB {\n  rule "B" compliant\n}\n')
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:2:12: error[E100]" in out
    assert "Traceback" not in out


def test_cli_check_missing_file_is_a_message(capsys):
    assert main(["check", "no-such-file.vax"]) == 1
    captured = capsys.readouterr()
    assert "no ruleset file or bundled ruleset named 'no-such-file.vax'" in captured.out + captured.err


def test_cli_check_counts_unreadable_files_in_its_summary(write_file, capsys):
    binary = write_file("binary.vax", "")
    binary.write_bytes(b"vaccine X { \xe9 }")
    assert main(["check", str(binary), "minnesota"]) == 1
    captured = capsys.readouterr()
    assert "not UTF-8 text (invalid continuation byte at byte 12)" in captured.err
    assert captured.out.rstrip().endswith("1 file(s) checked: 0 error(s), 2 warning(s), 1 file(s) could not be read")


def test_series_complete_is_the_only_word_after_series_in_a_condition():
    [error] = errors_of('vaccine V { rule "r" => compliant when series compete }')
    assert (error.code, error.column) == ("E101", 47)
    assert error.message == "expected 'series complete', found 'series compete'"
    # `complete` stays a name: a predicate may still be called so
    assert parse('predicate complete(S) :- student(S).').predicates[0].name == "complete"


@pytest.mark.parametrize(("head", "kind"), [
    (b"PK\x03\x04\x14\x00\x06\x00", "an .xlsx workbook or another ZIP archive"),
    (b"SQLite format 3\x00\x10\x00", "an SQLite database"),
    (b"\xff\xfev\x00a\x00c\x00", "UTF-16 text"),
    (b"\x7fELF\x02\x01\x01\x00\x00", "a binary file"),
])
def test_a_file_that_is_not_text_is_named_for_what_it_is(write_file, capsys, head, kind):
    path = write_file("rules.vax", "")
    path.write_bytes(head + b"\x00" * 40)
    assert main(["check", str(path)]) == 1
    assert f"{path}: {kind}, not a ruleset (rulesets are UTF-8 text)" in capsys.readouterr().err
