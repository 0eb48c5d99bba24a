"""vaxdsl: a language and toolchain for school immunization-compliance rules.

The pipeline reads in file order: ``grammar/vax.lark`` -> :mod:`parser` -> :mod:`ast` ->
:mod:`loader` (extends, district layers) -> :mod:`checker` -> :mod:`formatter`; the evaluator and
the store build on these. Nothing here imports the console (``tui/``).
"""

__version__ = "0.1.0"
