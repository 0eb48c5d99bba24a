"""The two engines agree: the SQL engine (vaxdsl.engine) and the reference interpreter
(vaxdsl.interpreter) give identical group outcomes, deciding rules and valid-dose counts, and
identical per-dose validity, reasons and numbers, on random students, histories and effective dates.

Histories include same-day doses, combination products, doses after the effective date, doses before
birth, unknown CVX codes and product names, MVX variants, month-end and leap-day birth dates, and
exemptions of every kind (dated before and after E). The rulesets are Minnesota, the example district,
and two written here to reach what those do not: groups without a series, recursion, counts and
``valid``/``invalid`` in predicates (one of them read off the walk: compiler/row_predicates.py),
month intervals, age windows on counts, exemption outcomes; a fifth has several series per group
with start windows, ``only with``, every kind of ``skip when`` test and recurring last doses; a sixth declares antigens
(docs/semantics.md, "Antigens"), modelled on MMR.

``VAXDSL_AGREE_EXAMPLES`` sets the number of examples per ruleset (default 100).
"""

from __future__ import annotations

import os
import sqlite3
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaxdsl import engine
from vaxdsl.compiler import compile_ruleset
from vaxdsl.interpreter import evaluate_student
from vaxdsl.loader import load, load_text
from vaxdsl.records import Dose, Exemption, Student

EXAMPLES = int(os.environ.get("VAXDSL_AGREE_EXAMPLES", "100"))

