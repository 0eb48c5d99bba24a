"""The vaxdsl syntax tree: frozen attrs nodes.

Every node carries a :class:`Span` that is left out of equality (``eq=False``), so two trees
parsed from differently formatted text compare equal when they mean the same thing.

>>> Duration((DurationPart(1, 12, "months"),)) == Duration((DurationPart(1, 12, "months"),), span=Span(3, 1))
True
"""

from __future__ import annotations

from datetime import date
from typing import Union

import attrs


@attrs.frozen
class Span:
    line: int
    column: int
    end_line: int = 0
    end_column: int = 0
    file: str = ""


NO_SPAN = Span(0, 0)


def _span():
    return attrs.field(default=NO_SPAN, eq=False, repr=False, kw_only=True)


# ---- durations and dose references -------------------------------------------------------------

UNITS = ("years", "months", "weeks", "days")


@attrs.frozen
class DurationPart:
    sign: int  # +1 or -1
    amount: int
    unit: str  # one of UNITS, always plural


@attrs.frozen
class Duration:
    """A calendar duration such as ``4 weeks - 4 days``."""

    parts: tuple[DurationPart, ...]
    span: Span = _span()

    def in_days_if_exact(self) -> int | None:
        """The length in days when it has no months or years (which vary in length)."""
        total = 0
        for part in self.parts:
            if part.unit == "days":
                total += part.sign * part.amount
            elif part.unit == "weeks":
                total += part.sign * part.amount * 7
            else:
                return None
        return total

    def in_months_if_exact(self) -> int | None:
        """The length in months when it is made of months and years only."""
        total = 0
        for part in self.parts:
            if part.unit == "months":
                total += part.sign * part.amount
            elif part.unit == "years":
                total += part.sign * part.amount * 12
            else:
                return None
        return total


@attrs.frozen
class DoseRef:
    """A valid dose of the group's series: ``dose 2``, ``first dose``, ``last dose``."""

    kind: str  # "nth", "first", "last"
    number: int = 0
    span: Span = _span()


# ---- conditions (the ``when`` of a rule) -------------------------------------------------------------


@attrs.frozen
class And:
    items: tuple["Condition", ...]
    span: Span = _span()


@attrs.frozen
class Or:
    items: tuple["Condition", ...]
    span: Span = _span()


@attrs.frozen
class Not:
    item: "Condition"
    span: Span = _span()


@attrs.frozen
class Always:
    span: Span = _span()


@attrs.frozen
class AgeCompare:
    """``age >= 12 months``: the student's age on the effective date."""

    op: str
    duration: Duration
    span: Span = _span()


@attrs.frozen
class AgeBetween:
    """``age in 60 months .. 84 months``: at least the first, younger than the second."""

    low: Duration
    high: Duration
    span: Span = _span()


@attrs.frozen
class GradeRange:
    low: str
    high: str
    span: Span = _span()


GradeItem = Union[str, GradeRange]  # a grade code, a grade set name, or a range of codes


@attrs.frozen
class GradeIn:
    items: tuple[GradeItem, ...]
    span: Span = _span()


@attrs.frozen
class NoGrade:
    span: Span = _span()


@attrs.frozen
class AgeFilter:
    """Restricts counted doses to those given at an age: ``at age >= 12 months`` or ``at age A .. B``."""

    op: str  # a comparison, or ".." for a half-open range
    low: Duration
    high: Duration | None = None
    span: Span = _span()


@attrs.frozen
class CountDoses:
    """``at least 3 valid doses of DTaP at age >= 4 years``."""

    op: str
    count: int
    valid: bool
    products: tuple[str, ...] = ()
    age: AgeFilter | None = None
    span: Span = _span()


@attrs.frozen
class DoseAge:
    """``dose 4 at age >= 4 years`` or ``last dose at age 11 years .. 16 years``."""

    dose: DoseRef
    filter: AgeFilter
    span: Span = _span()


