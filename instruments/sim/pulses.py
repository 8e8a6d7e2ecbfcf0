"""Pulse lines of the simulated lab: a meter's test output and the reference standard's pulses.

Both are exact functions of the circuit's piecewise-constant history. Within a segment the energy
a meter registers (its own error, starting current and creep: :meth:`SimMeter.registered_power_w`)
or the true energy times the reference standard's gain grows linearly, so the time of the k-th
pulse is found by walking the segments, to a fraction of a millisecond, with no sampling:

* :class:`MeterPulses` - the meter's test output (LED or S0): pulse ``k`` when the registered
  energy since power-up reaches ``(k - phase) / constant``; each edge is moved by the output's own
  jitter (uniform ±``jitter_ms``, drawn once per pulse from ``seed``, so every reader sees the same
  edge);
* :class:`ReferenceEnergy` - the reference standard's energy line (true import energy × ``1 +
  error_pct/100``); whoever counts its pulses applies the pulse constant it is wired for.

The history before the time function's *now* never changes (a source records each change at
now), so the energy at a segment boundary already passed is cached.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from meterbench.instruments.sim.circuit import Circuit, Segment
from meterbench.instruments.sim.meter import SimMeter, _split_import_export
from meterbench.units import MS_PER_HOUR

#: kWh per (W · ms).
_KWH_PER_W_MS = 1.0 / (1000.0 * MS_PER_HOUR)


@dataclass
class EnergyLine:
    """Cumulative energy (kWh) from ``start_ms`` of ``power_w(segment)`` over a circuit."""

    circuit: Circuit
    power_w: Callable[[Segment], float]
    start_ms: int
    now: Callable[[], int]
    _times: list[int] = field(default_factory=list, repr=False)
    _energies: list[float] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._times, self._energies = [self.start_ms], [0.0]

    def _from(self, t_ms: float) -> tuple[int, float]:
        """The latest cached (time, energy) at or before ``t_ms``."""
        k = bisect.bisect_right(self._times, t_ms) - 1
        return self._times[max(k, 0)], self._energies[max(k, 0)]

    def _remember(self, t_ms: int, energy: float) -> None:
        if t_ms > self._times[-1] and t_ms <= self.now():
            self._times.append(t_ms)
            self._energies.append(energy)

    def energy_kwh(self, t_ms: float) -> float:
        """Energy from ``start_ms`` to ``t_ms`` (a fraction of a millisecond is fine)."""
        if t_ms <= self.start_ms:
            return 0.0
        t0, energy = self._from(t_ms)
        for seg in self.circuit.segments(t0, math.ceil(t_ms)):
            end = min(float(seg.end_ms), t_ms)
            energy += self.power_w(seg) * (end - seg.start_ms) * _KWH_PER_W_MS
            if seg.end_ms <= t_ms:
                self._remember(seg.end_ms, energy)
        return energy

    def time_at(self, energy_kwh: float, until_ms: int) -> float | None:
        """The earliest time the energy reaches ``energy_kwh``, if it does by ``until_ms``."""
        if energy_kwh <= 0.0:
            return float(self.start_ms)
        k = bisect.bisect_right(self._energies, energy_kwh) - 1
        t0, energy = self._times[max(k, 0)], self._energies[max(k, 0)]
        for seg in self.circuit.segments(t0, until_ms):
            p = self.power_w(seg)
            gained = p * (seg.end_ms - seg.start_ms) * _KWH_PER_W_MS
            if p > 0 and energy + gained >= energy_kwh:
                return seg.start_ms + (energy_kwh - energy) / (p * _KWH_PER_W_MS)
            energy += gained
            self._remember(seg.end_ms, energy)
        return None


def _unit_random(seed: int, k: int) -> float:
    """A reproducible number in [-1, 1) for pulse ``k`` (the same edge for every reader)."""
    return float(np.random.default_rng([seed & 0xFFFFFFFF, k & 0xFFFFFFFFFFFF]).uniform(-1.0, 1.0))


class MeterPulses:
    """A simulated meter's test output: one pulse per ``1/constant`` kWh it registers.

    ``energy`` is what the pulses count (``import``, ``export`` or ``total``); ``width_ms`` is the
    pulse width (the edge counted is the leading one); ``phase`` is the fraction of a pulse already
    accumulated at power-up.
    """

    def __init__(self, meter: SimMeter, constant_imp_per_kwh: float, *, now: Callable[[], int],
                 energy: str = "import", jitter_ms: float = 0.0, width_ms: float | None = None,
                 seed: int = 0, phase: float = 0.5) -> None:
        if not constant_imp_per_kwh > 0:
            raise ValueError("a test output needs a positive constant (imp/kWh)")
        if jitter_ms < 0:
            raise ValueError("jitter_ms must be >= 0")
        self.meter = meter
        self.constant = float(constant_imp_per_kwh)
        self.jitter_ms = float(jitter_ms)
        self.width_ms = width_ms
        self.seed = seed
        self.phase = phase % 1.0
        self.now = now
        pick = {"import": lambda ie: ie[0], "export": lambda ie: ie[1],
                "total": lambda ie: ie[0] + ie[1]}[energy]
        self.line = EnergyLine(meter.circuit, lambda seg: pick(meter.registered_power_w(seg)),
                               meter.start_ms, now)

    def _ideal(self, k: int, until_ms: int) -> float | None:
        return self.line.time_at((k - self.phase) / self.constant, until_ms)

    def edge_ms(self, k: int) -> float | None:
        """The time of pulse ``k``'s leading edge, if it has happened by now."""
        now = self.now()
        t = self._ideal(k, now)
        if t is None:
            return None
        edge = t + self.jitter_ms * _unit_random(self.seed, k)
        return edge if edge <= now else None

    def first_after(self, t_ms: float) -> int:
        """The index of the first pulse whose edge comes at or after ``t_ms``."""
        k = math.floor(self.line.energy_kwh(t_ms) * self.constant + self.phase) + 1
        while k > 1:  # jitter may put the previous pulse's edge after t_ms
            t = self._ideal(k - 1, self.now())
            if t is None or t + self.jitter_ms * _unit_random(self.seed, k - 1) < t_ms:
                break
            k -= 1
        return k


class ReferenceEnergy:
    """The reference standard's view of the circuit: true import energy times its gain."""

    def __init__(self, circuit: Circuit, *, now: Callable[[], int], start_ms: int,
                 error_pct: float = 0.0) -> None:
        self.gain = 1.0 + error_pct / 100.0
        self.line = EnergyLine(
            circuit, lambda seg: _split_import_export(seg.power_w, True)[0] * self.gain,
            start_ms, now)

    def pulses_between(self, constant_imp_per_kwh: float, t0_ms: float, t1_ms: float,
                       phase: float = 0.5) -> int:
        """Whole pulses at ``constant_imp_per_kwh`` with edges in ``(t0_ms, t1_ms]``."""
        c = constant_imp_per_kwh
        return (math.floor(self.line.energy_kwh(t1_ms) * c + phase)
                - math.floor(self.line.energy_kwh(t0_ms) * c + phase))
