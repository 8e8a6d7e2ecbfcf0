"""``meterbench align``: clock offset, drift and labelling diagnosis of an operator meter.

Takes the operator's and the reference (DSO) meter's files. From readings (``meter,time,channel,
value``) it estimates the operator clock's offset and drift by cross-correlation and derives
PT15M intervals for the labelling diagnosis; from interval files (the output of ``meterbench
intervals``) it can only diagnose labelling (offset and drift need high-resolution data).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from meterbench.cli.pipeline_csv import (
    INTERVAL_COLUMNS,
    READING_COLUMNS,
    read_intervals,
    read_readings,
    sniff_columns,
)
from meterbench.core.errors import UserError
from meterbench.core.timeutil import MS_PER_HOUR, format_iso_utc, parse_duration
from meterbench.pipeline.aggregate import MS_PER_QUARTER
from meterbench.pipeline.alignment import COVERAGE, AlignmentError, ClockAlignment, estimate_clock
from meterbench.pipeline.intervals import DEFAULT_CSV_MAX_GAP_MS, intervals_from_register
from meterbench.pipeline.labelling import LabellingDiagnosis, diagnose_labelling
from meterbench.pipeline.series import IntervalSeries

DEFAULT_CHANNEL = "energy.import"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "align", help="clock offset and drift of an operator meter, and its labelling diagnosis",
        description="Compare an operator meter with a reference meter on the same circuit: clock "
                    "offset and drift (from readings) and labelling errors (from readings or "
                    "interval files).")
    p.add_argument("operator", type=Path, metavar="OPERATOR.csv")
    p.add_argument("reference", type=Path, metavar="REFERENCE.csv")
    p.add_argument("--channel", default=DEFAULT_CHANNEL,
                   help="channel to compare (default energy.import; power.* channels are "
                        "compared as power samples)")
    p.add_argument("--operator-meter", metavar="NAME", help="meter in OPERATOR.csv (if several)")
    p.add_argument("--reference-meter", metavar="NAME", help="meter in REFERENCE.csv (if several)")
    p.add_argument("--max-lag", default="30min", metavar="DUR",
                   help="largest clock offset searched (default 30min)")
    p.add_argument("--max-gap", default=None, metavar="DUR",
                   help="bracket limit for deriving intervals from readings (default 5min)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=run)


def _pick(names: list[str], wanted: str | None, source: str, option: str) -> str:
    if wanted is not None:
        if wanted not in names:
            raise UserError(f"no meter {wanted!r}", source=source, field=option,
                            expected=f"one of {', '.join(sorted(names))}")
        return wanted
    if len(names) != 1:
        raise UserError(f"{len(names)} meters in the file", source=source, field=option,
                        expected=f"{option} with one of {', '.join(sorted(names))}")
    return names[0]


def _kind(columns: list[str], source: str) -> str:
    if all(c in columns for c in READING_COLUMNS):
        return "readings"
    if all(c in columns for c in INTERVAL_COLUMNS):
        return "intervals"
    raise UserError("neither a readings nor an intervals file", source=source,
                    field="header (row 1)",
                    expected=f"{','.join(READING_COLUMNS)} or {','.join(INTERVAL_COLUMNS)}")


def _readings(path: Path, channel: str, meter: str | None, option: str
              ) -> tuple[str, np.ndarray, np.ndarray]:
    table = read_readings(path)
    names = sorted({m for m, c in table.series if c == channel})
    if not names:
        raise UserError(f"no {channel} readings", source=str(path), field="channel",
                        expected=f"rows with channel {channel} (or choose --channel)")
    name = _pick(names, meter, str(path), option)
    t, v = table.arrays((name, channel))
    return name, t, v


def _interval_series(path: Path, channel: str, meter: str | None, option: str) -> IntervalSeries:
    rows = [r for r in read_intervals(path) if r.channel == channel]
    if not rows:
        raise UserError(f"no {channel} intervals", source=str(path), field="channel",
                        expected=f"rows with channel {channel} (or choose --channel)")
    name = _pick([r.meter for r in rows], meter, str(path), option)
    return next(r.series for r in rows if r.meter == name)


def _derive_quarters(t_op: np.ndarray, v_op: np.ndarray, t_ref: np.ndarray, v_ref: np.ndarray,
                     max_gap: int) -> tuple[IntervalSeries, IntervalSeries]:
    lo = min(int(t_op.min()), int(t_ref.min())) // MS_PER_QUARTER * MS_PER_QUARTER
    hi = -(-max(int(t_op.max()), int(t_ref.max())) // MS_PER_QUARTER) * MS_PER_QUARTER
    op = intervals_from_register(t_op, v_op, lo, hi, MS_PER_QUARTER, max_gap).series
    ref = intervals_from_register(t_ref, v_ref, lo, hi, MS_PER_QUARTER, max_gap).series
    return op, ref


def run(args: argparse.Namespace) -> int:
    max_lag = parse_duration(args.max_lag, field="--max-lag")
    max_gap = (parse_duration(args.max_gap, field="--max-gap") if args.max_gap
               else DEFAULT_CSV_MAX_GAP_MS)
    if max_lag <= 0 or max_gap <= 0:
        raise UserError("durations must be positive", field="--max-lag/--max-gap",
                        expected="a duration > 0")
    kinds = {_kind(sniff_columns(p), str(p)) for p in (args.operator, args.reference)}
    if len(kinds) != 1:
        raise UserError("one file holds readings and the other intervals", source=str(args.reference),
                        expected="both readings or both intervals")
    clock: ClockAlignment | None = None
    clock_note = "offset and drift need readings; interval files only allow the labelling check"
    is_energy = args.channel.startswith("energy.")
    if kinds == {"readings"}:
        _, t_op, v_op = _readings(args.operator, args.channel, args.operator_meter,
                                  "--operator-meter")
        _, t_ref, v_ref = _readings(args.reference, args.channel, args.reference_meter,
                                    "--reference-meter")
        try:
            clock = estimate_clock(t_op, v_op, t_ref, v_ref,
                                   kind="energy" if is_energy else "power", max_lag_ms=max_lag)
            clock_note = clock.describe()
        except AlignmentError as exc:
            clock_note = f"offset and drift not determined: {exc}"
        if is_energy:
            op_series, ref_series = _derive_quarters(t_op, v_op, t_ref, v_ref, max_gap)
            labelling = _diagnose(op_series, ref_series)
        else:
            labelling = None
    else:
        op_series = _interval_series(args.operator, args.channel, args.operator_meter,
                                     "--operator-meter")
        ref_series = _interval_series(args.reference, args.channel, args.reference_meter,
                                      "--reference-meter")
        if op_series.resolution_ms != ref_series.resolution_ms:
            raise UserError("the two files have different resolutions", source=str(args.reference),
                            field="resolution", expected="the operator file's resolution")
        labelling = _diagnose(op_series, ref_series)

    if args.json:
        print(json.dumps(_as_json(clock, clock_note, labelling), indent=2))
    else:
        print(f"clock: {clock_note}")
        if clock is not None:
            print(f"offset_s: {clock.offset_ms / 1000:.3f} ± {clock.offset_uncertainty_ms / 1000:.3f}"
                  f" at {format_iso_utc(clock.reference_time_ms)}")
            print(f"drift_ppm: {clock.drift_ppm:.2f} ± {clock.drift_uncertainty_ppm:.2f}")
        if labelling is None:
            print("labelling: not checked (needs energy readings or interval files)")
        else:
            print(f"labelling: {labelling.text}")
            print(f"correction: {labelling.correction}")
    return 0


def _diagnose(op: IntervalSeries, ref: IntervalSeries) -> LabellingDiagnosis:
    try:
        return diagnose_labelling(op, ref, max_shift_ms=3 * MS_PER_HOUR)
    except ValueError as exc:
        raise UserError(str(exc), field="intervals", expected="overlapping series") from None


def _as_json(clock: ClockAlignment | None, note: str, labelling: LabellingDiagnosis | None
             ) -> dict[str, object]:
    out: dict[str, object] = {"clock": note, "coverage": COVERAGE}
    if clock is not None:
        rec = clock.as_record()
        out.update({k: rec[k] for k in ("offset_s", "offset_uncertainty_s", "drift_ppm",
                                       "drift_uncertainty_ppm", "windows", "step_s")})
        out["reference_time"] = format_iso_utc(clock.reference_time_ms)
    else:
        out.update({"offset_s": None, "offset_uncertainty_s": None, "drift_ppm": None,
                    "drift_uncertainty_ppm": None})
    out["labelling"] = None if labelling is None else labelling.as_record()
    return out
