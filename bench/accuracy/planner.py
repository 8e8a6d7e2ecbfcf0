"""The duration planner: how long each point must run for its uncertainty to be small enough.

The target is U ≤ fraction · MPE (French arrêté of 1 August 2013: uncertainties at most a third of
the MPE). With the budget of :mod:`meterbench.accuracy.uncertainty`, the resolution and timing terms both
shrink as 1/T for a gate time T at power P:

    u_res = √2·q/√3 · 100 / E,  E = P·T      u_time = √2·w/√3 · 100 / T

so T ≥ √(A² + B²) / √((U_target/2)² − u_ref²). When the reference standard alone uses up the
target, or the needed time exceeds the plan's maximum, no duration reaches the target: the plan
says so (``reachable = False`` and a warning) instead of pretending.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from meterbench.accuracy.uncertainty import (
    COVERAGE_K,
    SQRT3,
    Budget,
    repeatability_dof,
    u_gate_timing,
    u_pulse_count,
    u_reference,
)
from meterbench.units import MS_PER_HOUR

#: Pulse-comparison practice: count over at least 30 s (a configurable lab default, not regulatory).
MIN_GATE_MS = 30_000


@dataclass(frozen=True)
class DurationPlan:
    gate_ms: int
    energy_kwh: float
    target_pct: float
    expected_u_pct: float
    reachable: bool
    warning: str = ""

    def as_dict(self) -> dict[str, object]:
        return dict(gate_s=self.gate_ms / 1000, energy_kwh=self.energy_kwh,
                    target_pct=self.target_pct, expected_u_pct=self.expected_u_pct,
                    reachable=self.reachable, warning=self.warning)


def expected_u_pct(gate_ms: float, power_w: float, *, step_kwh: float, reference_accuracy_pct: float,
                   window_ms: float) -> float:
    """U (k = 2) of a point run for ``gate_ms`` at ``power_w`` (repeatability not included)."""
    energy = power_w * gate_ms / MS_PER_HOUR / 1000.0
    u_res = math.sqrt(2.0) * step_kwh / SQRT3 / energy * 100.0
    u_t = math.sqrt(2.0) * (window_ms / gate_ms) / SQRT3 * 100.0
    return COVERAGE_K * math.sqrt(u_reference(reference_accuracy_pct) ** 2 + u_res**2 + u_t**2)


def plan_gate(power_w: float, mpe_pct: float, *, step_kwh: float, reference_accuracy_pct: float,
              window_ms: float, fraction: float = 1.0 / 3.0, min_gate_ms: int = MIN_GATE_MS,
              max_gate_ms: int = 4 * MS_PER_HOUR, margin: float = 1.0) -> DurationPlan:
    """The shortest gate (whole seconds, ≥ ``min_gate_ms``) reaching U ≤ margin·fraction·MPE.

    ``margin`` < 1 leaves room for terms the planner cannot know in advance (repeatability); the
    plan still reports the full target fraction·MPE."""
    if power_w <= 0:
        raise ValueError("a test point needs positive active power")
    target = fraction * mpe_pct
    a = math.sqrt(2.0) * step_kwh / SQRT3 * 100.0 * MS_PER_HOUR * 1000.0 / power_w  # u_res·T
    b = math.sqrt(2.0) * window_ms / SQRT3 * 100.0  # u_time·T
    room = (margin * target / COVERAGE_K) ** 2 - u_reference(reference_accuracy_pct) ** 2
    kw = dict(step_kwh=step_kwh, reference_accuracy_pct=reference_accuracy_pct, window_ms=window_ms)
    if room <= 0:
        gate = max_gate_ms
        u = expected_u_pct(gate, power_w, **kw)
        return DurationPlan(gate, power_w * gate / MS_PER_HOUR / 1000, target, u, False,
                            f"the reference standard alone (±{reference_accuracy_pct} %) exceeds "
                            f"the target U ≤ {target:.3g} %")
    need = math.hypot(a, b) / math.sqrt(room)
    gate = max(min_gate_ms, int(math.ceil(need / 1000.0)) * 1000)
    warning = ""
    reachable = True
    if gate > max_gate_ms:
        gate, reachable = max_gate_ms, False
        warning = (f"needs {need / 60000:.0f} min to reach U ≤ {target:.3g} %; capped at "
                   f"{max_gate_ms / 60000:.0f} min (register step {step_kwh:.6f} kWh)")
    u = expected_u_pct(gate, power_w, **kw)
    return DurationPlan(gate, power_w * gate / MS_PER_HOUR / 1000, target, u, reachable, warning)


# -- the register tests ---------------------------------------------------------------------------
#: The starting test aims at this many register steps at Ist, and can decide (advance > 2 steps,
#: :func:`meterbench.accuracy.evaluate.starting_record`) only when at least this many are expected.
STARTING_STEPS = 20
STARTING_MIN_STEPS = 4


def plan_starting(power_w: float, *, step_kwh: float, min_gate_ms: int,
                  max_gate_ms: int) -> tuple[int, str]:
    """The starting test's gate: long enough for :data:`STARTING_STEPS` register steps at Ist,
    within the plan's minimum and maximum gate; a warning when even the maximum gate leaves too
    few steps to tell a meter that starts from one that does not."""
    need = int(math.ceil(STARTING_STEPS * step_kwh / power_w * MS_PER_HOUR * 1000 / 1000)) * 1000
    gate = min(max(min_gate_ms, need), max_gate_ms)
    steps = power_w * gate / MS_PER_HOUR / 1000 / step_kwh
    if steps >= STARTING_MIN_STEPS:
        return gate, ""
    return gate, (f"at Ist the register advances only {steps:.1f} steps of {step_kwh:g} kWh in "
                  f"{gate / 60000:.0f} min: too coarse to tell whether the meter starts")


def dial_gate_ms(dial_kwh: float, power_w: float) -> int:
    """How long (whole seconds) the register (dial) test's energy takes at ``power_w``."""
    return int(math.ceil(dial_kwh / power_w * MS_PER_HOUR * 1000 / 1000)) * 1000