KITCHEN_SINK = '''
ruleset "Agree A" { jurisdiction "T" version "1" }
settings { tolerance 3 days  exemption lab_immunity => compliant }
grades {
  PK "Pre-K"  KG "Kindergarten"  01 "Grade 1"  02 "Grade 2"  07 "Grade 7"  12 "Grade 12"
  set primary "Primary" = KG..02
  set older = 07, 12
}
product A1 cvx 10 "Alpha" counts Alpha
product A2 cvx 11 mvx ABC "Alpha Two" counts Alpha
product A2x cvx 11 "Alpha generic" counts Alpha
product Combo cvx 12 "Combo" live counts Alpha, Beta
product B1 cvx 20 "Beta" live counts Beta
product B2 cvx 21 "Beta 2" live counts Beta
product G1 cvx 30 "Gamma" counts Gamma
product Lonely cvx 40 "Lonely"
product Z cvx 50 "Zeta" counts Zeta, Gamma

predicate live_conflict(S, D)
  :- dose(S, D, Given, P), live(P), dose(S, _, Before, Q), live(Q), P != Q,
     Before < Given, Given < Before + 28 days.
predicate two_alpha_young(S)
  :- birth(S, B), count { D : dose(S, D, Date, P), counts(P, Alpha), Date < B + 2 years } >= 2.
predicate chain(S, D1, D2) :- dose(S, D1, T1, _), dose(S, D2, T2, _), T1 < T2, T2 <= T1 + 1 month + 2 days.
predicate chain(S, D1, D3) :- chain(S, D1, D2), chain(S, D2, D3).
predicate long_chain(S) :- chain(S, D1, D2), chain(S, D2, D3), D1 != D3.
predicate valid_beta_late(S)
  :- valid(S, Beta, D, N), N >= 2, dose(S, D, T, _), birth(S, B), T >= B + 2 years - 3 days.
predicate has_invalid(S) :- invalid(S, _, _, too_soon).
predicate alpha_spaced(S)
  :- birth(S, B), valid(S, Alpha, D1, 1), valid(S, Alpha, D3, 3), dose(S, D1, T1, _), dose(S, D3, T3, _),
     T3 >= T1 + 7 months - 3 days, B + 1 year <= T3.
predicate alpha_spaced(S) :- valid(S, Alpha, _, 2), valid(S, Zeta, D, 2), dose(S, D, T, _), birth(S, B), T < B + 3 years.
predicate exempt_any(S) :- exemption(S, _, medical).
predicate grade_kg(S) :- grade(S, "KG").
predicate late(S) :- as_of(E), birth(S, B), E > B + 6 years.
predicate no_alpha(S) :- student(S), not dose(S, _, _, A1), count { X : dose(S, X, _, _) } < 3.
predicate recent_dose(S, P) :- dose(S, _, T, P), T >= 2022-01-01, T != 2022-06-01.
predicate kind_of(S, medical) :- exemption(S, Alpha, medical).
predicate kind_of(S, K) :- exemption(S, Beta, K), K != lab_immunity.
predicate same_day(S) :- dose(S, D, T, _), dose(S, E, T, _), D < E, not invalid(S, Alpha, D, extraneous).

vaccine Alpha "Alpha" {
  series {
    dose 1 { min age 6 weeks - 4 days  allow A1, A2, Combo  allow A2x from age 1 year before age 5 years }
    dose 2 { min age 4 months  min interval 4 weeks - 4 days  max age 10 years }
    dose 3 { min age 12 months - 4 days  min interval 6 months - 4 days  min interval 8 months from dose 1 }
  }
  rule "young none" => no_requirement when age < 2 months
  rule "3 doses" => compliant when at least 3 valid doses
  rule "2 at age" => compliant
    tolerance 0 days
    when exactly 2 valid doses and dose 2 at age >= 1 year and interval from dose 1 to dose 2 >= 2 months
  rule "spaced" => in_process when alpha_spaced(student) and not exempt_any(student)
  rule "recent" => in_grace_period when since last dose < 1 month + 2 days or since first dose <= 30 days
  rule "window" => in_process
    active from 2020-01-01 to 2022-12-31
    when at least 1 valid doses of A2, Combo at age 2 months .. 3 years
  rule "invalid" => in_process when has_invalid(student) and not exempt_any(student)
  otherwise non_compliant
}

vaccine Beta "Beta" {
  applies when grade in primary, 07 or no grade
  exemption medical => exempt
  exemption medical => in_process
  series {
    dose 1 { min age 12 months - 4 days }
    dose 2 { min age 13 months  min interval 28 days }
    reject live_virus_conflict when live_conflict(student, dose)
  }
  rule "2 beta" => compliant when at least 2 valid doses
  rule "beta late" => compliant when valid_beta_late(student)
  rule "one" => in_grace_period when exactly 1 valid dose and since last dose < 6 weeks
  rule "doses any" => in_process when more than 1 doses at age >= 1 year
}

vaccine Gamma "Gamma" {
  rule "counted" => compliant when at least 2 doses and dose 2 at age 1 year .. 3 years
  rule "last" => in_grace_period when last dose at age >= 6 months and interval from first dose to last dose > 1 month
  rule "effective" => exempt when effective date >= 2023-06-01 and exempt (conscientious, lab_immunity)
  rule "kids" => compliant when grade_kg(student) or late(student)
  rule "alpha" => in_process when two_alpha_young(student) and long_chain(student)
  rule "few" => in_process when no_alpha(student) and at least 1 doses of Z
  rule "no series" => compliant when series complete
  rule "recent" => in_grace_period when recent_dose(student, G1) or kind_of(student, medical)
  rule "same day" => exempt when same_day(student) and kind_of(student, conscientious)
  otherwise no_requirement
}

vaccine Zeta "Zeta" {
  series { dose 1 { } dose 2 { min interval 1 year } }
  rule "none" => compliant when no valid doses and not (age in 1 year .. 2 years)
  rule "fewer" => non_compliant when fewer than 2 valid doses and since last dose >= 3 months
  rule "more" => compliant when at most 5 doses and dose 2 at age < 4 years
  rule "complete" => in_process when series complete and not (at least 2 valid doses)
}
'''

SMALL = '''
product P cvx 1 counts One, Two
product Q cvx 2 "Q vaccine" counts Two
vaccine One { }
vaccine Two {
  applies when at least 1 doses or age >= 1 year
  series { dose 1 { min age 2 months } dose 2 { min interval 2 months from dose 1 allow Q } }
  rule "two" => compliant when exactly 2 valid doses of Q and interval from dose 1 to dose 2 <= 1 year
  rule "exempt" => in_process when exempt
}
'''

