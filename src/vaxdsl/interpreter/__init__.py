"""The reference interpreter: one student at a time, explaining every outcome.

It implements docs/semantics.md directly in Python, as plainly as it can, so the SQL compiler has
something to be checked against::

    evaluate_student(ruleset, student, doses, exemptions, as_of) -> StudentEvaluation
    explain_text(evaluation, ruleset, student, as_of) -> str

Modules, in the order evaluation uses them: :mod:`.student_facts` (the facts on the effective date),
:mod:`.datalog`, :mod:`.strata`, :mod:`.fixpoint` and :mod:`.values` (derived predicates),
:mod:`.series` (dose validity), :mod:`.conditions` and :mod:`.tables` (the rule tables),
:mod:`.needs` (what is still missing), :mod:`.wording` and :mod:`.explain` (words).
"""

from .evaluate import evaluate_student
from .explain import explain_text
from .needs import Need, next_needs

__all__ = ["evaluate_student", "explain_text", "Need", "next_needs"]
