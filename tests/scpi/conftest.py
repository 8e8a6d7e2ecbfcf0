"""Fixtures of the SCPI tests: a virtual clock and the simulated lab."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from meterbench.instruments.sim.lab import LabSpec, SimLab, start_lab

from .vclock import VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def empty_lab(clock: VirtualClock) -> Iterator[SimLab]:
    with start_lab(LabSpec(), clock) as lab:
        yield lab
