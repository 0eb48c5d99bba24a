"""Synthetic student populations: fact files that look like a Minnesota district's (docs/facts.md).

Grades follow a Minnesota-like mix (child care with no grade, early childhood codes, KG, 01..12),
birth dates fit the grade (kindergarten: 5 years old by September 1), and dose histories follow the
ACIP schedule through a few product plans a clinic might use (single antigens, or Pediarix,
Pentacel or Vaxelis in infancy; Kinrix/Quadracel, MMRV at 4-6 years). Most students are on time;
some are late, some miss doses, some have an invalid dose (too young, too soon), some got Tdap
in place of an infant DTaP dose, some have exemptions of each kind.

The same seed gives the same files byte for byte: one ``random.Random(seed)``, drawn in a fixed
order, and no set or dict iteration in the output. Schedules are precomputed templates, so a
million students (19 million doses) take about half a minute of CPU time.
"""

from __future__ import annotations

import csv
import itertools
import random
from bisect import bisect
from datetime import date
from pathlib import Path

import attrs

DEFAULT_AS_OF = date(2026, 9, 8)  # first day of school 2026-27 in Minnesota (after Labor Day)

# (cvx, mvx) -> (product id, display name, vaccine groups it counts toward): the products the
# synthetic files use; a ruleset must declare them for the files to load cleanly.
PRODUCTS = {
    ("08", None): ("HepB_ped", "Hep B, pediatric", ("HepB",)),
    ("43", "MSD"): ("HepB_2dose", "Recombivax HB (adult, 2-dose adolescent series)", ("HepB",)),
    ("20", None): ("DTaP", "DTaP", ("DTaP",)),
    ("10", None): ("IPV", "IPV", ("Polio",)),
    ("48", None): ("Hib_PRP_T", "Hib (PRP-T)", ("Hib",)),
    ("49", None): ("Hib_PRP_OMP", "PedvaxHIB (PRP-OMP)", ("Hib",)),
    ("133", None): ("PCV13", "PCV13", ("PCV",)),
    ("215", None): ("PCV15", "PCV15", ("PCV",)),
    ("216", None): ("PCV20", "PCV20", ("PCV",)),
    ("03", None): ("MMR", "MMR", ("MMR",)),
    ("21", None): ("Varicella", "Varicella", ("Varicella",)),
    ("94", None): ("MMRV", "ProQuad (MMRV)", ("MMR", "Varicella")),
    ("83", None): ("HepA_ped", "Hep A, pediatric 2-dose", ("HepA",)),
    ("115", None): ("Tdap", "Tdap", ("DTaP", "Tdap")),
    ("114", None): ("Menactra", "Menactra (MenACWY-D)", ("MenACWY",)),
    ("136", None): ("Menveo", "Menveo (MenACWY-CRM)", ("MenACWY",)),
    ("203", None): ("MenQuadfi", "MenQuadfi (MenACWY-TT)", ("MenACWY",)),
    ("110", None): ("Pediarix", "Pediarix (DTaP-HepB-IPV)", ("DTaP", "HepB", "Polio")),
    ("120", None): ("Pentacel", "Pentacel (DTaP-IPV/Hib)", ("DTaP", "Hib", "Polio")),
    ("130", "SKB"): ("Kinrix", "Kinrix (DTaP-IPV)", ("DTaP", "Polio")),
    ("130", "PMC"): ("Quadracel", "Quadracel (DTaP-IPV)", ("DTaP", "Polio")),
    ("146", None): ("Vaxelis", "Vaxelis (DTaP-IPV-Hib-HepB)", ("DTaP", "Polio", "Hib", "HepB")),
}
VACCINES = ("HepB", "DTaP", "Tdap", "Polio", "MMR", "Hib", "Varicella", "MenACWY", "HepA", "PCV")
EARLY_CHILDHOOD = ("EC", "PS", "EE", *(f"P{c}" for c in "ABCDEFGHIJ"), *(f"R{c}" for c in "ABCDEFGHIJ"))
GRADES = ("", *EARLY_CHILDHOOD, "KG", *(f"{g:02d}" for g in range(1, 13)))

