"""Loads on a simulated site, as exact piecewise-constant schedules.

Each load is a schedule of per-phase current and phase angle at a fixed voltage. A meter's circuit
is the phasor sum of the loads it sees (the main meter sees all of them, an operator meter the one
appliance behind it), so the site's true energy is known exactly at every instant: this is the
ground truth the bench must recover. Randomness (base-load levels, heat-pump cycle jitter) comes from
a seeded generator, so a bench is deterministic for a given seed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from meterbench.instruments.sim.circuit import Segment
from meterbench.units import MS_PER_MIN

NOMINAL_V = 230.0


@dataclass(frozen=True)
class Schedule:
    """Breakpoints ``times_ms`` (n+1, increasing) and per-segment currents/angles (n × 3)."""

    times_ms: np.ndarray
    current_a: np.ndarray
    phi_deg: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.times_ms) - 1
        if n < 1 or self.current_a.shape != (n, 3) or self.phi_deg.shape != (n, 3):
            raise ValueError("schedule shapes disagree")
        if np.any(np.diff(self.times_ms) <= 0):
            raise ValueError("schedule breakpoints must increase")


class ScheduleCircuit:
    """A :class:`~meterbench.instruments.sim.circuit.Circuit` over a :class:`Schedule`.

    Before the first breakpoint and after the last one the nearest segment's conditions hold.
    """

    def __init__(self, schedule: Schedule, voltage_v: Sequence[float] = (NOMINAL_V,) * 3,
                 frequency_hz: float = 50.0) -> None:
        self.schedule = schedule
        self.voltage_v = tuple(float(v) for v in voltage_v)
        self.frequency_hz = frequency_hz

    def _segment(self, k: int, start: int, end: int) -> Segment:
        s = self.schedule
        return Segment(start, end, self.voltage_v, tuple(map(float, s.current_a[k])),
                       tuple(map(float, s.phi_deg[k])), self.frequency_hz)

    def _index(self, t_ms: int) -> int:
        t = self.schedule.times_ms
        return int(np.clip(np.searchsorted(t, t_ms, side="right") - 1, 0, len(t) - 2))

    def at(self, t_ms: int) -> Segment:
        return self._segment(self._index(t_ms), t_ms, t_ms + 1)

    def segments(self, start_ms: int, end_ms: int) -> Iterator[Segment]:
        if end_ms <= start_ms:
            return
        t = self.schedule.times_ms
        last = len(t) - 2
        k = self._index(start_ms)
        cursor = start_ms
        while cursor < end_ms:
            seg_end = end_ms if k == last else min(int(t[k + 1]), end_ms)
            yield self._segment(k, cursor, seg_end)
            cursor = seg_end
            k = min(k + 1, last)


def _phase_mask(phases: str) -> np.ndarray:
    """``"L1"``, ``"L2"``, ``"L3"`` or ``"3"`` (all three) as a 0/1 mask."""
    if phases == "3":
        return np.ones(3)
    try:
        k = ("L1", "L2", "L3").index(phases)
    except ValueError:
        raise ValueError(f"phases must be L1, L2, L3 or 3, got {phases!r}") from None
    mask = np.zeros(3)
    mask[k] = 1.0
    return mask


def _angle(power_factor: float, producing: bool = False) -> float:
    phi = float(np.degrees(np.arccos(np.clip(abs(power_factor), 0.0, 1.0))))
    return 180.0 - phi if producing else phi


def _from_levels(times_ms: np.ndarray, power_w: np.ndarray, phases: str, power_factor: float,
                 producing: bool = False) -> Schedule:
    """Per-segment active power (≥ 0) to per-phase currents at nominal voltage and fixed PF."""
    mask = _phase_mask(phases)
    phi = _angle(power_factor, producing)
    per_phase_w = power_w[:, None] * mask[None, :] / mask.sum()
    current = per_phase_w / (NOMINAL_V * abs(power_factor))
    return Schedule(times_ms.astype(np.int64), current, np.where(current > 0, phi, 0.0))


def base_load(start_ms: int, end_ms: int, rng: np.random.Generator, *, mean_w: float,
              peak_w: float, step_ms: int = 10 * MS_PER_MIN, phases: str = "L1",
              power_factor: float = 0.95) -> Schedule:
    """Household base load: a new level every step, drawn between ``0.3·mean`` and ``peak``.

    Step edges are offset by a random number of seconds, so they do not coincide with polls.
    """
    edges = np.arange(start_ms, end_ms + step_ms, step_ms, dtype=np.int64)
    edges[1:-1] += rng.integers(0, step_ms // 2, size=len(edges) - 2) // 1000 * 1000
    levels = np.clip(rng.gamma(2.0, mean_w / 2.0, size=len(edges) - 1), 0.3 * mean_w, peak_w)
    return _from_levels(edges, levels, phases, power_factor)


def on_off_load(start_ms: int, end_ms: int, sessions_ms: Sequence[tuple[int, int]], *,
                power_w: float, phases: str = "3", power_factor: float = 1.0,
                producing: bool = False) -> Schedule:
    """A load at ``power_w`` during each session and off otherwise (EV charger, heat-pump cycle)."""
    a = np.array([s[0] for s in sessions_ms], dtype=np.int64)
    b = np.array([s[1] for s in sessions_ms], dtype=np.int64)
    if np.any(b <= a):
        k = int(np.flatnonzero(b <= a)[0])
        raise ValueError(f"session ends before it starts: {a[k]}..{b[k]}")
    edges = np.unique(np.concatenate([[start_ms, end_ms], np.clip(a, start_ms, end_ms),
                                      np.clip(b, start_ms, end_ms)]))
    mids = (edges[:-1] + edges[1:]) // 2
    # sessions on at each midpoint: started at or before it, minus ended at or before it
    # (sorted searches: O(n log n) however many sessions a long run has)
    active = (np.searchsorted(np.sort(a), mids, side="right")
              - np.searchsorted(np.sort(b), mids, side="right"))
    return _from_levels(edges, np.where(active > 0, power_w, 0.0), phases, power_factor, producing)


def cycling_sessions(start_ms: int, end_ms: int, rng: np.random.Generator, *, on_ms: int,
                     off_ms: int, jitter: float = 0.2) -> list[tuple[int, int]]:
    """A heat pump's on/off cycles, each phase length jittered by ±``jitter``, whole seconds.

    Each phase lasts at least a second after jitter and rounding, so time always advances: an
    ``on``/``off`` of zero cannot loop forever (the bench file refuses phases under a second).
    """
    if on_ms < 1000 or off_ms < 1000:
        raise ValueError(f"on and off must each last at least 1 s, got {on_ms} and {off_ms} ms")
    sessions: list[tuple[int, int]] = []
    t = start_ms + int(rng.integers(0, max(off_ms, 1000)) // 1000 * 1000)
    while t < end_ms:
        on = max(1000, int(on_ms * rng.uniform(1 - jitter, 1 + jitter)) // 1000 * 1000)
        off = max(1000, int(off_ms * rng.uniform(1 - jitter, 1 + jitter)) // 1000 * 1000)
        sessions.append((t, min(t + on, end_ms)))
        t += on + off
    return sessions


def combine(schedules: Sequence[Schedule]) -> Schedule:
    """The phasor sum of several loads on the same three phases (what an upstream meter sees)."""
    if not schedules:
        raise ValueError("nothing to combine")
    edges = np.unique(np.concatenate([s.times_ms for s in schedules]))
    mids = (edges[:-1] + edges[1:]) // 2
    total = np.zeros((len(mids), 3), dtype=complex)
    for s in schedules:
        k = np.clip(np.searchsorted(s.times_ms, mids, side="right") - 1, 0, len(s.times_ms) - 2)
        total += s.current_a[k] * np.exp(-1j * np.radians(s.phi_deg[k]))
    current = np.abs(total)
    phi = np.where(current > 1e-12, -np.degrees(np.angle(total)), 0.0)
    return Schedule(edges, current, phi)
