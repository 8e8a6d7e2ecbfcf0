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
from dataclasses import dataclass

from meterbench.accuracy.uncertainty import COVERAGE_K, SQRT3, u_reference
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
                   f"{max_gate_ms / 60000:.0f} min (register step {step_kwh:.3g} kWh)")
    u = expected_u_pct(gate, power_w, **kw)
    return DurationPlan(gate, power_w * gate / MS_PER_HOUR / 1000, target, u, reachable, warning)
