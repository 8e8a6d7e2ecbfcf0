"""Fixtures of the instruments tests; helpers live in ``simkit`` (a unique module name, so they
never collide with another area's conftest)."""

from __future__ import annotations

import pytest
from simkit import VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()
