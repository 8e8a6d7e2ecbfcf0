"""One lab accuracy test point: source setting, gated reference energy, meter register, error.

The procedure a vendor's bench runs per point (pulse-comparison practice): set the source,
let it settle, open a gate on the reference standard and read the meter's register at the same
moment, wait, close the gate and read the register again; then

    error % = (E_meter − E_ref) / E_ref × 100.

Time passing is a ``wait(ms)`` callable, so the same code runs on a real bench (sleep) and in the
simulated lab (advance a virtual clock). The meter under test is read through a ``read_mut_energy``
callable returning its import register in kWh (Modbus in a real run).

Uncertainty (k = 2) combines, as rectangular distributions: the reference's declared accuracy
(% of reading, from its calibration certificate) and the meter register's resolution ``q``, read
twice, each read within ±q, rectangular (u = q/√3, JCGM 100:2008 (GUM) 4.3.7).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from meterbench.accuracy.uncertainty import COVERAGE_K  # every term Type B: ν_eff = ∞, k = 2


class PowerSource(Protocol):
    def apply(self, *, voltage_v: Sequence[float], current_a: Sequence[float],
              phi_deg: Sequence[float], frequency_hz: float | None = None) -> None: ...

    def output_on(self) -> None: ...


class ReferenceStandard(Protocol):
    accuracy_pct: float | None

    def start_integration(self) -> None: ...

    def stop_integration(self) -> float: ...  # Wh


@dataclass(frozen=True)
class LabPoint:
    """A balanced three-phase load: ``current_a`` per phase, lagging by ``phi_deg``."""

    name: str
    current_a: float
    phi_deg: float = 0.0
    voltage_v: float = 230.0
    frequency_hz: float = 50.0
    duration_ms: int = 60_000
    settle_ms: int = 10_000  # lab-practice default (not regulatory): ~10 s after a change


@dataclass(frozen=True)
class PointResult:
    point: LabPoint
    meter_kwh: float
    reference_kwh: float
    error_pct: float
    uncertainty_pct: float  # expanded, k = 2


def error_pct(meter_kwh: float, reference_kwh: float) -> float:
    """(E_meter − E_ref) / E_ref × 100 (Directive 2014/32/EU Annex V point 3)."""
    if not reference_kwh > 0 or not math.isfinite(reference_kwh):
        raise ValueError(f"reference energy must be positive and finite, got {reference_kwh!r}")
    return (meter_kwh - reference_kwh) / reference_kwh * 100.0


def point_uncertainty_pct(reference_kwh: float, reference_accuracy_pct: float,
                          register_step_kwh: float) -> float:
    """Expanded (k = 2) uncertainty of one point's error, in percentage points."""
    u_ref = reference_accuracy_pct / math.sqrt(3.0)
    u_read = register_step_kwh / reference_kwh * 100.0 / math.sqrt(3.0)
    return COVERAGE_K * math.sqrt(u_ref**2 + 2.0 * u_read**2)


def run_point(point: LabPoint, *, source: PowerSource, reference: ReferenceStandard,
              read_mut_energy: Callable[[], float], wait: Callable[[int], None],
              register_step_kwh: float = 0.0) -> PointResult:
    """Set ``point`` on the source, gate the reference, and compare with the meter's register."""
    if reference.accuracy_pct is None:
        raise ValueError("the reference standard's accuracy_pct is not declared "
                         "(take it from its calibration certificate)")
    three = (point.voltage_v,) * 3
    source.apply(voltage_v=three, current_a=(point.current_a,) * 3, phi_deg=(point.phi_deg,) * 3,
                 frequency_hz=point.frequency_hz)
    source.output_on()
    wait(point.settle_ms)
    reference.start_integration()
    e0 = read_mut_energy()
    wait(point.duration_ms)
    reference_wh = reference.stop_integration()
    e1 = read_mut_energy()
    reference_kwh = reference_wh / 1000.0
    meter_kwh = e1 - e0
    return PointResult(point=point, meter_kwh=meter_kwh, reference_kwh=reference_kwh,
                       error_pct=error_pct(meter_kwh, reference_kwh),
                       uncertainty_pct=point_uncertainty_pct(
                           reference_kwh, reference.accuracy_pct, register_step_kwh))
