"""The lab executor: drives the source, counts pulses or gates the reference, reads every meter.

All meters under test hang on the same source (current circuits in series, voltage in parallel), so
one setting measures them all. Per point (pulse-comparison practice; the times are configurable
lab defaults, not regulatory), after setting the source and letting it settle (~10 s):

* **pulse method** (a meter with a test output and an error calculator at its position): each
  error calculator counts the reference standard's pulses over the planned N meter pulses (pulse
  planner); the bench waits the time they should take and polls until every calculator is done;
  error % = (N / C_meter) / (n_ref / C_ref) × 100 − 100;
* **register method** (the register test, and meters without a test output): read each meter's
  energy register and open the reference gate at the same moment, wait the planned gate time,
  close the gate, read the registers again; error % = (E_meter − E_ref) / E_ref × 100.

Both run in the same setting when a bench mixes meters of both kinds.

Time is a ``now()``/``wait(ms)`` pair: a real bench sleeps, the simulated lab advances a virtual
clock. Everything here returns raw measurements; :mod:`meterbench.accuracy.evaluate` turns them into
records.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from meterbench.accuracy.planner import (
    MIN_GATE_MS,
    DurationPlan,
    PulsePlan,
    plan_gate,
    plan_pulses,
    pulse_gate_ms,
)
from meterbench.accuracy.plans import TestPoint, rising_then_falling
from meterbench.accuracy.rating import MeterRating
from meterbench.accuracy.register import RegisterRead, RegisterReader
from meterbench.instruments.regmap import TestOutput
from meterbench.units import MS_PER_HOUR

METHODS = ("pulse", "register")
#: A pulse-method run whose N meter pulses take more than this many times the planned gate (plus
#: a minute) is given up as incomplete; one whose pulses come this many times too fast or too slow
#: is flagged as a likely wrong meter constant (:func:`meterbench.accuracy.evaluate.
#: constant_mismatch`). One factor for both: the plan's own expectation, not a regulatory number.
GATE_MISMATCH_FACTOR = 2.0


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


class ErrorCalculator(Protocol):
    reference_constant_imp_per_kwh: float

    def start(self, meter_pulses: int, meter_constant: float) -> None: ...

    def done(self) -> bool: ...

    def result(self) -> Any: ...  # .meter_pulses, .reference_pulses


@dataclass
class MeterUnderTest:
    id: str
    rating: MeterRating
    reader: RegisterReader
    declared_registration: str | None = None  # "summation" | "phase_by_phase"
    #: The meter's test output (its model's, at the constant it is set to), if it has one.
    test_output: TestOutput | None = None
    #: The error calculator at this meter's position, if the bench has one.
    error_calculator: ErrorCalculator | None = None

    @property
    def meter_constant(self) -> float | None:
        return self.test_output.constant_imp_per_kwh if self.test_output else None

    def method(self, settings: LabSettings) -> str:
        """``pulse`` when the plan prefers it and the meter has a test output and an error
        calculator, else ``register``."""
        if settings.method == "pulse" and self.test_output and self.error_calculator:
            return "pulse"
        return "register"


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
    #: ``pulse`` (wherever a meter has a test output and an error calculator) or ``register``.
    method: str = "pulse"
    #: Pulse-comparison practice: at least this many meter pulses per point (a configurable lab
    #: default, not regulatory).
    min_pulses: int = 25
    #: Standard uncertainty (ms) of one pulse edge's time: the meter output's jitter and the
    #: counter's trigger (a configurable lab default to replace by the lab's own estimate).
    pulse_timing_ms: float = 1.0
    #: How often a running error calculator is asked whether it is done.
    poll_ms: int = 1000


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

    method = "register"

    @property
    def error_pct(self) -> float:
        return error_pct(self.meter_kwh, self.reference_kwh)


@dataclass(frozen=True)
class PulseMeasurement:
    """One meter, one run of one point, by the pulse method."""

    meter: str
    point: TestPoint
    direction: str
    meter_pulses: int
    reference_pulses: int
    meter_constant: float
    reference_constant: float
    gate_ms: float         # the span of the N meter pulses (from the reference energy and P)
    edge_u_ms: float       # standard uncertainty of each gate edge (LabSettings.pulse_timing_ms)
    plan: PulsePlan
    completed: bool = True

    method = "pulse"

    @property
    def meter_kwh(self) -> float:
        return self.meter_pulses / self.meter_constant

    @property
    def reference_kwh(self) -> float:
        return self.reference_pulses / self.reference_constant

    @property
    def error_pct(self) -> float:
        if not self.completed:
            return math.nan
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


def plan_point_pulses(point: TestPoint, mut: MeterUnderTest, bench: LabBench,
                      settings: LabSettings, limit_pct: float) -> PulsePlan:
    """The meter pulses one meter needs at ``point`` by the pulse method."""
    assert mut.meter_constant is not None and mut.error_calculator is not None
    return plan_pulses(point.power_w(mut.rating.u_n), limit_pct, meter_constant=mut.meter_constant,
                       reference_constant=mut.error_calculator.reference_constant_imp_per_kwh,
                       reference_accuracy_pct=bench.reference_accuracy_pct,
                       edge_u_ms=settings.pulse_timing_ms, fraction=settings.uncertainty_fraction,
                       margin=settings.planning_margin, min_pulses=settings.min_pulses,
                       min_gate_ms=settings.min_gate_ms, max_gate_ms=settings.max_gate_ms)


def _register_runs(bench: LabBench, muts: Sequence[MeterUnderTest], point: TestPoint,
                   direction: str, settings: LabSettings,
                   limit_pct: Callable[[MeterUnderTest, TestPoint], float]) -> list[Measurement]:
    """One gate of the reference standard against every meter's register."""
    now_regs = {m.id: m.reader.read().values["energy.import"] for m in muts}
    plans = {m.id: plan_point(point, m, bench, settings, limit_pct(m, point), now_regs[m.id])
             for m in muts}
    gate_ms = max(p.gate_ms for p in plans.values())
    before, after, ref_kwh, window = _gate(bench, muts, gate_ms)
    out = []
    for m in muts:
        e1 = after[m.id].values["energy.import"]
        out.append(Measurement(
            meter=m.id, point=point, direction=direction,
            meter_kwh=e1 - before[m.id].values["energy.import"], reference_kwh=ref_kwh,
            gate_ms=gate_ms, window_ms=window, step_kwh=m.reader.step_kwh("energy.import", e1),
            plan=plans[m.id]))
    return out


