"""Meter physics: what a simulated meter registers, given the circuit it is connected to.

The meter integrates its circuit's piecewise-constant segments exactly, applying its own error
curve segment by segment, so the simulated world always knows the truth: the true energy
(:func:`true_energy`) and what the meter should show. Register quantization is not done here: it
follows from the register map's encoding (float32, scaled integers) when the values are served.

Contract used by the Modbus servers: :meth:`SimMeter.read_channels` returns engineering values
(kWh, W, V, A, Hz, VA, var, degrees) keyed by standard channel names (``energy.import``,
``energy.export``, ``power.total``, ``power.l1`` … ``voltage.l3``, ``current.l1`` …,
``frequency``, ``power_factor.*``, ``apparent_power.*``, ``reactive_power.*``, ``phase_angle.*``).
Every one comes from the same segment and the same error factor, so a client reading power
factor, VA and var sees |P| = |S|·|PF| and S² = P² + Q² per phase (to the register's rounding).
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from meterbench.instruments.sim.circuit import Circuit, Segment
from meterbench.units import MS_PER_HOUR


@dataclass(frozen=True)
class ErrorCurve:
    """A meter's true error in percent, as a function of current and power factor.

    ``currents_a``/``errors_pct`` give the error at PF 1, interpolated in log(current) and held
    flat outside the table; ``pf_slope_pct`` adds ``pf_slope_pct · (1 − |PF|)`` at other power
    factors (a typical phase-error signature). A constant curve is ``ErrorCurve.constant(0.3)``.
    """

    currents_a: tuple[float, ...] = (1.0,)
    errors_pct: tuple[float, ...] = (0.0,)
    pf_slope_pct: float = 0.0

    @classmethod
    def constant(cls, error_pct: float) -> ErrorCurve:
        return cls((1.0,), (float(error_pct),), 0.0)

    def error_pct(self, current_a: float, power_factor: float) -> float:
        return _error_pct(self, float(current_a), float(power_factor))


@functools.lru_cache(maxsize=8192)
def _error_pct(curve: ErrorCurve, current_a: float, power_factor: float) -> float:
    """Cached: a served request asks for the same few (current, PF) pairs over and over, and the
    numpy interpolation dominated a simulated meter's answer time."""
    if current_a <= 0:
        return 0.0
    x = np.log(np.asarray(curve.currents_a, dtype=float))
    base = float(np.interp(math.log(current_a), x, np.asarray(curve.errors_pct, dtype=float)))
    return base + curve.pf_slope_pct * (1.0 - abs(power_factor))


def _phase_errors(curve: ErrorCurve, seg: Segment, starting_current_a: float) -> np.ndarray:
    """Per-phase factor (1 + error) for one segment; 0 below the starting current."""
    out = np.empty(3)
    for k in range(3):
        i = seg.current_a[k]
        if i < starting_current_a:
            out[k] = 0.0  # below starting current the meter does not register
        else:
            pf = math.cos(math.radians(seg.phi_deg[k]))
            out[k] = 1.0 + curve.error_pct(i, pf) / 100.0
    return out


def _split_import_export(power_w: np.ndarray, summation: bool) -> tuple[float, float]:
    """Import and export power (both ≥ 0) by the meter's registration rule.

    A summation meter nets the sign-dependent power of all phases first (+P on L1 and −P on L2
    give zero); a phase-by-phase meter books each phase's sign separately.
    """
    if summation:
        net = float(power_w.sum())
        return max(net, 0.0), max(-net, 0.0)
    return float(power_w[power_w > 0].sum()), float(-power_w[power_w < 0].sum())


def true_energy(circuit: Circuit, start_ms: int, end_ms: int, *, summation: bool = True
                ) -> tuple[float, float]:
    """Exact (import, export) kWh that flowed through ``circuit`` in ``[start_ms, end_ms)``."""
    imp = exp = 0.0
    for seg in circuit.segments(start_ms, end_ms):
        hours = (seg.end_ms - seg.start_ms) / MS_PER_HOUR
        p_imp, p_exp = _split_import_export(seg.power_w, summation)
        imp += p_imp * hours / 1000.0
        exp += p_exp * hours / 1000.0
    return imp, exp


