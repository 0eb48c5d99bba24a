"""Series (dose validity): numbering, interval anchors, and requirements no date can meet.

>>> from vaxdsl.loader import load_text
>>> from vaxdsl.checker.context import Context
>>> ctx = Context(load_text('vaccine V { series { dose 1 { } dose 3 { } } rule "r" => compliant }'))
>>> check_series(ctx); [(d.code, d.line, d.column) for d in ctx.diagnostics]
[('E222', 1, 33)]
"""

from __future__ import annotations

from .. import ast
from ..formatter import condition_text, duration_text
from ..walk import atoms
from .context import Context
from .implication import surely_le, duration_point


# The tests a `skip when` condition may use: those that read the dose being judged and the series'
# doses before it (docs/semantics.md, "Skipping a series dose").
SKIP_TESTS = (ast.AgeCompare, ast.AgeBetween, ast.CountDoses, ast.DoseAge, ast.IntervalCompare, ast.SinceDose,
              ast.Always)


def check_series(ctx: Context) -> None:
    for vaccine in ctx.ruleset.vaccines:
        _check_antigens(ctx, vaccine)
        for antigen in vaccine.walked_antigens:
            _check_names(ctx, vaccine, antigen)
            if antigen.series and antigen.series[0].only_with:
                ctx.error(antigen.series[0].span, "E238",
                          f"{antigen.series[0].title} comes first, so it cannot be 'only with': a student left "
                          f"out of every other series is judged by the first one")
        for series in vaccine.all_series:
            for expected, dose in enumerate(series.doses, start=1):
                if dose.number != expected:
                    ctx.error(dose.span, "E222", f"expected dose {expected} here, found dose {dose.number}: "
                                                 f"the doses of a series are numbered 1, 2, 3, ... in order")
                    break  # later doses would all be off by the same gap
            if series.start_from is not None and series.start_before is not None and surely_le(
                    duration_point(series.start_before), duration_point(series.start_from)):
                ctx.warning(series.span, "W211", f"{series.title} can never start: 'before age' is not after "
                                                 f"'from age'")
            for dose in series.doses:
                _check_dose(ctx, dose, bool(series.rejects))
            for reject in series.rejects:
                if isinstance(reject, ast.RejectAfterNotValid) and surely_le(duration_point(reject.within), (0, 1)):
                    ctx.warning(reject.within.span, "W217", f"'within {duration_text(reject.within)}' never holds: "
                                                            f"a dose given the day after a dose not valid is already "
                                                            f"that late")
            for dose in series.doses[:-1]:
                if dose.recurring:
                    ctx.error(dose.span, "E237", f"dose {dose.number} is recurring but not the last dose of "
                                                 f"{series.title}: only the last one can be given again")


def _check_antigens(ctx: Context, vaccine: ast.Vaccine) -> None:
    """The antigens of a group are its whole walk: named once each, covering every product."""
    if not vaccine.antigens:
        return
    for series in vaccine.series:
        ctx.error(series.span, "E227", f"vaccine group '{vaccine.id}' walks its antigens: put this series in one "
                                       f"of them (antigen NAME of PRODUCTS {{ series ... }})")
    seen = set()
    for antigen in vaccine.antigens:
        if antigen.name in seen:
            ctx.error(ctx.locate(antigen.span, antigen.name, after="antigen"), "E228",
                      f"vaccine group '{vaccine.id}' has two antigens named '{antigen.name}'")
        seen.add(antigen.name)
    named = {product for antigen in vaccine.antigens for product in antigen.products}
    for product in sorted(ctx.counted_products.get(vaccine.id, set()) - named):
        ctx.warning(vaccine.span, "W214", f"product '{product}' counts toward '{vaccine.id}' but no antigen "
                                          f"names it, so its doses are never valid here")


