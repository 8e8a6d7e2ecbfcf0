"""``meterbench scpi``: talk to a lab instrument directly (identify, query, write, error queue).

For checking a bench's wiring before a run: is the address right, do the terminations work, what
does the instrument say about a command. Every write is followed by a read of the error queue, so
a rejected command prints the instrument's own code and message and exits 1.
"""

from __future__ import annotations

import argparse
import codecs
import sys

from meterbench import registry
from meterbench.core.errors import UserError
from meterbench.core.timeutil import parse_duration
from meterbench.instruments.kinds import InstrumentKind
from meterbench.instruments.scpi.base import Identity, ScpiInstrument
from meterbench.instruments.scpi.errors import (
    InstrumentError,
    ResourceStringError,
    ResponseError,
    ScpiError,
    ScpiTimeout,
)
from meterbench.instruments.scpi.transport import ConnectionSettings


def _termination(text: str) -> str:
    try:
        return codecs.decode(text, "unicode_escape")
    except UnicodeDecodeError:
        raise UserError(f"not a termination: {text!r}", field="--termination",
                        expected=r"an escaped string like \n or \r\n") from None


#: Each action: (help, whether it takes a COMMAND, the COMMAND's help).
ACTIONS = {
    "identify": ("ask *IDN? and print manufacturer, model, serial and firmware", None),
    "query": ("send a query and print its answer (the error queue is read if none comes)",
              'the SCPI query, e.g. "SOUR:FREQ?"'),
    "write": ("send a command, then read the error queue: the instrument's own code and message "
              "for a rejected command (exit 1)", 'the SCPI command, e.g. "SOUR:FREQ 50"'),
    "errors": ("drain the instrument's error queue and print every entry", None),
}


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--backend", default="@py",
                        help='VISA backend: "@py" (pyvisa-py, default), "" (installed VISA), '
                             '"devices.yaml@sim" (pyvisa-sim)')
    common.add_argument("--timeout", default="5s", help="answer timeout (default 5s)")
    common.add_argument("--termination", default=r"\n",
                        help=r"read and write termination, escaped (default \n)")
    common.add_argument("--error-query", default=None,
                        help="the instrument's error query (default: its driver's when *IDN? "
                             "names an instrument a registered driver knows, e.g. :STATus:ERRor? "
                             "for a Yokogawa WT1800; else SYST:ERR?)")
    return common


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("scpi", help="talk to a lab instrument over SCPI (VISA)",
                                   description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    common = _common_options()
    for action, (text, command_help) in ACTIONS.items():
        p = sub.add_parser(action, help=text, description=text, parents=[common])
        p.add_argument("resource", help="VISA resource, e.g. TCPIP::192.168.0.10::5025::SOCKET")
        if command_help:  # optional for argparse: a missing one is our one-line user error
            p.add_argument("command", nargs="?", help=command_help)
        p.set_defaults(func=run, command=None)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def error_query_for(ident: Identity | None) -> tuple[str, str | None]:
    """The error query of the registered driver whose instrument answered ``ident`` (and its
    name), else ``SYST:ERR?`` (SCPI-99) and None: an instrument like the WT1800 does not know
    SYST:ERR? and queues -113 for every attempt."""
    if ident is not None:
        for name in registry.names(registry.INSTRUMENTS):
            try:
                kind = registry.load_object(registry.INSTRUMENTS, name, what="instrument driver")
            except registry.RegistryError:
                continue
            if isinstance(kind, InstrumentKind) and kind.identifies(ident.manufacturer,
                                                                    ident.model):
                return kind.error_query, name
    return ScpiInstrument.ERROR_QUERY, None


def run(args: argparse.Namespace) -> int:
    if args.action in ("query", "write") and not args.command:
        raise UserError(f"{args.action} needs a COMMAND", field="command",
                        expected='e.g. "SOUR:FREQ?"' if args.action == "query"
                        else 'e.g. "SOUR:FREQ 50"')
    timeout_ms = parse_duration(args.timeout, field="--timeout")
    term = _termination(args.termination)
    settings = ConnectionSettings(timeout_ms=timeout_ms, read_termination=term,
                                  write_termination=term, backend=args.backend)

    class Instrument(ScpiInstrument):
        ERROR_QUERY = args.error_query or ScpiInstrument.ERROR_QUERY

    try:
        instrument = Instrument.open(args.resource, settings)
    except ResourceStringError as exc:
        raise UserError(str(exc), field="resource") from None
    except ScpiError as exc:
        print(f"meterbench: {exc}", file=sys.stderr)
        return 1
    guessed = args.error_query is None
    try:
        with instrument:
            ident = None
            if guessed or args.action == "identify":
                try:
                    ident = instrument.identify()
                except (ScpiTimeout, ResponseError, InstrumentError):
                    if args.action == "identify":
                        raise  # otherwise: an instrument without *IDN? keeps SYST:ERR?
            if guessed:
                instrument.ERROR_QUERY, driver = error_query_for(ident)
                guessed = driver is None  # a driver's own query is not a guess
            if args.action == "identify":
                assert ident is not None
                print(f"{ident.manufacturer},{ident.model},{ident.serial},{ident.firmware}")
            elif args.action == "query":
                print(instrument.query(args.command))
            elif args.action == "write":
                # errors another client left in the queue are not this command's: say so first
                for entry in instrument.read_error_queue():
                    print(f"meterbench: already in the error queue before this command: {entry}",
                          file=sys.stderr)
                instrument.write(args.command)
            else:
                entries = instrument.read_error_queue()
                for entry in entries:
                    print(entry)
                if not entries:
                    print("meterbench: the error queue is empty", file=sys.stderr)
    except InstrumentError as exc:
        for entry in exc.errors:
            print(f"{exc.resource}: {entry}", file=sys.stderr)
        return 1
    except ScpiTimeout as exc:
        hint = ""
        if guessed and exc.command == instrument.ERROR_QUERY:
            hint = (f"; the error query {exc.command} may be wrong for this instrument (no "
                    "registered driver knows its *IDN?): give its own with --error-query")
        print(f"meterbench: {exc}{hint}", file=sys.stderr)
        return 1
    except ScpiError as exc:
        print(f"meterbench: {exc}", file=sys.stderr)
        return 1
    return 0
