"""The fault matrix, end to end: one simulated bench (``faults.toml``) with one meter per fault the
simulated meters can show, plus clean control meters, run by the same :class:`BenchRun` the plugin
and ``meterbench run`` drive, written to a run folder and rendered to ``report.html``.

For each fault: it is detected, recorded as an event naming the meter, reflected in the quality of
the intervals around it (and nowhere else), and explained in the report's text; the run completes
and the control meters are untouched and still recover the simulated ground truth.
"""

from __future__ import annotations

import html
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from meterbench.config.bench_file import load_bench
from meterbench.core.quality import Quality
from meterbench.core.timeutil import parse_iso
from meterbench.instruments.sim.faults import _ALIASES, KINDS
from meterbench.reports.html import render_html
from meterbench.run.session import BenchRun

FAULT_BENCH = Path(__file__).with_name("faults.toml")
CONTROLS = ("main", "ok", "ok_ref")
WINDOW = (parse_iso("2026-06-01T08:00:00Z"), parse_iso("2026-06-01T09:00:00Z"))
QUARTER_MS = 900_000


@dataclass
class FaultRun:
    results: dict[str, Any]
    report_text: str
    quality: dict[str, np.ndarray]     # meter -> energy.import quality per quarter-hour
    starts: np.ndarray
    quantity: dict[str, np.ndarray]
    true_kwh: dict[str, np.ndarray]    # control meters: simulated truth per quarter-hour

    def events(self, meter: str) -> list[dict[str, Any]]:
        return [e for e in self.results["events"] if e["meter"] == meter]

    def kinds(self, meter: str) -> set[str]:
        return {e["kind"] for e in self.events(meter)}

    def acquisition(self, meter: str) -> dict[str, Any]:
        return self.results["acquisition"]["meters"][meter]

    def intervals(self, meter: str) -> dict[str, Any]:
        return next(m for m in self.results["intervals"]["meters"]
                    if m["meter"] == meter and m["channel"] == "energy.import")


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory: pytest.TempPathFactory) -> FaultRun:
    config = load_bench(str(FAULT_BENCH))
    run = BenchRun(config, tmp_path_factory.mktemp("fault-matrix") / "run")
    try:
        run.start()
        run.acquire()
        run.write()
        analysis = run.analyse()
        truth = {m: run.world.true_intervals(m, analysis.quarter_starts, QUARTER_MS)  # type: ignore[union-attr]
                 for m in CONTROLS}
        report = render_html(run.run_dir)
    finally:
        run.close()
    series = {mid: ma.quarter["energy.import"].series for mid, ma in analysis.meters.items()}
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", report.read_text("utf-8"))))
    return FaultRun(results=json.loads((run.run_dir / "results.json").read_text("utf-8")),
                    report_text=text, quality={m: s.quality for m, s in series.items()},
                    starts=analysis.quarter_starts,
                    quantity={m: s.quantity for m, s in series.items()}, true_kwh=truth)


@dataclass(frozen=True)
class Expect:
    meter: str
    events: tuple[str, ...]            # event kinds that must be recorded for the meter
    acquisition_error: str | None      # the error class polls fail with (wire faults)
    quality: str                       # "estimated", "missing" or "measured" (energy kept)
    report: tuple[str, ...]            # text the report must show


WIRE = ("poll_failed", "recovered", "gap")
MATRIX = {
    "exception": Expect("f_exception", WIRE, "SLAVE_DEVICE_BUSY", "estimated",
                        ("f_exception", "Modbus exception 6 SLAVE_DEVICE_BUSY")),
    "no_answer": Expect("f_timeout", WIRE, "ModbusTimeoutError", "estimated",
                        ("f_timeout", "no answer within 0.1 s")),
    "corrupt": Expect("f_bad_crc", WIRE, "ModbusFrameError", "estimated",
                      ("f_bad_crc", "corrupted answer")),
    "drop": Expect("f_drop", ("poll_failed", "disconnected", "reconnected", "gap"),
                   "ModbusConnectionError", "estimated", ("f_drop", "connection lost")),
    "frozen": Expect("f_frozen", ("frozen_register",), None, "estimated",
                     ("f_frozen", "energy register frozen", "the register caught up by 11.1 kWh")),
    "reset": Expect("f_reset", ("reset",), None, "missing",
                    ("f_reset", "register went down", "a reset, not consumption")),
    "rollover": Expect("f_rollover", ("rollover",), None, "measured",
                       ("f_rollover", "rolled over at its modulus 10000 kWh", "energy kept")),
    "nan": Expect("f_nan", ("value_flagged", "gap"), None, "estimated",
                  ("f_nan", "energy.import=nan")),
    "not_available": Expect("f_sentinel", ("value_flagged", "gap"), None, "estimated",
                            ("f_sentinel", "energy.import=not_available")),
    # the bench stamps readings with its own clock: a meter clock jump leaves the energy measured
    "clock_jump": Expect("f_clock", ("clock_jump",), None, "measured",
                         ("f_clock", "the meter's clock jumped by -3600.0 s")),
}


