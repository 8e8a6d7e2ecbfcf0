"""The field run strategy: acquire a site's day (or days) over Modbus, then analyse and report it.

Devices are simulated or real (:mod:`meterbench.run.field_devices`, chosen once when the bench is
loaded); everything else is the same code: the acquisition engine polls every meter through the
real driver into the run store, the pipeline turns readings into intervals, the virtual main point
and comparisons, and :meth:`FieldRun.sections` writes the field sections of ``results.json`` and the
series files.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from meterbench.acquisition.engine import MeterStats, acquire, poll_plan
from meterbench.acquisition.links import build_drivers
from meterbench.config.bench_file import BenchConfig
from meterbench.core.quality import Quality
from meterbench.core.timeutil import format_iso_utc, format_minute_utc
from meterbench.datahub.daily import metering_points
from meterbench.run import folder as runfolder
from meterbench.run.analysis import Analysis, analyse
from meterbench.run.field_acceptance import field_result_for_pair
from meterbench.run.field_devices import FieldDevices, field_devices
from meterbench.run.results import Device
from meterbench.store.run_store import Store
from meterbench.verdicts.truth import TruthCheck, check_meter

INTERVAL_HEADER = ("meter", "channel", "start", "resolution", "quantity", "quality")


class FieldRun:
    kind = "field"

    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.devices: FieldDevices = field_devices(config)
        self.stats: dict[str, MeterStats] = {}
        self.acquire_seconds = 0.0
        self.analysis: Analysis | None = None
        self._truth: dict[str, TruthCheck] = {}

    @property
    def world(self) -> Any:
        return self.devices.world

    def check_reachable(self) -> None:
        self.devices.check_reachable()

    def start(self, now_ms: Callable[[], int]) -> None:
        self.devices.start(now_ms)

    def close(self) -> None:
        self.devices.stop()

    def acquire(self, clock: Any, store: Store,
                progress: Callable[[int, int], None] | None) -> dict[str, MeterStats]:
        cfg = self.config
        drivers = build_drivers(cfg, self.devices.endpoints, clock.now_ms)
        plans = [poll_plan(spec, drivers[spec.id]) for spec in cfg.meters]
        longest = max([cfg.run.poll_ms, *(p.period_ms or 0 for p in plans)])
        margin = 2 * longest  # boundaries at both ends need readings on both sides
        t0 = time.monotonic()
        self.stats = {}  # filled as the polls go: an interrupted run reports what it counted
        try:
            asyncio.run(acquire(
                plans, clock, store, start_ms=cfg.run.start_ms - margin,
                end_ms=cfg.run.end_ms + margin, period_ms=cfg.run.poll_ms,
                jitter_ms=self.devices.poll_jitter_ms, seed=cfg.seed, progress=progress,
                stats=self.stats))
        finally:
            self.acquire_seconds = time.monotonic() - t0
        return self.stats

    def analyse(self, store: Store) -> Analysis:
        if self.analysis is None:
            store.commit()
            self.analysis = analyse(self.config, store)
        return self.analysis

    def truth(self, store: Store, meter_id: str) -> TruthCheck:
        if self.world is None:
            raise RuntimeError("ground truth exists only on a simulated bench")
        if meter_id not in self._truth:
            self._truth[meter_id] = check_meter(self.world, self.analyse(store), meter_id)
        return self._truth[meter_id]

    def device_list(self) -> list[Device]:
        return [Device(id=m.id, name=m.label, role=m.role, model=m.model,
                       accuracy_class=m.accuracy_class, transport=self.devices.describe(m.id),
                       identity=self.devices.identity(m),
                       calibration=(f"{m.calibration_id}, due {m.calibration_due.isoformat()}"
                                    if m.calibration_id and m.calibration_due else None),
                       gsrn=m.gsrn) for m in self.config.meters]

    def describe(self, meter_id: str) -> str:
        return self.devices.describe(meter_id)

    def time_frame(self) -> dict[str, Any]:
        run = self.config.run
        return dict(clock=run.clock, days=run.days,
                    labelling="intervals labelled by their start, UTC (DataHub convention)",
                    period_start_utc=format_iso_utc(run.start_ms),
                    period_end_utc=format_iso_utc(run.end_ms))

    # ---- the run folder -------------------------------------------------------------------------
    def write_series(self, store: Store, run_dir: Path) -> dict[str, str]:
        """The interval, netting and comparison series files; their names, by key."""
        a = self.analyse(store)
        series: dict[str, str] = {}
        runfolder.write_csv(run_dir / "series" / "intervals.csv", INTERVAL_HEADER,
                            _interval_rows(a, "quarter", "PT15M"))
        series["intervals"] = "series/intervals.csv"
        runfolder.write_csv(run_dir / "series" / "intervals-PT1H.csv", INTERVAL_HEADER,
                            _interval_rows(a, "hour", "PT1H"))
        series["intervals_pt1h"] = "series/intervals-PT1H.csv"
        n = a.netting
        starts = a.quarter_starts
        header = ["start", "main", *[f"serial:{s}" for s in n.serial], "virtual",
                  "virtual_quality", "negative"]
        runfolder.write_csv(run_dir / "series" / "netting.csv", header, (
            (format_minute_utc(int(starts[k])), _num(n.main.import_kwh[k]),
             *[_num(n.subs.import_kwh[j][k]) for j in range(len(n.serial))],
             _num(n.virtual.import_kwh[k]), Quality(int(n.virtual.import_quality[k])).label,
             int(bool(n.virtual.negative_import[k]))) for k in range(len(starts))))
        series["netting"] = "series/netting.csv"
        if a.field_pairs:
            runfolder.write_csv(
                run_dir / "series" / "comparison.csv",
                ("operator", "reference", "start", "operator_kwh", "reference_kwh", "error_pct",
                 "operator_quality", "reference_quality"),
                ((p.operator.id, p.reference.id, format_minute_utc(int(c_start)), _num(op),
                  _num(ref), _num(err), Quality(int(qo)).label, Quality(int(qr)).label)
                 for p in a.field_pairs
                 for c_start, op, ref, err, qo, qr in zip(
                     p.comparison.start_ms, p.comparison.operator_kwh, p.comparison.reference_kwh,
                     p.comparison.error_pct, p.comparison.operator_quality,
                     p.comparison.reference_quality, strict=True)))
            series["comparison"] = "series/comparison.csv"
        return series

    def events(self, store: Store) -> list[dict[str, Any]]:
        a = self.analyse(store)
        out = [dict(time=format_iso_utc(e["t_ms"]), meter=e["meter"], kind=e["kind"],
                    detail=e["detail"]) for e in store.events()]
        out += [dict(time=format_iso_utc(e.start_ms), meter=e.meter, kind=e.kind, detail=e.text)
                for ma in a.meters.values() for e in ma.events]
        return out

    def sections(self, store: Store, records: list[Any]) -> dict[str, Any]:
        """The field sections of results.json: acquisition, intervals, netting, field acceptance
        per pair, ground truth, DataHub metering points. Counts come from one place each (the
        field acceptance summary, the truth checks, the records), never recomputed here."""
        cfg, a = self.config, self.analyse(store)
        acq_polls = sum(s.scheduled for s in self.stats.values())
        acq_ok = sum(s.ok for s in self.stats.values())
        by_check = {(r.check, r.subject): r for r in records}
        field = []
        for p in a.field_pairs:
            res = field_result_for_pair(a, p)
            field.append({**res.summary, "records": [r.as_dict() for r in res.records]})
        n = a.netting
        conservation = next((r for r in records if r.check == "netting.main_register"), None)
        netting = dict(serial=list(n.serial), policy=n.virtual.policy,
                       main_kwh=float(np.nansum(n.main.import_kwh)),
                       serial_kwh=float(np.nansum(n.subs.import_kwh)),
                       virtual_kwh=float(np.nansum(n.virtual.import_kwh)),
                       conservation_gap_kwh=conservation.value if conservation else None,
                       conservation_verdict=conservation.verdict if conservation else None,
                       negative_count=int(np.count_nonzero(n.virtual.negative_import)),
                       diagnoses=_diagnosis_lines(n.diagnosis.events))
        virtual_truth = next((r for r in records if r.check == "netting.virtual_vs_truth"), None)
        if virtual_truth is not None:
            netting["truth"] = dict(true_kwh=virtual_truth.data["true_kwh"],
                                    virtual_kwh=virtual_truth.data["virtual_kwh"],
                                    deviation_kwh=virtual_truth.value,
                                    bound_kwh=virtual_truth.high, verdict=virtual_truth.verdict)
        intervals = dict(resolution="PT15M", max_gap=f"{2.5 * cfg.run.poll_ms / 1000:.0f} s",
                         meters=[dict(meter=mid, channel=ch, count=len(mi.series),
                                      measured=mi.series.count(Quality.MEASURED),
                                      estimated=mi.series.count(Quality.ESTIMATED),
                                      missing=mi.series.count(Quality.MISSING),
                                      total_kwh=mi.series.total_kwh())
                                 for mid, ma in a.meters.items() for ch, mi in ma.quarter.items()])
        truth = [_truth_row(t, by_check.get(("truth.intervals", t.meter)))
                 for t in self._truth.values()]
        return {
            "acquisition": dict(polls_scheduled=acq_polls, polls_done=acq_ok,
                                polls_failed=sum(s.errors for s in self.stats.values()),
                                polls_skipped=sum(s.skipped for s in self.stats.values()),
                                success_pct=100.0 * acq_ok / acq_polls if acq_polls else 0.0,
                                readings=store.reading_count(), seconds=self.acquire_seconds,
                                meters={k: s.summary() for k, s in self.stats.items()}),
            "intervals": intervals,
            "netting": netting,
            "field": field,
            "truth": truth,
            "datahub": dict(sender_gln=cfg.datahub.sender_gln,
                            receiver_gln=cfg.datahub.receiver_gln,
                            metering_points=[dict(meter=p.meter, gsrn=p.gsrn, type=p.type,
                                                  subtype=p.subtype, resolution=p.resolution,
                                                  channel=p.channel)
                                             for p in metering_points(cfg)]),
        }


def _truth_row(t: TruthCheck, rec: Any) -> dict[str, Any]:
    """One meter's ground truth: what was expected and recovered, and its closest interval to
    the bound (the deviation there and the bound there, not a global minimum)."""
    c = t.checked
    w = t.worst_index
    return dict(meter=t.meter, expected=t.expected_count, recovered=t.recovered_count,
                missing=t.expected_count - t.recovered_count,
                true_kwh=float(np.sum(t.true_kwh[c])), recovered_kwh=float(np.sum(t.recovered_kwh[c])),
                recovered_error_pct=t.recovered_error_pct if c.any() else None,
                true_error_pct=t.true_error_pct,
                worst_interval_utc=format_minute_utc(int(t.start_ms[w])) if w is not None else None,
                worst_deviation_kwh=float(abs(t.deviation_kwh[w])) if w is not None else None,
                bound_at_worst_kwh=float(t.allowed_kwh[w]) if w is not None else None,
                verdict=rec.verdict if rec is not None else ("pass" if t.within else "fail"))


def _interval_rows(a: Analysis, which: str, resolution: str) -> list[tuple[str, ...]]:
    """Rows of an interval series file; quantities with 6 decimals (DataHub rounds to 3 later)."""
    rows = []
    for mid, ma in a.meters.items():
        for ch, mi in getattr(ma, which).items():
            s = mi.series
            for k in range(len(s)):
                q = Quality(int(s.quality[k]))
                rows.append((mid, ch, format_minute_utc(int(s.start_ms[k])), resolution,
                             "" if q == Quality.MISSING or not math.isfinite(s.quantity[k])
                             else f"{s.quantity[k]:.6f}", q.label))
    return rows


def _diagnosis_lines(events: list[Any], limit: int = 12) -> list[str]:
    """Why residuals are negative, in plain words: the first few intervals, then a count by cause."""
    lines = [e.text for e in events[:limit]]
    if len(events) > limit:
        causes = Counter(e.kind for e in events[limit:])
        lines.append(f"… and {len(events) - limit} more: " +
                     ", ".join(f"{k.replace('_', ' ')} × {v}" for k, v in causes.items()))
    return lines


def _num(x: float) -> str:
    return "" if not math.isfinite(float(x)) else f"{float(x):.6f}"