def _check_names(ctx: Context, vaccine: ast.Vaccine, antigen: ast.Antigen) -> None:
    """Several series must be told apart (in explanations, and by whoever reads the ruleset)."""
    if len(antigen.series) < 2:
        return
    owner = f"vaccine group '{vaccine.id}'" if antigen.products is None else f"antigen '{antigen.name}'"
    seen = set()
    for series in antigen.series:
        if not series.name:
            ctx.error(series.span, "E225", f"{owner} has several series: name each one "
                                           f"(series \"...\" {{ ... }})")
        elif series.name in seen:
            ctx.error(series.span, "E225", f"{owner} has two series named '{series.name}'")
        seen.add(series.name)


def _check_dated(ctx: Context, dose: ast.SeriesDose) -> None:
    """Dated requirements (``given from``/``before``): one minimum age in force on any day."""
    for requirement in (*dose.min_ages, *dose.intervals):
        window = requirement.given
        if window is not None and window.is_empty():
            ctx.warning(window.span, "W215", f"this requirement applies to no dose: 'before {window.before}' "
                                             f"is not after 'from {window.start}'")
    for index, later in enumerate(dose.min_ages):
        for earlier in dose.min_ages[:index]:
            common = _common_days(earlier.given, later.given)
            if not common.is_empty():
                ctx.error(later.span, "E239", f"dose {dose.number} has two minimum ages for doses given "
                                              f"{common.days_text()}: give each a 'given from/before DATE' "
                                              f"window that does not overlap")
                break


def _common_days(a: ast.GivenWindow | None, b: ast.GivenWindow | None) -> ast.GivenWindow:
    starts = [w.start for w in (a, b) if w is not None and w.start]
    ends = [w.before for w in (a, b) if w is not None and w.before]
    return ast.GivenWindow(max(starts, default=None), min(ends, default=None))


def _check_dose(ctx: Context, dose: ast.SeriesDose, rejecting: bool) -> None:
    for interval in dose.intervals:
        start = interval.start
        if start is None:
            if dose.number == 1 and not dose.min_ages and not dose.allows and not rejecting:
                # it counts from an earlier dose that failed dose 1 and is still an anchor: only a
                # minimum age, an allow line (or a reject) can make one fail so
                ctx.warning(interval.span, "W209", "a minimum interval on dose 1 never applies: it counts "
                                                   "from an earlier dose too young for dose 1 or of a product "
                                                   "it does not allow, and dose 1 has no minimum age and no "
                                                   "allow line")
        elif start.kind == "nth" and not 1 <= start.number < dose.number:
            ctx.error(start.span, "E223", f"'from dose {start.number}' in dose {dose.number}: "
                                          f"an interval counts from an earlier dose (1..{dose.number - 1})"
                      if dose.number > 1 else "dose 1 has no earlier dose to count an interval from")
        elif start.kind != "nth" and dose.number == 1:
            ctx.error(start.span, "E223", "dose 1 has no earlier dose to count an interval from")
    for age in dose.min_ages:
        if dose.max_age is not None and surely_le(duration_point(dose.max_age), duration_point(age.duration)):
            ctx.warning(dose.span, "W211", f"dose {dose.number} can never be valid: its max age is not after its min age")
    _check_dated(ctx, dose)
    for allow in dose.allows:
        if allow.from_age is not None and allow.before_age is not None and surely_le(
                duration_point(allow.before_age), duration_point(allow.from_age)):
            ctx.warning(allow.span, "W211", "this 'allow' never allows anything: 'before age' is not after 'from age'")
        for product in allow.products:
            if product in dose.inadvertent:
                ctx.warning(ctx.locate(allow.span, product, after="allow"), "W216",
                            f"'{product}' is both allowed and inadvertent for dose {dose.number}: the "
                            f"'inadvertent' line wins, so no dose of it is ever valid as this dose")
    for skip in dose.skips:
        for atom in atoms(skip.condition):
            if not isinstance(atom, SKIP_TESTS):
                ctx.error(atom.span, "E226", f"a 'skip when' condition cannot use '{condition_text(atom)}': it is "
                                             f"read at the dose being judged, from the series' doses before it "
                                             f"(ages, dose counts, dose ages, intervals and 'since' only)")