# Several series with start windows, one `only with` a product, and every kind of `skip when` test
# (docs/semantics.md, "Skipping a series dose", "Choosing among series").
SERIES_CHOICE = '''
product IPV cvx 10 "IPV" counts Polio
product Combo cvx 110 "Combo" live counts Polio, Hib
product PRP_T cvx 48 "PRP-T" counts Hib
product PRP_OMP cvx 49 "PRP-OMP" counts Hib
product MMR cvx 3 "MMR" live counts MMR
product VAR cvx 21 "VAR" live counts MMR

predicate live_conflict(S, D)
  :- dose(S, D, Given, P), live(P), dose(S, _, Before, Q), live(Q), P != Q,
     Before < Given, Given < Before + 28 days.

vaccine Polio {
  series "4-dose" {
    dose 1 { min age 6 weeks - 4 days }
    dose 2 { min age 10 weeks - 4 days  min interval 4 weeks - 4 days }
    dose 3 {
      min age 14 weeks - 4 days
      min interval 4 weeks - 4 days
      skip when age >= 4 years
      skip when age >= 4 years - 4 days and since last dose >= 6 months - 4 days
    }
    # dated requirements, as CDSi's Polio dose 4 before 2009-08-07 (moved to where the dates fall)
    dose 4 {
      min age 18 weeks - 4 days given before 2012-08-07
      min age 4 years - 4 days given from 2012-08-07
      min interval 4 weeks - 4 days given before 2014-03-01
      min interval 6 months - 4 days given from 2014-03-01
      max age 18 years
    }
  }
  series "5-dose" {
    dose 1 { min age 6 weeks - 4 days }
    dose 2 {
      min age 10 weeks - 4 days
      min interval 4 weeks - 4 days
      min interval 8 weeks from dose 1 given from 2010-01-01 before 2016-01-01
    }
    dose 3 { min interval 4 weeks - 4 days  skip when age >= 4 years }
    dose 4 { skip when age >= 4 years or at least 2 doses of Combo }
    dose 5 recurring { min age 4 years - 4 days  min interval 6 months - 4 days  allow IPV }
  }
  series "adult" {
    start from age 18 years
    dose 1 { }
    dose 2 { min interval 4 weeks - 4 days  skip when dose 1 at age >= 20 years }
    dose 3 { min interval 6 months - 4 days  skip when interval from first dose to last dose >= 1 year }
  }
  rule "boosted" => compliant when at least 6 valid doses of IPV and dose 7 at age >= 4 years
  rule "done" => compliant when at least 4 valid doses and series complete
  rule "complete early" => in_grace_period when series complete
  rule "three late" => compliant when exactly 3 valid doses and last dose at age >= 4 years
  rule "started" => in_process when at least 1 valid dose and since last dose < 8 weeks
  otherwise non_compliant
}

vaccine Hib {
  series "from 2 months" {
    start before age 7 months - 4 days
    dose 1 { min age 6 weeks - 4 days  max age 5 years }
    dose 2 { min interval 4 weeks - 4 days  skip when age >= 15 months - 4 days }
    dose 3 {
      min interval 4 weeks - 4 days
      skip when age >= 12 months
      skip when age >= 12 months - 4 days and since last dose >= 8 weeks - 4 days
    }
    dose 4 { min age 12 months - 4 days  min interval 8 weeks - 4 days }
  }
  series "from 7 months" {
    start from age 7 months - 4 days before age 12 months - 4 days
    # an interval on dose 1: from an earlier dose too young for it (CDSi's catch-up series)
    dose 1 { min age 7 months - 4 days  min interval 4 weeks - 4 days }
    dose 2 { min interval 4 weeks - 4 days  skip when at least 1 valid dose at age >= 12 months }
    dose 3 { min age 12 months - 4 days  min interval 8 weeks - 4 days }
  }
  series "from 15 months" {
    start from age 15 months - 4 days
    dose 1 { min age 15 months - 4 days  min interval 8 weeks - 4 days }
  }
  series "PRP-OMP" {
    dose 1 { allow PRP_OMP }
    dose 2 { min interval 4 weeks - 4 days  allow PRP_OMP  skip when not (more than 1 doses) }
    dose 3 recurring { min age 12 months - 4 days  min interval 8 weeks - 4 days  allow PRP_OMP, Combo }
  }
  series "PRP-T mixed" {
    only with PRP_T
    dose 1 { min age 6 weeks  skip when at least 2 doses }  # then dose 2's interval with nothing valid
    dose 2 { min interval 2 weeks  allow PRP_T }
    dose 3 { min interval 4 weeks  skip when more than 1 doses of PRP_T at age >= 2 months }
  }
  rule "complete" => compliant when series complete or (at least 1 valid dose and age >= 5 years)
  rule "three" => in_process when at least 3 valid doses
  otherwise non_compliant
}

vaccine MMR {
  series "two" {
    dose 1 { min age 12 months - 4 days }
    dose 2 { min interval 4 weeks - 4 days  skip when age >= 19 years }
    reject live_virus_conflict when live_conflict(student, dose)
  }
  series "one late" {
    start from age 10 years
    dose 1 { min age 10 years }
  }
  series "nothing to give" {
    start from age 40 years
  }
  rule "ok" => compliant when at least 2 valid doses or (at least 1 valid dose and age >= 10 years)
  otherwise non_compliant
}
'''

