"""The two engines agree on Datalog no one wrote: random derived predicates over every built-in
relation (``student``, ``birth``, ``grade``, ``dose``, ``counts``, ``live``, ``exemption``, ``valid``,
``invalid``, ``as_of``) with joins, constants, wildcards, comparisons of dates shifted by durations,
negation, counting and recursion, each calling only earlier ones (so the program is stratified), and
called from rule conditions and from a series' ``reject``. Each is evaluated on a random population
(test_engines_agree).

The SQL engine compiles a predicate in several ways (docs/performance.md, "How the SQL is
organised"): inlined as a correlated ``EXISTS`` when only rule conditions call it, a table stratum by
stratum when a ``reject`` calls it, read off the main statement's walk when it only tests a group's
valid doses, and with ``valid`` read from the fast path of the groups it names. The hand-written
rulesets of test_engines_agree reach each of these once or twice; these reach them in combinations.
``VAXDSL_AGREE_EXAMPLES`` scales the number of examples as there.
"""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from vaxdsl.checker import check
from vaxdsl.loader import load_text

from test_engines_agree import assert_agree, populations
from test_engines_agree_random_rules import PROPERTY

# the type of each argument: Student, Dose, daTe, Product, Vaccine group, Number, exemption Kind,
# Reason, Grade code
SIGNATURES = {
    "student": "S",
    "birth": "ST",
    "grade": "SG",
    "dose": "SDTP",
    "counts": "PV",
    "live": "P",
    "exemption": "SVK",
    "valid": "SVDN",
    "invalid": "SVDR",
    "as_of": "T",
}
CONSTANTS = {
    "P": ["A1", "A2", "Combo", "B1", "MMR"],
    "V": ["Alpha", "Beta"],
    "N": ["1", "2", "3"],
    "K": ["medical", "conscientious", "lab_immunity", "disease_history"],
    "R": ["too_young", "too_soon", "too_old", "live_virus_conflict", "not_allowable", "extraneous"],
    "G": ['"KG"', '"07"', '"PK"'],
    "T": ["2015-06-01", "2020-01-01"],
}
SHIFTS = ["28 days", "4 months", "2 years", "1 year + 6 months"]
ORDERED = {"T", "N", "D"}  # types compared with < and >=; the others only with = and !=

BASE = '''
settings { tolerance 3 days }
grades {
  PK "Pre-K"  KG "Kindergarten"  07 "Grade 7"
}
product A1 cvx 10 "Alpha" counts Alpha
product A2 cvx 11 "Alpha Two" counts Alpha
product Combo cvx 12 "Combo" counts Alpha, Beta
product B1 cvx 20 "Beta" counts Beta
product MMR cvx 3 "MMR" live counts Beta

%(predicates)s

vaccine Alpha {
  series {
    dose 1 { min age 6 weeks - 4 days }
    dose 2 { min age 10 weeks - 4 days  min interval 4 weeks - 4 days }
    dose 3 { min age 4 years - 4 days  min interval 6 months - 4 days }
    %(reject)s
  }
%(alpha_rules)s
  otherwise non_compliant
}

vaccine Beta {
  series {
    dose 1 { min age 12 months - 4 days }
    dose 2 { min age 13 months - 4 days  min interval 4 weeks - 4 days }
  }
%(beta_rules)s
  otherwise no_requirement
}
'''


class Clause:
    """One clause being drawn: its variables and their types, and its literals."""

    def __init__(self, draw, prefix: str = ""):
        self.draw = draw
        self.prefix = prefix  # a count's own variables get one: none of them may occur outside it (E234)
        self.types: dict[str, str] = {}
        self.literals: list[str] = []

    def variable(self, kind: str) -> str:
        name = f"{self.prefix}{kind}{len(self.types) + 1}"
        self.types[name] = kind
        return name

    def bound(self, kind: str) -> list[str]:
        return [name for name, t in self.types.items() if t == kind]

    def term(self, kind: str, fresh: bool = True, wildcard: bool = True) -> str:
        """A bound variable of the type, a new one (``fresh``), a constant or ``_``."""
        options = [lambda: self.draw(st.sampled_from(self.bound(kind)))] * 2 if self.bound(kind) else []
        if fresh:
            options += [lambda: self.variable(kind)] * (3 if kind == "T" else 2)  # dates to compare
        if kind in CONSTANTS:
            options.append(lambda: self.draw(st.sampled_from(CONSTANTS[kind])))
        if wildcard:
            options.append(lambda: "_")
        return self.draw(st.sampled_from(options))()

    def atom(self, relation: str, signature: str, fresh: bool = True) -> str:
        args = [self.draw(st.sampled_from(self.bound("S"))) if kind == "S" else self.term(kind, fresh)
                for kind in signature]
        return f"{relation}({', '.join(args)})"

    def comparison(self, kinds: str = "TNDPV") -> str | None:
        kinds = [kind for kind in kinds if self.bound(kind)]
        if not kinds:
            return None
        kind = self.draw(st.sampled_from(kinds))
        ops = ["<", "<=", ">", ">=", "=", "!="] if kind in ORDERED else ["=", "!="]
        left = self.draw(st.sampled_from(self.bound(kind)))
        right = self.term(kind, fresh=False, wildcard=False)
        if kind == "T" and self.draw(st.booleans()):
            right = f"{right} {self.draw(st.sampled_from('+-'))} {self.draw(st.sampled_from(SHIFTS))}"
        return f"{left} {self.draw(st.sampled_from(ops))} {right}"

    def count(self, relation: str, signature: str) -> str | None:
        """``count { X : relation(...) } OP n`` with X at the first position of its type, the student
        bound from outside and the other arguments bound, new to the count, constants or ``_``."""
        kind = {"dose": "D", "valid": "D", "invalid": "D", "exemption": "V", "birth": "T"}.get(relation, signature[-1])
        if kind == "S":
            return None
        inner = Clause(self.draw, prefix="C")
        inner.types = dict(self.types)
        counted = inner.variable(kind)
        at = signature.index(kind)
        args = [self.bound("S")[0] if k == "S" else counted if i == at else inner.term(k)
                for i, k in enumerate(signature)]
        op = self.draw(st.sampled_from(["<", ">=", "=", "!="]))
        return f"count {{ {counted} : {relation}({', '.join(args)}) }} {op} {self.draw(st.integers(0, 3))}"


