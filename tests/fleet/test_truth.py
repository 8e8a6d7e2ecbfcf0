"""The screen against the synthetic fleet's ground truth (the generator's own injections)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from meterbench.fleet import layout as L
from meterbench.fleet.engine import run_blocks
from meterbench.fleet.evaluate import score
from meterbench.fleet.output import combine
from meterbench.fleet.screen import ScreenSettings


@pytest.fixture(scope="module")
def scored(scored_fleet: Path) -> dict[str, Any]:
    m = L.read_manifest(scored_fleet)
    screen = combine(m, run_blocks(scored_fleet, ScreenSettings(), list(range(m.blocks))))
    return score(screen.findings, L.pq().read_table(scored_fleet / L.TRUTH), screen.errors)


@pytest.mark.parametrize("kind", ["shift", "summer_only", "swap", "stuck", "dead", "missing_day",
                                  "conflicting_duplicate"])
def test_every_deterministic_fault_is_found_and_nothing_else(scored: dict[str, Any],
                                                              kind: str) -> None:
    s = scored["kinds"][kind]
    assert s["injected"] >= 5, f"the fleet should carry some {kind} faults: {s}"
    assert s["recall"] >= 0.99, s
    assert s["precision"] >= 0.99, s


def test_meters_beyond_their_limit_are_flagged_and_few_others(scored: dict[str, Any]) -> None:
    e = scored["meter_error"]
    assert e["beyond_limit"] >= 10
    assert e["recall"] >= 0.95, e
    assert e["at_least_3pct"] >= 10 and e["recall_at_least_3pct"] >= 0.95, e
    assert e["false_positive_rate"] <= 0.01, e
    # a meter truly beyond its limit may be inconclusive (its interval reaches inside), but is
    # passed as within only by the 2.5 % chance of its interval's far tail
    assert e["passed_beyond_limit"] <= max(1, 0.025 * e["beyond_limit"]), e


def test_error_interval_holds_the_true_error_about_as_often_as_it_says(
        scored: dict[str, Any]) -> None:
    # a 95 % interval over some 500 meters: coverage far below 0.95 means it is too narrow
    assert 0.90 <= scored["meter_error"]["ci95_coverage"] <= 1.0, scored["meter_error"]


def test_pv_sites_negative_residuals_are_explained_as_production(scored: dict[str, Any]) -> None:
    pv = scored["pv"]
    assert pv["with_negative_residuals"] >= 20, pv
    assert pv["sites_not_fully_explained_count"] == 0, pv
    assert pv["explained_share"] == 1.0, pv


@pytest.mark.parametrize("kind", ["shift", "summer_only"])
def test_negative_residuals_of_a_mislabelled_site_are_misaligned_timestamps(
        scored: dict[str, Any], kind: str) -> None:
    """A serial meter labelled an hour late (all year, or in summer time only) makes its site's
    residual negative where its load moved to: misaligned timestamps, not a serial meter reading
    more than the main one. A shift in summer time only escapes the whole-period shift search;
    the labelling diagnosis sees it."""
    s = scored["mislabelled"][kind]
    assert s["sites"] >= 2 and sum(s["intervals_by_cause"].values()) >= 50, s
    assert s["misaligned_share"] == 1.0, s


@pytest.fixture(scope="module")
def winter_scored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A fleet seen only in winter: no daylight-saving day in its period."""
    from datetime import date

    from meterbench.fleet.synth import SynthSettings, synth

    from .conftest import DENSE

    out = tmp_path_factory.mktemp("fleet") / "winter"
    synth(SynthSettings(sites=80, days=7, first_day=date(2026, 1, 12), seed=3,
                        sites_per_block=40, rates=DENSE), out)
    m = L.read_manifest(out)
    screen = combine(m, run_blocks(out, ScreenSettings(), list(range(m.blocks))))
    return score(screen.findings, L.pq().read_table(out / L.TRUTH), screen.errors)


def test_a_shift_seen_in_one_season_only_is_scored_on_that_season(
        winter_scored: dict[str, Any]) -> None:
    # the summer component of a winter-only diagnosis is unobserved, not a mismatch
    s = winter_scored["kinds"]["shift"]
    assert s["injected"] >= 2, s
    assert s["recall"] == 1.0 and s["precision"] == 1.0, s


def test_a_summer_only_fault_in_a_period_without_summer_time_is_not_injected(
        winter_scored: dict[str, Any]) -> None:
    # such a meter reports correctly: counting it as a missed fault would blame the screen
    s = winter_scored["kinds"]["summer_only"]
    assert s["injected"] == 0 and s["recall"] is None, s
    assert s["findings"] == 0, s


@pytest.mark.parametrize(("winter", "summer", "want", "match"), [
    (1.0, 1.0, 1.0, True), (1.0, float("nan"), 1.0, True), (float("nan"), -1.0, -1.0, True),
    (1.0, 0.0, 1.0, False), (float("nan"), float("nan"), 1.0, False), (0.25, 0.25, 1.0, False),
])
def test_shift_match_compares_only_the_seasons_observed(winter: float, summer: float,
                                                        want: float, match: bool) -> None:
    from meterbench.fleet.evaluate import _shift_matches

    assert _shift_matches({"winter_shift_h": winter, "summer_shift_h": summer}, want) is match
