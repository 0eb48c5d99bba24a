"""`vaxdsl check` prints the checker's diagnostics, as text or JSON, and fails on errors only."""

import json

from vaxdsl.cli import main

WARNING_ONLY = 'vaccine V {\n  rule "old" => compliant active from 2025-07-01 to 2024-06-30\n  otherwise non_compliant\n}\n'


def test_warnings_print_with_caret_and_exit_zero(write_file, capsys):
    path = write_file("w.vax", WARNING_ONLY)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}:2:27: warning[W201]: rule 'old' can never be active" in out
    assert "\n                              ^^^^^^\n" in out
    assert out.rstrip().endswith("1 file(s) checked: 0 error(s), 1 warning(s)")


def test_errors_exit_one_and_json_lists_them(write_file, capsys):
    path = write_file("e.vax", 'vaccine V {\n  rule "r" => complaint\n}\n')
    assert main(["check", "--format", "json", str(path)]) == 1
    [entry] = json.loads(capsys.readouterr().out)
    assert entry == {"file": str(path), "line": 2, "column": 15, "severity": "error", "code": "E207",
                     "message": "unknown outcome 'complaint'; did you mean 'compliant'?"}