@st.composite
def clause_text(draw, head: str, signature: str, earlier: dict[str, str], recursive: bool) -> str:
    """``head(S[, D]) :- ...`` over the built-in relations and the ``earlier`` predicates; ``recursive``:
    the first literal calls ``head`` itself."""
    clause = Clause(draw)
    student = clause.variable("S")
    known = {**SIGNATURES, **earlier}
    with_student = [name for name, sig in known.items() if "S" in sig]
    if recursive:
        clause.literals.append(f"{head}({student}, {clause.variable('D')})")
    else:
        first = draw(st.sampled_from(with_student))
        clause.literals.append(clause.atom(first, known[first]))
    for _ in range(draw(st.integers(0, 3))):
        choice = draw(st.sampled_from(["atom", "atom", "comparison", "negation", "count"]))
        if choice == "atom":
            name = draw(st.sampled_from(sorted(known)))
            clause.literals.append(clause.atom(name, known[name]))
        elif choice == "comparison":
            text = clause.comparison()
            if text:
                clause.literals.append(text)
        elif choice == "negation":
            name = draw(st.sampled_from([n for n in sorted(known) if n != head]))
            clause.literals.append("not " + clause.atom(name, known[name], fresh=False))
        else:
            name = draw(st.sampled_from([n for n in with_student if n != head]))
            text = clause.count(name, known[name])
            if text:
                clause.literals.append(text)
    if draw(st.booleans()):  # dates against dates shifted by durations: the most intricate SQL
        text = clause.comparison("T")
        if text:
            clause.literals.append(text)
    if signature == "SD":
        doses = clause.bound("D")
        if not doses:
            dose = clause.variable("D")
            clause.literals.append(f"dose({student}, {dose}, _, _)")
            doses = [dose]
        head_args = f"{student}, {draw(st.sampled_from(doses))}"
    else:
        head_args = student
    return f"predicate {head}({head_args}) :- {', '.join(clause.literals)}."


@st.composite
def rulesets_with_random_predicates(draw):
    earlier: dict[str, str] = {}
    clauses = []
    walking: set[str] = {"valid", "invalid"}  # what reads the walk: a reject may not call it (E232)
    for number in range(1, draw(st.integers(1, 4)) + 1):
        name = f"p{number}"
        signature = draw(st.sampled_from(["S", "S", "SD"]))
        own = [draw(clause_text(name, signature, earlier, recursive=False))]
        if signature == "SD" and draw(st.booleans()):  # a second clause: recursion through itself
            earlier_and_self = {**earlier, name: signature}
            own.append(draw(clause_text(name, signature, earlier_and_self, recursive=True)))
        if any(f"{relation}(" in clause.split(":-")[1] for clause in own for relation in walking):
            walking.add(name)
        clauses += own
        earlier[name] = signature

    def calls() -> str:
        called = [f"{'not ' if draw(st.booleans()) else ''}{name}(student)" for name, sig in earlier.items()
                  if sig == "S" and draw(st.booleans())]
        return " and ".join(called)

    def rules(group: str) -> str:
        lines = []
        for number in range(1, draw(st.integers(1, 3)) + 1):
            condition = calls()
            outcome = draw(st.sampled_from(["compliant", "in_process", "non_compliant"]))
            lines.append(f'  rule "{group} {number}" => {outcome}' + (f" when {condition}" if condition else ""))
        return "\n".join(lines)

    rejecting = [name for name, sig in earlier.items() if sig == "SD" and name not in walking]
    reject = ""
    if rejecting and draw(st.booleans()):
        reason = draw(st.sampled_from(CONSTANTS["R"]))
        reject = f"reject {reason} when {draw(st.sampled_from(rejecting))}(student, dose)"
    text = BASE % {"predicates": "\n".join(clauses), "reject": reject,
                   "alpha_rules": rules("Alpha"), "beta_rules": rules("Beta")}
    loaded = load_text(text)
    assume(not any(diagnostic.is_error for diagnostic in check(loaded)))
    return loaded.ruleset


@PROPERTY
@given(st.data())
def test_random_predicates_agree(data):
    ruleset = data.draw(rulesets_with_random_predicates())
    assert_agree(ruleset, *data.draw(populations(ruleset)))
