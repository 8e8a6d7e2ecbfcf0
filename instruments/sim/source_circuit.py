"""A lab power source as a :class:`~meterbench.instruments.sim.circuit.Circuit`.

Every commanded change is recorded at the time function's time, so :meth:`SourceCircuit.segments`
is exact: the meters under test and the reference standard, both integrating these segments, see
the very same piecewise-constant history. Output off (or a disabled channel) means zero voltage and
zero current on that phase, hence zero power.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from meterbench.instruments.sim.circuit import Segment

Triple = tuple[float, float, float]


@dataclass(frozen=True)
class SourceState:
    """What the source is set to (whether or not the output is on)."""

    voltage_v: Triple = (0.0, 0.0, 0.0)
    current_a: Triple = (0.0, 0.0, 0.0)
    phi_deg: Triple = (0.0, 0.0, 0.0)
    voltage_on: tuple[bool, bool, bool] = (True, True, True)
    current_on: tuple[bool, bool, bool] = (True, True, True)
    frequency_hz: float = 50.0
    output_on: bool = False

    def effective(self) -> tuple[Triple, Triple, Triple]:
        """Voltage, current and angle actually present at the terminals."""
        u = tuple(v if (self.output_on and on) else 0.0
                  for v, on in zip(self.voltage_v, self.voltage_on, strict=True))
        i = tuple(a if (self.output_on and on) else 0.0
                  for a, on in zip(self.current_a, self.current_on, strict=True))
        return u, i, self.phi_deg  # type: ignore[return-value]


def with_phase(values: Triple, phase_index: int, value: float) -> Triple:
    out = list(values)
    out[phase_index] = float(value)
    return tuple(out)  # type: ignore[return-value]


class SourceCircuit:
    """Settings history of a simulated source; thread-safe (servers write, meters read)."""

    def __init__(self, time_fn: Callable[[], int], initial: SourceState | None = None) -> None:
        self._time_fn = time_fn
        self._lock = threading.Lock()
        self._times: list[int] = [time_fn()]
        self._states: list[SourceState] = [initial or SourceState()]

    def now(self) -> int:
        """The time function's time (epoch ms)."""
        return int(self._time_fn())

    @property
    def state(self) -> SourceState:
        with self._lock:
            return self._states[-1]

    def update(self, **changes: object) -> SourceState:
        """Apply ``changes`` (fields of :class:`SourceState`) from the time function's now on."""
        now = int(self._time_fn())
        with self._lock:
            if now < self._times[-1]:
                raise ValueError(f"time went backwards: {now} < {self._times[-1]}")
            new = replace(self._states[-1], **changes)  # type: ignore[arg-type]
            if now == self._times[-1]:
                self._states[-1] = new  # several commands in the same millisecond: last wins
            else:
                self._times.append(now)
                self._states.append(new)
            return new

    def _segment(self, state: SourceState, start: int, end: int) -> Segment:
        u, i, phi = state.effective()
        return Segment(start, end, u, i, phi, state.frequency_hz)

    def at(self, t_ms: int) -> Segment:
        with self._lock:
            k = max(bisect.bisect_right(self._times, t_ms) - 1, 0)
            return self._segment(self._states[k], t_ms, t_ms + 1)

    def segments(self, start_ms: int, end_ms: int) -> Iterator[Segment]:
        if end_ms <= start_ms:
            return iter(())
        with self._lock:
            times = list(self._times)
            states = list(self._states)
        k = max(bisect.bisect_right(times, start_ms) - 1, 0)
        out: list[Segment] = []
        t = start_ms
        while t < end_ms:
            nxt = times[k + 1] if k + 1 < len(times) else end_ms
            seg_end = min(max(nxt, t), end_ms)
            if seg_end > t:
                out.append(self._segment(states[k], t, seg_end))
            t = seg_end
            k += 1
            if k >= len(times):
                if t < end_ms:
                    out.append(self._segment(states[-1], t, end_ms))
                break
        return iter(out)
