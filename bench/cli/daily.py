"""``meterbench daily BENCH --date D``: the operator's daily delivery to DataHub.

Takes day D's readings from a run store (``--run``), or on a simulated bench acquires day D first,
makes the quarter-hours, writes one RSM-012 message per metering point into the outbox, validates
each (schema when the schemas are found, business rules always) and prints what was delivered and
what was missing. Missing quarter-hours are delivered as missing (quality A02), which DataHub
accepts: exit 0 means every message was accepted, even for a day the store holds no reading of
(the last line and a warning count what is missing). ``--require-complete`` makes a missing value
fail the run (exit 1), for a CI job or an acceptance test. Exit 0 all accepted (and complete, with
``--require-complete``), 1 a message was rejected (or a value missing), 2 user error, 3 the
environment failed.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from meterbench.config.bench_file import load_bench
from meterbench.core.errors import UserError
from meterbench.core.timeutil import parse_iso, to_ms
from meterbench.run.folder import daily_run_dir, store_meta


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("daily", help="deliver day D's values as DataHub messages", description=__doc__)
    p.add_argument("bench", help="bench file or built-in name")
    p.add_argument("--date", required=True, help="local day to deliver, YYYY-MM-DD")
    p.add_argument("--run", metavar="RUN", help="run folder whose store holds the readings "
                   "(default on a simulated bench: acquire the day into a new run folder)")
    p.add_argument("--outbox", metavar="DIR", help="where messages go (default RUN/outbox/<date>)")
    p.add_argument("--format", choices=("json", "xml"), default="json")
    p.add_argument("--schemas", metavar="DIR", help="DataHub schema folder with json/ and xml/ "
                   "(default: $METERBENCH_DATAHUB_SCHEMAS; without either only the business "
                   "rules are checked)")
    p.add_argument("--created", metavar="TIME", help="createdDateTime (default now)")
    p.add_argument("--require-complete", action="store_true",
                   help="exit 1 when any quarter-hour value is missing (default: missing values "
                        "are delivered as A02 and only counted)")
    p.set_defaults(func=run)


def _day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise UserError(f"not a date: {text!r}", field="--date", expected="YYYY-MM-DD") from None
    if not date(1970, 1, 3) <= day <= date(2099, 12, 29):  # the supported dates, with margins
        raise UserError(f"{text} is outside the supported range", field="--date",
                        expected="a date from 1970-01-03 to 2099-12-29")
    return day


def run(args: argparse.Namespace) -> int:
    from meterbench.cli.datahub import schema_validation
    from meterbench.datahub.daily import metering_points, run_daily
    from meterbench.datahub.run_export import prepare_outbox
    from meterbench.run.lock import locked
    from meterbench.run.session import BenchRun, stderr_progress
    from meterbench.store.run_store import Store

    day = _day(args.date)
    config = load_bench(args.bench)
    if not metering_points(config):
        raise UserError(f"bench {config.name!r} has no metering point to deliver (no operator "
                        "meter with a gsrn)", source=config.source, field="meter[*].gsrn",
                        expected="a field bench whose operator meters have a gsrn "
                        "(docs/datahub.md)")
    created = parse_iso(args.created, field="--created") if args.created else \
        to_ms(datetime.now().astimezone())
    if args.outbox and Path(args.outbox).exists() and not Path(args.outbox).is_dir():
        raise UserError("is a file, not a folder", source=args.outbox, field="--outbox",
                        expected="a folder for the day's messages")
    schemas, note = schema_validation(Path(args.schemas) if args.schemas else None)
    if args.run:
        run_dir = Path(args.run)
        if not (run_dir / "store.sqlite").is_file():
            raise UserError("no store.sqlite in the run folder", source=str(run_dir))
        _check_same_bench(store_meta(run_dir) or {}, config, run_dir)
    elif config.simulate:
        start = to_ms(datetime.combine(day, time(0), tzinfo=config.tz))
        end = to_ms(datetime.combine(day + timedelta(days=1), time(0), tzinfo=config.tz))
        config = replace(config, run=replace(config.run, local_date=day, days=1, start_ms=start, end_ms=end))
        run_dir = daily_run_dir(config.name, day.isoformat())
        if (run_dir / "store.sqlite").exists():  # acquired before: deliver from it, never re-poll
            meta = store_meta(run_dir) or {}
            _check_same_bench(meta, config, run_dir)
            _check_day_finished(meta, run_dir, day)
            print(f"note: using the readings already in {run_dir}", file=sys.stderr)
        else:
            bench_run = BenchRun(config, run_dir, progress=stderr_progress(f"acquiring {day}"))
            try:
                bench_run.start()
                bench_run.acquire()
                # Only now is the day whole: a later call delivers from it as it is.
                bench_run.store.set_meta(DAILY_META, {"date": day.isoformat(), "finished": True})
                bench_run.store.commit()
            finally:
                bench_run.close()
    else:
        raise UserError("a real bench needs --run: the run folder of its acquisition",
                        field="--run", expected="a folder written by meterbench acquire or run")
    outbox = Path(args.outbox) if args.outbox else run_dir / "outbox" / day.isoformat()
    into_run = run_dir.resolve() in outbox.resolve().parents
    # Writing into the run folder holds its lock, like every writer; an outbox elsewhere only
    # reads the store (an acquisition may go on writing it meanwhile).
    with locked(run_dir, "meterbench daily") if into_run else contextlib.nullcontext():
        prepare_outbox(outbox, "--outbox")
        if note:  # only once nothing can be refused any more: an error stays one line
            print(note, file=sys.stderr)
        store = Store(run_dir / "store.sqlite", read_only=True)
        try:
            result = run_daily(config, store, day, outbox, fmt=args.format, created_ms=created,
                               schemas=schemas)
        finally:
            store.close()
    for item in result.items:
        print(item.summary())
        for reason in item.check.reasons():
            print(f"  {reason}")
    print(f"{len(result.items)} message(s) for {day} in {outbox}: {len(result.rejected)} rejected, "
          f"{result.missing} quarter-hour value(s) missing")
    if result.missing:
        print(f"warning: {result.missing} quarter-hour value(s) of {day} are missing "
              f"(delivered as A02){'' if args.require_complete else '; --require-complete makes this fail'}",
              file=sys.stderr)
    return 1 if result.rejected or (args.require_complete and result.missing) else 0


#: The store's record that ``daily`` acquired its day to the end (an interrupted acquisition
#: lacks it).
DAILY_META = "daily"


def _check_day_finished(meta: dict[str, Any], run_dir: Path, day: date) -> None:
    """Deliver again only from a day whose acquisition finished: an interrupted one holds part of
    the day, and its messages would go out with the rest missing, as if nothing had happened."""
    from meterbench.run.lock import locked

    done = (meta.get(DAILY_META) or {}).get("finished")
    # Folders from before the record existed: an outbox is written only after the acquisition.
    if done or (run_dir / "outbox" / day.isoformat()).is_dir():
        return
    with locked(run_dir, "meterbench daily"):  # still being acquired: say that, not "unfinished"
        pass
    raise UserError(f"the acquisition of {day} in this folder was interrupted before the day's "
                    "end, so its readings are incomplete; nothing was delivered",
                    source=str(run_dir), expected="remove the folder and run the same "
                    "meterbench daily again to acquire the whole day")


def _check_same_bench(meta: dict[str, Any], config: Any, run_dir: Path) -> None:
    """The readings are delivered under the bench file's metering points: a run acquired with
    another bench file (other GSRNs, other meters) would be delivered under the wrong ones."""
    made_with = (meta.get("bench") or {}).get("sha256")
    if made_with and made_with != config.sha256:
        raise UserError(f"was acquired with another bench file (sha256 {made_with[:12]}…) than "
                        f"{config.source} (sha256 {config.sha256[:12]}…); nothing was delivered",
                        source=str(run_dir),
                        expected="the bench file the run was made with, or a run of this one")
