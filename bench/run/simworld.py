"""Builds the simulated world a bench file describes: loads, each meter's circuit, SimMeters.

The world keeps the ground truth: :meth:`SimWorld.true_energy` is the exact energy that flowed
through a meter's circuit, and each meter's declared error is known, so tests can check that the
bench *recovers* what really happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from meterbench.config.bench_file import BenchConfig, LoadSpec, MeterSpec, session_bounds_ms
from meterbench.core.timeutil import MS_PER_HOUR
from meterbench.instruments.sim.meter import ErrorCurve, SimMeter, true_energy
from meterbench.instruments.sim.world import (
    Schedule,
    ScheduleCircuit,
    base_load,
    combine,
    cycling_sessions,
    on_off_load,
)

#: The simulated world extends this far beyond the run on both sides, so that boundary
#: interpolation at the first and last interval has readings on both sides.
MARGIN_MS = MS_PER_HOUR


@dataclass
class SimWorld:
    config: BenchConfig
    circuits: dict[str, ScheduleCircuit]
    meters: dict[str, SimMeter]
    start_ms: int
    end_ms: int

    def true_energy(self, meter_id: str, start_ms: int, end_ms: int) -> tuple[float, float]:
        """Exact (import, export) kWh through the meter's circuit, by its registration rule."""
        spec = self.config.meter(meter_id)
        return true_energy(self.circuits[meter_id], start_ms, end_ms, summation=spec.sim.summation)

    def true_intervals(self, meter_id: str, starts_ms: np.ndarray, resolution_ms: int) -> np.ndarray:
        """True import kWh of each interval starting at ``starts_ms``."""
        return np.array([self.true_energy(meter_id, int(s), int(s) + resolution_ms)[0]
                         for s in starts_ms])

    def max_power_w(self, meter_id: str) -> float:
        sched = self.circuits[meter_id].schedule
        v = np.asarray(self.circuits[meter_id].voltage_v)
        p = (sched.current_a * v * np.cos(np.radians(sched.phi_deg))).sum(axis=1)
        return float(np.abs(p).max())


def _session_ms(cfg: BenchConfig, load: LoadSpec, day_offset: int) -> list[tuple[int, int]]:
    day = cfg.run.local_date + timedelta(days=day_offset)
    return [session_bounds_ms(day, a, b, cfg.tz) for a, b in load.sessions]


def _schedule(cfg: BenchConfig, load: LoadSpec, start: int, end: int,
              rng: np.random.Generator) -> Schedule:
    if load.kind == "base":
        return base_load(start, end, rng, mean_w=load.mean_w, peak_w=load.peak_w,
                         phases=load.phases, power_factor=load.power_factor)
    if load.kind == "sessions":
        sessions = [s for d in range(-1, cfg.run.days + 1) for s in _session_ms(cfg, load, d)]
        return on_off_load(start, end, sessions, power_w=load.power_w, phases=load.phases,
                           power_factor=load.power_factor, producing=load.producing)
    cycles = cycling_sessions(start, end, rng, on_ms=load.on_ms, off_ms=load.off_ms)
    return on_off_load(start, end, cycles, power_w=load.power_w, phases=load.phases,
                       power_factor=load.power_factor, producing=load.producing)


def _sim_meter(spec: MeterSpec, circuit: ScheduleCircuit, start_ms: int) -> SimMeter:
    return SimMeter(circuit=circuit, start_ms=start_ms,
                    error=ErrorCurve.constant(spec.sim.error_pct),
                    summation=spec.sim.summation,
                    import_kwh=spec.sim.initial_import_kwh,
                    export_kwh=spec.sim.initial_export_kwh,
                    rollover_kwh=spec.rollover_kwh,
                    clock_offset_ms=round(spec.sim.clock_offset_s * 1000),
                    clock_drift_ppm=spec.sim.clock_drift_ppm)


def build_world(cfg: BenchConfig) -> SimWorld:
    start, end = cfg.run.start_ms - MARGIN_MS, cfg.run.end_ms + MARGIN_MS
    rng = np.random.default_rng(cfg.seed)
    schedules = {load.id: _schedule(cfg, load, start, end, rng) for load in cfg.loads}
    circuits: dict[str, ScheduleCircuit] = {}
    meters: dict[str, SimMeter] = {}
    for spec in cfg.meters:
        loads = spec.loads or tuple(schedules)
        circuits[spec.id] = ScheduleCircuit(combine([schedules[x] for x in loads]))
        meters[spec.id] = _sim_meter(spec, circuits[spec.id], start)
    return SimWorld(cfg, circuits, meters, start, end)


def power_range_w(world: SimWorld, meter_id: str, start_ms: int, end_ms: int) -> tuple[float, float]:
    """Lowest and highest total active power the meter's circuit saw in ``[start_ms, end_ms]``."""
    powers = [float(seg.power_w.sum()) for seg in world.circuits[meter_id].segments(start_ms, end_ms + 1)]
    return min(powers), max(powers)
