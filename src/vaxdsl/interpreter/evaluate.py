"""``evaluate_student``: one student's facts -> a :class:`StudentEvaluation` with its trace.

The order is forced by the dependencies: the predicates the series ``reject`` lines may use, then
the series walk of every group (which yields ``valid``/``invalid``), then the predicates that look
at those, then the rule tables.
"""

from __future__ import annotations

from datetime import date

import attrs

from .. import ast
from ..records import Dose, Exemption, Student
from ..results import DoseEvaluation, StudentEvaluation
from . import datalog, fixpoint
from ..grades import GradeIndex
from .conditions import GroupView, call_holds, judge
from .series import GroupWalk, Verdict, walk
from .student_facts import StudentFacts, gather
from .tables import evaluate_group

# Compiling the predicates is per ruleset, not per student; keep the last few (keyed by identity,
# holding the ruleset so its id cannot be reused while cached).
_PROGRAMS: dict[int, tuple[ast.Ruleset, datalog.Program]] = {}


def program_for(ruleset: ast.Ruleset) -> datalog.Program:
    cached = _PROGRAMS.get(id(ruleset))
    if cached is not None and cached[0] is ruleset:
        return cached[1]
    program = datalog.compile_program(ruleset)
    if len(_PROGRAMS) >= 8:
        _PROGRAMS.pop(next(iter(_PROGRAMS)))
    _PROGRAMS[id(ruleset)] = (ruleset, program)
    return program


def evaluate_student(ruleset: ast.Ruleset, student: Student, doses: list[Dose],
                     exemptions: list[Exemption], as_of: date) -> StudentEvaluation:
    program = program_for(ruleset)
    facts = gather(ruleset, student, doses, exemptions, as_of)
    relations = facts.relations
    fixpoint.run(program, program.before_walk, relations)
    grades = GradeIndex.of(ruleset)
    walks = {vaccine.id: _walk_group(vaccine, facts, grades) for vaccine in ruleset.vaccines}
    verdicts = {vaccine_id: group_walk.verdicts for vaccine_id, group_walk in walks.items()}
    for vaccine_id, judged in verdicts.items():
        for verdict in judged:
            dose_id = verdict.known.dose.id
            if verdict.valid:
                relations["valid"].add((student.id, vaccine_id, dose_id, verdict.number))
            else:
                relations["invalid"].add((student.id, vaccine_id, dose_id, verdict.reason))
    fixpoint.run(program, program.after_walk, relations)

    docs = {clause.name: clause.doc for clause in ruleset.predicates if clause.doc}
    groups = tuple(
        attrs.evolve(evaluate_group(ruleset, GroupView(student, as_of, vaccine, verdicts[vaccine.id],
                                                       tuple(facts.exemptions_for(vaccine.id)), relations,
                                                       grades, docs, walks[vaccine.id].complete,
                                                       walks[vaccine.id].dose_dates)),
                     walk=walks[vaccine.id])
        for vaccine in ruleset.vaccines
    )
    return StudentEvaluation(student.id, groups, _dose_evaluations(ruleset, facts, verdicts))


def _walk_group(vaccine: ast.Vaccine, facts: StudentFacts, grades: GradeIndex) -> GroupWalk:
    def rejected(reject: ast.Reject, known) -> bool:
        return call_holds(reject.call, facts.relations, facts.student.id, known.dose.id)

    def skip_holds(skip: ast.Skip, known, before: tuple[Verdict, ...]) -> bool:
        # "as of the date of the dose being judged, with the series' history before it"
        view = GroupView(facts.student, known.dose.date, vaccine, before, (), facts.relations, grades, {})
        holds, _checks = judge(skip.condition, view, 0)
        return holds

    return walk(vaccine, facts.doses_toward(vaccine.id), facts.student.birth_date, facts.as_of, rejected,
                skip_holds)


def _dose_evaluations(ruleset: ast.Ruleset, facts: StudentFacts, verdicts) -> tuple[DoseEvaluation, ...]:
    """Per group in ruleset order, its doses by (date, id); then the doses no declared product
    matches, once each with group "" (they count toward nothing, but the record shows they were seen)."""
    rows = []
    for vaccine in ruleset.vaccines:
        for verdict in verdicts[vaccine.id]:
            dose = verdict.known.dose
            rows.append(DoseEvaluation(facts.student.id, dose.id, dose.date, dose.cvx, vaccine.id,
                                       verdict.known.product.id, verdict.valid, verdict.reason, verdict.number))
    for known in facts.doses:
        if known.product is None:
            dose = known.dose
            rows.append(DoseEvaluation(facts.student.id, dose.id, dose.date, dose.cvx, "", None, False, None, None))
    return tuple(rows)
