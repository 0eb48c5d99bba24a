"""Pass 1 (vaxdsl.compiler.products): the SQL resolution of dose rows to products is exactly
vaxdsl.records.resolve_product, for names (any case, non-ASCII too), MVX codes and plain CVX codes."""

from __future__ import annotations

import sqlite3
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from vaxdsl import ast
from vaxdsl.compiler import products
from vaxdsl.engine import configure
from vaxdsl.loader import load_text
from vaxdsl.records import Dose, resolve_product

DECLARATIONS = """
product HepB_adult cvx 43 "Hep B, adult" counts HepB
product HepB_2dose cvx 43 mvx MSD "Recombivax HB" counts HepB
product HepB_ped cvx 08 "Hep B pédiatrique" counts HepB
product Kinrix cvx 130 mvx SKB "Kinrix" counts DTaP, Polio
product Quadracel cvx 130 mvx PMC "Quadracel" counts DTaP, Polio
product MMR cvx 03 "MMR" live counts MMR
product MMR_again cvx 3 "MMR copy" counts MMR
product Street cvx 77 "Straße" counts Other
product Orphan cvx 88 "Orphan"
vaccine HepB { }
vaccine DTaP { }
vaccine Polio { }
vaccine MMR { }
vaccine Other { }
"""


def _connection(ruleset):
    conn = sqlite3.connect(":memory:")
    configure(conn)
    cat = products.catalog(ruleset)
    for sql in products.setup_statements(cat):
        conn.execute(sql)
    conn.execute("CREATE TABLE d(cvx INTEGER, mvx TEXT, product_name TEXT)")
    return conn, cat


def _resolved(conn, cat, cvx, mvx, name):
    conn.execute("DELETE FROM d")
    conn.execute("INSERT INTO d VALUES (?, ?, ?)", (cvx, mvx, name))
    row = conn.execute(f"SELECT p.id FROM d JOIN vx_resolve r ON r.rkey = {products.resolution_key(cat, 'd')} "
                       f"JOIN vx_product p ON p.pid = r.pid").fetchone()
    return row[0] if row else None


RULESET = load_text(DECLARATIONS, "products.vax").ruleset


def test_examples():
    conn, cat = _connection(RULESET)
    cases = [
        ((43, None, None), "HepB_adult"),
        ((43, "MSD", None), "HepB_2dose"),
        ((43, "msd", None), "HepB_2dose"),
        ((43, "XYZ", None), "HepB_adult"),
        ((43, "", None), "HepB_adult"),
        ((43, None, "recombivax hb"), "HepB_2dose"),
        ((8, None, "RECOMBIVAX HB"), "HepB_2dose"),  # the name wins over the code
        ((43, None, "no such thing"), None),  # an unknown name resolves to nothing
        ((43, None, ""), "HepB_adult"),  # an empty name is no name
        ((130, None, None), None),  # only MVX-specific products with this code
        ((130, "SKB", None), "Kinrix"),
        ((130, "pmc", None), "Quadracel"),
        ((3, None, None), "MMR"),  # the first of two products with the code
        ((8, None, "HEP B PÉDIATRIQUE"), "HepB_ped"),
        ((77, None, "STRASSE"), "Street"),  # casefold, not lower: ß is ss
        ((88, None, None), "Orphan"),
        ((999, None, None), None),
    ]
    for (cvx, mvx, name), expected in cases:
        assert _resolved(conn, cat, cvx, mvx, name) == expected, (cvx, mvx, name)


def test_group_codes_and_map():
    cat = products.catalog(RULESET)
    dtap = cat.group_index("DTaP")
    assert [cat.products[p - 1].id for p in cat.members[dtap]] == ["Kinrix", "Quadracel"]
    assert cat.codes_of(dtap, ["Quadracel", "MMR", "nope"]) == [2]
    conn, cat = _connection(RULESET)
    rows = conn.execute("SELECT rkey, g, pid, pcode FROM vx_map WHERE rkey = 'm:130:skb' ORDER BY g").fetchall()
    assert [(g, pcode) for _, g, _, pcode in rows] == [(dtap, "01"), (cat.group_index("Polio"), "01")]


names = st.sampled_from(["Hep B, adult", "recombivax hb", "KINRIX", "kinrix", "Quadracel", "MMR", "mmr copy",
                         "Straße", "STRASSE", "orphan", "", "unknown", "HepB_2dose", "hepb_ped"])


@settings(max_examples=300, deadline=None)
@given(cvx=st.sampled_from([3, 8, 43, 77, 88, 130, 999]), mvx=st.sampled_from([None, "", "MSD", "msd", "SKB", "PMC",
                                                                            "XYZ", "ß"]),
       name=st.one_of(st.none(), names))
def test_same_as_resolve_product(cvx, mvx, name):
    conn, cat = _connection(RULESET)
    expected = resolve_product(Dose(1, "s", date(2020, 1, 1), cvx, mvx, name), RULESET.products)
    assert _resolved(conn, cat, cvx, mvx, name) == (expected.id if expected else None)


def test_cvx_keys_are_numbers():
    assert ast.cvx_key("03") == 3
    cat = products.catalog(RULESET)
    assert cat.generic[3] == cat.pid["MMR"]


@settings(max_examples=300, deadline=None)
@given(cvx=st.sampled_from([3, 8, 43, 77, 88, 130, 999]), mvx=st.sampled_from([None, "", "MSD", "msd", "SKB", "PMC",
                                                                            "XYZ", "ß"]),
       name=st.one_of(st.none(), names), groups=st.sets(st.sampled_from(["HepB", "DTaP", "Polio", "MMR", "Other"])))
def test_group_prefilter_keeps_every_row_of_the_groups(cvx, mvx, name, groups):
    """A Stage A restricted to some groups tests each row with may_count_toward_sql before computing its
    key: no row that resolves to a product of those groups may fail it (and a CVX code of none of their
    products, without a name, must)."""
    conn, cat = _connection(RULESET)
    indices = sorted(cat.group_index(v) for v in groups)
    conn.execute("INSERT INTO d VALUES (?, ?, ?)", (cvx, mvx, name))
    passes = conn.execute(f"SELECT {products.may_count_toward_sql(cat, indices)} FROM d").fetchone()[0]
    expected = resolve_product(Dose(1, "s", date(2020, 1, 1), cvx, mvx, name), RULESET.products)
    if expected is not None and set(expected.vaccines) & groups:
        assert passes
    if not name and not any(ast.cvx_key(p.cvx) == cvx for v in groups for p in RULESET.products if v in p.vaccines):
        assert not passes
