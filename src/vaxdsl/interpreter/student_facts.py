"""One student's facts as the interpreter sees them on the effective date.

Gathers what docs/semantics.md "Facts" says counts: doses on or before E with their resolved
product (ordered by date, then id), the exemptions counting on E, and the built-in relations of the
Datalog layer (``student``, ``birth``, ``dose``, ...) as sets of tuples.
"""

from __future__ import annotations

from datetime import date

import attrs

from .. import ast
from ..records import Dose, Exemption, Student, resolve_product

# Several exemptions for one group: the first kind in this order names the outcome.
EXEMPTION_PRIORITY = {kind: index for index, kind in enumerate(ast.EXEMPTION_KINDS)}


@attrs.frozen
class KnownDose:
    """A dose given on or before E; ``product`` is None when no declared product matches the row."""

    dose: Dose
    product: ast.Product | None


@attrs.frozen
class StudentFacts:
    student: Student
    as_of: date
    doses: tuple[KnownDose, ...]  # ordered by (date, id)
    exemptions: tuple[Exemption, ...]  # counting on E, highest priority first
    relations: dict  # built-in relation name -> set of tuples; derived ones are added later

    def doses_toward(self, vaccine_id: str) -> list[KnownDose]:
        return [known for known in self.doses if known.product is not None and vaccine_id in known.product.vaccines]

    def exemptions_for(self, vaccine_id: str) -> list[Exemption]:
        return [exemption for exemption in self.exemptions if exemption.vaccine == vaccine_id]


def exemption_counts(exemption: Exemption, as_of: date) -> bool:
    return exemption.date is None or exemption.date <= as_of


def gather(ruleset: ast.Ruleset, student: Student, doses, exemptions, as_of: date) -> StudentFacts:
    products = ruleset.products
    known = tuple(
        KnownDose(dose, resolve_product(dose, products))
        for dose in sorted(doses, key=lambda d: (d.date, d.id))
        if dose.student_id == student.id and dose.date <= as_of
    )
    counting = tuple(sorted(
        (e for e in exemptions if e.student_id == student.id and exemption_counts(e, as_of)),
        key=lambda e: (EXEMPTION_PRIORITY.get(e.kind, len(EXEMPTION_PRIORITY)), e.kind, e.date or date.min),
    ))
    sid = student.id
    relations = {
        "student": {(sid,)},
        "birth": {(sid, student.birth_date)},
        "grade": {(sid, student.grade)} if student.grade else set(),
        "dose": {(sid, k.dose.id, k.dose.date, k.product.id) for k in known if k.product is not None},
        "counts": {(p.id, v) for p in products for v in p.vaccines},
        "live": {(p.id,) for p in products if p.live},
        "exemption": {(sid, e.vaccine, e.kind) for e in counting},
        "as_of": {(as_of,)},
        "valid": set(),
        "invalid": set(),
    }
    return StudentFacts(student, as_of, known, counting, relations)
