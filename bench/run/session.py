"""One run of a bench, from starting the simulated devices to a written run folder.

Used by the pytest plugin (session fixtures) and so by ``meterbench run``: both drive the same
object, which is why they produce the same verdicts.
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from meterbench.accuracy.runfield import field_accuracy_section
from meterbench.acquisition.engine import POLL_CHANNELS, MeterStats, acquire, poll_plan  # noqa: F401 - POLL_CHANNELS re-exported
from meterbench.acquisition.links import build_drivers
from meterbench.clocks.run_clock import make_clock
from meterbench.config.bench_file import BenchConfig
from meterbench.core.quality import Quality
from meterbench.core.records import Record
from meterbench.core.timeutil import format_iso_utc, format_minute_utc
from meterbench.datahub.daily import metering_points
from meterbench.instruments.sim.serve import EndpointInfo
from meterbench.run import folder as runfolder
from meterbench.run.analysis import Analysis, analyse
from meterbench.run.simhost import SimHost, start_meters
from meterbench.run.simworld import MARGIN_MS, SimWorld, build_world
from meterbench.store.run_store import Store
from meterbench.verdicts.truth import TruthCheck, check_meter

STORE_FILE = "store.sqlite"


def stderr_progress(label: str) -> Callable[[int, int], None]:
    """A progress line: redrawn in place on a terminal, a plain line per 10 % otherwise (logs)."""
    tty = sys.stderr.isatty()
    last = {"decile": -1}

    def show(done: int, total: int) -> None:
        pct = 100.0 * done / total if total else 100.0
        if tty:
            end = "\n" if done >= total else ""
            sys.stderr.write(f"\r{label}: {done}/{total} polls ({pct:5.1f} %){end}")
        elif int(pct // 10) > last["decile"]:
            last["decile"] = int(pct // 10)
            sys.stderr.write(f"{label}: {done}/{total} polls ({pct:.0f} %)\n")
        sys.stderr.flush()
    return show


class BenchRun:
    def __init__(self, config: BenchConfig, run_dir: Path, *,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.config = config
        self.lock = runfolder.claim_run_dir(run_dir, "run")  # refuses another kind of run; locked
        self.run_dir = self.lock.path
        self.progress = progress
        self.started = datetime.now(UTC)
        self.world: SimWorld | None = None
        self.host: SimHost | None = None
        self.endpoints: list[EndpointInfo] = []
        self.clock = make_clock(config.run.clock, config.run.start_ms - MARGIN_MS // 2,
                                config.run.scale)
        self.store = Store(self.run_dir / STORE_FILE)
        self.stats: dict[str, MeterStats] = {}
        self.analysis: Analysis | None = None
        self.records: list[Record] = []
        self.tests: list[dict[str, Any]] = []
        self.acquire_seconds = 0.0
        self._truth: dict[str, TruthCheck] = {}
        self.lab: Any = None  # a running lab on a bench with a [lab] section (meterbench.accuracy)
        self.lab_records: list[Record] | None = None
        self.instrument_devices: list[dict[str, Any]] = []  # *IDN? of lab instruments

    # ---- devices ----------------------------------------------------------------------------
    def start(self) -> None:
        self.store.set_meta("bench", {"name": self.config.name, "source": self.config.source,
                                      "sha256": self.config.sha256})
        self.store.set_meta("software", runfolder.software_versions())
        self.store.set_meta("period", runfolder.period_meta(self.config))
        if self.config.lab is not None:
            from meterbench.accuracy.runlab import instrument_devices, open_lab

            self.lab = open_lab(self.config)
            self.instrument_devices = instrument_devices(self.config, self.lab)
            return
        if self.config.simulate:
            self.world = build_world(self.config)
            self.host = SimHost()
            self.endpoints = start_meters(self.host, self.config, self.world, self.clock.now_ms)

    def close(self) -> None:
        if self.lab is not None:
            self.lab.close()
            self.lab = None
        if self.host is not None:
            self.host.stop()
            self.host = None
        try:
            self.store.close()
        except Exception:  # noqa: BLE001 - already closed
            pass
        self.lock.release()

    def describe_transport(self, meter_id: str) -> str:
        if self.lab is not None:
            from meterbench.accuracy.runlab import describe

            return describe(self.config, self.lab, meter_id)
        if self.config.simulate:
            ep = next((e for e in self.endpoints if e.name == meter_id), None)
            if ep is None:  # the simulated devices never started: the report must still render
                return "simulated, not started"
            where = ep.device if ep.transport == "rtu" else f"{ep.host}:{ep.port}"
            return f"simulated, {ep.transport} {where} unit {ep.unit_id}"
        t = self.config.meter(meter_id).transport
        if t.kind == "rtu":
            return f"rtu {t.device} {t.baud} {t.parity}{t.stopbits} unit {t.unit}"
        return f"{t.kind}://{t.host}:{t.port} unit {t.unit}"

    # ---- acquisition and analysis -------------------------------------------------------------
    def acquire(self) -> dict[str, MeterStats]:
        cfg = self.config
        if cfg.lab is not None:
            return self.stats  # a lab bench measures test points, not a day in the field
        drivers = build_drivers(cfg, self.endpoints, self.clock.now_ms)
        plans = [poll_plan(spec, drivers[spec.id]) for spec in cfg.meters]
        longest = max([cfg.run.poll_ms, *(p.period_ms or 0 for p in plans)])
        margin = 2 * longest  # boundaries at both ends need readings on both sides
        t0 = time.monotonic()
        self.stats = asyncio.run(acquire(
            plans, self.clock, self.store, start_ms=cfg.run.start_ms - margin,
            end_ms=cfg.run.end_ms + margin, period_ms=cfg.run.poll_ms,
            jitter_ms=cfg.run.jitter_ms if cfg.simulate else 0, seed=cfg.seed,
            progress=self.progress))
        self.acquire_seconds = time.monotonic() - t0
        return self.stats

    def analyse(self) -> Analysis:
        if self.analysis is None:
            self.store.commit()
            self.analysis = analyse(self.config, self.store)
        return self.analysis

    def truth(self, meter_id: str) -> TruthCheck:
        if self.world is None:
            raise RuntimeError("ground truth exists only on a simulated bench")
        if meter_id not in self._truth:
            self._truth[meter_id] = check_meter(self.world, self.analyse(), meter_id)
        return self._truth[meter_id]

    def run_lab(self) -> list[Record]:
        """The lab bench's plan, run once for every meter under test (they share the source)."""
        if self.lab is None:
            raise RuntimeError("this bench has no [lab] section")
        if self.lab_records is None:
            from meterbench.accuracy.runlab import run_lab_plan

            self.lab_records = run_lab_plan(self.config, self.lab)
        return self.lab_records

    def add_record(self, record: Record) -> Record:
        self.records.append(record)
        return record

    # ---- the run folder -----------------------------------------------------------------------
    def write(self) -> Path:
        """results.json and the series files; returns the results path."""
        cfg = self.config
        if cfg.lab is not None:
            from meterbench.accuracy.runlab import lab_results_document

            path = self.run_dir / "results.json"
            runfolder.write_json(path, lab_results_document(self))
            return path
        a = self.analyse()
        series: dict[str, str] = {}
        rows = _interval_rows(a, "quarter", "PT15M")
        runfolder.write_csv(self.run_dir / "series" / "intervals.csv", INTERVAL_HEADER, rows)
        series["intervals"] = "series/intervals.csv"
        runfolder.write_csv(self.run_dir / "series" / "intervals-PT1H.csv", INTERVAL_HEADER,
                            _interval_rows(a, "hour", "PT1H"))
        series["intervals_pt1h"] = "series/intervals-PT1H.csv"
        n = a.netting
        starts = a.quarter_starts
        header = ["start", "main", *[f"serial:{s}" for s in n.serial], "virtual", "virtual_quality",
                  "negative"]
        runfolder.write_csv(self.run_dir / "series" / "netting.csv", header, (
            (format_minute_utc(int(starts[k])), _num(n.main.import_kwh[k]),
             *[_num(n.subs.import_kwh[j][k]) for j in range(len(n.serial))],
             _num(n.virtual.import_kwh[k]), Quality(int(n.virtual.import_quality[k])).label,
             int(bool(n.virtual.negative_import[k]))) for k in range(len(starts))))
        series["netting"] = "series/netting.csv"
        if a.field_pairs:
            runfolder.write_csv(
                self.run_dir / "series" / "comparison.csv",
                ("operator", "reference", "start", "operator_kwh", "reference_kwh", "error_pct",
                 "operator_quality", "reference_quality"),
                ((p.operator.id, p.reference.id, format_minute_utc(int(c_start)), _num(op), _num(ref),
                  _num(err), Quality(int(qo)).label, Quality(int(qr)).label)
                 for p in a.field_pairs
                 for c_start, op, ref, err, qo, qr in zip(
                     p.comparison.start_ms, p.comparison.operator_kwh, p.comparison.reference_kwh,
                     p.comparison.error_pct, p.comparison.operator_quality,
                     p.comparison.reference_quality, strict=True)))
            series["comparison"] = "series/comparison.csv"
        results = self._results_document(series)
        path = self.run_dir / "results.json"
        runfolder.write_json(path, results)
        return path

    def _results_document(self, series: dict[str, str]) -> dict[str, Any]:
        cfg, a = self.config, self.analyse()
        failed_tests = [t for t in self.tests if t["outcome"] in ("failed", "error")]
        failed = any(r.failed for r in self.records) or bool(failed_tests)
        acq_polls = sum(s.scheduled for s in self.stats.values())
        acq_ok = sum(s.ok for s in self.stats.values())
        by_record = {r.subject: r for r in self.records
                     if r.stage == "field" and r.name == "operator vs reference energy error"}
        field = []
        for p in a.field_pairs:
            rec = by_record.get(p.operator.id)
            c = p.comparison
            mask = c.both_measured & np.isfinite(c.error_pct)
            field.append(dict(
                operator=p.operator.id, reference=p.reference.id, compared=int(c.both_measured.sum()),
                with_energy=int(mask.sum()), expected=len(c.start_ms),
                completeness_pct=100.0 * c.both_measured.sum() / max(len(c.start_ms), 1),
                operator_kwh=float(c.operator_kwh[mask].sum()), reference_kwh=float(c.reference_kwh[mask].sum()),
                total_error_pct=c.energy_weighted_error_pct(mask),
                total_error_u_pct=rec.uncertainty if rec else None,
                limit_pct=rec.high if rec else None,
                limit_basis=f"MPE class {p.operator.accuracy_class} (MID, Itr…Imax, +5…+30 °C)",
                verdict=rec.verdict if rec else "info", rule=rec.rule if rec else "not evaluated",
                interval_limit_pct=None))
        n = a.netting
        netting = dict(serial=list(n.serial), policy=n.virtual.policy,
                       main_kwh=float(np.nansum(n.main.import_kwh)),
                       serial_kwh=float(np.nansum(n.subs.import_kwh)),
                       virtual_kwh=float(np.nansum(n.virtual.import_kwh)),
                       sum_check_kwh=float(np.nanmax(np.abs(n.sum_check_import))),
                       negative_count=int(np.count_nonzero(n.virtual.negative_import)),
                       diagnoses=_diagnosis_lines(n.diagnosis.events))
        intervals = dict(resolution="PT15M", max_gap=f"{2.5 * cfg.run.poll_ms / 1000:.0f} s", meters=[
            dict(meter=mid, channel=ch, count=len(mi.series),
                 measured=mi.series.count(Quality.MEASURED), estimated=mi.series.count(Quality.ESTIMATED),
                 missing=mi.series.count(Quality.MISSING), total_kwh=mi.series.total_kwh())
            for mid, ma in a.meters.items() for ch, mi in ma.quarter.items()])
        events = [dict(time=format_iso_utc(e["t_ms"]), meter=e["meter"], kind=e["kind"], detail=e["detail"])
                  for e in self.store.events()]
        events += [dict(time=format_iso_utc(e.start_ms), meter=e.meter, kind=e.kind, detail=e.text)
                   for ma in a.meters.values() for e in ma.events]
        truth = [dict(meter=t.meter, true_kwh=float(np.sum(t.true_kwh[t.checked])),
                      recovered_kwh=float(np.sum(t.recovered_kwh[t.checked])),
                      recovered_error_pct=t.recovered_error_pct, true_error_pct=t.true_error_pct,
                      worst_deviation_kwh=float(np.max(np.abs(t.deviation_kwh[t.checked]), initial=0.0)),
                      allowed_kwh=float(np.min(t.allowed_kwh[t.checked], initial=0.0)))
                 for t in self._truth.values()]
        return {
            "schema": runfolder.RESULTS_SCHEMA,
            "run": dict(
                id=self.run_dir.name, bench=cfg.name, bench_source=cfg.source, bench_sha256=cfg.sha256,
                started_utc=self.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                finished_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                simulated=cfg.simulate, clock=cfg.run.clock, seed=cfg.seed, timezone=cfg.timezone,
                labelling="intervals labelled by their start, UTC (DataHub convention)",
                local_date=cfg.run.local_date.isoformat(), days=cfg.run.days,
                period_start_utc=format_iso_utc(cfg.run.start_ms), period_end_utc=format_iso_utc(cfg.run.end_ms),
                software=runfolder.software_versions()),
            "verdict": "fail" if failed else "pass",
            "devices": [dict(id=m.id, name=m.label, role=m.role, model=m.model,
                             accuracy_class=m.accuracy_class, transport=self.describe_transport(m.id),
                             identity="simulated " + m.model if cfg.simulate else None,
                             calibration=(f"{m.calibration_id}, due {m.calibration_due.isoformat()}"
                                          if m.calibration_id and m.calibration_due else None),
                             gsrn=m.gsrn) for m in cfg.meters],
            "acquisition": dict(polls_scheduled=acq_polls, polls_done=acq_ok,
                                polls_failed=sum(s.errors for s in self.stats.values()),
                                polls_skipped=sum(s.skipped for s in self.stats.values()),
                                success_pct=100.0 * acq_ok / acq_polls if acq_polls else 0.0,
                                readings=self.store.reading_count(), seconds=self.acquire_seconds,
                                meters={k: s.summary() for k, s in self.stats.items()}),
            "intervals": intervals,
            "netting": netting,
            "field": field,
            "truth": truth,
            "accuracy": field_accuracy_section(a),
            "records": [r.as_dict() for r in self.records],
            "tests": self.tests,
            "events": events,
            "series": series,
            "datahub": dict(sender_gln=cfg.datahub.sender_gln, receiver_gln=cfg.datahub.receiver_gln,
                            metering_points=[dict(meter=p.meter, gsrn=p.gsrn, type=p.type,
                                                  subtype=p.subtype, resolution=p.resolution,
                                                  channel=p.channel) for p in metering_points(cfg)]),
        }


INTERVAL_HEADER = ("meter", "channel", "start", "resolution", "quantity", "quality")


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


