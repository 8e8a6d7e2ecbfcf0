"""A virtual clock for the simulated lab tests: the bench's own lab clock, started at a fixed day."""

from __future__ import annotations

from meterbench.clocks.lab_clock import LabClock

T0_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


class VirtualClock(LabClock):
    """Time that only moves when told: a 60 s test point takes no wall time."""

    def __init__(self, start_ms: int = T0_MS) -> None:
        super().__init__(start_ms)
