"""A virtual clock for the simulated lab: time moves only when a test says so."""

from __future__ import annotations

T0_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


class VirtualClock:
    """Time that only moves when told: a 60 s test point takes no wall time."""

    def __init__(self, start_ms: int = T0_MS) -> None:
        self.now_ms = start_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("a clock does not run backwards")
        self.now_ms += int(ms)
