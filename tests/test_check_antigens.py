"""Antigens: a group walks either its own series or its antigens, each antigen named once, and every
product of the group named by some antigen (docs/checks.md E227, E228, W214)."""

from vaxdsl.checker import check
from vaxdsl.loader import load_text

PRODUCTS = "product MMR cvx 3 counts MMR\nproduct Measles cvx 5 counts MMR\nproduct Mumps cvx 7 counts MMR\n"


def codes(body):
    text = PRODUCTS + "vaccine MMR {\n" + body + "  otherwise compliant\n}\n"
    return [(d.code, d.line, d.column) for d in check(load_text(text, "t.vax"))]


def test_well_formed_antigens():
    body = ("  antigen Measles of MMR, Measles { series { dose 1 { } } }\n"
            "  antigen Mumps of MMR, Mumps { series { dose 1 { } } }\n")
    assert codes(body) == []


def test_a_series_beside_antigens():
    body = "  series { dose 1 { } }\n  antigen Measles of MMR, Measles, Mumps { series { dose 1 { } } }\n"
    assert codes(body) == [("E227", 5, 3)]


def test_two_antigens_with_one_name():
    body = ("  antigen Measles of MMR, Measles { series { dose 1 { } } }\n"
            "  antigen Measles of Mumps { series { dose 1 { } } }\n")
    assert codes(body) == [("E228", 6, 11)]


def test_a_product_no_antigen_names():
    assert codes("  antigen Measles of MMR, Measles { series { dose 1 { } } }\n") == [("W214", 4, 1)]


def test_antigen_products_are_checked_like_other_product_lists():
    body = ("  antigen Measles of MMR, Measles, Mesles { series { dose 1 { } } }\n"
            "  antigen Mumps of MMR, Mumps, Mumps { series { dose 1 { } } }\n")
    assert codes(body) == [("E202", 5, 36), ("W206", 6, 32)]


def test_the_series_of_an_antigen_are_named_when_there_are_several():
    body = ("  antigen Measles of MMR, Measles, Mumps {\n"
            "    series { dose 1 { } }\n"
            "    series \"two\" { dose 1 { } dose 2 { } }\n"
            "  }\n")
    assert codes(body) == [("E225", 6, 5)]


def test_dose_numbers_beyond_the_shortest_antigen_never_exist():
    body = ("  antigen Measles of MMR, Measles { series { dose 1 { } dose 2 { } } }\n"
            "  antigen Mumps of MMR, Mumps { series { dose 1 { } } }\n"
            "  rule \"r\" => compliant when dose 2 at age >= 4 years\n")
    assert codes(body) == [("W205", 7, 30)]
