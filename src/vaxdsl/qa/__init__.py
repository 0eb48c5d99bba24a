"""Quality assurance for rulesets: run fixture cases (:mod:`.runner`) and measure which rules they
exercise (:mod:`.coverage`). The fixture format is read by :mod:`vaxdsl.fixtures`."""