# Share of students by grade ("" = licensed child care, no grade), roughly a Minnesota district.
_GRADE_WEIGHTS = {"": 6.0, "EC": 1.0, "PS": 0.6, "EE": 0.4, **{f"P{c}": 0.25 for c in "ABCDEFGHIJ"},
                  **{f"R{c}": 0.1 for c in "ABCDEFGHIJ"}, "KG": 6.6,
                  **{f"{g:02d}": 6.7 for g in range(1, 12)}, "12": 6.3}
_CUMULATIVE = list(itertools.accumulate(_GRADE_WEIGHTS[g] for g in GRADES))

_FIRST = ("Ava", "Liam", "Emma", "Noah", "Olivia", "Elijah", "Amina", "Mohamed", "Sofia", "Mateo", "Mai", "Tou",
          "Hodan", "Abdi", "Grace", "Henry", "Nora", "Owen", "Isla", "Leo", "Evelyn", "Ezra", "Lucia", "Kai")
_LAST = ("Johnson", "Anderson", "Nelson", "Olson", "Peterson", "Larson", "Xiong", "Vang", "Yang", "Ali", "Hassan",
         "Garcia", "Hernandez", "Nguyen", "Smith", "Lee", "Thao", "Lor", "Mohamud", "Schmidt", "Miller", "Kowalski")
_DISTRICTS = ("ISD 0011", "ISD 0196", "ISD 0279", "ISD 0625", "ISD 0709", "ISD 0535", "ISD 0742", "ISD 0281")


def _months(n: float) -> int:
    return round(n * 30.4375)


def _years(n: float) -> int:
    return round(n * 365.25)


# ---- schedule templates -----------------------------------------------------------------------


@attrs.frozen
class _Event:
    """One planned dose: at an age in [low, high] days, and at least ``gap`` days after event ``after``."""

    cvx: str  # "PCV" and "MEN" pick the brand of the dose's date
    mvx: str | None
    low: int
    high: int
    after: int = -1
    gap: tuple[int, int] = (0, 0)
    groups: tuple[str, ...] = ()


class _Plan:
    def __init__(self):
        self.events: list[_Event] = []

    def add(self, cvx, low=0, high=0, after=-1, gap=(0, 0), mvx=None, same=None) -> int:
        if same is not None:  # the same visit as another dose
            low = high = 0
            after, gap = same, (0, 0)
        groups = ("PCV",) if cvx == "PCV" else ("MenACWY",) if cvx == "MEN" else PRODUCTS[(cvx, mvx)][2]
        self.events.append(_Event(cvx, mvx, low, high, after, gap, groups))
        return len(self.events) - 1


