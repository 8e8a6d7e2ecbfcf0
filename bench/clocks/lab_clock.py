"""Virtual time for a simulated lab: it moves only when the lab executor waits.

A 20-minute creep test or a 30-minute warm-up then takes no wall time, while the simulated meters,
the source and the reference standard all see the same, consistent time line.
"""

from __future__ import annotations


class LabClock:
    """A time function (call it for epoch ms) that :meth:`advance` moves forward."""

    def __init__(self, start_ms: int) -> None:
        self.now_ms = int(start_ms)

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("a clock does not run backwards")
        self.now_ms += int(ms)
