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