@attrs.frozen
class IntervalCompare:
    """``interval from dose 2 to dose 3 >= 6 months``."""

    start: DoseRef
    end: DoseRef
    op: str
    duration: Duration
    span: Span = _span()


@attrs.frozen
class SinceDose:
    """``since last dose < 28 days``: from the dose to the effective date."""

    dose: DoseRef
    op: str
    duration: Duration
    span: Span = _span()


@attrs.frozen
class Exempt:
    """``exempt`` or ``exempt (medical, conscientious)``: an exemption for this vaccine group."""

    kinds: tuple[str, ...] = ()
    span: Span = _span()


@attrs.frozen
class EffectiveDate:
    op: str
    value: date
    span: Span = _span()


@attrs.frozen
class SeriesComplete:
    """``series complete``: the group's chosen series was complete on E (its walk ended past its
    last series dose, skipped doses included)."""

    span: Span = _span()


@attrs.frozen
class Student:
    """The ``student`` argument of a predicate call in a rule or series."""

    span: Span = _span()


@attrs.frozen
class CurrentDose:
    """The ``dose`` argument of a predicate call in a series ``reject``: the dose being evaluated."""

    span: Span = _span()


@attrs.frozen
class Call:
    """``hepb_adult_series(student)``: a derived predicate used as a condition."""

    name: str
    args: tuple["CallArg", ...]
    span: Span = _span()


Condition = Union[
    And, Or, Not, Always, AgeCompare, AgeBetween, GradeIn, NoGrade, CountDoses, DoseAge,
    IntervalCompare, SinceDose, Exempt, EffectiveDate, SeriesComplete, Call,
]


# ---- Datalog terms and predicates ----------------------------------------------------------------------


@attrs.frozen
class Name:
    """A variable or a declared constant (product, vaccine group, kind): the checker decides which."""

    name: str
    span: Span = _span()


@attrs.frozen
class Wildcard:
    span: Span = _span()


@attrs.frozen
class IntLit:
    value: int
    span: Span = _span()


@attrs.frozen
class DateLit:
    value: date
    span: Span = _span()


@attrs.frozen
class StrLit:
    value: str
    span: Span = _span()


@attrs.frozen
class DateShift:
    """``Before + 28 days``: calendar arithmetic on a date term."""

    term: "Term"
    sign: int
    duration: Duration
    span: Span = _span()


Term = Union[Name, Wildcard, IntLit, DateLit, StrLit, DateShift]
CallArg = Union[Student, CurrentDose, Name, IntLit, DateLit]


@attrs.frozen
class Atom:
    predicate: str
    args: tuple[Term, ...]
    negated: bool = False
    span: Span = _span()


@attrs.frozen
class Comparison:
    left: Term
    op: str
    right: Term
    span: Span = _span()


@attrs.frozen
class CountAggregate:
    """``count { D : valid(S, HepB, D, _) } >= 2``."""

    variable: str
    body: tuple["Literal", ...]
    op: str
    bound: Term
    span: Span = _span()


Literal = Union[Atom, Comparison, CountAggregate]


@attrs.frozen
class PredicateClause:
    """One clause ``name(params) :- body.``; several clauses of one name are a union."""

    name: str
    params: tuple[str, ...]
    body: tuple[Literal, ...]
    doc: str = ""
    span: Span = _span()


# ---- series (dose validity) --------------------------------------------------------------------------------


@attrs.frozen
class GivenWindow:
    """``given from 2009-08-07`` / ``given before 2009-08-07`` / both: the requirement it ends applies
    only to a dose given on or after ``start`` and before ``before`` (CDSi's effective and cessation
    dates, for a schedule that changed on a date).

    >>> window = GivenWindow(before=date(2009, 8, 7))
    >>> window.holds(date(2009, 8, 6)), window.holds(date(2009, 8, 7))
    (True, False)
    """

    start: date | None = None
    before: date | None = None
    span: Span = _span()

    def holds(self, day: date) -> bool:
        return (self.start is None or day >= self.start) and (self.before is None or day < self.before)

    def is_empty(self) -> bool:
        return self.start is not None and self.before is not None and self.before <= self.start

    def days_text(self) -> str:
        """For messages: "on or after 2001-01-01 and before 2009-08-07"."""
        parts = ([f"on or after {self.start.isoformat()}"] if self.start else []) + (
            [f"before {self.before.isoformat()}"] if self.before else [])
        return " and ".join(parts) or "on any day"


