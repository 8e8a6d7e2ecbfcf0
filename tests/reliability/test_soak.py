"""Soak: polls over simulated days with a fault schedule lose nothing the meters answered, and the
process's memory stays flat. The scenario and its counting live in ``benchmarks/soak.py``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .helpers import REPO_ROOT

#: RSS growth allowed between 10 % and 100 % of a week's polls. Observed: about 3 MB (SQLite page
#: cache, bounded statistics windows); keeping every reading in memory would add more than this
#: over a week of 20 meters, as would any per-poll leak of a few hundred bytes.
MAX_RSS_GROWTH_MB = 16.0


def _soak_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("meterbench_soak", REPO_ROOT / "benchmarks" /
                                                  "soak.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def _check_nothing_lost(result) -> None:  # noqa: ANN001 - the benchmark's SoakResult
    assert result.polls > 0 and sum(result.stored.values()) > 0
    assert result.lost == {m: 0 for m in result.answered}, result.lost
    assert result.events["poll_failed"] > 0  # the fault schedule did bite
    assert result.events["value_flagged"] > 0


def test_short_soak_loses_nothing(tmp_path: Path) -> None:
    soak = _soak_module()
    result = soak.run_soak(tmp_path, meters=8, days=2, poll="15min", rtu=False)
    _check_nothing_lost(result)


@pytest.mark.slow
def test_week_of_twenty_meters_loses_nothing_and_memory_stays_flat(tmp_path: Path) -> None:
    soak = _soak_module()
    result = soak.run_soak(tmp_path, meters=20, days=7, poll="15min", rtu=False)
    _check_nothing_lost(result)
    assert result.polls >= 20 * 7 * 96
    assert result.rss_end_mb - result.rss_early_mb < MAX_RSS_GROWTH_MB, (
        result.rss_early_mb, result.rss_end_mb)