def plan_dial(power_w: float, mpe_pct: float, *, dial_kwh: float, step_kwh: float,
              reference_accuracy_pct: float, window_ms: float, fraction: float = 1.0 / 3.0,
              max_gate_ms: int | None = None) -> DurationPlan:
    """The register (dial) test over ``dial_kwh`` at ``power_w``: its gate and expected U, with a
    warning when the register step makes U larger than the target (fraction·MPE), or when the
    energy asked for takes longer than ``max_gate_ms`` (the gate follows ``dial_kwh``: it is the
    bench file's choice, not the planner's, so it is flagged rather than cut)."""
    gate = dial_gate_ms(dial_kwh, power_w)
    target = fraction * mpe_pct
    u = expected_u_pct(gate, power_w, step_kwh=step_kwh,
                       reference_accuracy_pct=reference_accuracy_pct, window_ms=window_ms)
    warnings = []
    if u > target:
        warnings.append(f"U {u:.3g} % > target {target:.3g} %: the register step {step_kwh:g} "
                        f"kWh is coarse for a {dial_kwh:g} kWh dial test")
    if max_gate_ms is not None and gate > max_gate_ms:
        warnings.append(f"{dial_kwh:g} kWh at {power_w:g} W takes {gate / MS_PER_HOUR:.3g} h, "
                        f"beyond max_gate ({max_gate_ms / MS_PER_HOUR:.3g} h): lower dial_kwh")
    return DurationPlan(gate, power_w * gate / MS_PER_HOUR / 1000, target, u, not warnings,
                        "; ".join(warnings))


# -- the pulse method ----------------------------------------------------------------------------
#
# An error calculator counts reference pulses (constant C_ref) over N meter pulses (C_m) at power
# P. The gate lasts T = N/(C_m·P) and holds n = N·C_ref/C_m reference pulses, so both the count
# term 100/(√6·n) and the gate-timing term √2·u_e/T (uncertainty.pulse_budget) shrink as 1/N:
#
#     N ≥ √(a² + b²) / √((U_target/k)² − u_ref²),  a = 100·C_m/(√6·C_ref),  b = √2·u_e·100·C_m·P/3.6e9
#
# with u_e in ms and P in W; N is raised to the plan's minimum pulse count and to what fills the
# minimum gate, and capped by the maximum gate (then the plan says it is not reachable).

