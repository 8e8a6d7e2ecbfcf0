"""``meterbench fleet``: screen every serial operator meter a DSO hosts, on Dask.

``fleet ingest`` builds a fleet dataset from DataHub RSM-012 messages and interval CSV exports,
``fleet synth`` a synthetic one with known faults, ``fleet screen`` checks a dataset per site and
day on a local Dask cluster or an existing one. Needs the ``fleet`` extra (Dask, pyarrow).
Dataset layout, findings and every option: docs/fleet.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import date
from datetime import time as dtime
from pathlib import Path

from meterbench.core.errors import UserError

#: The smallest --memory-limit accepted (bytes).
MIN_WORKER_MEMORY = 256 * 1000**2
DEADLINE_HELP = "HH:MM local time on the day after the delivered day, or a preset: NO (07:00), NL (10:00)"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("fleet", help="screen a DSO's whole fleet of serial meters on Dask",
                              description=__doc__)
    sub = p.add_subparsers(dest="fleet_command", metavar="ACTION")
    i = sub.add_parser("ingest", help="a fleet dataset from DataHub messages and interval CSVs")
    i.add_argument("sources", nargs="+", type=Path, metavar="SOURCE",
                   help="RSM-012 message files (.json/.xml), folders of them (outboxes), or "
                        "interval CSV files (meterbench intervals format, meter = GSRN)")
    i.add_argument("--topology", type=Path, required=True, metavar="CSV",
                   help="site,gsrn,role,operator[,accuracy_class,appliance,export_gsrn]")
    i.add_argument("--out", type=Path, required=True, metavar="DATASET", help="new folder")
    i.add_argument("--sites-per-block", type=_positive, metavar="N",
                   help="sites per partition (default: about 4 million values per block)")
    i.add_argument("--zone", default="Europe/Copenhagen", type=_zone,
                   help="IANA zone of the local days (default Europe/Copenhagen)")
    i.add_argument("--country", default="DK", type=_country,
                   help="in-service limit preset: " + ", ".join(_countries()) + " (default DK)")
    i.set_defaults(func=_ingest)

    s = sub.add_parser("synth", help="a seeded synthetic fleet with injected faults")
    s.add_argument("--sites", type=int, required=True, metavar="N", help="sites (>= 1)")
    s.add_argument("--days", type=int, required=True, metavar="D",
                   help="local days from --start (>= 1)")
    s.add_argument("--start", type=_date, required=True, metavar="DATE",
                   help="first local day, YYYY-MM-DD")
    s.add_argument("--seed", type=_non_negative, default=0, metavar="S",
                   help="random seed (>= 0, default 0): the same seed and options give the "
                        "same files")
    s.add_argument("--out", type=Path, required=True, metavar="DATASET", help="new folder")
    s.add_argument("--sites-per-block", type=_positive, metavar="N",
                   help="sites per partition (default: about 4 million values per block)")
    s.add_argument("--pv-share", type=float, default=0.2, metavar="F",
                   help="share of sites with PV behind the main meter (default 0.2)")
    s.add_argument("--workers", type=int, metavar="N",
                   help="generate the blocks on a local Dask cluster of N workers (default: "
                        "in this process); the files are the same")
    s.set_defaults(func=_synth)

    c = sub.add_parser("screen", help="screen a fleet dataset per site and day")
    c.add_argument("dataset", type=Path, metavar="DATASET")
    c.add_argument("--out", type=Path, required=True, metavar="RUN", help="new folder")
    c.add_argument("--scheduler", metavar="ADDRESS",
                   help="an existing Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a "
                        "local cluster started for this screen)")
    c.add_argument("--workers", type=int, metavar="N",
                   help="local cluster: worker processes (default: one per core)")
    c.add_argument("--memory-limit", metavar="SIZE", type=_byte_size,
                   help="local cluster: memory limit per worker, e.g. 4GB (default: the "
                        "machine's memory shared out)")
    c.add_argument("--deadline", metavar="HH:MM|NO|NL", type=_deadline, help=DEADLINE_HELP)
    c.add_argument("--no-report", action="store_true", help="skip report.html")
    c.add_argument("--progress", action="store_true",
                   help="progress lines on stderr even when it is not a terminal")
    c.add_argument("--json", action="store_true", help="print summary.json on stdout")
    c.set_defaults(func=_screen)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


def _whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"not a whole number >= {minimum}: {text!r}")
        return value
    return parse


_positive = _whole_number(1)
_non_negative = _whole_number(0)


def _countries() -> list[str]:
    from meterbench.accuracy.limits import IN_SERVICE_FACTOR

    return sorted(IN_SERVICE_FACTOR)


def _country(text: str) -> str:
    if text not in _countries():
        raise argparse.ArgumentTypeError(f"no in-service limit preset {text!r} (expected one of "
                                         f"{', '.join(_countries())})")
    return text


def _zone(text: str) -> str:
    from meterbench.pipeline.localday import known_zone

    if not known_zone(text):
        raise argparse.ArgumentTypeError(f"not an IANA time zone: {text!r} (e.g. "
                                         "Europe/Copenhagen)")
    return text


def _byte_size(text: str) -> str:
    """A memory size as Dask reads it (4GB, 512MiB, 2e9), at least 256 MB: a process with
    Dask, numpy, pyarrow and the screen's code loaded measured 107 MB resident before it held
    any block (and a block's arrays take several hundred MB more)."""
    try:
        from dask.utils import parse_bytes
    except ImportError:  # no fleet extra: the command itself says so
        return text

    try:
        size = parse_bytes(text)
    except (ValueError, TypeError):
        raise argparse.ArgumentTypeError(f"not a memory size: {text!r} (e.g. 4GB, 512MiB)") from None
    if size < MIN_WORKER_MEMORY:
        raise argparse.ArgumentTypeError(f"{text!r} is too little for a worker (at least 256MB)")
    return text


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (expected YYYY-MM-DD)") from None


def _deadline(text: str) -> dtime:
    from meterbench.accuracy.field import DEADLINE_PRESETS

    if text.upper() in DEADLINE_PRESETS:
        return DEADLINE_PRESETS[text.upper()]
    try:
        return dtime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a deadline: {text!r} ({DEADLINE_HELP})") from None


def _needs_extra() -> bool:
    from meterbench.fleet.engine import missing_extra

    message = missing_extra()
    if message:
        print(f"meterbench: error: {message}", file=sys.stderr)
        return True
    return False


class _Bar:
    """One progress line on stderr, rewritten in place on a terminal."""

    def __init__(self, what: str, force: bool) -> None:
        self.what = what
        self.tty = sys.stderr.isatty()
        self.show = self.tty or force

    def __call__(self, done: int, total: int, site_days: int = 0, seconds: float = 0.0) -> None:
        if not self.show:
            return
        rate = f", {site_days / seconds:,.0f} site-days/s" if seconds > 0 and site_days else ""
        line = f"meterbench: {self.what} {done}/{total} blocks{rate}"
        if self.tty:
            sys.stderr.write("\r" + line + ("\n" if done == total else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def _synth(args: argparse.Namespace) -> int:
    if _needs_extra():
        return 2
    from meterbench.fleet.faults import FaultRates
    from meterbench.fleet.synth import SynthSettings, synth

    if args.sites < 1 or args.days < 1:
        raise UserError("must be at least 1", field="--sites/--days", expected="N >= 1, D >= 1")
    if not 0.0 <= args.pv_share <= 1.0:
        raise UserError(f"{args.pv_share} is not a share", field="--pv-share",
                        expected="0 … 1")
    settings = SynthSettings(sites=args.sites, days=args.days, first_day=args.start,
                             seed=args.seed, sites_per_block=args.sites_per_block,
                             rates=FaultRates(pv_share=args.pv_share))
    if args.workers is not None and args.workers < 1:
        raise UserError(f"{args.workers} workers", field="--workers", expected="at least 1")
    if args.workers:
        from meterbench.fleet.engine import dask_client

        with dask_client(workers=args.workers) as client:
            m, info = synth(settings, args.out, progress=_Bar("generated", force=False),
                            client=client)
    else:
        m, info = synth(settings, args.out, progress=_Bar("generated", force=False))
    print(f"meterbench: {info['site_days']:,} site-days ({m.sites:,} sites × {m.days} days, "
          f"{info['points']:,} metering points, {info['rows']:,} deliveries) in {m.blocks} "
          f"blocks, {info['seconds']:.1f} s", file=sys.stderr)
    print(args.out)
    return 0


def _ingest(args: argparse.Namespace) -> int:
    if _needs_extra():
        return 2
    from meterbench.fleet.ingest import ingest

    t0 = time.perf_counter()
    m, info = ingest(args.sources, args.topology, args.out, zone=args.zone,
                     country=args.country, sites_per_block=args.sites_per_block)
    print(f"meterbench: {info['deliveries']:,} deliveries of {info['points']:,} metering points "
          f"({m.sites:,} sites, {m.first_day} + {m.days} days) from {info['files']} file(s) in "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    print(args.out)
    return 0


def _screen(args: argparse.Namespace) -> int:
    if _needs_extra():
        return 2
    from meterbench.fleet.engine import ScreenIncomplete
    from meterbench.fleet.run import screen_command

    if args.workers is not None and args.workers < 1:
        raise UserError(f"{args.workers} workers", field="--workers", expected="at least 1")
    try:
        doc = screen_command(args.dataset, args.out, scheduler=args.scheduler,
                             workers=args.workers, memory_limit=args.memory_limit,
                             deadline=args.deadline, report=not args.no_report,
                             progress=_Bar("screened", args.progress))
    except ScreenIncomplete as exc:
        print(f"meterbench: error: screen incomplete: {exc}", file=sys.stderr)
        return 3
    total = sum(doc["findings"].values())
    e = doc["engine"]
    print(f"meterbench: {doc['site_days']:,} site-days screened in {e['seconds']:.1f} s "
          f"({e['site_days_per_s']:,.0f} site-days/s, {e['workers']} worker(s)): {total:,} "
          f"findings, {doc['meter_errors']['exceeds']} meter(s) beyond the in-service limit, "
          f"{doc['meter_errors']['inconclusive']} inconclusive", file=sys.stderr)
    if args.json:
        import json

        print(json.dumps(doc, indent=1, default=str))
    else:
        print(args.out)
    return 1 if total else 0