def _templates() -> list[tuple[str, tuple[_Event, ...]]]:
    """Every combination of infant plan x MMR/varicella choices, as (name, events)."""
    m2, m4, m6 = (_months(2), _months(2) + 14), (_months(4), _months(4) + 18), (_months(6), _months(6) + 30)
    m12_15, m15_18, y4_6 = (_months(12), _months(15)), (_months(15), _months(18)), (_years(4), _years(4) + _months(14))
    templates = []
    for infant, first_mmr, second_mmr in itertools.product(
            ("single", "pediarix", "pentacel", "vaxelis", "single_adult_hepb"), ("separate", "mmrv"), ("separate", "mmrv")):
        plan = _Plan()
        add = plan.add
        if infant in ("single", "single_adult_hepb"):
            if infant == "single":
                h1 = add("08", 0, 3)
                h2 = add("08", _months(1), _months(2), after=h1, gap=(28, 35))
                add("08", _months(6), _months(18), after=h2, gap=(56, 70))
            v2 = d1 = add("20", *m2)
            v4 = d2 = add("20", *m4, after=d1, gap=(28, 35))
            v6 = d3 = add("20", *m6, after=d2, gap=(28, 35))
            d4 = add("20", *m15_18, after=d3, gap=(183, 200))
            kinder = add("20", *y4_6, after=d4, gap=(183, 200))
            add("10", same=d1)
            p2 = add("10", same=d2)
            add("10", _months(6), _months(18), after=p2, gap=(28, 60))
            add("10", same=kinder)
            add("48", same=d1)
            add("48", same=d2)
            hib3 = add("48", same=d3)
            add("48", *m12_15, after=hib3, gap=(56, 70))
            if infant == "single_adult_hepb":  # a late HepB start: the 2-dose adolescent series
                a1 = add("43", _years(11), _years(15), mvx="MSD")
                add("43", after=a1, gap=(122, 200), mvx="MSD")
        elif infant == "pediarix":
            add("08", 0, 3)
            v2 = c1 = add("110", *m2)
            v4 = c2 = add("110", *m4, after=c1, gap=(28, 35))
            v6 = c3 = add("110", *m6, after=c2, gap=(28, 35))
            add("49", same=c1)
            hib2 = add("49", same=c2)
            add("49", *m12_15, after=hib2, gap=(56, 70))
            d4 = add("20", *m15_18, after=c3, gap=(183, 200))
            kinder = add("130", *y4_6, after=d4, gap=(183, 200), mvx="SKB")
        elif infant == "pentacel":
            h1 = add("08", 0, 3)
            h2 = add("08", _months(1), _months(2), after=h1, gap=(28, 35))
            v2 = c1 = add("120", *m2)
            v4 = c2 = add("120", *m4, after=c1, gap=(28, 35))
            v6 = c3 = add("120", *m6, after=c2, gap=(28, 35))
            add("08", _months(6), _months(18), after=h2, gap=(56, 70))
            c4 = add("120", *m15_18, after=c3, gap=(183, 200))
            kinder = add("130", *y4_6, after=c4, gap=(183, 200), mvx="PMC")
        else:  # vaxelis
            add("08", 0, 3)
            v2 = c1 = add("146", *m2)
            v4 = c2 = add("146", *m4, after=c1, gap=(28, 35))
            v6 = c3 = add("146", *m6, after=c2, gap=(28, 35))
            add("48", *m12_15, after=c3, gap=(56, 70))
            d4 = add("20", *m15_18, after=c3, gap=(183, 200))
            kinder = add("130", *y4_6, after=d4, gap=(183, 200), mvx="SKB")
        add("PCV", same=v2)
        add("PCV", same=v4)
        pcv3 = add("PCV", same=v6)
        add("PCV", *m12_15, after=pcv3, gap=(56, 70))
        if first_mmr == "mmrv":
            mmr1 = add("94", *m12_15)
        else:
            mmr1 = add("03", *m12_15)
            add("21", same=mmr1)
        if second_mmr == "mmrv":
            add("94", same=kinder)
        else:
            add("03", same=kinder)
            add("21", same=kinder)
        hepa = add("83", _months(12), _months(23))
        add("83", after=hepa, gap=(183, 365))
        tdap = add("115", _years(11), _years(12.5))
        men = add("MEN", same=tdap)
        add("MEN", _years(16), _years(16.8), after=men, gap=(56, 70))
        templates.append((f"{infant}/{first_mmr}/{second_mmr}", tuple(plan.events)))
    return templates


TEMPLATES = _templates()
_INFANT_WEIGHTS = {"single": 20, "pediarix": 35, "pentacel": 25, "vaxelis": 19, "single_adult_hepb": 1}
_TEMPLATE_CUMULATIVE = list(itertools.accumulate(
    _INFANT_WEIGHTS[name.split("/")[0]] * (1 if "/mmrv/" in name else 9) * (4 if name.endswith("/mmrv") else 6)
    for name, _ in TEMPLATES))
# (low, span, after, gap low, gap span) per event: what _ages draws from, precomputed
_TIMING = [tuple((e.low, e.high - e.low + 1 if e.high else 0, e.after, e.gap[0], e.gap[1] - e.gap[0] + 1 if e.gap[1] else 0)
                 for e in events) for _, events in TEMPLATES]