def in_force(window: GivenWindow | None, day: date) -> bool:
    """Does a requirement with this window (None: always) apply to a dose given on ``day``?"""
    return window is None or window.holds(day)


@attrs.frozen
class MinAge:
    """``min age 4 years - 4 days [given ...]``."""

    duration: Duration
    given: GivenWindow | None = None
    span: Span = _span()


@attrs.frozen
class MinInterval:
    """``min interval 4 weeks - 4 days [from dose 1] [given ...]``; without ``from`` it counts from the
    previous valid dose."""

    duration: Duration
    start: DoseRef | None = None
    given: GivenWindow | None = None
    span: Span = _span()


@attrs.frozen
class Allow:
    """``allow DTaP, DTaP_IPV [from age A] [before age B]``: products allowed for this dose."""

    products: tuple[str, ...]
    from_age: Duration | None = None
    before_age: Duration | None = None
    span: Span = _span()


@attrs.frozen
class Inadvertent:
    """``inadvertent Tdap, Td_adult``: products never valid as this dose (CDSi's inadvertent vaccines, such
    as Tdap for an infant's DTaP dose). Judged before the dose's interval and age, so such a dose is
    ``not_allowable`` whatever its timing, and it sets no interval's clock (CDSi's reference dose date)."""

    products: tuple[str, ...]
    span: Span = _span()


@attrs.frozen
class Skip:
    """``skip when CONDITION``: the series dose is not required when CONDITION holds for the dose
    being judged, read as of that dose's date with the series' valid doses before it (docs/semantics.md,
    "Skipping a series dose")."""

    condition: "Condition"
    span: Span = _span()


@attrs.frozen
class SeriesDose:
    number: int
    min_ages: tuple[MinAge, ...] = ()  # at most one in force on any day (the checker's E239)
    max_age: Duration | None = None
    intervals: tuple[MinInterval, ...] = ()
    allows: tuple[Allow, ...] = ()
    skips: tuple[Skip, ...] = ()
    recurring: bool = False  # given again: every later dose is judged as this one (walk.series_target)
    inadvertents: tuple[Inadvertent, ...] = ()
    span: Span = _span()

    @property
    def inadvertent(self) -> frozenset[str]:
        """The products of every ``inadvertent`` line."""
        return frozenset(product for line in self.inadvertents for product in line.products)

    def min_age_on(self, day: date) -> MinAge | None:
        """The minimum age for a dose given on ``day``."""
        return next((age for age in self.min_ages if in_force(age.given, day)), None)

    def intervals_on(self, day: date) -> tuple[MinInterval, ...]:
        """The minimum intervals a dose given on ``day`` must meet."""
        return tuple(interval for interval in self.intervals if in_force(interval.given, day))

    @property
    def current_min_age(self) -> Duration | None:
        """The minimum age with no end date: today's schedule (for tools that place doses, not judge them)."""
        return next((age.duration for age in self.min_ages if age.given is None or age.given.before is None), None)

    @property
    def current_intervals(self) -> tuple[MinInterval, ...]:
        return tuple(i for i in self.intervals if i.given is None or i.given.before is None)


@attrs.frozen
class Reject:
    """``reject live_virus_conflict when live_conflict(student, dose)``."""

    reason: str
    call: Call
    span: Span = _span()


@attrs.frozen
class RejectAfterNotValid:
    """``reject live_virus_conflict within 28 days after not valid dose``: a dose given after the day
    of a dose the same series walk found not valid, and before that day + ``within`` (CDSi's
    conflictEndInterval, which follows a dose evaluated not valid: docs/semantics.md, step 5)."""

    reason: str
    within: Duration
    span: Span = _span()


