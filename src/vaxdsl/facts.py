"""Reading and checking fact files: students, doses and exemptions (docs/facts.md).

A fact folder holds ``students``, ``doses`` and, optionally, ``exemptions``, each as ``.csv``
(UTF-8, header row) or ``.jsonl`` (one JSON object a line, same field names). Every row is checked;
a bad row is skipped and reported as a :class:`RowProblem` (file, line number, reason), the good
rows are kept. A problem with a whole file (missing file or column) is ``file_level``: the caller
should write nothing.

The benchmark size is 20 million doses, so the dose loop is the hot path: dates, CVX codes and
products are checked once per distinct text (caches), and the good dose rows go in batches to a
scratch SQLite file (:class:`DoseTable`) rather than into 20 million Python objects; repeated doses
are found there with one GROUP BY, not with a key per dose held in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

import attrs

from . import ast
from .dates import EARLIEST
from .dosetable import DoseTable
from .errors import VaxError
from .factfiles import RowProblem, open_fact_file
from .records import Dose, Exemption, Student, resolve_product


@attrs.define
class FactSet:
    students: list[Student]
    doses: DoseTable
    exemptions: list[Exemption]
    problems: list[RowProblem]
    files: dict[str, str] = attrs.Factory(dict)  # kind -> path of the file read
    student_rows: dict[str, int] = attrs.Factory(dict)  # student id -> line in the students file
    exemption_rows: list[int] = attrs.Factory(list)  # line of each exemption, same order

    @property
    def fatal(self) -> bool:
        """True when a whole file could not be used: nothing should be written."""
        return any(problem.file_level for problem in self.problems)

    def close(self) -> None:
        """Delete the scratch file of the dose rows (see :class:`DoseTable`); ``doses`` is empty afterwards."""
        self.doses.close()

    def __enter__(self) -> FactSet:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def normalize_grade(text: str) -> str | None:
    """State grade codes: ``K`` is ``KG``, ``1``..``12`` are ``01``..``12``, empty is no grade.

    >>> [normalize_grade(g) for g in ("K", "kg", "1", "07", "12", "pa", " ")]
    ['KG', 'KG', '01', '07', '12', 'PA', None]
    """
    code = text.strip().upper()
    if not code:
        return None
    if code == "K":
        return "KG"
    if code.isascii() and code.isdigit() and 1 <= int(code) <= 12:
        return f"{int(code):02d}"
    return code


def read_fact_dir(path, products: Iterable[ast.Product] | None = None, vaccines: Iterable | None = None,
                  today: date | None = None, grades: Iterable[str] | None = None,
                  known_students: Mapping[str, Student] | None = None, spool_dir=None) -> FactSet:
    """Read and check the fact files in folder ``path``.

    ``products`` (the ruleset's declared products) and ``vaccines`` (group ids or ``ast.Vaccine``
    nodes) and ``grades`` (declared grade codes) are what rows are checked against; ``None`` skips
    that check. Dates after ``today`` (default: the real today) are rejected. ``known_students``
    (those already in a database being appended to) may be referred to by doses and exemptions.
    The dose rows are kept in a scratch file in ``spool_dir`` (default: the system's temporary
    folder) until the fact set is closed or garbage-collected (:class:`DoseTable`).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise VaxError(f"{folder}: no such folder of fact files")
    reader = _Reader(folder, products, vaccines, today or date.today(), grades, known_students or {}, spool_dir)
    try:
        return reader.read()
    except BaseException:
        reader.facts.close()
        raise