# The 4-month visit's DTaP-containing dose, which a "wrong_vaccine" student gets as Tdap instead
_SECOND_INFANT_DTAP = [[i for i, e in enumerate(events) if "DTaP" in e.groups][1] for _, events in TEMPLATES]
_SEPARATE_MMR = [i for i, (name, _) in enumerate(TEMPLATES) if name.endswith("/separate/separate") and "adult" not in name]

# What happens to a student's history, with its share (the rest are on time).
_BEHAVIOURS = (("late", 0.12), ("missing", 0.08), ("invalid", 0.03), ("refuser", 0.025), ("selective", 0.01),
               ("medical", 0.003), ("lab_immunity", 0.002), ("disease_history", 0.004), ("wrong_vaccine", 0.003))
_BEHAVIOUR_CUMULATIVE = list(itertools.accumulate(share for _, share in _BEHAVIOURS))

_PCV15, _PCV20 = date(2022, 7, 1).toordinal(), date(2023, 6, 1).toordinal()
_MENQUADFI = date(2020, 9, 1).toordinal()


@attrs.frozen
class SynthSummary:
    students: int
    doses: int
    exemptions: int
    files: tuple[str, ...]


def synthesize(out_dir, students: int, seed: int = 0, as_of: date = DEFAULT_AS_OF) -> SynthSummary:
    """Write students.csv, doses.csv and exemptions.csv for ``students`` students into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    population = _Population(rng, as_of)
    width = max(7, len(str(students)))
    files = [out / "students.csv", out / "doses.csv", out / "exemptions.csv"]
    counts = [0, 0, 0]
    with files[0].open("w", newline="", encoding="utf-8") as s_file, \
            files[1].open("w", newline="", encoding="utf-8") as d_file, \
            files[2].open("w", newline="", encoding="utf-8") as e_file:
        writers = [csv.writer(f, lineterminator="\n") for f in (s_file, d_file, e_file)]
        writers[0].writerow(("student_id", "birth_date", "grade", "first_name", "last_name", "school", "district"))
        writers[1].writerow(("student_id", "date", "cvx", "mvx"))
        writers[2].writerow(("student_id", "vaccine", "kind", "date"))
        buffers: list[list] = [[], [], []]
        for number in range(1, students + 1):
            student, doses, exemptions = population.student(f"S{number:0{width}d}")
            buffers[0].append(student)
            buffers[1].extend(doses)
            buffers[2].extend(exemptions)
            if number % 5000 == 0:
                _flush(writers, buffers, counts)
        _flush(writers, buffers, counts)
    return SynthSummary(counts[0], counts[1], counts[2], tuple(str(f) for f in files))


def _flush(writers, buffers, counts) -> None:
    for index, (writer, rows) in enumerate(zip(writers, buffers)):
        writer.writerows(rows)
        counts[index] += len(rows)
        rows.clear()


class _Population:
    def __init__(self, rng: random.Random, as_of: date):
        self.rng = rng
        self.as_of = as_of.toordinal()
        # the school year the as-of date falls in starts in year self.year
        self.year = as_of.year if as_of.month >= 7 else as_of.year - 1
        # every date a file can hold, as text, by ordinal - first_day: formatted once, not per row
        self.first_day = as_of.toordinal() - _years(40)
        self.iso = [date.fromordinal(day).isoformat() for day in range(self.first_day, self.as_of + 1)]

    def _iso(self, ordinal: int) -> str:
        return self.iso[ordinal - self.first_day]

    def _birth(self, grade: str) -> int:
        """A birth date that fits the grade: kindergarten is 5 years old by September 1."""
        rng, year = self.rng, self.year
        if grade == "":  # licensed child care: 6 weeks to 5 years old
            return rng.randint(self.as_of - _years(5) + 1, self.as_of - 42)
        if grade in ("EC", "PS", "EE") or grade[0] == "R":
            older, younger = 5, 3  # 3 or 4 years old on September 1
        elif grade[0] == "P":
            older, younger = 5, 4  # pre-kindergarten: 4 on September 1
        else:
            level = 0 if grade == "KG" else int(grade)
            shift = rng.random()
            level += 1 if shift < 0.025 else -1 if shift < 0.03 else 0  # held back / started early
            older, younger = 6 + level, 5 + level
        first = date(year - older, 9, 2).toordinal()
        last = date(year - younger, 9, 1).toordinal()
        return rng.randint(first, min(last, self.as_of - 42))

    def student(self, student_id: str):
        rng = self.rng
        grade = GRADES[bisect(_CUMULATIVE, rng.random() * _CUMULATIVE[-1])]
        birth = self._birth(grade)
        school = self._school(grade)
        student = (student_id, self._iso(birth), grade, rng.choice(_FIRST), rng.choice(_LAST), school,
                   _DISTRICTS[int(school.rsplit(" ", 1)[1]) % len(_DISTRICTS)])
        draw = rng.random()
        behaviour = _BEHAVIOURS[bisect(_BEHAVIOUR_CUMULATIVE, draw)][0] if draw < _BEHAVIOUR_CUMULATIVE[-1] else "on_time"
        exempt: list[tuple[str, str]] = []  # (group, kind)
        if behaviour in ("medical", "lab_immunity", "disease_history", "selective"):
            template = _SEPARATE_MMR[rng.randrange(len(_SEPARATE_MMR))]  # single-antigen MMR and varicella
        else:
            template = bisect(_TEMPLATE_CUMULATIVE, rng.random() * _TEMPLATE_CUMULATIVE[-1])
        events = TEMPLATES[template][1]
        ages = self._ages(template)
        dropped: set[int] = set()
        swapped: dict[int, str] = {}  # event -> the CVX code given instead
        if behaviour == "late":
            start, delay = ages[rng.randrange(len(ages))], rng.randint(60, 540)
            ages = [age + delay if age >= start else age for age in ages]
        elif behaviour == "missing":
            dropped.update(rng.randrange(len(events)) for _ in range(rng.randint(1, 3)))
        elif behaviour == "invalid":
            ages = self._invalid(events, ages)
        elif behaviour == "refuser":
            exempt = [(group, "conscientious") for group in self._required(grade, birth)]
            dropped.update(range(len(events)))
            if rng.random() < 0.5 and events[0].cvx == "08":
                dropped.discard(0)  # the hospital's birth dose of hepatitis B
        else:
            group = {"selective": ("MMR", "Varicella"), "medical": (rng.choice(("MMR", "Varicella")),),
                     "lab_immunity": (rng.choice(("HepB", "MMR", "Varicella")),),
                     "disease_history": ("Varicella",)}.get(behaviour, ())
            kind = "conscientious" if behaviour == "selective" else behaviour
            exempt = [(g, kind) for g in group]
            if group:  # no doses of the single-antigen products of the exempt groups
                dropped.update(i for i, event in enumerate(events) if event.groups in [(g,) for g in group])
            if behaviour == "wrong_vaccine":  # here, after the draws above, so other students stay as they were
                swapped[_SECOND_INFANT_DTAP[template]] = "115"
        doses = self._doses(student_id, birth, events, ages, dropped, swapped)
        signed = self._exemption_date(birth) if exempt else ""  # one form for all its groups
        exemptions = [(student_id, group, kind, signed) for group, kind in exempt]
        return student, doses, exemptions

    def _ages(self, template: int) -> list[int]:
        """Each planned dose's age in days; ``random()`` scaled by hand, as ``randint`` costs 10 times more."""
        random, ages = self.rng.random, []
        for low, span, after, gap_low, gap_span in _TIMING[template]:
            age = low + int(random() * span) if span else low
            if after >= 0:
                earliest = ages[after] + gap_low + (int(random() * gap_span) if gap_span else 0)
                if earliest > age:
                    age = earliest
            ages.append(age)
        return ages

    def _invalid(self, events, ages) -> list[int]:
        """One dose too soon after the one it follows, or a live first dose before 12 months."""
        rng, ages = self.rng, list(ages)
        if rng.random() < 0.5:
            spaced = [i for i, e in enumerate(events) if e.after >= 0 and e.gap[1] > 0]
            i = spaced[rng.randrange(len(spaced))]
            ages[i] = ages[events[i].after] + rng.randint(7, 20)
        else:
            first_live = [i for i, e in enumerate(events) if e.cvx in ("03", "94", "83") and e.after < 0]
            i = first_live[rng.randrange(len(first_live))]
            ages[i] = rng.randint(_months(9), _months(11.5))
            for j, e in enumerate(events):  # the same visit moves with it
                if e.after == i and e.gap == (0, 0) and e.high == 0:
                    ages[j] = ages[i]
        return ages

    def _doses(self, student_id, birth, events, ages, dropped, swapped) -> list[tuple]:
        rng, last, iso, base = self.rng, self.as_of, self.iso, self.first_day
        pcv_brand, men_brand = rng.random(), rng.random()
        rows = []
        for index, event in enumerate(events):
            when = birth + ages[index]
            if when > last or (dropped and index in dropped):
                continue
            cvx, mvx = swapped.get(index, event.cvx), "" if index in swapped else event.mvx or ""
            if cvx == "PCV":
                cvx = "133" if when < _PCV15 else "215" if when < _PCV20 or pcv_brand < 0.4 else "216"
            elif cvx == "MEN":
                cvx = ("114" if men_brand < 0.5 else "136") if when < _MENQUADFI else ("136" if men_brand < 0.6 else "203")
            rows.append((when, index, cvx, mvx))
        rows.sort()
        return [(student_id, iso[when - base], cvx, mvx) for when, _, cvx, mvx in rows]

    def _required(self, grade: str, birth: int) -> list[str]:
        """The groups a conscientious objector files for: those required at this grade and age."""
        groups = ["HepB", "DTaP", "Polio", "MMR", "Varicella"]
        if grade in ("", *EARLY_CHILDHOOD):
            groups += ["Hib", "PCV", "HepA"] if self.as_of - birth < _years(5) else []
        elif grade not in ("KG", "01", "02", "03", "04", "05", "06"):
            groups += ["Tdap", "MenACWY"]
        return groups

    def _exemption_date(self, birth: int) -> str:
        rng = self.rng
        if rng.random() < 0.25:
            return ""  # the date is optional, and often not recorded
        low = min(birth + 365, self.as_of)
        return self._iso(rng.randint(low, min(birth + _years(5) + 200, self.as_of)))

    def _school(self, grade: str) -> str:
        rng = self.rng
        if grade == "":
            return f"Child Care Center {rng.randint(1, 60)}"
        if grade in EARLY_CHILDHOOD or grade in ("KG", "01", "02", "03", "04", "05"):
            return f"Elementary {rng.randint(1, 40)}"
        return f"Middle School {rng.randint(1, 16)}" if grade in ("06", "07", "08") else f"High School {rng.randint(1, 12)}"


def declarations() -> str:
    """Ruleset text declaring what the synthetic files use (products, vaccine groups, grades) and
    nothing else: enough to load them with no bad rows, e.g. in tests."""
    lines = ['ruleset "synthetic population declarations" {', '  jurisdiction "none"', '  version "1"', "}", "grades {"]
    lines += [f'  {code} "{code}"' for code in GRADES if code]
    lines.append("}")
    for (cvx, mvx), (product_id, name, groups) in PRODUCTS.items():
        manufacturer = f" mvx {mvx}" if mvx else ""
        lines.append(f'product {product_id} cvx {cvx}{manufacturer} "{name}" counts {", ".join(groups)}')
    lines += [f"vaccine {group} {{ }}" for group in VACCINES]
    return "\n".join(lines) + "\n"