# Antigens, modelled on MMR: three antigens with overlapping product lists, single-antigen products
# (drawn often: ANTIGEN_FAVOURED), a product of no antigen, a reject, a skip, two series with a start
# window in one antigen; a second group whose first antigen names every product (it walks the group's
# own string) and whose second names one (so counts of valid doses of that product match doses by id).
ANTIGENS = '''
product MMR cvx 3 "MMR" live counts MMR
product MR cvx 4 "M/R" live counts MMR
product Measles cvx 5 "Measles" live counts MMR
product Rubella cvx 6 "Rubella" live counts MMR
product Mumps cvx 7 "Mumps" live counts MMR
product RM cvx 38 "Rubella/Mumps" live counts MMR
product MMRV cvx 94 "MMRV" live counts MMR, Varicella
product Stray cvx 8 "Not walked" counts MMR
product VAR cvx 21 "Varicella" live counts Varicella
product P1 cvx 40 "Pair one" counts Pair
product P2 cvx 41 "Pair two" counts Pair

predicate live_conflict(S, D)
  :- dose(S, D, Given, P), live(P), dose(S, _, Before, Q), live(Q), P != Q,
     Before < Given, Given < Before + 28 days.
predicate second_mmr_late(S) :- valid(S, MMR, D, 2), dose(S, D, T, _), birth(S, B), T >= B + 4 years.
predicate stray_dose(S) :- invalid(S, MMR, _, not_allowable).
predicate pair_first(S, P) :- valid(S, Pair, D, 1), dose(S, D, _, P).

vaccine MMR {
  antigen Measles of MMR, MR, Measles, MMRV {
    series "Measles 2-dose series" {
      dose 1 { min age 12 months - 4 days }
      dose 2 { min age 13 months - 4 days  min interval 4 weeks - 4 days  skip when age >= 18 years }
      reject live_virus_conflict when live_conflict(student, dose)
    }
  }
  antigen Mumps of MMR, Mumps, RM, MMRV {
    series "Mumps 2-dose series" {
      dose 1 { min age 12 months - 4 days }
      dose 2 { min age 13 months - 4 days  min interval 4 weeks - 4 days }
      reject live_virus_conflict when live_conflict(student, dose)
    }
    series "Mumps late series" {
      start from age 6 years
      dose 1 { min age 6 years }
      dose 2 { min interval 8 weeks  skip when at least 2 doses }
    }
  }
  antigen Rubella of MMR, MR, Rubella, RM, MMRV {
    series "Rubella 2-dose series" {
      dose 1 { min age 12 months - 4 days }
      dose 2 { min interval 4 weeks - 4 days  allow MMR, MMRV, Rubella, RM }
    }
  }
  rule "too young" => no_requirement when age < 12 months
  rule "two combined" => compliant when at least 2 valid doses of MMR, MMRV
  rule "complete late" => compliant when series complete and dose 2 at age >= 4 years - 4 days
  rule "late second" => compliant when second_mmr_late(student)
  rule "one recent" => in_grace_period when exactly 1 valid dose and since last dose < 28 days
  rule "singles" => in_process when at least 2 valid doses of Measles, Mumps, MR at age >= 13 months
  rule "spread" => in_process
    tolerance 2 days
    when interval from dose 1 to dose 2 >= 2 months and first dose at age < 2 years
  rule "counted" => in_process when at least 1 valid dose at age >= 15 months and more than 2 doses of Measles
  rule "stray" => non_compliant when stray_dose(student) or at least 1 doses of Stray
  otherwise non_compliant
}

vaccine Varicella {
  series {
    dose 1 { min age 12 months - 4 days }
    dose 2 { min interval 3 months - 4 days }
    reject live_virus_conflict when live_conflict(student, dose)
  }
  rule "two" => compliant when at least 2 valid doses
  rule "one" => in_process when exactly 1 valid dose
  otherwise non_compliant
}

vaccine Pair {
  antigen Whole of P1, P2 {
    series { dose 1 { } dose 2 { min interval 8 weeks } dose 3 { min interval 6 months  skip when age >= 4 years } }
  }
  antigen Part of P2 {
    series { dose 1 { min age 6 months } dose 2 { min interval 1 year } }
  }
  rule "two" => compliant when at least 2 valid doses of P2 and last dose at age >= 1 year
  rule "done" => compliant when series complete
  rule "first" => in_process when pair_first(student, P1) or at least 1 valid doses of P1
  rule "any" => in_grace_period when at least 1 valid dose and since dose 1 < 1 year
  otherwise non_compliant
}
'''
ANTIGEN_FAVOURED = [3, 4, 5, 6, 7, 38, 94, 41]  # half the doses of the antigens ruleset

