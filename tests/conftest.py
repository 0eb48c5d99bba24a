from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture
def write_file(tmp_path):
    """Write text to a file under tmp_path and return its path."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


# ---- the bundled Minnesota ruleset (tests/test_minnesota_*.py) ----------------------------------------

MINNESOTA = ROOT / "rulesets" / "minnesota.vax"


@pytest.fixture(scope="module")
def state():
    """The Minnesota ruleset as parsed, before layering and checks."""
    from vaxdsl.parser import parse

    return parse(MINNESOTA.read_text(encoding="utf-8"), str(MINNESOTA))


@pytest.fixture(scope="module")
def groups(state):
    """The Minnesota ruleset's vaccine groups by id."""
    return {vaccine.id: vaccine for vaccine in state.vaccines}


@pytest.fixture(scope="module")
def evaluate():
    """(birth, grade, [(cvx, date[, mvx]), ...], as_of, group) -> (status, rule, the group's dose
    records): one student through the reference interpreter with the Minnesota ruleset."""
    from datetime import date

    from vaxdsl.interpreter import evaluate_student
    from vaxdsl.loader import load
    from vaxdsl.records import Dose, Exemption, Student

    ruleset = load(MINNESOTA).ruleset

    def run(birth, grade, doses, as_of, group, exemptions=()):
        student = Student("s", date.fromisoformat(birth), grade)
        rows = [Dose(n, "s", date.fromisoformat(d[1]), d[0], *d[2:]) for n, d in enumerate(doses, 1)]
        kinds = [Exemption("s", vaccine, kind) for vaccine, kind in exemptions]
        result = evaluate_student(ruleset, student, rows, kinds, date.fromisoformat(as_of))
        found = next(g for g in result.groups if g.vaccine == group)
        return found.status, found.rule, [d for d in result.doses if d.vaccine == group]

    return run
