"""The facts a ruleset is evaluated over, as plain records.

Both engines see the same facts: the reference interpreter takes these records for one student;
the SQL engine reads the same fields from a fact database with this schema::

    students(student_id TEXT PRIMARY KEY, birth_date TEXT, grade TEXT NULL, attributes TEXT)  -- JSON
    doses(dose_id INTEGER PRIMARY KEY, student_id TEXT, date TEXT, cvx INTEGER,
          mvx TEXT NULL, product_name TEXT NULL, source TEXT, row INTEGER)
    exemptions(student_id TEXT, vaccine TEXT, kind TEXT, date TEXT NULL, source TEXT, row INTEGER)
    -- indexes: doses(student_id, date, dose_id, cvx, mvx, product_name), exemptions(student_id)

Dates are ISO ``YYYY-MM-DD`` text; ``cvx`` is the CVX code as a number (leading zeros dropped);
``source`` and ``row`` are the fact file and line a row came from. :mod:`vaxdsl.factdb` writes and
reads this database (docs/facts.md).
A dose's product is resolved against the ruleset at evaluation time (see
:func:`resolve_product`), so one fact database serves every ruleset.
"""

from __future__ import annotations

from datetime import date

import attrs

from . import ast


@attrs.frozen
class Student:
    id: str
    birth_date: date
    grade: str | None = None
    attributes: dict = attrs.field(factory=dict, eq=False, hash=False)


@attrs.frozen
class Dose:
    id: int
    student_id: str
    date: date
    cvx: int
    mvx: str | None = None
    product_name: str | None = None


@attrs.frozen
class Exemption:
    student_id: str
    vaccine: str
    kind: str
    date: date | None = None


def resolve_product(dose: Dose, products: list[ast.Product]) -> ast.Product | None:
    """The declared product a dose row stands for (docs/semantics.md, "Facts"), or None.

    >>> generic = ast.Product("HepB_adult", "43", ("HepB",))
    >>> two_dose = ast.Product("HepB_2dose", "43", ("HepB",), "Recombivax HB", mvx="MSD")
    >>> resolve_product(Dose(1, "s", date(2020, 1, 1), 43), [generic, two_dose]).id
    'HepB_adult'
    >>> resolve_product(Dose(1, "s", date(2020, 1, 1), 43, mvx="MSD"), [generic, two_dose]).id
    'HepB_2dose'
    >>> resolve_product(Dose(1, "s", date(2020, 1, 1), 43, product_name="Recombivax HB"), [generic, two_dose]).id
    'HepB_2dose'
    """
    if dose.product_name:
        wanted = dose.product_name.casefold()
        for product in products:
            if wanted in (product.id.casefold(), product.name.casefold()):
                return product
        return None
    same_code = [p for p in products if ast.cvx_key(p.cvx) == dose.cvx]
    if dose.mvx:
        for product in same_code:
            if product.mvx and product.mvx.casefold() == dose.mvx.casefold():
                return product
    for product in same_code:
        if product.mvx is None:
            return product
    return None