#: ms per (imp · W / (imp/kWh)): T_ms = N · MS_PULSE / (C_m · P_W).
_MS_PULSE = 1000.0 * MS_PER_HOUR


@dataclass(frozen=True)
class PulsePlan(DurationPlan):
    """A pulse-method plan: ``meter_pulses`` N and the gate it should take (``gate_ms``)."""

    meter_pulses: int = 0
    meter_constant: float = 0.0
    reference_constant: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "meter_pulses": self.meter_pulses,
                "meter_constant": self.meter_constant,
                "reference_constant": self.reference_constant}


def pulse_gate_ms(meter_pulses: float, meter_constant: float, power_w: float) -> float:
    """How long ``meter_pulses`` take at ``power_w`` on a meter of ``meter_constant`` imp/kWh."""
    return meter_pulses * _MS_PULSE / (meter_constant * power_w)


def expected_pulse_u_pct(meter_pulses: int, power_w: float, *, meter_constant: float,
                         reference_constant: float, reference_accuracy_pct: float,
                         edge_u_ms: float) -> float:
    """U (k = 2) of a pulse-method point of ``meter_pulses`` (repeatability not included)."""
    n_ref = meter_pulses * reference_constant / meter_constant
    gate = pulse_gate_ms(meter_pulses, meter_constant, power_w)
    u_count = 100.0 / (math.sqrt(6.0) * n_ref)
    u_gate = math.sqrt(2.0) * edge_u_ms / gate * 100.0
    return COVERAGE_K * math.sqrt(u_reference(reference_accuracy_pct) ** 2 + u_count**2
                                  + u_gate**2)


#: A point runs twice (rising, then falling current); its value is their mean.
RUNS_PER_POINT = 2


def worst_pulse_u_pct(meter_pulses: int, power_w: float, *, meter_constant: float,
                      reference_constant: float, reference_accuracy_pct: float, edge_u_ms: float,
                      meter_error_pct: float = 0.0) -> float:
    """U of a point's mean of the rising and falling runs of ``meter_pulses`` each, as the record
    will compute it, when the two runs differ as much as the counting and gate timing themselves
    can make them differ, for a meter whose error is at most ``meter_error_pct``.

    Why: the record's U includes the runs' spread as a Type A term with one degree of freedom, so
    even a spread of one reference count raises both u_c and the coverage factor (Student's t at
    ν_eff, GUM G.4.1); a plan that ignores it promises a U the run then misses. Each run lies
    within k·u_run of the truth (k = 2; u_run its count and gate-timing terms), so the two differ
    by at most 2·k·u_run, and U grows with the spread, so that is the worst case. A meter reading
    high emits its N pulses sooner: fewer reference pulses and a shorter gate, so both terms are
    taken at the largest error the meter may have (and the reference's declared accuracy)."""
    slow = (1.0 + abs(meter_error_pct) / 100.0) * (1.0 + reference_accuracy_pct / 100.0)
    n_ref = meter_pulses * reference_constant / meter_constant / slow
    gate = pulse_gate_ms(meter_pulses, meter_constant, power_w) / slow
    u_count, u_gate = u_pulse_count(n_ref), u_gate_timing(edge_u_ms, gate)
    u_run = math.hypot(u_count, u_gate)
    spread = 2.0 * COVERAGE_K * u_run  # the largest difference between the two runs
    mean = Budget(reference=u_reference(reference_accuracy_pct),
                  resolution=u_count / math.sqrt(RUNS_PER_POINT),
                  timing=u_gate / math.sqrt(RUNS_PER_POINT),
                  repeatability=spread / 2.0,  # s/√2 of two runs that differ by `spread`
                  repeatability_dof=repeatability_dof(RUNS_PER_POINT))
    return mean.expanded


