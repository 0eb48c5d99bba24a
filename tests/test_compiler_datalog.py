"""Pass 4 (vaxdsl.compiler.datalog): which predicates become tables and which are inlined, strata and
recursion (WITH RECURSIVE or a fixpoint loop), the SQL itself (tests/compiler_fixtures/datalog.sql;
``VAXDSL_UPDATE_FIXTURES=1`` rewrites it), and the results against the interpreter."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from vaxdsl.compiler import compile_ruleset
from vaxdsl.loader import load, load_text
from vaxdsl.records import Dose, Student

from test_engines_agree import assert_agree

FIXTURES = Path(__file__).parent / "compiler_fixtures"
RULESET = load_text((FIXTURES / "datalog.vax").read_text(), "datalog.vax").ruleset
AS_OF = date(2024, 6, 1)


def _program():
    compiled = compile_ruleset(RULESET, AS_OF)
    return compiled, compiled.datalog


def test_what_is_materialized_and_what_is_inlined():
    _, program = _program()
    assert program.static == {"live_product"}
    assert program.materialized == {"live_product", "close_live", "step", "path", "ping", "pong"}
    assert program.needed - program.materialized == {"reach", "few"}


def test_strata_and_recursion():
    _, program = _program()
    kinds = {stratum.names: (stratum.recursive, stratum.linear, stratum.static) for stratum in program.strata}
    assert kinds[("live_product",)] == (False, False, True)
    assert kinds[("path",)] == (True, True, False)  # one use per clause: WITH RECURSIVE
    assert kinds[("ping", "pong")] == (True, False, False)  # mutual and twice in a clause: fixpoint
    order = [stratum.names for stratum in program.strata]
    assert order.index(("step",)) < order.index(("path",))


def test_sql_fixture():
    compiled, _ = _program()
    steps = [s for s in compiled.steps("all") if s.label.startswith("predicate")]
    text = "".join(f"-- {step.label} ({step.kind})\n{step.sql};\n" for step in steps)
    fixture = FIXTURES / "datalog.sql"
    if os.environ.get("VAXDSL_UPDATE_FIXTURES"):
        fixture.write_text(text)
    assert text == fixture.read_text()
    assert "WITH RECURSIVE vx_rec" in text


def test_inlined_call_binds_the_student():
    compiled, program = _program()
    call = program.call_sql("reach", ["sid"], compiled.sources("all"))
    assert call.startswith("(EXISTS (SELECT 1 FROM ") and "= sid" in call
    assert "vx_p_reach" not in call


def test_minnesota_inlines_the_condition_predicates():
    compiled = compile_ruleset(load("minnesota").ruleset, AS_OF)
    program = compiled.datalog
    assert {"live_conflict", "conflicting_live", "both_mmr_only", "mmr_only_live"} <= program.materialized
    assert "hepb_adolescent_two_dose" not in program.materialized


def test_results_agree_with_the_interpreter():
    students = [Student("S1", date(2020, 1, 31)), Student("S2", date(2021, 2, 28)), Student("S3", date(2019, 5, 5))]
    doses = [
        Dose(1, "S1", date(2021, 2, 1), 1), Dose(2, "S1", date(2021, 2, 20), 2), Dose(3, "S1", date(2021, 3, 1), 1),
        Dose(4, "S1", date(2022, 3, 1), 2), Dose(5, "S2", date(2022, 1, 1), 1), Dose(6, "S3", date(2020, 1, 1), 2),
        Dose(7, "S3", date(2020, 1, 1), 1),
    ]
    for as_of in (AS_OF, date(2021, 2, 25)):
        assert_agree(RULESET, students, doses, [], as_of)
