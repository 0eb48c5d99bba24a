"""``vaxdsl fmt``: print, --check, --diff, --write; syntax errors reported, never a traceback."""

import pytest

from vaxdsl.cli import main

MESSY = 'vaccine HepA "Hepatitis A" { # the group\n rule "1 dose" => compliant when at least 1 valid doses }\n'
CANONICAL = (
    'vaccine HepA "Hepatitis A" {  # the group\n'
    '  rule "1 dose" => compliant\n'
    "    when at least 1 valid dose\n"
    "}\n"
)
BROKEN = 'vaccine HepA {\n  rule "A" => compliant\n    when age >> 3 months\n}\n'


def test_prints_the_canonical_form_of_one_file(write_file, capsys):
    path = write_file("messy.vax", MESSY)
    assert main(["fmt", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out == CANONICAL
    assert path.read_text() == MESSY  # untouched


def test_check_names_unformatted_files_and_exits_1(write_file, capsys):
    messy = write_file("messy.vax", MESSY)
    clean = write_file("clean.vax", CANONICAL)
    assert main(["fmt", "--check", str(messy), str(clean)]) == 1
    out = capsys.readouterr().out
    assert str(messy) in out
    assert str(clean) not in out
    assert messy.read_text() == MESSY


def test_check_exits_0_when_everything_is_formatted(write_file, capsys):
    clean = write_file("clean.vax", CANONICAL)
    assert main(["fmt", "--check", str(clean)]) == 0
    assert str(clean) not in capsys.readouterr().out


def test_diff_shows_what_would_change(write_file, capsys):
    path = write_file("messy.vax", MESSY)
    assert main(["fmt", "--diff", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"--- {path}" in out
    assert "+    when at least 1 valid dose" in out
    assert path.read_text() == MESSY


def test_check_with_diff_exits_1(write_file, capsys):
    path = write_file("messy.vax", MESSY)
    assert main(["fmt", "--check", "--diff", str(path)]) == 1
    out = capsys.readouterr().out
    assert "+  rule" in out and str(path) in out


@pytest.mark.parametrize("flag", ["--write", "-w"])
def test_write_rewrites_files_in_place(write_file, capsys, flag):
    messy = write_file("messy.vax", MESSY)
    clean = write_file("clean.vax", CANONICAL)
    before = clean.stat().st_mtime_ns
    assert main(["fmt", flag, str(messy), str(clean)]) == 0
    assert messy.read_text() == CANONICAL
    assert clean.read_text() == CANONICAL and clean.stat().st_mtime_ns == before
    assert main(["fmt", "--check", str(messy)]) == 0


def test_syntax_errors_are_reported_like_check_does(write_file, capsys):
    broken = write_file("broken.vax", BROKEN)
    messy = write_file("messy.vax", MESSY)
    assert main(["fmt", "--write", str(broken), str(messy)]) == 1
    captured = capsys.readouterr()
    assert f"{broken}:3:15: error[E100]: unexpected '>'; expected a number" in captured.err
    assert "        when age >> 3 months\n" + " " * 18 + "^\n" in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert broken.read_text() == BROKEN
    assert messy.read_text() == CANONICAL  # the other files are still formatted


def test_syntax_error_when_printing(write_file, capsys):
    broken = write_file("broken.vax", BROKEN)
    assert main(["fmt", str(broken)]) == 1
    captured = capsys.readouterr()
    assert "error[E100]" in captured.err and captured.out == ""


def test_several_files_need_a_mode(write_file, capsys):
    a, b = write_file("a.vax", CANONICAL), write_file("b.vax", CANONICAL)
    assert main(["fmt", str(a), str(b)]) == 2
    assert "--write" in capsys.readouterr().err


def test_write_and_check_do_not_mix(write_file, capsys):
    path = write_file("a.vax", MESSY)
    assert main(["fmt", "--write", "--check", str(path)]) == 2
    assert path.read_text() == MESSY


def test_missing_file_is_an_error_not_a_traceback(tmp_path, capsys):
    assert main(["fmt", str(tmp_path / "nope.vax")]) == 2
    assert "no ruleset file" in capsys.readouterr().err


def test_help_has_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["fmt", "--help"])
    out = capsys.readouterr().out
    assert "example:" in out and "vaxdsl fmt --check" in out