def _fewest_within(target: float, low: int, cap: int, u_of: Callable[[int], float]) -> int | None:
    """The fewest pulses in [low, cap] whose U (falling with N) is at most ``target``, or None."""
    if u_of(cap) > target:
        return None
    if u_of(low) <= target:
        return low
    hi, step = low, 1
    while True:  # a bracket [lo, hi] by doubling: u_of(lo) > target ≥ u_of(hi)
        lo, hi = hi, min(cap, hi + step)
        step *= 2
        if u_of(hi) <= target:
            break
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if u_of(mid) <= target else (mid, hi)
    return hi


def plan_pulses(power_w: float, mpe_pct: float, *, meter_constant: float,
                reference_constant: float, reference_accuracy_pct: float, edge_u_ms: float,
                fraction: float = 1.0 / 3.0, margin: float = 1.0, min_pulses: int = 1,
                min_gate_ms: int = MIN_GATE_MS, max_gate_ms: int = 4 * MS_PER_HOUR) -> PulsePlan:
    """The fewest meter pulses reaching U ≤ margin·fraction·MPE without the runs' spread, and
    U ≤ fraction·MPE with the largest spread counting and gate timing can give
    (:func:`worst_pulse_u_pct`, for a meter within ±``mpe_pct``), at least ``min_pulses`` and
    ``min_gate_ms``, at most ``max_gate_ms``. ``expected_u_pct`` is that worst case: what the
    plan promises the record's U will not exceed."""
    if power_w <= 0:
        raise ValueError("a test point needs positive active power")
    if not (meter_constant > 0 and reference_constant > 0):
        raise ValueError("meter and reference constants must be positive")
    target = fraction * mpe_pct
    a = 100.0 * meter_constant / (math.sqrt(6.0) * reference_constant)
    b = math.sqrt(2.0) * edge_u_ms * 100.0 * meter_constant * power_w / _MS_PULSE
    room = (margin * target / COVERAGE_K) ** 2 - u_reference(reference_accuracy_pct) ** 2
    kw = dict(meter_constant=meter_constant, reference_constant=reference_constant,
              reference_accuracy_pct=reference_accuracy_pct, edge_u_ms=edge_u_ms)

    def worst(n: int) -> float:
        return worst_pulse_u_pct(n, power_w, meter_error_pct=mpe_pct, **kw)

    per_ms = meter_constant * power_w / _MS_PULSE  # meter pulses per ms
    fill_min_gate = math.ceil(min_gate_ms * per_ms - 1e-9)
    cap = math.floor(max_gate_ms * per_ms + 1e-9)
    warning, reachable = "", True
    if cap < 1:
        n, reachable = 1, False
        warning = (f"one pulse takes {pulse_gate_ms(1, meter_constant, power_w) / 60000:.0f} min, "
                   f"longer than the maximum gate ({max_gate_ms / 60000:.0f} min)")
    elif room <= 0:
        n, reachable = cap, False
        warning = (f"the reference standard alone (±{reference_accuracy_pct} %) exceeds the "
                   f"target U ≤ {target:.3g} %")
    else:
        need = math.ceil(math.hypot(a, b) / math.sqrt(room))
        n = max(need, int(min_pulses), fill_min_gate, 1)
        fewest = None if n > cap else _fewest_within(target, n, cap, worst)
        if fewest is None:
            more = f"needs {n} pulses" if n > cap else "needs more pulses"
            warning = (f"{more} ({pulse_gate_ms(max(n, cap), meter_constant, power_w) / 60000:.0f}"
                       f"{'' if n > cap else '+'} min) to reach U ≤ {target:.3g} %; capped at "
                       f"{cap} pulses ({max_gate_ms / 60000:.0f} min)")
            n, reachable = cap, False
        else:
            n = fewest
    gate = pulse_gate_ms(n, meter_constant, power_w)
    return PulsePlan(gate_ms=int(math.ceil(gate)), energy_kwh=n / meter_constant,
                     target_pct=target, expected_u_pct=worst(n),
                     reachable=reachable, warning=warning, meter_pulses=n,
                     meter_constant=meter_constant, reference_constant=reference_constant)
