"""The uncertainty budget of one error measurement, expanded with k = 2.

Components, each a standard uncertainty in percentage points of the error:

* **reference standard**: its declared accuracy (% of reading, from its calibration certificate)
  taken as a rectangular distribution, u = a/√3;
* **register resolution**: the meter register is read twice (gate open, gate close); each read is
  taken within ±q of the true value, rectangular (JCGM 100:2008 (GUM) 4.3.7: u = q/√3), so
  u = √2 · (q/√3) / E_ref · 100;
* **timing**: the register read and the reference gate are not simultaneous; the energy that flows
  in the gap, ±window per gate edge at power P, is rectangular: u = √2 · (window/T) / √3 · 100 with
  T the gate time (P cancels);
* **repeatability**: the spread of repeated runs of the same point (rising and falling), the
  standard uncertainty of their mean, s/√n.

U = k · √Σu², k = 2 (~95 % for a normal distribution, JCGM 100:2008 (GUM) 6.3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

COVERAGE_K = 2.0
SQRT3 = math.sqrt(3.0)


@dataclass(frozen=True)
class Budget:
    """Standard uncertainties (percentage points) by component, and the expanded U."""

    reference: float
    resolution: float
    timing: float
    repeatability: float
    k: float = COVERAGE_K

    @property
    def combined(self) -> float:
        return math.sqrt(self.reference**2 + self.resolution**2 + self.timing**2
                         + self.repeatability**2)

    @property
    def expanded(self) -> float:
        return self.k * self.combined

    def as_dict(self) -> dict[str, float]:
        return dict(u_reference_pct=self.reference, u_resolution_pct=self.resolution,
                    u_timing_pct=self.timing, u_repeatability_pct=self.repeatability, k=self.k,
                    expanded_pct=self.expanded)


def u_reference(accuracy_pct: float) -> float:
    return accuracy_pct / SQRT3


def u_resolution(step_kwh: float, reference_kwh: float) -> float:
    if reference_kwh <= 0:
        return math.inf
    return math.sqrt(2.0) * step_kwh / SQRT3 / reference_kwh * 100.0


def u_timing(window_ms: float, gate_ms: float) -> float:
    if gate_ms <= 0:
        return math.inf
    return math.sqrt(2.0) * (window_ms / gate_ms) / SQRT3 * 100.0


def u_repeatability(errors_pct: Sequence[float]) -> float:
    """Standard uncertainty of the mean of repeated errors (0 for a single run)."""
    n = len(errors_pct)
    if n < 2:
        return 0.0
    mean = sum(errors_pct) / n
    s = math.sqrt(sum((e - mean) ** 2 for e in errors_pct) / (n - 1))
    return s / math.sqrt(n)


def budget(*, reference_accuracy_pct: float, step_kwh: float, reference_kwh: float,
           window_ms: float, gate_ms: float, repeated_errors_pct: Sequence[float] = ()) -> Budget:
    return Budget(reference=u_reference(reference_accuracy_pct),
                  resolution=u_resolution(step_kwh, reference_kwh),
                  timing=u_timing(window_ms, gate_ms),
                  repeatability=u_repeatability(repeated_errors_pct))


# -- the pulse method (an error calculator counting reference pulses over N meter pulses) --------
#
# The same four components, two of them with their pulse-method meaning:
#
# * **pulse-count resolution** (in ``Budget.resolution``): the reference pulses counted between
#   two meter edges are whole; both edges fall at an arbitrary phase of the reference pulse train,
#   so the count is off by the difference of two rectangular fractions, triangular on (−1, +1)
#   count: u = 1/√6 count (JCGM 100:2008 (GUM) 4.3.9), relative to the n reference pulses counted;
# * **gate timing** (in ``Budget.timing``): the gate opens and closes on meter pulse edges, each
#   known to the edge timing uncertainty u_e (the meter output's jitter and the counter's trigger),
#   so the energy in the gate is uncertain by √2·u_e at power P: relative √2·u_e/T for a gate of
#   T ms (P cancels).
#
# The meter side has no resolution term: the gate spans exactly N meter pulses.

SQRT6 = math.sqrt(6.0)


def u_pulse_count(reference_pulses: float) -> float:
    """Standard uncertainty (percentage points) of counting ``reference_pulses`` whole pulses."""
    if reference_pulses <= 0:
        return math.inf
    return 100.0 / (SQRT6 * reference_pulses)


def u_gate_timing(edge_u_ms: float, gate_ms: float) -> float:
    """Standard uncertainty (percentage points) of a gate between two pulse edges, each with
    standard uncertainty ``edge_u_ms``, over ``gate_ms``."""
    if gate_ms <= 0:
        return math.inf
    return math.sqrt(2.0) * edge_u_ms / gate_ms * 100.0


def pulse_budget(*, reference_accuracy_pct: float, reference_pulses: float, gate_ms: float,
                 edge_u_ms: float, repeated_errors_pct: Sequence[float] = ()) -> Budget:
    """The budget of one pulse-method error: ``resolution`` is the pulse-count term and
    ``timing`` the gate-timing term (see above)."""
    return Budget(reference=u_reference(reference_accuracy_pct),
                  resolution=u_pulse_count(reference_pulses),
                  timing=u_gate_timing(edge_u_ms, gate_ms),
                  repeatability=u_repeatability(repeated_errors_pct))
