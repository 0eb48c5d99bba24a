"""The ``vaxdsl`` command. Each subcommand is a module in :mod:`vaxdsl.commands` with
``NAME``, ``HELP``, ``configure(parser)`` and ``run(args) -> exit code``; they are found by name,
so adding a command touches no shared list.

Users never see a traceback: errors they can cause are :class:`~vaxdsl.errors.VaxError` and print
as messages, as do files they name that cannot be read or written (an ``OSError``: a folder given as
``--output``); anything else is reported as an internal error (``VAXDSL_DEBUG=1`` shows the trace).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback

from . import __version__, commands
from .errors import DiagnosticsError, VaxError

EXIT_USAGE = 2
EXIT_INTERNAL = 70


def command_modules():
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{commands.__name__}.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vaxdsl",
        description="Write, check, test and publish school immunization-compliance rules.",
    )
    parser.add_argument("--version", action="version", version=f"vaxdsl {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules():
        sub = subparsers.add_parser(
            module.NAME, help=module.HELP, description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.configure(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.run(args)
    except DiagnosticsError as error:
        print(error.render(), file=sys.stderr)
        return 1
    except VaxError as error:
        print(f"vaxdsl: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as error:  # a file the user named cannot be written or read: not a bug of ours
        where = f"{error.filename}: " if error.filename else ""
        print(f"vaxdsl: error: {where}{error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:  # noqa: BLE001 - the last line of defence against tracebacks
        if os.environ.get("VAXDSL_DEBUG"):
            traceback.print_exc()
        print(f"vaxdsl: internal error: {type(error).__name__}: {error} (set VAXDSL_DEBUG=1 for details)",
              file=sys.stderr)
        return EXIT_INTERNAL
