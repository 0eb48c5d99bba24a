"""Regression suite: the Minnesota outcome of every fixture case, frozen with syrupy.

One snapshot file per fixture file (tests/__snapshots__/test_regression_minnesota/), one readable
record per line (the format of `vaxdsl snapshot`, vaxdsl.qa.snapshot), so a changed outcome fails
with a one-line diff. The expectations in the fixtures say what *should* happen; this says what
*did*, including every group and dose a case does not check.

After an intended change: `pytest tests/test_regression_minnesota.py --snapshot-update`, then
review the diff of the .txt files (docs/snapshots.md).
"""

from pathlib import Path

import attrs
import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from vaxdsl.fixtures import read_fixture_file
from vaxdsl.loader import load
from vaxdsl.qa.snapshot import snapshot_lines

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "minnesota"
FILES = sorted(FIXTURES.glob("*.toml"))


class TextLinesSnapshot(SingleFileSnapshotExtension):
    """A snapshot is a plain UTF-8 text file: the lines as they are, nothing quoted or wrapped."""

    _write_mode = WriteMode.TEXT
    _file_extension = "txt"

    def serialize(self, data, **kwargs) -> str:
        if isinstance(data, (list, tuple)):
            data = "".join(f"{line}\n" for line in data)
        if not isinstance(data, str):
            raise TypeError(f"a text-lines snapshot takes lines or a string, not {type(data).__name__}")
        return data


@pytest.fixture
def lines_snapshot(snapshot):
    return snapshot.use_extension(TextLinesSnapshot)


@pytest.fixture(scope="module")
def minnesota():
    return load("minnesota").ruleset


def test_the_suite_covers_every_fixture_file():
    assert len(FILES) >= 11, FILES
    assert {path.name for path in FILES} >= {"dtap.toml", "general.toml", "varicella.toml"}


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_minnesota_outcomes(path, minnesota, lines_snapshot):
    fixture = read_fixture_file(path)
    assert fixture.errors == ()
    assert fixture.cases
    cases = [attrs.evolve(case, file=path.name) for case in fixture.cases]
    lines = snapshot_lines(minnesota, cases)
    # every case shows up: one line per case and vaccine group at least
    assert len(lines) >= len(cases) * len(minnesota.vaccines)
    assert lines_snapshot == "".join(f"{line}\n" for line in lines)
