"""Fleets shared by the fleet tests: generated once per session (seeded, so always the same)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

pytest.importorskip("dask", reason="the 'fleet' extra (dask, distributed, pyarrow) is not installed")
pytest.importorskip("distributed", reason="the 'fleet' extra is not installed")
pytest.importorskip("pyarrow", reason="the 'fleet' extra is not installed")

from meterbench.fleet.faults import FaultRates  # noqa: E402
from meterbench.fleet.synth import SynthSettings, synth  # noqa: E402

#: Fault rates raised so a small fleet carries enough of every kind to score.
DENSE = FaultRates(shift=0.03, summer_only=0.03, swap=0.02, meter_error=0.06, stuck=0.02,
                   dead=0.02, missing_day=0.01, conflict=0.006, duplicate=0.004, pv_share=0.25)


@pytest.fixture(scope="session")
def scored_fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 sites over 42 local days across the spring daylight-saving change (29 March 2026)."""
    out = tmp_path_factory.mktemp("fleet") / "scored"
    synth(SynthSettings(sites=300, days=42, first_day=date(2026, 3, 8), seed=11,
                        sites_per_block=60, rates=DENSE), out)
    return out


@pytest.fixture(scope="session")
def small_fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A quick fleet for the engine and error tests: 48 sites, 10 days around the change."""
    out = tmp_path_factory.mktemp("fleet") / "small"
    synth(SynthSettings(sites=48, days=10, first_day=date(2026, 3, 24), seed=5,
                        sites_per_block=8, rates=DENSE), out)
    return out
