"""``meterbench scpi``: talk to a lab instrument directly (identify, query, write, error queue).

For checking a bench's wiring before a run: is the address right, do the terminations work, what
does the instrument say about a command. Every write is followed by a read of the error queue, so
a rejected command prints the instrument's own code and message and exits 1.
"""

from __future__ import annotations

import argparse
import codecs
import sys

from meterbench.core.errors import UserError
from meterbench.core.timeutil import parse_duration
from meterbench.instruments.scpi.base import ScpiInstrument
from meterbench.instruments.scpi.errors import InstrumentError, ResourceStringError, ScpiError
from meterbench.instruments.scpi.transport import ConnectionSettings


def _termination(text: str) -> str:
    try:
        return codecs.decode(text, "unicode_escape")
    except UnicodeDecodeError:
        raise UserError(f"not a termination: {text!r}", field="--termination",
                        expected=r"an escaped string like \n or \r\n") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("scpi", help="talk to a lab instrument over SCPI (VISA)",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("identify", "query", "write", "errors"),
                        help="identify: *IDN?; query/write: COMMAND; errors: drain the queue")
    parser.add_argument("resource", help="VISA resource, e.g. TCPIP::192.168.0.10::5025::SOCKET")
    parser.add_argument("command", nargs="?", help="SCPI command (query, write)")
    parser.add_argument("--backend", default="@py",
                        help='VISA backend: "@py" (pyvisa-py, default), "" (installed VISA), '
                             '"devices.yaml@sim" (pyvisa-sim)')
    parser.add_argument("--timeout", default="5s", help="answer timeout (default 5s)")
    parser.add_argument("--termination", default=r"\n",
                        help=r"read and write termination, escaped (default \n)")
    parser.add_argument("--error-query", default="SYST:ERR?",
                        help="the instrument's error query (Yokogawa: :STATus:ERRor?)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action in ("query", "write") and not args.command:
        raise UserError(f"{args.action} needs a COMMAND", field="command",
                        expected='e.g. "SOUR:FREQ?"')
    timeout_ms = parse_duration(args.timeout, field="--timeout")
    term = _termination(args.termination)
    settings = ConnectionSettings(timeout_ms=timeout_ms, read_termination=term,
                                  write_termination=term, backend=args.backend)

    class Instrument(ScpiInstrument):
        ERROR_QUERY = args.error_query

    try:
        instrument = Instrument.open(args.resource, settings)
    except ResourceStringError as exc:
        raise UserError(str(exc), field="resource") from None
    except ScpiError as exc:
        print(f"meterbench: {exc}", file=sys.stderr)
        return 1
    try:
        with instrument:
            if args.action == "identify":
                ident = instrument.identify()
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
    except ScpiError as exc:
        print(f"meterbench: {exc}", file=sys.stderr)
        return 1
    return 0