class _Reader:
    def __init__(self, folder, products, vaccines, today, grades, known_students, spool_dir=None):
        self.folder = folder
        self.facts = FactSet([], DoseTable(spool_dir=spool_dir), [], [])
        self.dates = _DateCheck(today)
        self.products = _ProductCheck(products)
        self.vaccines = None if vaccines is None else {
            (v if isinstance(v, str) else v.id).casefold(): (v if isinstance(v, str) else v.id) for v in vaccines
        }
        self.grades = None if grades is None else set(grades)
        self.known = known_students
        # student id -> index into births; the file's students first, then the known ones
        self.index: dict[str, int] = {}
        self.births: list[int] = []
        self.names: list[str] = []  # the canonical id strings, shared by every dose row
        self.rejected: dict[str, str] = {}  # student id -> "students.csv:4", for rows that point at it

    def read(self) -> FactSet:
        for kind, required in (("students", True), ("doses", True), ("exemptions", False)):
            path = self._find(kind, required)
            if path is None:
                continue
            self.facts.files[kind] = str(path)
            problems = self.facts.problems
            before = len(problems)
            records = open_fact_file(path, kind, problems)
            if records is not None:
                getattr(self, f"_{kind}")(str(path), records)
            problems[before:] = sorted(problems[before:], key=lambda problem: problem.row)
            if kind == "students":
                self._add_known()
        return self.facts

    def _find(self, kind: str, required: bool) -> Path | None:
        found = [self.folder / f"{kind}{ext}" for ext in (".csv", ".jsonl") if (self.folder / f"{kind}{ext}").is_file()]
        if len(found) == 1:
            return found[0]
        if len(found) == 2:
            self._problem(str(found[1]), 0, f"both {kind}.csv and {kind}.jsonl: keep one", file_level=True)
        elif required:
            self._problem(str(self.folder / f"{kind}.csv"), 0, f"missing: {kind}.csv or {kind}.jsonl", file_level=True)
        return None

    def _problem(self, file: str, row: int, reason: str, file_level: bool = False) -> None:
        self.facts.problems.append(RowProblem(file, row, reason, file_level))

    def _date(self, text: str, field: str, optional: bool = False):
        """An ordinal, or a reason (str) why the text is not a usable date; None for an allowed blank."""
        text = text.strip()
        if not text:
            return None if optional else f"{field} is empty"
        checked = self.dates(text)
        return checked if type(checked) is int else f"{field} {checked}"

    def _student(self, student_id: str):
        """(canonical id, birth ordinal), or the reason rows of this student cannot be used."""
        found = self.index.get(student_id)
        if found is None:
            return self._no_student(student_id)
        return self.names[found], self.births[found]

    def _no_student(self, student_id: str) -> str:
        if not student_id:
            return "student_id is empty"
        if student_id in self.rejected:
            return f"student '{student_id}' was not loaded ({self.rejected[student_id]})"
        return f"unknown student '{student_id}'"

    # ---- students -------------------------------------------------------------------------

    def _students(self, file: str, records) -> None:
        columns, rows = records
        at = {name: columns.index(name) for name in columns}
        p_id, p_birth, p_grade = at["student_id"], at["birth_date"], at.get("grade")
        extra = [(i, name) for i, name in enumerate(columns) if name not in ("student_id", "birth_date", "grade")]
        facts, short_file = self.facts, Path(file).name
        for line, values, attributes in rows:
            student_id = values[p_id].strip()
            birth = self._date(values[p_birth], "birth_date")
            grade = normalize_grade(values[p_grade]) if p_grade is not None else None
            if attributes is None:
                attributes = {name: values[i] for i, name in extra if values[i] != ""}
            reason = None
            if not student_id:
                reason = "student_id is empty"
            elif type(birth) is str:
                reason = birth
            elif grade is not None and self.grades is not None and grade not in self.grades:
                reason = f"grade '{values[p_grade].strip()}' is not a grade the ruleset declares"
            elif student_id in self.index:
                first = facts.student_rows[student_id]
                before = facts.students[self.index[student_id]]
                same = (before.birth_date.toordinal(), before.grade, before.attributes) == (birth, grade, attributes)
                reason = f"duplicate of row {first}" if same else f"student '{student_id}' already at row {first} with different data"
            if reason is not None:
                self._problem(file, line, reason)
                if student_id and student_id not in self.index:
                    self.rejected.setdefault(student_id, f"{short_file}:{line}")
                continue
            self.index[student_id] = len(self.births)
            self.births.append(birth)
            self.names.append(student_id)
            facts.students.append(Student(student_id, date.fromordinal(birth), grade, attributes))
            facts.student_rows[student_id] = line

    def _add_known(self) -> None:
        for student_id, student in self.known.items():
            if student_id not in self.index:
                self.index[student_id] = len(self.births)
                self.births.append(student.birth_date.toordinal())
                self.names.append(student_id)

    # ---- doses: the hot loop ----------------------------------------------------------------

    def _doses(self, file: str, records) -> None:
        columns, rows = records
        at = {name: columns.index(name) for name in columns}
        if "cvx" not in at and "product" not in at:
            self._problem(file, 1, "missing required column: cvx or product", file_level=True)
            return
        p_id, p_date = at["student_id"], at["date"]
        p_cvx, p_product, p_mvx = at.get("cvx"), at.get("product"), at.get("mvx")
        table = self.facts.doses
        table.source = Path(file).name
        index, births, names = self.index, self.births, self.names
        dates, products, problem = self.dates, self.products, self._problem
        # Repeated doses: a file grouped by student (as exports usually are, and synth's files)
        # is checked one student at a time, holding only that student's doses. Once a student's
        # rows turn up again after another student's, the rest of the file goes to the spool
        # unchecked, and remove_repeats() finds the repeats there with one GROUP BY: a sort on
        # disk instead of a key per dose in memory (gigabytes at 20 million doses).
        grouped = True
        run_ended = bytearray(len(births))  # students whose run of rows is over
        current, earlier = -1, {}  # the student of this run; (date, cvx, mvx, product) -> line
        # This loop runs 20 million times at the benchmark size: the caches and the table's
        # pending list are used directly, with no call per row on the common path.
        pending, batch = table.pending, table.BATCH
        add = pending.append
        for line, values, _ in rows:
            found = index.get(values[p_id].strip())
            if found is None:
                problem(file, line, self._no_student(values[p_id].strip()))
                continue
            text = values[p_date].strip()
            when = dates.get(text)
            if when is None:
                when = dates(text) if text else "is empty"
            if type(when) is not int:
                problem(file, line, f"date {when}")
                continue
            if when < births[found]:
                problem(file, line, f"dose date {date.fromordinal(when)} is before the birth date {date.fromordinal(births[found])}")
                continue
            key = (values[p_cvx].strip() if p_cvx is not None else "",
                   values[p_mvx].strip() if p_mvx is not None else "",
                   values[p_product].strip() if p_product is not None else "")
            product = products.get(key) or products(*key)
            if type(product) is str:
                problem(file, line, product)
                continue
            cvx, mvx, product_name = product
            if grouped:
                if found != current:
                    if run_ended[found]:
                        grouped = False  # every run so far was its student's first: checked exactly
                    else:
                        if current >= 0:
                            run_ended[current] = 1
                        current, earlier = found, {}
                if grouped:
                    same = (when, cvx, mvx, product_name)
                    first = earlier.get(same)
                    if first is not None:
                        problem(file, line, f"duplicate of row {first}")
                        continue
                    earlier[same] = line
            # the date text passed the YYYY-MM-DD check, so it is already the stored form
            add((names[found], text, cvx, mvx, product_name, line))
            if len(pending) >= batch:
                table.flush()
        if not grouped:
            for line, first in table.remove_repeats():
                problem(file, line, f"duplicate of row {first}")
        table.flush()  # a spool that cannot be written is reported now, not when the rows are used

    # ---- exemptions ------------------------------------------------------------------------

    def _exemptions(self, file: str, records) -> None:
        columns, rows = records
        at = {name: columns.index(name) for name in columns}
        p_date = at.get("date")
        first: dict[tuple, int] = {}
        for line, values, _ in rows:
            who = self._student(values[at["student_id"]].strip())
            vaccine_text = values[at["vaccine"]].strip()
            kind = values[at["kind"]].strip().lower()
            when = self._date(values[p_date], "date", optional=True) if p_date is not None else None
            vaccine = vaccine_text if self.vaccines is None else self.vaccines.get(vaccine_text.casefold())
            reason = None
            if type(who) is str:
                reason = who
            elif not vaccine_text:
                reason = "vaccine is empty"
            elif vaccine is None:
                reason = f"unknown vaccine group '{vaccine_text}'"
            elif kind not in ast.EXEMPTION_KINDS:
                reason = (f"unknown exemption kind '{values[at['kind']].strip()}' "
                          f"(expected {', '.join(ast.EXEMPTION_KINDS[:-1])} or {ast.EXEMPTION_KINDS[-1]})")
            elif type(when) is str:
                reason = when
            elif when is not None and when < who[1]:
                reason = f"exemption date {date.fromordinal(when)} is before the birth date {date.fromordinal(who[1])}"
            elif (who[0], vaccine, kind, when) in first:
                reason = f"duplicate of row {first[(who[0], vaccine, kind, when)]}"
            if reason is not None:
                self._problem(file, line, reason)
                continue
            first[(who[0], vaccine, kind, when)] = line
            self.facts.exemptions.append(Exemption(who[0], vaccine, kind, None if when is None else date.fromordinal(when)))
            self.facts.exemption_rows.append(line)