def test_the_matrix_covers_every_fault_the_simulator_can_inject() -> None:
    """Every fault kind of meterbench.instruments.sim.faults appears in faults.toml (aliases resolved), and
    the matrix checks each; rollover is a meter property (``rollover_kwh``), not a fault kind."""
    bench = tomllib.loads(FAULT_BENCH.read_text("utf-8"))
    declared = {_ALIASES.get(f["kind"], f["kind"]) for m in bench["meter"]
                for f in m.get("sim", {}).get("faults", [])}
    assert declared == set(KINDS)
    assert set(MATRIX) == set(KINDS) | {"rollover"}


def test_clock_jump_fails_the_clock_check_and_a_steady_offset_is_measured(fault_run: FaultRun) -> None:
    """No shipped model has a clock, so f_clock uses a test-only map with one (offset +2.5 s, then a
    jump of -3600 s at 08:00): the conformance clock record sees the jump, the offset before it is
    recovered, and the energy is untouched."""
    run = fault_run
    jumps = [e for e in run.events("f_clock") if e["kind"] == "clock_jump"]
    assert len(jumps) == 1 and "+2.5 s → -3597.5 s" in jumps[0]["detail"]
    assert (run.quality["f_clock"] == Quality.MEASURED).all()


def test_the_run_completes_with_every_meter_reported(fault_run: FaultRun) -> None:
    r = fault_run.results
    # acquired and written without the suites: nothing was checked, so it is not a pass
    assert r["verdict"] == "incomplete", r["summary"]
    assert r["summary"]["incomplete"].startswith("nothing was checked")
    assert {d["id"] for d in r["devices"]} == (set(CONTROLS) | {e.meter for e in MATRIX.values()}
                                               | {"f_frozen_maxp"})
    acq = r["acquisition"]
    assert acq["polls_done"] > 0.95 * acq["polls_scheduled"]
    assert len(fault_run.starts) == 96  # a whole local day of quarter-hours for every meter
    assert "Events" in fault_run.report_text


@pytest.mark.parametrize("fault", sorted(MATRIX))
def test_fault_is_detected_and_recorded_as_an_event(fault: str, fault_run: FaultRun) -> None:
    e = MATRIX[fault]
    assert set(e.events) <= fault_run.kinds(e.meter), fault_run.events(e.meter)
    acq = fault_run.acquisition(e.meter)
    if e.acquisition_error:
        assert acq["errors"] > 0 and e.acquisition_error in acq["last_error"]
        failed = [x for x in fault_run.events(e.meter) if x["kind"] == "poll_failed"]
        assert failed and all(e.acquisition_error in x["detail"] for x in failed)
        assert all(WINDOW[0] <= parse_iso(x["time"]) < WINDOW[1] + QUARTER_MS for x in failed)
    else:  # a value fault: the meter answered every poll, the values tell the story
        assert acq["errors"] == 0 and acq["ok"] == acq["polls"]


@pytest.mark.parametrize("fault", sorted(MATRIX))
def test_fault_is_reflected_in_interval_quality(fault: str, fault_run: FaultRun) -> None:
    e = MATRIX[fault]
    q = fault_run.quality[e.meter]
    counts = fault_run.intervals(e.meter)
    if e.quality == "measured":
        assert (q == Quality.MEASURED).all()
        return
    wanted = Quality.ESTIMATED if e.quality == "estimated" else Quality.MISSING
    bad = np.flatnonzero(q != Quality.MEASURED)
    assert len(bad) and (q[bad] == wanted).all()
    assert counts[e.quality] == len(bad)
    # Only intervals around the fault lose their quality: the rest of the day stays measured.
    event_spans = [(parse_iso(x["time"]), x) for x in fault_run.events(e.meter)]
    first_event = min(t for t, _ in event_spans)
    starts = fault_run.starts[bad]
    assert starts.min() >= first_event - 2 * QUARTER_MS
    assert starts.max() <= first_event + 4 * 3_600_000


