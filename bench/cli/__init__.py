"""The ``meterbench`` command.

Each subcommand lives in its own module in this package and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` (``args -> exit code``). Exit codes: 0 the job completed
(whatever the verdicts), 1 a verdict failed or a message was rejected, 2 a user error (one line on
stderr, no traceback); ``fleet screen`` also uses 3: the screen could not complete.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from meterbench import __version__
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
    "meterbench.cli.fleet",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too, keep its one-line style
        self.print_usage(sys.stderr)
        self.exit(2, f"meterbench: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="meterbench", description="meterbench: a hardware-in-the-loop test and "
                     "verification bench for electricity meters (docs/ has every command).")
    parser.add_argument("--version", action="version", version=f"meterbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:  # UserError and the instruments layer's input errors
        print(f"meterbench: error: {exc.format()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("meterbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head or less that quit early: not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
