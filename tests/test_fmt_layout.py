"""The canonical layout: what ``vaxdsl fmt`` makes of a file (no comments here)."""

import textwrap
from datetime import date

import pytest

from vaxdsl import ast
from vaxdsl.formatter import WIDTH, format_ruleset, format_source
from vaxdsl.parser import parse


def fmt(text: str) -> str:
    return format_source(textwrap.dedent(text))


def canonical(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_declarations_in_source_order_separated_by_blank_lines():
    text = 'vaccine A { } ruleset "R" { version "1" } product P cvx 1 counts A extends "minnesota"'
    assert fmt(text) == canonical('''
        vaccine A {}

        ruleset "R" {
          version "1"
        }

        product P cvx 1 counts A

        extends "minnesota"
    ''')


def test_consecutive_products_stay_together():
    text = 'product A cvx 1 counts X\n\n\nproduct B cvx 02 mvx MSD "B b" live counts X, Y\nproduct C cvx 3'
    assert fmt(text) == canonical('''
        product A cvx 1 counts X
        product B cvx 02 mvx MSD "B b" live counts X, Y
        product C cvx 3
    ''')


def test_header_settings_and_grades_one_item_per_line():
    text = '''ruleset "Minnesota" { """Doc.""" version "2025" jurisdiction "MN" }
    settings { exemption medical => exempt tolerance 1 day }
    grades { KG "Kindergarten" 1 "Grade 1" set early "Early" = EC, PA..PB, 7 }'''
    assert fmt(text) == canonical('''
        ruleset "Minnesota" {
          jurisdiction "MN"
          version "2025"
          """Doc."""
        }

        settings {
          tolerance 1 day
          exemption medical => exempt
        }

        grades {
          KG "Kindergarten"
          01 "Grade 1"
          set early "Early" = EC, PA..PB, 07
        }
    ''')


def test_vaccine_items_in_canonical_order_and_rule_items_one_per_line():
    text = '''vaccine MMR "Measles" locked { otherwise non_compliant
      rule "2 doses" => compliant when at least 2 valid doses active from 2022-07-01 to 2026-06-30
        tolerance 0 day """Both."""
      series { reject live_virus_conflict when live_conflict(student, dose) dose 1 { min age 12 months } }
      exemption medical => exempt
      applies when age >= 1 year
      """State rules."""
    }'''
    assert fmt(text) == canonical('''
        vaccine MMR "Measles" locked {
          """State rules."""
          applies when age >= 1 year
          exemption medical => exempt
          series {
            dose 1 { min age 12 months }
            reject live_virus_conflict when live_conflict(student, dose)
          }
          rule "2 doses" => compliant
            """Both."""
            tolerance 0 days
            active from 2022-07-01 to 2026-06-30
            when at least 2 valid doses
          otherwise non_compliant
        }
    ''')


def test_extend_vaccine_and_placement_stay():
    text = ('extends "minnesota"\n'
            'extend vaccine DTaP { rule "Local" => in_process after "Default" active to 2030-01-01 }')
    assert fmt(text) == canonical('''
        extends "minnesota"

        extend vaccine DTaP {
          rule "Local" => in_process after "Default"
            active to 2030-01-01
        }
    ''')


def test_a_rule_that_always_matches_has_no_when():
    assert fmt('vaccine A { rule "Default" => non_compliant when always }') == canonical('''
        vaccine A {
          rule "Default" => non_compliant
        }
    ''')


@pytest.mark.parametrize("written, canonical_text", [
    ("age >= 1 months", "age >= 1 month"),
    ("age >= 2 month", "age >= 2 months"),
    ("age < 1 years + 1 weeks - 1 days", "age < 1 year + 1 week - 1 day"),
    ("age in 0 day .. 4 year", "age in 0 days .. 4 years"),
    ("at least 1 valid doses", "at least 1 valid dose"),
    ("at least 2 valid dose", "at least 2 valid doses"),
    ("exactly 0 dose", "no doses"),
    ("no valid dose of A, B at age 1 year .. 2 years", "no valid doses of A, B at age 1 year .. 2 years"),
    ("fewer than 1 doses at age >= 4 years", "fewer than 1 dose at age >= 4 years"),
    ("at most 3 dose", "at most 3 doses"),
    ("more than 2 valid doses", "more than 2 valid doses"),
    ("grade in 1..5, KG", "grade in 01..05, KG"),
    ("first doses at age >= 4 years", "first dose at age >= 4 years"),
    ("interval from dose 1 to last dose >= 4 week", "interval from dose 1 to last dose >= 4 weeks"),
    ("since last dose < 28 day", "since last dose < 28 days"),
    ("exempt(medical,conscientious)", "exempt (medical, conscientious)"),
    ("effective date = 2024-01-01", "effective date = 2024-01-01"),
    ("p( student ,doses, X, 3, 2020-01-01 )", "p(student, dose, X, 3, 2020-01-01)"),
    ("no grade", "no grade"),
])
def test_conditions_are_spelled_one_way(written, canonical_text):
    out = fmt(f'vaccine A {{ rule "r" => compliant when {written} }}')
    assert out.splitlines()[2] == f"    when {canonical_text}"


@pytest.mark.parametrize("written, canonical_text", [
    ("{a} or {b} or {c}", "{a} or {b} or {c}"),
    ("({a} or {b}) or {c}", "({a} or {b}) or {c}"),
    ("{a} and {b} or {c} and {d}", "({a} and {b}) or ({c} and {d})"),
    ("({a} and {b}) or ({c} and {d})", "({a} and {b}) or ({c} and {d})"),
    ("({a} or {b}) and {c}", "({a} or {b}) and {c}"),
    ("(({a} and {b})) and {c}", "({a} and {b}) and {c}"),
    ("not ({a} and {b})", "not ({a} and {b})"),
    ("not (not {a})", "not not {a}"),
    ("(not {a}) and {b}", "not {a} and {b}"),
    ("not ({a} or {b}) or ({c})", "not ({a} or {b}) or {c}"),
])
def test_every_nested_group_is_parenthesised(written, canonical_text):
    atoms = {"a": "age > 1 year", "b": "no grade", "c": "exempt", "d": "always"}
    out = fmt(f'vaccine A {{ rule "r" => compliant when {written.format(**atoms)} }}')
    assert out.splitlines()[2] == f"    when {canonical_text.format(**atoms)}"


def test_long_conditions_wrap_one_operand_per_line():
    condition = " or ".join(f"at least {n} valid doses of Product_{n}" for n in range(1, 6))
    out = fmt(f'vaccine A {{ rule "r" => compliant when grade in KG and ({condition}) and no grade }}')
    assert out == canonical('''
        vaccine A {
          rule "r" => compliant
            when grade in KG
              and (at least 1 valid dose of Product_1
                or at least 2 valid doses of Product_2
                or at least 3 valid doses of Product_3
                or at least 4 valid doses of Product_4
                or at least 5 valid doses of Product_5)
              and no grade
        }
    ''')
    assert max(len(line) for line in out.splitlines()) <= WIDTH


def test_a_condition_that_fits_stays_on_one_line_up_to_the_width():
    condition = "age >= 1 months and at least 2 valid doses of MMR, MMRVX and since last dose < 28 days"
    line = "  applies when " + condition.replace("1 months", "1 month")
    assert len(line) == WIDTH
    assert fmt(f"vaccine A {{ applies when {condition} }}").splitlines()[1] == line
    longer = condition.replace("MMRVX", "MMRVXY")
    assert fmt(f"vaccine A {{ applies when {longer} }}").splitlines()[1:4] == [
        "  applies when age >= 1 month",
        "    and at least 2 valid doses of MMR, MMRVXY",
        "    and since last dose < 28 days",
    ]


def test_series_dose_is_a_row_or_a_block_when_too_long():
    products = ", ".join(f"Product_number_{n}" for n in range(8))
    text = f'''vaccine A {{ series {{
      dose 1 {{ min age 6 weeks - 4 days max age 7 years min interval 4 weeks from dose 1 }}
      dose 2 {{ allow {products} from age 1 year before age 20 years }}
      dose 3 {{ }}
    }} }}'''
    out = fmt(text)
    assert out == canonical('''
        vaccine A {
          series {
            dose 1 { min age 6 weeks - 4 days  max age 7 years  min interval 4 weeks from dose 1 }
            dose 2 {
              allow Product_number_0, Product_number_1, Product_number_2, Product_number_3,
                    Product_number_4, Product_number_5, Product_number_6,
                    Product_number_7 from age 1 year before age 20 years
            }
            dose 3 {}
          }
        }
    ''')
    assert max(len(line) for line in out.splitlines()) <= WIDTH


def test_predicates_one_line_or_wrapped_after_commas():
    text = '''predicate short(S) :- student(S).
    predicate short(S) :- birth(S, B), B > 2020-01-01.

    predicate long(S, D) """Doc.""" :- dose(S, D, Date, P), live(P), dose(S, E, Before, Q), live(Q), P != Q,
      Before < Date, Date < Before + 28 days, not exemption(S, _, medical), count { X : dose(S, X, _, _) } >= 2.
    predicate other(S) :- grade(S, "KG"), as_of(D), D - 1 year >= 2020-01-01, invalid(S, V, _, R).'''
    assert fmt(text) == canonical('''
        predicate short(S) :- student(S).
        predicate short(S) :- birth(S, B), B > 2020-01-01.

        predicate long(S, D)
          """Doc."""
          :- dose(S, D, Date, P), live(P), dose(S, E, Before, Q), live(Q), P != Q, Before < Date,
             Date < Before + 28 days, not exemption(S, _, medical), count { X : dose(S, X, _, _) } >= 2.
        predicate other(S) :- grade(S, "KG"), as_of(D), D - 1 year >= 2020-01-01, invalid(S, V, _, R).
    ''')


def test_predicate_clauses_grouped_by_name_without_a_source():
    def clause(name):
        return ast.PredicateClause(name, ("S",), (ast.Atom("student", (ast.Name("S"),)),))

    out = format_ruleset(ast.Ruleset((clause("a"), clause("a"), clause("b"))))
    assert out == "predicate a(S) :- student(S).\npredicate a(S) :- student(S).\n\npredicate b(S) :- student(S).\n"


def test_blank_lines_inside_blocks_kept_once_as_paragraphs():
    text = 'vaccine A {\n\n  rule "a" => compliant\n\n\n\n  rule "b" => compliant\n  rule "c" => compliant\n\n}'
    assert fmt(text) == canonical('''
        vaccine A {
          rule "a" => compliant

          rule "b" => compliant
          rule "c" => compliant
        }
    ''')


def test_strings_are_re_escaped():
    text = r'vaccine A "say \"hi\" \\ \q" { rule "a\\b" => compliant }'
    out = fmt(text)
    assert out.splitlines()[0] == r'vaccine A "say \"hi\" \\ \\q" {'
    assert parse(out) == parse(text)


@pytest.mark.parametrize("doc, written", [
    ("One line.", ['    """One line."""']),
    ("Ends with a quote\"", ['    """', '    Ends with a quote"', '    """']),
    ("First.\n\n  Indented.\nLast.", ['    """', "    First.", "", "      Indented.", "    Last.", '    """']),
])
def test_doc_strings_one_line_or_a_block_indented_to_the_item(doc, written):
    tree = ast.Ruleset((ast.Vaccine("A", rules=(ast.Rule("r", "compliant", doc=doc),)),))
    out = format_ruleset(tree)
    assert out.splitlines()[2:2 + len(written)] == written
    assert parse(out) == tree


def test_doc_string_written_over_lines_is_reindented():
    text = 'vaccine A {\n"""First line\n        second line\n        """\n}'
    assert fmt(text) == canonical('''
        vaccine A {
          """
          First line
          second line
          """
        }
    ''')


def test_format_ruleset_writes_a_tree_built_in_code():
    rule = ast.Rule("Late", "in_process", ast.Or((ast.Not(ast.NoGrade()), ast.Exempt(("medical",)))),
                    tolerance_days=3, active_start=date(2024, 7, 1))
    tree = ast.Ruleset((ast.Vaccine("HepB", "Hepatitis B", rules=(rule,), otherwise="non_compliant"),))
    assert format_ruleset(tree) == canonical('''
        vaccine HepB "Hepatitis B" {
          rule "Late" => in_process
            tolerance 3 days
            active from 2024-07-01
            when not no grade or exempt (medical)
          otherwise non_compliant
        }
    ''')


@pytest.mark.parametrize("tree", [
    ast.Ruleset((ast.Header("a\nb"),)),
    ast.Ruleset((ast.Vaccine("A", doc='has """ inside'),)),
    ast.Ruleset((ast.Vaccine("A", applies=ast.AgeCompare(">", ast.Duration((ast.DurationPart(-1, 1, "days"),)))),)),
])
def test_format_ruleset_refuses_what_the_syntax_cannot_say(tree):
    with pytest.raises(ValueError):
        format_ruleset(tree)


def test_empty_file():
    assert format_source("") == ""
    assert format_source("\n\n  \n") == ""


def test_condition_text_is_the_one_line_form():
    from vaxdsl.formatter import condition_text

    condition = parse('vaccine A { applies when (no grade or exempt) and not (age < 1 years) }').vaccines[0].applies
    assert condition_text(condition) == "(no grade or exempt) and not age < 1 year"


def test_a_test_too_long_for_its_line_breaks_after_commas_and_keeps_its_comment():
    names = [f"Product_number_{i}_with_a_long_name" for i in range(6)]
    products = "".join(f"product {name} cvx {i + 1} counts V\n" for i, name in enumerate(names))
    source = (products + 'vaccine V {\n  rule "r" => compliant\n    when age >= 4 years and at least 1 valid dose of '
              + ", ".join(names) + " at age >= 4 years  # why\n  otherwise non_compliant\n}\n")
    out = format_source(source)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= WIDTH
    start = next(i for i, line in enumerate(lines) if "and at least 1 valid dose of" in line)
    assert lines[start + 1].startswith(" " * 8 + "Product_number_")  # one step under the `and`
    assert lines[start + 3].endswith("at age >= 4 years  # why")  # the comment stays after the test
    assert format_source(out) == out
    assert parse(out) == parse(source)