SeriesReject = Union[Reject, RejectAfterNotValid]


@attrs.frozen
class Series:
    """``series ["name"] { [start from age A] [before age B]  [only with P, ...]  dose 1 {...} ... reject ... }``.

    A group may declare several; the walk runs each and the group takes the best one (docs/semantics.md,
    "Choosing among series"). ``start_from``/``start_before`` bound the age at which the series may
    start (the age at its first valid dose, or on the effective date when it has none); ``only_with``
    leaves it out for a student with no dose of those products."""

    doses: tuple[SeriesDose, ...]
    rejects: tuple[SeriesReject, ...] = ()  # in the order written: the first that holds gives the reason
    name: str = ""
    start_from: Duration | None = None
    start_before: Duration | None = None
    only_with: tuple[str, ...] = ()  # left out for a student with no dose of these products
    span: Span = _span()

    @property
    def title(self) -> str:
        return self.name or "the series"


# ---- rules, vaccine groups, the ruleset ------------------------------------------------------------------------


@attrs.frozen
class Placement:
    where: str  # "before" or "after"
    rule: str
    span: Span = _span()


@attrs.frozen
class Rule:
    name: str
    outcome: str
    condition: Condition = Always()
    tolerance_days: int | None = None
    active_start: date | None = None
    active_end: date | None = None
    doc: str = ""
    placement: Placement | None = None
    span: Span = _span()
    outcome_span: Span = _span()


@attrs.frozen
class ExemptionOutcome:
    """``exemption disease_history => compliant``."""

    kind: str
    outcome: str
    span: Span = _span()


@attrs.frozen
class Antigen:
    """``antigen Measles of Measles_Mumps_Rubella, Measles, MMRV { series ... }``.

    A group such as MMR protects against several antigens, and a dose of a single-antigen product
    counts toward one of them only: each antigen walks its own series over the group's doses of the
    products it names (docs/semantics.md, "Antigens"). ``products`` is None for the group itself
    walked as its only antigen (:attr:`Vaccine.walked_antigens`): every product of the group."""

    name: str
    products: tuple[str, ...] | None
    series: tuple[Series, ...] = ()
    span: Span = _span()

    def walks(self, product_id: str) -> bool:
        return self.products is None or product_id in self.products


@attrs.frozen
class Vaccine:
    id: str
    name: str = ""
    locked: bool = False
    doc: str = ""
    applies: Condition | None = None
    series: tuple[Series, ...] = ()
    rules: tuple[Rule, ...] = ()
    otherwise: str | None = None
    exemption_outcomes: tuple[ExemptionOutcome, ...] = ()
    extends_existing: bool = False  # written as ``extend vaccine X { ... }``
    span: Span = _span()
    antigens: tuple[Antigen, ...] = ()

    @property
    def walked_antigens(self) -> tuple[Antigen, ...]:
        """What the series walk follows: the declared antigens, or the group as its only antigen
        (walking every product of the group) when it declares series directly; none without series."""
        if self.antigens:
            return self.antigens
        return (Antigen(self.id, None, self.series, span=self.span),) if self.series else ()

    @property
    def all_series(self) -> tuple[Series, ...]:
        """Every series of the group, its own or its antigens'."""
        return tuple(series for antigen in self.walked_antigens for series in antigen.series)

    @property
    def has_series(self) -> bool:
        return bool(self.all_series)

    @property
    def rejects(self) -> tuple[SeriesReject, ...]:
        """The ``reject`` lines of all its series (each series applies its own)."""
        return tuple(reject for series in self.all_series for reject in series.rejects)

    @property
    def predicate_rejects(self) -> tuple[Reject, ...]:
        """The ``reject ... when PREDICATE(student, dose)`` lines of all its series."""
        return tuple(reject for reject in self.rejects if isinstance(reject, Reject))


@attrs.frozen
class Product:
    id: str
    cvx: str  # as written, e.g. "03"; compare with :func:`cvx_key`
    vaccines: tuple[str, ...]
    name: str = ""
    mvx: str | None = None
    live: bool = False
    span: Span = _span()


