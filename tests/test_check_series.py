"""Series: doses numbered 1..n, intervals counted from earlier doses, requirements no date can meet."""

from vaxdsl.checker import check
from vaxdsl.loader import load_text


def codes(series):
    text = "product P cvx 1 counts V\nvaccine V {\n  series {\n" + series + "  }\n  otherwise compliant\n}\n"
    return [(d.code, d.line, d.column) for d in check(load_text(text, "t.vax"))]


def test_well_formed_series():
    series = (
        "    dose 1 { min age 6 weeks - 4 days allow P before age 7 years }\n"
        "    dose 2 { min age 10 weeks - 4 days min interval 4 weeks - 4 days }\n"
        "    dose 3 { min interval 6 months - 4 days from dose 1 max age 19 years }\n"
    )
    assert codes(series) == []


def test_gap_in_dose_numbers():
    assert codes("    dose 1 { }\n    dose 3 { }\n") == [("E222", 5, 5)]


def test_doses_out_of_order():
    assert codes("    dose 2 { }\n    dose 1 { }\n") == [("E222", 4, 5)]


def test_interval_from_the_same_or_a_later_dose():
    assert codes("    dose 1 { }\n    dose 2 { min interval 4 weeks from dose 2 }\n") == [("E223", 5, 40)]
    assert codes("    dose 1 { }\n    dose 2 { min interval 4 weeks from dose 3 }\n") == [("E223", 5, 40)]


def test_interval_on_dose_1():
    # it counts from an earlier dose too young for dose 1 or of a product it does not allow: none can
    # be without a minimum age or an allow line
    assert codes("    dose 1 { min interval 4 weeks }\n") == [("W209", 4, 14)]
    assert codes("    dose 1 { min age 12 months  min interval 4 weeks }\n") == []
    assert codes("    dose 1 { min interval 4 weeks  allow P before age 7 years }\n") == []
    assert codes("    dose 1 { min interval 4 weeks from first dose }\n") == [("E223", 4, 40)]


def test_dose_whose_max_age_is_not_after_its_min_age():
    assert codes("    dose 1 { min age 4 years max age 48 months }\n") == [("W211", 4, 5)]
    assert codes("    dose 1 { min age 4 years max age 4 years + 1 day }\n") == []


def test_allow_window_that_is_empty():
    assert codes("    dose 1 { allow P from age 2 years before age 1 year }\n") == [("W211", 4, 14)]


def checked(text):
    return [(d.code, d.line, d.column) for d in check(load_text(text, "t.vax"))]


def test_several_series_need_distinct_names():
    assert checked('vaccine V {\n  series { dose 1 {} }\n  series "b" { dose 1 {} }\n  otherwise compliant\n}\n') \
        == [("E225", 2, 3)]
    assert checked('vaccine V {\n  series "a" { dose 1 {} }\n  series "a" { dose 1 {} }\n  otherwise compliant\n}\n') \
        == [("E225", 3, 3)]


def test_named_series_and_a_start_window_are_fine():
    assert checked('product P cvx 1 counts V\nvaccine V {\n  series "usual" { dose 1 {} }\n  series "late" {\n'
                   '    start from age 7 years before age 19 years\n'
                   '    dose 1 { skip when age >= 18 years and at least 1 dose of P }\n  }\n  otherwise compliant\n}\n'
                   ) == []


def test_a_skip_may_only_read_the_dose_and_the_series_history():
    found = codes("    dose 1 { }\n    dose 2 { skip when effective date >= 2020-01-01 or since last dose > 4 weeks }\n")
    assert found == [("E226", 5, 24)]
    assert codes("    dose 1 { skip when exempt }\n")[0][0] == "E226"


def test_a_skip_names_products_of_the_group():
    assert codes("    dose 1 { skip when at least 1 dose of Q }\n")[0][0] == "E202"


def test_a_start_window_that_never_opens():
    assert codes("    start from age 5 years before age 2 years\n    dose 1 { }\n") == [("W211", 3, 3)]