RULESETS = {
    "minnesota": lambda: load("minnesota").ruleset,
    "example-district": lambda: load("example-district").ruleset,
    "kitchen-sink": lambda: load_text(KITCHEN_SINK, "kitchen-sink.vax").ruleset,
    "small": lambda: load_text(SMALL, "small.vax").ruleset,
    "series-choice": lambda: load_text(SERIES_CHOICE, "series-choice.vax").ruleset,
    "antigens": lambda: load_text(ANTIGENS, "antigens.vax").ruleset,
}
FAVOURED = {"antigens": ANTIGEN_FAVOURED}  # CVX codes drawn for half the doses
_CACHE: dict = {}


def ruleset_named(name: str):
    if name not in _CACHE:
        _CACHE[name] = RULESETS[name]()
    return _CACHE[name]


def _product_choices(ruleset):
    cvx = sorted({int(p.cvx) for p in ruleset.products})
    names = [p.id for p in ruleset.products] + [p.name for p in ruleset.products if p.name]
    return cvx, names


@st.composite
def birth_dates(draw):
    year = draw(st.integers(2002, 2024))
    month = draw(st.integers(1, 12))
    if draw(st.booleans()):
        following = date(year + (month == 12), month % 12 + 1, 1)
        return following - timedelta(days=draw(st.integers(1, 4)))  # month ends, leap days
    return date(year, month, draw(st.integers(1, 28)))