@attrs.frozen
class GradeDecl:
    code: str
    name: str
    span: Span = _span()


@attrs.frozen
class GradeSet:
    name: str
    items: tuple[GradeItem, ...]
    display: str = ""
    span: Span = _span()


@attrs.frozen
class Header:
    name: str
    jurisdiction: str = ""
    version: str = ""
    doc: str = ""
    span: Span = _span()


@attrs.frozen
class Settings:
    tolerance_days: int | None = None
    exemption_outcomes: tuple[ExemptionOutcome, ...] = ()
    span: Span = _span()


@attrs.frozen
class Extends:
    target: str
    span: Span = _span()


@attrs.frozen
class Ruleset:
    """One parsed file. ``items`` keeps the top-level declarations in source order."""

    items: tuple[object, ...]
    file: str = attrs.field(default="", eq=False)
    source: str = attrs.field(default="", eq=False, repr=False)

    def of_type(self, kind):
        return [item for item in self.items if isinstance(item, kind)]

    @property
    def header(self) -> Header | None:
        found = self.of_type(Header)
        return found[0] if found else None

    @property
    def extends(self) -> Extends | None:
        found = self.of_type(Extends)
        return found[0] if found else None

    @property
    def settings(self) -> Settings:
        found = self.of_type(Settings)
        return found[0] if found else Settings()

    @property
    def grade_decls(self) -> list[GradeDecl]:
        return [g for grades in self.of_type(Grades) for g in grades.items if isinstance(g, GradeDecl)]

    @property
    def grade_sets(self) -> list[GradeSet]:
        return [g for grades in self.of_type(Grades) for g in grades.items if isinstance(g, GradeSet)]

    @property
    def products(self) -> list[Product]:
        return self.of_type(Product)

    @property
    def vaccines(self) -> list[Vaccine]:
        return self.of_type(Vaccine)

    @property
    def predicates(self) -> list[PredicateClause]:
        return self.of_type(PredicateClause)


@attrs.frozen
class Grades:
    items: tuple[Union[GradeDecl, GradeSet], ...]
    span: Span = _span()


OUTCOMES = ("compliant", "exempt", "in_process", "in_grace_period", "non_compliant", "no_requirement")
OUTCOME_DISPLAY = {
    "compliant": "Compliant",
    "exempt": "Exempt",
    "in_process": "In Process",
    "in_grace_period": "In Grace Period",
    "non_compliant": "Non-compliant",
    "no_requirement": "No Requirement",
}
EXEMPTION_KINDS = ("medical", "conscientious", "lab_immunity", "disease_history")
INVALID_REASONS = (
    "too_young", "too_soon", "live_virus_conflict", "not_allowable", "too_old", "extraneous",
)
# The walk's name for step 1's failure, an inadvertent vaccine (docs/semantics.md): reported as
# ``not_allowable``, the reason CDSi's "Inadvertent Vaccine" maps to, but unlike a product step 6 does
# not allow, such a dose is no anchor.
INADVERTENT = "inadvertent"
# A dose not valid for one of these is passed over as the anchor of the next dose's interval from the
# previous dose: an inadvertent vaccine, or a dose past the series or its ages (CDSi's "Extraneous").
# Any other reason (its timing, its product, a reject) leaves it the anchor: CDSi counts from "the most
# immediate previous vaccine dose administered" evaluated Valid or Not Valid, not inadvertent
# (docs/semantics.md, step 2).
NOT_ANCHORING_REASONS = (INADVERTENT, "too_old", "extraneous")


def reported_reason(reason: str) -> str:
    """The reason a dose is reported with: one of INVALID_REASONS (or a ``reject``'s own).

    >>> reported_reason(INADVERTENT), reported_reason("too_soon")
    ('not_allowable', 'too_soon')
    """
    return "not_allowable" if reason == INADVERTENT else reason


def cvx_key(code: str) -> int:
    """CVX codes compare as numbers: ``"03"`` and ``"3"`` are the same product code."""
    return int(code)
