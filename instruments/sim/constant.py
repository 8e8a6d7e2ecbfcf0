"""A circuit with constant conditions: the simplest ground truth, for tests and examples."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from meterbench.instruments.sim.circuit import Segment


@dataclass(frozen=True)
class ConstantCircuit:
    voltage_v: tuple[float, float, float] = (230.0, 230.0, 230.0)
    current_a: tuple[float, float, float] = (10.0, 10.0, 10.0)
    phi_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    frequency_hz: float = 50.0

    def at(self, t_ms: int) -> Segment:
        return Segment(t_ms, t_ms + 1, self.voltage_v, self.current_a, self.phi_deg,
                       self.frequency_hz)

    def segments(self, start_ms: int, end_ms: int) -> Iterator[Segment]:
        if end_ms > start_ms:
            yield Segment(start_ms, end_ms, self.voltage_v, self.current_a, self.phi_deg,
                          self.frequency_hz)
