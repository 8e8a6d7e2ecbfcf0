"""``meterbench intervals``: 15/60-minute energies with quality from a readings CSV.

For DSOs who have exports rather than a bench: cumulative register readings in, settlement-style
interval values out, anomalies (resets, rollovers, jumps, gaps) explained on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from meterbench.cli.pipeline_csv import IntervalRow, read_readings, write_intervals
from meterbench.core.errors import UserError
from meterbench.core.outfiles import atomic_output, check_output_path
from meterbench.core.timeutil import MS_PER_HOUR, parse_duration, parse_iso
from meterbench.pipeline.aggregate import MS_PER_QUARTER, quarters_to_hours
from meterbench.pipeline.intervals import (
    DEFAULT_CSV_MAX_GAP_MS,
    DEFAULT_ESTIMATE_LIMIT_MS,
    MeterIntervals,
    clean_readings,
    intervals_from_register,
)
from meterbench.pipeline.outages import mark_outages

ENERGY_PREFIX = "energy."
CLI_RESOLUTIONS = {"PT15M": MS_PER_QUARTER, "PT1H": MS_PER_HOUR}
#: The most intervals one command computes, over all series (design limit, docs/pipeline.md
#: "Limits"): 57 years of quarter-hours for one meter, or 20 meters' energy channels for 3 years.
#: A 105-byte file whose two readings are a century apart is refused, not computed for a minute
#: into hundreds of megabytes.
MAX_INTERVALS = 2_000_000


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "intervals", help="15/60-minute energies with quality from cumulative register readings",
        description="Compute interval energies (labelled by interval start, UTC) with quality "
                    "from a CSV of cumulative register readings (columns meter,time,channel,value). "
                    "Only energy.* channels are used.")
    p.add_argument("readings", type=Path, metavar="READINGS.csv")
    p.add_argument("--resolution", choices=sorted(CLI_RESOLUTIONS), default="PT15M",
                   help="PT15M (default) or PT1H")
    p.add_argument("--hour-from", choices=("register", "quarters"), default="register",
                   help="PT1H from the register at whole hours (default: an hour is missing "
                        "unless its two boundaries are known) or from four quarters with "
                        "DataHub's rule (a partial hour is the estimated sum of its quarters)")
    p.add_argument("--max-gap", metavar="DUR",
                   help="readings further apart than this make a boundary estimated "
                        "(default 5min; ISO 8601 PT5M or 90s, 5min, 2h)")
    p.add_argument("--estimate-limit", metavar="DUR",
                   help="longest gap filled by a straight line; longer gaps are missing "
                        "(default 6h)")
    p.add_argument("--rollover-kwh", type=float, metavar="KWH",
                   help="the register's modulus: a wrap to zero at this value is unwrapped")
    p.add_argument("--max-power-w", type=float, metavar="W",
                   help="meter maximum power: faster increases are flagged as implausible jumps")
    p.add_argument("--start", metavar="TIME",
                   help="first interval start, ISO 8601 UTC (default: the first interval "
                        "boundary at or after the first reading)")
    p.add_argument("--end", metavar="TIME",
                   help="end of the last interval (default: the last interval boundary at or "
                        "before the last reading)")
    p.add_argument("--out", type=Path, metavar="FILE", help="output CSV (default stdout)")
    p.add_argument("--quiet", action="store_true", help="do not print events on stderr")
    p.set_defaults(func=run)


def _duration(text: str, option: str) -> int:
    ms = parse_duration(text, field=option)
    if ms <= 0:
        raise UserError(f"must be positive: {text!r}", field=option, expected="a duration > 0")
    return ms


def result_times(t: object, v: object) -> object:
    """The times of the readings the interval stage used (cleaned: NaN, duplicates, glitches)."""
    return clean_readings(t, v).times_ms  # type: ignore[arg-type]


def run(args: argparse.Namespace) -> int:
    max_gap = (_duration(args.max_gap, "--max-gap") if args.max_gap
               else DEFAULT_CSV_MAX_GAP_MS)
    est_limit = (_duration(args.estimate_limit, "--estimate-limit") if args.estimate_limit
                 else DEFAULT_ESTIMATE_LIMIT_MS)
    if est_limit < max_gap:
        raise UserError("the estimate limit is shorter than the max gap", field="--estimate-limit",
                        expected=f"at least the max gap ({max_gap / 1000:g} s)")
    for option, value in (("--rollover-kwh", args.rollover_kwh),
                          ("--max-power-w", args.max_power_w)):
        if value is not None and not value > 0:
            raise UserError(f"must be positive: {value}", field=option, expected="a number > 0")
    if args.out:  # refused before anything is read or computed
        check_output_path(args.out, what="interval CSV", inputs=(args.readings,))
    table = read_readings(args.readings)
    keys = [k for k in table.series if k[1].startswith(ENERGY_PREFIX)]
    skipped = sorted({k[1] for k in table.series} - {k[1] for k in keys})
    if not keys:
        raise UserError("no energy.* channel", source=table.source, field="channel",
                        expected="cumulative registers such as energy.import, energy.export")
    step = MS_PER_HOUR if args.resolution == "PT1H" else MS_PER_QUARTER
    all_t = [t for k in keys for t in table.series[k][0]]
    # by default the intervals whose both boundaries the readings span (an interval before the
    # first reading could only be reported missing)
    start = (parse_iso(args.start, field="--start") if args.start else -(-min(all_t) // step) * step)
    end = (parse_iso(args.end, field="--end") if args.end else max(all_t) // step * step)
    for option, value in (("--start", start), ("--end", end)):
        if value % step:
            raise UserError("not on the interval grid", field=option,
                            expected=f"a whole {'hour' if step == MS_PER_HOUR else 'quarter-hour'} in UTC")
    if end <= start:
        raise UserError("end is not after start" if args.start or args.end else
                        "the readings do not span a whole interval", source=table.source,
                        field="--end" if args.start or args.end else "time",
                        expected="a later time" if args.start or args.end else
                        f"readings at least one {args.resolution} interval apart, or --start/--end")
    count = len(keys) * ((end - start) // step)
    if count > MAX_INTERVALS:
        raise UserError(f"{len(keys)} series over {(end - start) / 86_400_000:,.0f} days make "
                        f"{count:,} intervals, above the limit of {MAX_INTERVALS:,}",
                        source=table.source, field="time",
                        expected="a shorter span (narrow it with --start/--end) or fewer series")

    rows: list[IntervalRow] = []
    messages: list[str] = []
    for meter, channel in keys:
        t, v = table.arrays((meter, channel))
        from_quarters = args.resolution == "PT1H" and args.hour_from == "quarters"
        result = intervals_from_register(t, v, start, end,
                                         MS_PER_QUARTER if from_quarters else step, max_gap,
                                         est_limit, args.rollover_kwh, args.max_power_w,
                                         meter=meter, channel=channel)
        series, outage_events = mark_outages(result.series, result_times(t, v),
                                             table.outages((meter, channel)), meter=meter,
                                             channel=channel)
        result = MeterIntervals(series, [*result.events, *outage_events], result.max_gap_ms)
        series = quarters_to_hours(result.series) if from_quarters else result.series
        rows.append(IntervalRow(meter, channel, series))
        messages += [f"{meter} {channel}: {e.kind}: {e.text}" for e in result.events]
    if skipped:
        messages.append(f"ignored non-energy channel(s): {', '.join(skipped)}")

    if args.out:
        with atomic_output(args.out, what="interval CSV", inputs=(args.readings,)) as tmp, \
                tmp.open("w", newline="", encoding="utf-8") as fh:
            write_intervals(rows, fh)
    else:
        write_intervals(rows, sys.stdout)
    if not args.quiet:
        for m in messages:
            print(m, file=sys.stderr)
    return 0