@pytest.mark.parametrize("fault", sorted(MATRIX))
def test_fault_is_explained_in_the_report(fault: str, fault_run: FaultRun) -> None:
    for needle in MATRIX[fault].report:
        assert needle in fault_run.report_text, needle


@pytest.mark.parametrize("meter", CONTROLS)
def test_other_meters_are_unaffected(meter: str, fault_run: FaultRun) -> None:
    assert fault_run.events(meter) == []
    acq = fault_run.acquisition(meter)
    assert acq["errors"] == 0 and acq["skipped"] == 0 and acq["ok"] == acq["polls"]
    assert (fault_run.quality[meter] == Quality.MEASURED).all()
    # ... and still recover the simulated truth (float32 registers: 1e-6 relative resolution).
    got, truth = fault_run.quantity[meter], fault_run.true_kwh[meter]
    np.testing.assert_allclose(got, truth, atol=1e-3)


def test_rollover_keeps_the_energy(fault_run: FaultRun) -> None:
    """The rolled-over meter and the clean one see the same load with no error: same energy."""
    np.testing.assert_allclose(fault_run.quantity["f_rollover"], fault_run.true_kwh["ok"],
                               atol=2e-3)  # float32 at 10^4 kWh: ~1e-3 kWh per reading


def test_wire_faults_estimate_the_energy_they_hid(fault_run: FaultRun) -> None:
    """Across a one-hour outage the estimated intervals conserve the energy: the day's total
    equals the meter with the value faults that lost readings the same way."""
    totals = {m: fault_run.intervals(m)["total_kwh"] for m in
              ("f_exception", "f_timeout", "f_bad_crc", "f_drop", "f_nan")}
    assert max(totals.values()) - min(totals.values()) < 1e-6


def test_frozen_counter_keeps_its_energy(fault_run: FaultRun) -> None:
    """The counter froze during an EV session and caught up after the load had stopped: the
    frozen quarter-hours are estimated from the catch-up spread by the meter's own power, and the
    day's energy is the true energy (it was neither lost nor counted twice)."""
    frozen = (fault_run.starts >= parse_iso("2026-06-01T06:00:00Z")) & (
        fault_run.starts < parse_iso("2026-06-01T08:00:00Z"))
    assert (fault_run.quality["f_frozen"][frozen] == Quality.ESTIMATED).all()
    assert (fault_run.quality["f_frozen"][~frozen] == Quality.MEASURED).all()
    assert abs(np.nansum(fault_run.quantity["f_frozen"]) - fault_run.true_kwh["ok"].sum()) < 2e-3


def test_frozen_counter_with_max_power_keeps_its_energy(fault_run: FaultRun) -> None:
    assert abs(np.nansum(fault_run.quantity["f_frozen_maxp"]) - fault_run.true_kwh["ok"].sum()) < 2e-3


# ---- the simulator process stopped (SIGSTOP) and killed-then-restarted mid-quarter ------------
# The meters are served by a process of their own (sim_process.py) on fixed ports, on a scaled
# clock shared with the acquisition; the bench's drivers poll them over TCP as they would a real
# gateway. While the process is stopped the polls time out; while it is dead (and starting again)
# they are refused. The quarters those outages touch must be estimated or missing, never measured.
PROCESS_BENCH = """
[bench]
name = "sim-process"
seed = 5
simulate = false

[run]
date = "2026-06-01"
poll_period = "1min"

[[load]]
id = "house"
kind = "base"
mean_w = 800
peak_w = 3000

"""
PROCESS_METER = """
[[meter]]
id = "{id}"
role = "{id}"
model = "eastron_sdm630"
class = "B"
transport = {{ kind = "tcp", host = "127.0.0.1", port = {port}, timeout = 0.1 }}
"""
SCALE = 240.0          # a quarter-hour in 3.75 wall seconds, a poll every 0.25 s
MINUTE = 60_000


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ProcessFaultRun:
    quality: dict[str, np.ndarray]
    starts: np.ndarray
    windows: list[tuple[int, int]]     # simulated [from, to] of each outage
    failed: dict[str, int]
    failed_ticks: list[int]


