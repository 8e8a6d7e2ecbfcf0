"""The ``meterbench`` command.

Each subcommand lives in its own module in this package and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` (``args -> exit code``). Exit codes: 0 the job completed
and every verdict passed, 1 a verdict failed or a message was rejected, 2 a user error (bad input
or options: one line on stderr, no traceback, nothing created), 3 an environment failure (a full
disk, a read-only medium, a permission: one line, no temporary files left, an acquisition's
session closed with a ``session_stopped`` record; a fleet screen whose cluster kept failing
a block), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sqlite3
import sys
from collections.abc import Sequence

from meterbench import __version__
from meterbench.core.errors import (
    EXIT_ENVIRONMENT,
    EXIT_USER_ERROR,
    EnvironmentFailure,
    environment_failure,
)
from meterbench.instruments.errors import ConfigError

#: Subcommand modules, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "meterbench.cli.run",
    "meterbench.cli.sim",
    "meterbench.cli.report",
    "meterbench.cli.daily",
    "meterbench.cli.intervals",
    "meterbench.cli.align",
    "meterbench.cli.sampling",
    "meterbench.cli.datahub",
    "meterbench.cli.scpi",
    "meterbench.cli.acquire",
    "meterbench.cli.export",
    "meterbench.cli.accuracy",
    "meterbench.cli.registry",
    "meterbench.cli.fleet",
)


class _Parser(argparse.ArgumentParser):
    """One-line usage errors; help text without the docs' reStructuredText code marks.

    The subcommands' descriptions are their modules' docstrings, which mark commands and
    options as ``code`` for the documentation; in a terminal the marks are noise.
    """

    def format_help(self) -> str:
        return super().format_help().replace("``", "")

    def format_usage(self) -> str:
        return super().format_usage().replace("``", "")

    def error(self, message: str) -> None:  # argparse exits 2 too: one line, like every user error
        self.exit(EXIT_USER_ERROR, f"meterbench: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="meterbench", description="meterbench: a hardware-in-the-loop test and "
                     "verification bench for electricity meters (docs/ has every command).")
    parser.add_argument("--version", action="version", version=f"meterbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _silence_stdout() -> None:
    """Point stdout at the null device so the interpreter's final flush cannot fail again.

    (The recipe of Python's documentation for SIGPIPE: without it, exiting prints an
    "Exception ignored" message about the closed pipe.)
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """The command: its exit code. Ctrl-C at any moment of it, the imports of the subcommands
    while the parser is built included, is one line and exit 130, never a traceback."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("meterbench: interrupted", file=sys.stderr)
        return 130


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a pipe buffers: its closed reader shows here, not at exit
        return status
    except BrokenPipeError:  # output piped into head or less that quit early: not an error
        _silence_stdout()
        return 0
    except ConfigError as exc:  # UserError and the instruments layer's input errors
        print(f"meterbench: error: {exc.format()}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (EnvironmentFailure, OSError, sqlite3.Error) as exc:
        failure = environment_failure(exc)
        if failure is None:
            raise  # a bug: keep the traceback
        print(f"meterbench: environment error: {failure.format()}", file=sys.stderr)
        return EXIT_ENVIRONMENT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