@dataclass
class SimMeter:
    """One simulated meter: its registers advance by the true energy times its own error.

    Thread-safe: servers may read it from another thread than the one stepping the clock.
    Reading at a time earlier than the last integrated time returns the state at the last time
    (registers never run backwards because a poll arrived late).
    """

    circuit: Circuit
    start_ms: int
    error: ErrorCurve = field(default_factory=ErrorCurve)
    summation: bool = True
    starting_current_a: float = 0.0
    import_kwh: float = 0.0
    export_kwh: float = 0.0
    rollover_kwh: float | None = None
    clock_offset_ms: int = 0
    clock_drift_ppm: float = 0.0
    _last_ms: int = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._last_ms = self.start_ms

    def registered_power_w(self, seg: Segment) -> tuple[float, float]:
        """(import, export) power in W the meter registers during ``seg`` (its own error
        applied, nothing below the starting current). The registers and the test output both
        integrate this, so the pulses follow the registered energy exactly."""
        factors = _phase_errors(self.error, seg, self.starting_current_a)
        return _split_import_export(seg.power_w * factors, self.summation)

    def advance(self, now_ms: int) -> None:
        with self._lock:
            if now_ms <= self._last_ms:
                return
            for seg in self.circuit.segments(self._last_ms, now_ms):
                hours = (seg.end_ms - seg.start_ms) / MS_PER_HOUR
                p_imp, p_exp = self.registered_power_w(seg)
                self.import_kwh += p_imp * hours / 1000.0
                self.export_kwh += p_exp * hours / 1000.0
            self._last_ms = now_ms

    def meter_time_ms(self, now_ms: int) -> int:
        """The meter's own clock: offset plus drift since ``start_ms``."""
        elapsed = now_ms - self.start_ms
        return int(now_ms + self.clock_offset_ms + round(elapsed * self.clock_drift_ppm * 1e-6))

    def _register(self, kwh: float) -> float:
        return math.fmod(kwh, self.rollover_kwh) if self.rollover_kwh else kwh

    def read_channels(self, channels: Sequence[str], now_ms: int) -> dict[str, float]:
        self.advance(now_ms)
        seg = self.circuit.at(max(now_ms, self.start_ms))
        factors = _phase_errors(self.error, seg, self.starting_current_a)
        u = np.asarray(seg.voltage_v, dtype=float)
        i = np.asarray(seg.current_a, dtype=float)
        phi = np.radians(np.asarray(seg.phi_deg, dtype=float))
        p = u * i * np.cos(phi) * factors
        q = u * i * np.sin(phi) * factors
        s_va = u * i * factors
        values: dict[str, float] = {}
        getters: dict[str, Callable[[], float]] = {
            "energy.import": lambda: self._register(self.import_kwh),
            "energy.export": lambda: self._register(self.export_kwh),
            "power.total": lambda: float(p.sum()),
            "frequency": lambda: seg.frequency_hz,
            "clock.unix_ms": lambda: float(self.meter_time_ms(now_ms)),
            "apparent_power.total": lambda: float(s_va.sum()),
            "reactive_power.total": lambda: float(q.sum()),
            "power_factor.total": lambda: _power_factor(float(p.sum()), float(s_va.sum())),
            "phase_angle.total": lambda: math.degrees(math.atan2(float(q.sum()), float(p.sum()))),
        }
        for k in range(3):
            getters[f"power.l{k + 1}"] = lambda k=k: float(p[k])
            getters[f"voltage.l{k + 1}"] = lambda k=k: float(seg.voltage_v[k])
            getters[f"current.l{k + 1}"] = lambda k=k: float(seg.current_a[k])
            getters[f"apparent_power.l{k + 1}"] = lambda k=k: float(s_va[k])
            getters[f"reactive_power.l{k + 1}"] = lambda k=k: float(q[k])
            getters[f"power_factor.l{k + 1}"] = lambda k=k: math.cos(phi[k])
            getters[f"phase_angle.l{k + 1}"] = lambda k=k: float(seg.phi_deg[k])
        with self._lock:
            for name in channels:
                try:
                    values[name] = getters[name]()
                except KeyError:
                    raise KeyError(f"simulated meter has no channel {name!r}") from None
        return values


def _power_factor(p_w: float, s_va: float) -> float:
    """P/S, signed by the direction of the active power; 1 with no load (nothing flows)."""
    return p_w / s_va if s_va > 0 else 1.0