def _collect_pulses(bench: LabBench, plans: dict[str, tuple[MeterUnderTest, PulsePlan]],
                    point: TestPoint, direction: str, settings: LabSettings, started_ms: int
                    ) -> list[PulseMeasurement]:
    """Wait until every started error calculator is done (it starts on the first meter edge, so
    allow one pulse period more than the plan), then read them; a calculator still counting at
    twice its planned time (a meter that does not pulse as it should) gives an incomplete run."""
    power = {mid: point.power_w(m.rating.u_n) for mid, (m, _) in plans.items()}
    expected = max(p.gate_ms + pulse_gate_ms(1, p.meter_constant, power[mid])
                   for mid, (_, p) in plans.items())
    deadline = started_ms + GATE_MISMATCH_FACTOR * expected + 60_000
    remaining = started_ms + expected - bench.now()
    if remaining > 0:
        bench.wait(int(math.ceil(remaining)))
    results: dict[str, Any] = {}
    while True:
        for mid, (m, _) in plans.items():
            assert m.error_calculator is not None
            if mid not in results and m.error_calculator.done():
                results[mid] = m.error_calculator.result()
        if len(results) == len(plans) or bench.now() >= deadline:
            break
        bench.wait(settings.poll_ms)
    out = []
    for mid, (_, plan) in plans.items():
        r = results.get(mid)
        n_ref = r.reference_pulses if r is not None else 0
        ref_kwh = n_ref / plan.reference_constant
        gate = ref_kwh * 1000.0 * MS_PER_HOUR / power[mid] if r is not None else math.nan
        out.append(PulseMeasurement(
            meter=mid, point=point, direction=direction, meter_pulses=plan.meter_pulses,
            reference_pulses=n_ref, meter_constant=plan.meter_constant,
            reference_constant=plan.reference_constant, gate_ms=gate,
            edge_u_ms=settings.pulse_timing_ms, plan=plan, completed=r is not None))
    return out


def measure_points(bench: LabBench, muts: Sequence[MeterUnderTest], points: Sequence[TestPoint],
                   settings: LabSettings, limit_pct: Callable[[MeterUnderTest, TestPoint], float]
                   ) -> list[Measurement | PulseMeasurement]:
    """Every point rising then falling, every meter under test at once: the error calculators
    count while the reference gate runs for the meters read by their registers."""
    out: list[Measurement | PulseMeasurement] = []
    if not muts:
        return out
    voltage = muts[0].rating.u_n
    freq = muts[0].rating.f_n
    pulsed = [m for m in muts if m.method(settings) == "pulse"]
    registered = [m for m in muts if m.method(settings) == "register"]
    for point, direction in rising_then_falling(list(points)):
        _apply(bench, settings, frequency_hz=freq, **_setting(point, voltage))
        plans = {m.id: (m, plan_point_pulses(point, m, bench, settings, limit_pct(m, point)))
                 for m in pulsed}
        started = bench.now()
        for m, plan in plans.values():
            assert m.error_calculator is not None
            m.error_calculator.start(plan.meter_pulses, plan.meter_constant)
        if registered:
            out += _register_runs(bench, registered, point, direction, settings, limit_pct)
        if plans:
            out += _collect_pulses(bench, plans, point, direction, settings, started)
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