class _DateCheck(dict):
    """text -> ordinal, or the reason it is not a usable date; each distinct text is parsed once."""

    def __init__(self, today: date):
        super().__init__()
        self.today = today
        self.limit = today.toordinal()

    def __call__(self, text: str):
        found = self.get(text)
        return found if found is not None else self.__missing__(text)

    def __missing__(self, text: str):
        # fromisoformat alone would also take '20200101' or '2020-W01-1'
        if not (len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii()
                and (text[:4] + text[5:7] + text[8:]).isdigit()):
            result = f"'{text}' is not a YYYY-MM-DD date"
        else:
            try:
                ordinal = date.fromisoformat(text).toordinal()
            except ValueError:
                result = f"'{text}' is not a real date"
            else:
                result = (f"{text} is in the future (after {self.today})" if ordinal > self.limit else
                          f"{text} is before {EARLIEST}" if ordinal < _EARLIEST_ORDINAL else ordinal)
        self[text] = result
        return result


_EARLIEST_ORDINAL = EARLIEST.toordinal()
_LARGEST_CVX = 2**31 - 1


class _ProductCheck(dict):
    """(cvx text, mvx text, product text) -> (cvx, mvx, product_name), or the reason it is unusable."""

    def __init__(self, products):
        super().__init__()
        self.products = None if products is None else list(products)
        self.declared_cvx = None if products is None else {ast.cvx_key(p.cvx) for p in self.products}

    def __call__(self, cvx_text: str, mvx: str, name: str):
        key = (cvx_text, mvx, name)
        found = self.get(key)
        if found is None:
            found = self[key] = self._check(cvx_text, mvx or None, name or None)
        return found

    def _check(self, cvx_text, mvx, name):
        cvx = None
        if cvx_text:
            if not (cvx_text.isascii() and cvx_text.isdigit()):
                return f"CVX code '{cvx_text}' is not a number"
            cvx = int(cvx_text)
            if cvx > _LARGEST_CVX:  # no such code, and past what the database's INTEGER holds
                return f"CVX code '{cvx_text}' is too large"
        if name is not None:
            if self.products is None:
                return (cvx, mvx, name) if cvx is not None else f"product '{name}' has no cvx code (and no ruleset to look it up)"
            product = resolve_product(Dose(0, "", date.min, -1, None, name), self.products)
            if product is None:
                return f"unknown product '{name}' (not declared by the ruleset)"
            if cvx is not None and cvx != ast.cvx_key(product.cvx):
                return f"product '{name}' has CVX code {product.cvx}, not {cvx_text}"
            return (ast.cvx_key(product.cvx), mvx, name)
        if cvx is None:
            return "no cvx code and no product"
        if self.products is not None:
            if cvx not in self.declared_cvx:
                return f"unknown CVX code {cvx_text} (not declared by the ruleset)"
            if resolve_product(Dose(0, "", date.min, cvx, mvx), self.products) is None:
                return f"CVX code {cvx_text} with MVX '{mvx}' matches no product the ruleset declares"
        return (cvx, mvx, None)