@st.composite
def populations(draw, ruleset, favoured=()):
    cvx_codes, names = _product_choices(ruleset)
    cvx_codes = cvx_codes + [999]
    drawn = st.one_of(st.sampled_from(cvx_codes), st.sampled_from(favoured)) if favoured else st.sampled_from(cvx_codes)
    grades = [g.code for g in ruleset.grade_decls] or ["KG"]
    groups = [v.id for v in ruleset.vaccines] + ["Nothing"]
    count = draw(st.integers(1, 4))
    students, doses, exemptions = [], [], []
    dose_id = draw(st.integers(1, 50))
    for number in range(count):
        sid = f"S{number:02d}"
        birth = draw(birth_dates())
        grade = draw(st.one_of(st.none(), st.just(""), st.sampled_from(grades), st.just("ZZ")))
        students.append(Student(sid, birth, grade))
        day = birth + timedelta(days=draw(st.integers(-20, 400)))
        for _ in range(draw(st.integers(0, 12))):
            move = draw(st.integers(0, 6))
            if move == 0:  # the same day again
                pass
            elif move == 1:  # on the edge of an age the rules use
                months = draw(st.sampled_from([1, 2, 4, 6, 12, 13, 15, 18, 24, 48, 60, 84, 132, 192, 228]))
                day = max(day, _add_months(birth, months) + timedelta(days=draw(st.integers(-6, 6))))
            else:
                day = day + timedelta(days=draw(st.sampled_from([1, 3, 20, 24, 27, 28, 30, 45, 60, 90, 120,
                                                                  180, 200, 365, 700, 1500])))
            cvx = draw(drawn)
            mvx = draw(st.sampled_from([None, None, None, "", "ABC", "abc", "MSD", "XYZ", "SKB", "PMC"]))
            name = draw(st.one_of(st.none(), st.none(), st.none(), st.just(""),
                                  st.sampled_from(names).map(lambda n: n if len(n) % 2 else n.upper()),
                                  st.just("no such product")))
            dose_id += draw(st.integers(1, 3))
            doses.append(Dose(dose_id, sid, day, cvx, mvx, name))
        for _ in range(draw(st.integers(0, 2))):
            when = draw(st.one_of(st.none(), st.dates(date(2005, 1, 1), date(2030, 1, 1))))
            exemptions.append(Exemption(sid, draw(st.sampled_from(groups)),
                                        draw(st.sampled_from(["medical", "conscientious", "lab_immunity",
                                                              "disease_history"])), when))
    first = min(s.birth_date for s in students)
    # E near a dose date or a birthday threshold often, so tolerance and "since" tests are on the edge
    anchors = [d.date for d in doses] or [first]
    as_of = draw(st.one_of(
        st.dates(first, first + timedelta(days=365 * 19)),
        st.sampled_from([date(2024, 2, 29), date(2025, 9, 2), date(2026, 9, 8), date(2023, 1, 31)]),
        st.builds(lambda day, delta: day + timedelta(days=delta), st.sampled_from(anchors),
                  st.sampled_from([-1, 0, 1, 25, 27, 28, 29, 30, 31, 32, 33, 41, 42, 45, 56, 60, 112, 113, 180, 183,
                                   184, 240, 243, 244])),
        st.builds(lambda birth, months, delta: _add_months(birth, months) + timedelta(days=delta),
                  st.sampled_from([s.birth_date for s in students]),
                  st.sampled_from([2, 3, 5, 7, 12, 13, 15, 19, 24, 36, 48, 60, 72, 84, 144, 216]),
                  st.integers(-5, 5)),
    ))
    return students, doses, exemptions, as_of


def _add_months(day: date, months: int) -> date:
    from vaxdsl.dates import add_months

    return add_months(day, months)


def build_db(students, doses, exemptions) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript("""
        CREATE TABLE students(student_id TEXT PRIMARY KEY, birth_date TEXT NOT NULL, grade TEXT, attributes TEXT);
        CREATE TABLE doses(dose_id INTEGER PRIMARY KEY, student_id TEXT NOT NULL, date TEXT NOT NULL,
                           cvx INTEGER NOT NULL, mvx TEXT, product_name TEXT, source TEXT, row INTEGER);
        CREATE TABLE exemptions(student_id TEXT NOT NULL, vaccine TEXT NOT NULL, kind TEXT NOT NULL, date TEXT,
                                source TEXT, row INTEGER);
        CREATE INDEX doses_student_id_date ON doses(student_id, date);
    """)
    conn.executemany("INSERT INTO students VALUES (?, ?, ?, '{}')",
                     [(s.id, s.birth_date.isoformat(), s.grade) for s in students])
    conn.executemany("INSERT INTO doses VALUES (?, ?, ?, ?, ?, ?, 'test', 0)",
                     [(d.id, d.student_id, d.date.isoformat(), d.cvx, d.mvx, d.product_name) for d in doses])
    conn.executemany("INSERT INTO exemptions VALUES (?, ?, ?, ?, 'test', 0)",
                     [(e.student_id, e.vaccine, e.kind, e.date.isoformat() if e.date else None) for e in exemptions])
    conn.commit()
    return conn


