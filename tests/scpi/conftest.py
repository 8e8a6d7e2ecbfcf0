"""Fixtures of the SCPI tests: a virtual clock and the simulated lab."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from instruments.sim.lab import LabSpec, SimLab, start_lab

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


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def empty_lab(clock: VirtualClock) -> Iterator[SimLab]:
    with start_lab(LabSpec(), clock) as lab:
        yield lab
