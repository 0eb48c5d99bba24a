"""One module per ``vaxdsl`` subcommand (see :mod:`vaxdsl.cli`)."""
