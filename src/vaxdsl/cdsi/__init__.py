"""The CDC's CDSi test cases: read the workbook, import them as fixtures, measure conformance.

- :mod:`.workbook` reads the CDC's test-case workbook (``.xlsx``, sheet ``FITS Exported TestCases``);
- :mod:`.mapping` maps the CDC's vaccine groups, statuses and reasons to ours;
- :mod:`.to_fixtures` writes the cases as fixture files (docs/fixtures.md) for ``vaxdsl test``;
- :mod:`.conformance` evaluates them with an engine and compares dose by dose (``vaxdsl cdsi check``).

docs/cdsi.md describes the commands and the threshold that CI holds the bundled ruleset to.
"""