def assert_agree(ruleset, students, doses, exemptions, as_of, alone: bool = True):
    """Both engines give the same outcomes and dose records (``alone``: and one student evaluated
    alone gives what the whole run gave it)."""
    conn = build_db(students, doses, exemptions)
    compiled = compile_ruleset(ruleset, as_of)  # once for both listings: compiling is most of an example's time
    try:
        groups = list(engine.evaluate(ruleset, conn, as_of, compiled=compiled))
        dose_rows = list(engine.evaluate_doses(ruleset, conn, as_of, compiled=compiled))
        if alone:  # the re-evaluation's statements, over vx_sel
            last = students[-1].id if students else None
            listed = list(engine.evaluate(ruleset, conn, as_of, [last], compiled=compiled))
            assert listed == [g for g in groups if g.student_id == last], f"student {last} evaluated alone"
    finally:
        conn.close()
    for student in students:
        mine = [d for d in doses if d.student_id == student.id]
        theirs = [e for e in exemptions if e.student_id == student.id]
        expected = evaluate_student(ruleset, student, mine, theirs, as_of)
        got_groups = tuple(g for g in groups if g.student_id == student.id)
        got_doses = tuple(d for d in dose_rows if d.student_id == student.id)
        assert got_groups == expected.groups, _diff(expected.groups, got_groups, student, as_of)
        assert got_doses == expected.doses, _diff(expected.doses, got_doses, student, as_of)


def _diff(expected, got, student, as_of) -> str:
    lines = [f"student {student} as of {as_of}"]
    for index in range(max(len(expected), len(got))):
        a = expected[index] if index < len(expected) else None
        b = got[index] if index < len(got) else None
        if a != b:
            lines.append(f"  interpreter: {a}\n  sql engine:  {b}")
    return "\n".join(lines)


def check_agreement(ruleset, favoured=(), alone: bool = True) -> None:
    """Hypothesis: EXAMPLES random populations of ``ruleset``, each evaluated by both engines
    (``favoured``: CVX codes drawn for half the doses; ``alone``: as in assert_agree)."""

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.data_too_large])
    @given(populations(ruleset, favoured))
    def check(population):
        assert_agree(ruleset, *population, alone=alone)

    check()


# Evaluating one student alone prepares Minnesota's 2.5 MB main statement a second time per example
# (about 1 s: 3.2 s per example with it, 2.2 s without); test_engine_api's Session test covers Minnesota.
LARGE = {"minnesota", "example-district"}


@pytest.mark.parametrize("name", sorted(RULESETS))
def test_engines_agree(name):
    check_agreement(ruleset_named(name), FAVOURED.get(name, ()), alone=name not in LARGE)


def test_synthetic_population_agrees(tmp_path):
    """A few hundred synthetic students (the benchmark's generator) on three effective dates."""
    from vaxdsl import factdb
    from vaxdsl.facts import read_fact_dir
    from vaxdsl.synth import synthesize

    ruleset = ruleset_named("minnesota")
    synthesize(tmp_path / "facts", 300, seed=11)
    facts = read_fact_dir(tmp_path / "facts", products=ruleset.products, vaccines=ruleset.vaccines,
                          today=date(2030, 1, 1))
    factdb.build_database(tmp_path / "facts.db", facts)
    for as_of in (date(2021, 3, 1), date(2024, 1, 31), date(2026, 9, 8)):
        conn = sqlite3.connect(tmp_path / "facts.db")
        compiled = compile_ruleset(ruleset, as_of)
        try:
            groups = list(engine.evaluate(ruleset, conn, as_of, compiled=compiled))
            dose_rows = list(engine.evaluate_doses(ruleset, conn, as_of, compiled=compiled))
        finally:
            conn.close()
        by_student: dict = {}
        for group in groups:
            by_student.setdefault(group.student_id, [[], []])[0].append(group)
        for dose in dose_rows:
            by_student.setdefault(dose.student_id, [[], []])[1].append(dose)
        for student, doses, exemptions in factdb.iter_students(tmp_path / "facts.db"):
            expected = evaluate_student(ruleset, student, doses, exemptions, as_of)
            got = by_student.get(student.id, [[], []])
            assert tuple(got[0]) == expected.groups, _diff(expected.groups, tuple(got[0]), student, as_of)
            assert tuple(got[1]) == expected.doses, _diff(expected.doses, tuple(got[1]), student, as_of)