@pytest.fixture(scope="module")
def process_fault_run(tmp_path_factory: pytest.TempPathFactory) -> ProcessFaultRun:
    import asyncio
    import signal
    import subprocess
    import sys
    import threading
    import time

    from meterbench.acquisition.engine import acquire, poll_plan
    from meterbench.acquisition.links import build_drivers
    from meterbench.clocks.anchored import AnchoredClock, wall_ms
    from meterbench.run.analysis import CHANNELS, analyse_meter
    from meterbench.run.field_devices import RealField
    from meterbench.store.run_store import Store

    tmp = tmp_path_factory.mktemp("sim-process")
    bench = tmp / "bench.toml"
    bench.write_text(PROCESS_BENCH + "".join(PROCESS_METER.format(id=role, port=_free_port())
                                             for role in ("main", "operator")))
    config = load_bench(str(bench))
    ports = [str(m.transport.port) for m in config.meters]
    start = config.run.start_ms
    clock = AnchoredClock(start, wall_ms() + 3000, SCALE)  # simulated 00:00 local in 3 s
    helper = Path(__file__).with_name("sim_process.py")
    argv = [sys.executable, str(helper), str(bench), str(clock.origin_ms),
            str(clock.anchor_wall_ms), str(SCALE), *ports]

    def launch() -> subprocess.Popen[str]:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        return proc

    procs = [launch()]
    windows: list[tuple[int, int]] = []

    def at_sim(minute: float) -> None:
        time.sleep(max(0.0, (clock.anchor_wall_ms + minute * MINUTE / SCALE - wall_ms()) / 1000))

    def faults() -> None:
        at_sim(22.3)                                   # mid-quarter 00:15-00:30
        t0 = clock.now_ms()
        procs[-1].send_signal(signal.SIGSTOP)
        time.sleep(1.0)                                # 4 min simulated, beyond every retry
        procs[-1].send_signal(signal.SIGCONT)
        windows.append((t0, clock.now_ms()))
        at_sim(37.3)                                   # mid-quarter 00:30-00:45
        t0 = clock.now_ms()
        procs[-1].send_signal(signal.SIGKILL)
        procs[-1].wait()
        at_sim(39.5)                                   # dead over the 00:38 and 00:39 polls
        procs.append(launch())                         # same ports, same world
        windows.append((t0, clock.now_ms()))

    store = Store(tmp / "store.sqlite")
    injector = threading.Thread(target=faults, daemon=True)
    try:
        drivers = build_drivers(config, RealField(config).endpoints, clock.now_ms)  # its ports
        plans = [poll_plan(spec, drivers[spec.id]) for spec in config.meters]
        injector.start()
        stats = asyncio.run(acquire(plans, clock, store, start_ms=start - 2 * MINUTE,
                                    end_ms=start + 47 * MINUTE, period_ms=MINUTE))
        injector.join(timeout=30)
        store.commit()
        failed_ticks = [int(e["tick_ms"]) for e in store.events("poll_failed")]
        quality, starts = {}, None
        for spec in config.meters:
            readings = {ch: store.series(spec.id, ch) for ch in CHANNELS}
            outages = {ch: store.outage_times(spec.id, ch) for ch in CHANNELS}
            ma = analyse_meter(spec, readings, start, start + 60 * MINUTE, MINUTE,
                               outages=outages)
            quality[spec.id] = ma.quarter["energy.import"].series.quality
            starts = ma.quarter["energy.import"].series.start_ms
    finally:
        store.close()
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.kill()
                p.wait()
    return ProcessFaultRun(quality, starts, windows,  # type: ignore[arg-type]
                           {m: s.errors for m, s in stats.items()}, failed_ticks)


@pytest.mark.slow
def test_stopped_and_restarted_simulator_quarters_are_never_measured(
        process_fault_run: ProcessFaultRun) -> None:
    run = process_fault_run
    assert len(run.windows) == 2 and all(n > 0 for n in run.failed.values()), run.failed
    for a, b in run.windows:  # each fault made polls fail (stopped: timeouts; dead: refused)
        assert any(a - MINUTE <= t <= b + MINUTE for t in run.failed_ticks), run.failed_ticks
    q = QUARTER_MS
    for meter, quality in run.quality.items():
        touched = np.zeros(len(run.starts), dtype=bool)
        for a, b in run.windows:  # a poll either side may be the one that failed
            touched |= (run.starts < b + MINUTE) & (run.starts + q > a - MINUTE)
        assert touched.sum() >= 2
        assert not (quality[touched] == Quality.MEASURED).any(), (meter, quality)
        assert set(quality[touched].tolist()) <= {Quality.ESTIMATED, Quality.MISSING}
        assert quality[0] == Quality.MEASURED  # the quarter before any fault: still measured
