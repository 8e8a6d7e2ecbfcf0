"""The lab executor: drives the source, gates the reference standard, reads every meter under test.

All meters under test hang on the same source (current circuits in series, voltage in parallel), so
one gate measures them all: the gate time is the longest any of them needs (duration planner).
Per point (pulse-comparison practice; the times are configurable lab defaults, not regulatory):

1. set the source and switch it on; settle (~10 s after each change);
2. read each meter's energy register and open the reference gate at the same moment;
3. wait the planned gate time; close the gate, read the registers again;
4. error % = (E_meter − E_ref) / E_ref × 100.

Time is a ``now()``/``wait(ms)`` pair: a real bench sleeps, the simulated lab advances a virtual
clock. Everything here returns raw measurements; :mod:`meterbench.accuracy.evaluate` turns them into
records.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from meterbench.accuracy.planner import MIN_GATE_MS, DurationPlan, plan_gate
from meterbench.accuracy.plans import TestPoint, rising_then_falling
from meterbench.accuracy.rating import MeterRating
from meterbench.accuracy.register import RegisterRead, RegisterReader
from meterbench.units import MS_PER_HOUR


class Source(Protocol):
    def apply(self, *, voltage_v: Sequence[float], current_a: Sequence[float],
              phi_deg: Sequence[float], frequency_hz: float | None = None) -> None: ...

    def output_on(self) -> None: ...

    def output_off(self) -> None: ...


class Reference(Protocol):
    accuracy_pct: float | None

    def start_integration(self) -> None: ...

    def stop_integration(self) -> float: ...  # Wh, ΣA net

    def energy_wh(self, element: int | str = "SIGMA") -> float: ...


@dataclass
class MeterUnderTest:
    id: str
    rating: MeterRating
    reader: RegisterReader
    declared_registration: str | None = None  # "summation" | "phase_by_phase"


@dataclass
class LabBench:
    source: Source
    reference: Reference
    now: Callable[[], int]
    wait: Callable[[int], None]

    @property
    def reference_accuracy_pct(self) -> float:
        if self.reference.accuracy_pct is None:
            raise ValueError("the reference standard's accuracy_pct is not declared "
                             "(take it from its calibration certificate)")
        return self.reference.accuracy_pct


@dataclass(frozen=True)
class LabSettings:
    """How a plan is run (bench file ``[lab.plan]``)."""

    settle_ms: int = 10_000      # lab-practice default (not regulatory): ~10 s after a change
    warmup_ms: int = 30 * 60_000  # lab-practice default (not regulatory): ~30 min
    uncertainty_fraction: float = 1.0 / 3.0  # U ≤ 1/3 MPE (French arrêté of 1 Aug 2013)
    min_gate_ms: int = MIN_GATE_MS
    max_gate_ms: int = 4 * MS_PER_HOUR
    #: Planner's assumption for the gap between gate edge and register read (a real bench
    #: measures it per point; the budget uses the measured one).
    timing_window_ms: float = 1_000.0
    band: int = 0
    #: The planner aims at this fraction of the target, leaving room for the repeatability term
    #: it cannot know before the rising and falling runs are done.
    planning_margin: float = 0.8


@dataclass(frozen=True)
class Measurement:
    """One meter, one run of one point."""

    meter: str
    point: TestPoint
    direction: str
    meter_kwh: float
    reference_kwh: float
    gate_ms: int
    window_ms: float
    step_kwh: float
    plan: DurationPlan

    @property
    def error_pct(self) -> float:
        return error_pct(self.meter_kwh, self.reference_kwh)


@dataclass(frozen=True)
class RegisterDelta:
    """Register advances of one meter over one gate (special tests)."""

    meter: str
    import_kwh: float
    export_kwh: float
    step_kwh: float
    gate_ms: int
    reference_kwh: dict[str, float] = field(default_factory=dict)
    window_ms: float = 0.0


def error_pct(meter_kwh: float, reference_kwh: float) -> float:
    """(E_meter − E_ref) / E_ref × 100 (Directive 2014/32/EU Annex V point 3)."""
    if not (reference_kwh > 0 and math.isfinite(reference_kwh)):
        return math.nan
    return (meter_kwh - reference_kwh) / reference_kwh * 100.0


def _setting(point: TestPoint, voltage_v: float) -> dict[str, tuple[float, float, float]]:
    cur = tuple(point.current_a if k in point.phases else 0.0 for k in range(3))
    return dict(voltage_v=(voltage_v,) * 3, current_a=cur, phi_deg=(point.phi_deg,) * 3)  # type: ignore[dict-item]


def _apply(bench: LabBench, settings: LabSettings, *, voltage_v: Sequence[float],
           current_a: Sequence[float], phi_deg: Sequence[float], frequency_hz: float) -> None:
    bench.source.apply(voltage_v=voltage_v, current_a=current_a, phi_deg=phi_deg,
                       frequency_hz=frequency_hz)
    bench.source.output_on()
    bench.wait(settings.settle_ms)


def _gate(bench: LabBench, muts: Sequence[MeterUnderTest], gate_ms: int
          ) -> tuple[dict[str, RegisterRead], dict[str, RegisterRead], float, float]:
    """Open the gate, read, wait, close, read. Returns reads at both edges, E_ref (kWh) and the
    widest gap (ms) between a gate edge and the register reads."""
    t_open = bench.now()
    bench.reference.start_integration()
    before = {m.id: m.reader.read() for m in muts}
    window_open = max(abs(r.response_ms - t_open) for r in before.values())
    bench.wait(gate_ms)
    t_close = bench.now()
    reference_kwh = bench.reference.stop_integration() / 1000.0
    after = {m.id: m.reader.read() for m in muts}
    window_close = max(abs(r.response_ms - t_close) for r in after.values())
    return before, after, reference_kwh, float(max(window_open, window_close))


def warm_up(bench: LabBench, muts: Sequence[MeterUnderTest], settings: LabSettings) -> None:
    """Un and Iref at PF 1 for the warm-up time (lab-practice default ~30 min, configurable)."""
    if settings.warmup_ms <= 0 or not muts:
        return
    r = muts[0].rating
    _apply(bench, settings, voltage_v=(r.u_n,) * 3, current_a=(r.i_ref,) * 3, phi_deg=(0.0,) * 3,
           frequency_hz=r.f_n)
    bench.wait(settings.warmup_ms)


def plan_point(point: TestPoint, mut: MeterUnderTest, bench: LabBench, settings: LabSettings,
               limit_pct: float, register_kwh: float) -> DurationPlan:
    """The gate one meter needs at ``point``, planned for the register step at the value the
    register will have when the gate closes (a float register's step doubles at each power of 2,
    so a register about to cross one would otherwise be planned too short)."""
    power = point.power_w(mut.rating.u_n)
    step = mut.reader.step_kwh("energy.import", register_kwh)
    plan = None
    for _ in range(4):
        plan = plan_gate(power, limit_pct, step_kwh=step,
                         reference_accuracy_pct=bench.reference_accuracy_pct,
                         window_ms=settings.timing_window_ms,
                         fraction=settings.uncertainty_fraction, margin=settings.planning_margin,
                         min_gate_ms=settings.min_gate_ms, max_gate_ms=settings.max_gate_ms)
        # the falling run comes later: allow for the energy of both runs and the settling
        end_kwh = register_kwh + 2.0 * (plan.energy_kwh + power * settings.settle_ms / MS_PER_HOUR
                                         / 1000.0)
        end_step = mut.reader.step_kwh("energy.import", end_kwh)
        if end_step <= step:
            break
        step = end_step
    assert plan is not None
    return plan


def measure_points(bench: LabBench, muts: Sequence[MeterUnderTest], points: Sequence[TestPoint],
                   settings: LabSettings, limit_pct: Callable[[MeterUnderTest, TestPoint], float]
                   ) -> list[Measurement]:
    """Every point rising then falling, every meter under test at once."""
    out: list[Measurement] = []
    if not muts:
        return out
    voltage = muts[0].rating.u_n
    freq = muts[0].rating.f_n
    for point, direction in rising_then_falling(list(points)):
        _apply(bench, settings, frequency_hz=freq, **_setting(point, voltage))
        now_regs = {m.id: m.reader.read().values["energy.import"] for m in muts}
        plans = {m.id: plan_point(point, m, bench, settings, limit_pct(m, point), now_regs[m.id])
                 for m in muts}
        gate_ms = max(p.gate_ms for p in plans.values())
        before, after, ref_kwh, window = _gate(bench, muts, gate_ms)
        for m in muts:
            e1 = after[m.id].values["energy.import"]
            out.append(Measurement(
                meter=m.id, point=point, direction=direction,
                meter_kwh=e1 - before[m.id].values["energy.import"], reference_kwh=ref_kwh,
                gate_ms=gate_ms, window_ms=window, step_kwh=m.reader.step_kwh("energy.import", e1),
                plan=plans[m.id]))
    bench.source.output_off()
    return out


def register_deltas(bench: LabBench, muts: Sequence[MeterUnderTest], *, voltage_v: Sequence[float],
                    current_a: Sequence[float], phi_deg: Sequence[float], gate_ms: int,
                    settings: LabSettings, elements: Sequence[int | str] = ()
                    ) -> list[RegisterDelta]:
    """Hold one setting for ``gate_ms`` and report how far each meter's registers moved."""
    _apply(bench, settings, voltage_v=voltage_v, current_a=current_a, phi_deg=phi_deg,
           frequency_hz=muts[0].rating.f_n)
    before, after, ref_kwh, window = _gate(bench, muts, gate_ms)
    per_element = {"SIGMA": ref_kwh}
    for el in elements:
        per_element[str(el)] = bench.reference.energy_wh(el) / 1000.0
    out = []
    for m in muts:
        a, b = after[m.id].values, before[m.id].values
        out.append(RegisterDelta(
            meter=m.id, import_kwh=a["energy.import"] - b["energy.import"],
            export_kwh=a.get("energy.export", math.nan) - b.get("energy.export", math.nan),
            step_kwh=m.reader.step_kwh("energy.import", a["energy.import"]), gate_ms=gate_ms,
            reference_kwh=per_element, window_ms=window))
    bench.source.output_off()
    return out