# ---- every test on the edge of its threshold, with and without tolerance -------------------------------

EDGE_CONDITIONS = [
    # (condition with OP, how the student's dates are placed: (birth, dose dates) from E and a delta)
    ("dose 1 at age OP 12 months", "dose_vs_birth"),
    ("dose 1 at age OP 12 months - 4 days", "dose_vs_birth"),
    ("last dose at age OP 1 year + 2 weeks", "dose_vs_birth"),
    ("at least 1 doses at age OP 12 months", "dose_vs_birth"),
    ("at least 1 valid doses at age OP 12 months", "dose_vs_birth"),
    ("since last dose OP 4 weeks", "dose_vs_e"),
    ("since first dose OP 6 months", "dose_vs_e"),
    ("since last dose OP 1 month - 4 days", "dose_vs_e"),
    ("interval from dose 1 to dose 2 OP 6 months - 4 days", "dose_vs_dose"),
    ("interval from first dose to last dose OP 28 days", "dose_vs_dose"),
    ("age OP 12 months", "birth_vs_e"),
    ("age OP 4 years - 4 days", "birth_vs_e"),
]
EDGE_RANGES = [
    ("dose 1 at age 12 months .. 24 months", "dose_vs_birth"),
    ("at least 1 doses at age 2 months .. 1 year", "dose_vs_birth"),
    ("age in 12 months .. 24 months", "birth_vs_e"),
]
EDGE_E = date(2024, 3, 31)
EDGE_BIRTHS = [date(2021, 1, 31), date(2020, 2, 29), date(2021, 3, 15), date(2020, 8, 31)]


def _edge_population(kind: str):
    """Students whose deciding date sits at every offset around the thresholds that matter."""
    from vaxdsl.dates import add_months

    students, doses = [], []
    dose_id = 0
    for b_index, birth in enumerate(EDGE_BIRTHS):
        for months in (1, 2, 6, 11, 12, 13, 14, 24, 48):
            for delta in range(-7, 8):
                sid = f"{kind[:3]}-{b_index}-{months}-{delta + 7:02d}"
                if kind == "birth_vs_e":
                    born = add_months(EDGE_E, -months) + timedelta(days=delta)
                    students.append(Student(sid, born, None))
                    dates = [born + timedelta(days=60)]
                elif kind == "dose_vs_birth":
                    students.append(Student(sid, birth, None))
                    dates = [add_months(birth, months) + timedelta(days=delta)]
                    dates.append(dates[0] + timedelta(days=200))
                elif kind == "dose_vs_e":
                    first = add_months(EDGE_E, -months) + timedelta(days=delta)
                    students.append(Student(sid, first - timedelta(days=400), None))
                    dates = [first - timedelta(days=300), first] if months < 6 else [first]
                else:  # dose_vs_dose
                    first = add_months(EDGE_E, -30)
                    second = add_months(first, months % 7) + timedelta(days=delta)
                    students.append(Student(sid, first - timedelta(days=500), None))
                    dates = [first, max(first, second)]
                for day in dates:
                    dose_id += 1
                    doses.append(Dose(dose_id, sid, day, 1))
    return students, doses


@pytest.mark.parametrize("tolerance", [0, 4])
@pytest.mark.parametrize("template, kind", EDGE_CONDITIONS + EDGE_RANGES)
def test_threshold_edges(template, kind, tolerance):
    ops = ["<", "<=", "=", "!=", ">=", ">"] if "OP" in template else [None]
    students, doses = _edge_population(kind)
    for op in ops:
        condition = template.replace("OP", op) if op else template
        text = (f'product X cvx 1 counts G\n'
                f'vaccine G {{ series {{ dose 1 {{ }} dose 2 {{ }} dose 3 {{ }} }}\n'
                f'  rule "r" => compliant tolerance {tolerance} days when {condition}\n'
                f'  otherwise non_compliant }}\n')
        ruleset = load_text(text, "edges.vax").ruleset
        assert_agree(ruleset, students, doses, [], EDGE_E)
