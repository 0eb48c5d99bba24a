"""Comments survive formatting: above the item they precede, at the end of their line, before the
``}`` that ends their block; never lost, never duplicated."""

import textwrap
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies import commented_texts, lines_inside_docs, ruleset_texts
from vaxdsl.formatter import format_source
from vaxdsl.parser import parse, parse_with_comments


def fmt(text: str) -> str:
    return format_source(textwrap.dedent(text).lstrip("\n"))


def canonical(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def comment_texts(text: str) -> Counter:
    return Counter(comment.text for comment in parse_with_comments(text).comments)


def test_leading_comments_stay_above_their_item_and_trailing_ones_at_the_line_end():
    out = fmt('''
        # about the ruleset
        ruleset "R" { # on the opener
          version "1" # on version
        }
        # about A
        vaccine A {
          # about the rule
          rule "r" => compliant # on the rule
            # about tolerance
            tolerance 1 day
            when no grade # on the condition
        } # after A
    ''')
    assert out == canonical('''
        # about the ruleset
        ruleset "R" {  # on the opener
          version "1"  # on version
        }

        # about A
        vaccine A {
          # about the rule
          rule "r" => compliant  # on the rule
            # about tolerance
            tolerance 1 day
            when no grade  # on the condition
        }  # after A
    ''')


def test_comments_at_the_end_of_a_block_stay_before_its_brace():
    out = fmt('''
        vaccine A {
          rule "r" => compliant
            # last words of A
        }
        grades {
        # nothing yet
        }
    ''')
    assert out == canonical('''
        vaccine A {
          rule "r" => compliant
          # last words of A
        }

        grades {
          # nothing yet
        }
    ''')


def test_a_comment_moves_with_the_item_it_precedes():
    out = fmt('''
        vaccine A {
          # the default
          otherwise non_compliant
          rule "r" => compliant
          # why medical is exempt
          exemption medical => exempt  # per the statute
        }
    ''')
    assert out == canonical('''
        vaccine A {
          # why medical is exempt
          exemption medical => exempt  # per the statute
          rule "r" => compliant
          # the default
          otherwise non_compliant
        }
    ''')


def test_comments_in_a_condition_break_it_where_they_are():
    out = fmt('''
        vaccine A {
          rule "r" => compliant
            when no grade and exempt # why exempt
              # why the count
              and at least 1 dose and (always or age > 1 year # why age
              )
        }
    ''')
    assert out == canonical('''
        vaccine A {
          rule "r" => compliant
            when no grade
              and exempt  # why exempt
              # why the count
              and at least 1 dose
              and (always or age > 1 year)  # why age
        }
    ''')


def test_comments_inside_a_series_row_make_it_a_block():
    out = fmt('''
        vaccine A { series {
          dose 1 { min age 1 year # too young before
            max age 5 years }
          dose 2 { min age 2 years } # row comment
        } }
    ''')
    assert out == canonical('''
        vaccine A {
          series {
            dose 1 {
              min age 1 year  # too young before
              max age 5 years
            }
            dose 2 { min age 2 years }  # row comment
          }
        }
    ''')


def test_comments_inside_a_predicate_body():
    out = fmt('''
        predicate p(S) :- student(S), # who
          # born when
          birth(S, B). # done
    ''')
    assert out == canonical('''
        predicate p(S)
          :- student(S),  # who
             # born when
             birth(S, B).  # done
    ''')


def test_two_trailing_comments_on_one_line_keep_both():
    text = 'product A cvx 1 # one\n  "A" counts X # two\n'
    out = format_source(text)
    assert out == '# one\nproduct A cvx 1 "A" counts X  # two\n'
    assert comment_texts(out) == comment_texts(text)


def test_blank_lines_around_comments_are_kept_once():
    out = fmt('''
        # File header.


        # About R.
        ruleset "R" {}
        vaccine A {
          rule "a" => compliant


          # Second group.

          rule "b" => compliant
        }


        # The end.
    ''')
    assert out == canonical('''
        # File header.

        # About R.
        ruleset "R" {}

        vaccine A {
          rule "a" => compliant

          # Second group.

          rule "b" => compliant
        }

        # The end.
    ''')


def test_hash_inside_strings_and_docs_is_not_a_comment():
    text = 'vaccine A "# not a comment" {\n  """\n  # not one either\n  nor this\n  """\n}\n'
    assert format_source(text) == text
    assert comment_texts(text) == Counter()


def test_a_file_of_comments_only():
    assert format_source("# one\n\n   # two\n") == "# one\n\n# two\n"


PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(commented_texts())
def test_comments_are_never_lost_or_duplicated(pair):
    text, added = pair
    out = format_source(text)
    assert comment_texts(out) == comment_texts(text)
    assert Counter(added) <= comment_texts(out)


@PROPERTY
@given(commented_texts())
def test_formatting_commented_text_is_idempotent_and_keeps_the_tree(pair):
    text, _ = pair
    out = format_source(text)
    assert format_source(out) == out
    assert parse(out) == parse(text)


@PROPERTY
@given(commented_texts(ruleset_texts()), st.integers(0, 3))
def test_comments_survive_a_re_indented_source(pair, indent):
    """The same file with every line shifted formats the same."""
    text, _ = pair
    lines = text.split("\n")
    in_doc = lines_inside_docs(lines)
    shifted = "\n".join(" " * indent + line if line.strip() and not doc else line for line, doc in zip(lines, in_doc))
    assert format_source(shifted) == format_source(text)
