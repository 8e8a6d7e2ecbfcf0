"""The fleet's own numerics: the serial-meter error fit, and the diagnosis fast path."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterbench.fleet import error_estimate
from meterbench.fleet import layout as L
from meterbench.fleet.assemble import block_sites, read_block
from meterbench.fleet.error_estimate import estimate_errors
from meterbench.fleet.residuals import flows, site_codes
from meterbench.pipeline.negative_residuals import (
    CAUSES,
    DIAG_PRODUCTION,
    diagnose_negative_residuals,
)
from meterbench.pipeline.netting import virtual_main_point


def _site(rng: np.random.Generator, n: int, errors: list[float], noise: float
          ) -> tuple[np.ndarray, np.ndarray]:
    """A main meter over a household plus switching appliances read with ``errors``.

    Without noise the household is a straight line (which centred differences cancel
    exactly); with noise it is a daily wave plus white noise.
    """
    t = np.arange(n)
    if noise:
        base = 0.3 + 0.2 * np.sin(2 * np.pi * t / 96) + noise * rng.standard_normal(n)
    else:
        base = 0.3 + 1e-4 * t
    true = np.array([np.where(rng.random(n) < 0.3, rng.uniform(0.5, 2.0), 0.0)
                     for _ in errors])
    main = base + true.sum(axis=0)
    serial = true * (1 + np.asarray(errors))[:, None]
    return main, serial


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-0.08, 0.08), min_size=1, max_size=3), st.integers(0, 2**31 - 1))
def test_noise_free_errors_are_recovered_exactly(errors: list[float], seed: int) -> None:
    main, serial = _site(np.random.default_rng(seed), 960, errors, noise=0.0)
    est = estimate_errors(main[None], serial, np.zeros(len(errors), np.int64),
                          np.ones(serial.shape, bool))
    assert est.estimated.all()
    np.testing.assert_allclose(est.error_pct, np.asarray(errors) * 100, atol=1e-6)
    assert (est.low_pct <= est.error_pct + 1e-9).all() and (est.error_pct <= est.high_pct + 1e-9).all()


def test_interval_covers_the_truth_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(1)
    hits, n_sites = 0, 200
    mains, serials, truth = [], [], []
    for _ in range(n_sites):
        e = rng.uniform(-0.05, 0.05)
        main, serial = _site(rng, 2880, [e], noise=0.08)
        mains.append(main)
        serials.append(serial[0])
        truth.append(e * 100)
    est = estimate_errors(np.array(mains), np.array(serials), np.arange(n_sites),
                          np.ones((n_sites, 2880), bool))
    hits = np.count_nonzero((est.low_pct <= truth) & (np.array(truth) <= est.high_pct))
    assert 0.90 * n_sites <= hits <= 0.99 * n_sites, hits
    diff = est.error_pct - np.array(truth)
    assert abs(diff.mean()) < 3 * diff.std() / np.sqrt(n_sites)  # no bias beyond chance


def test_sites_fitted_a_few_at_a_time_give_what_all_at_once_gives(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each site's fit is its own: chunking for the cache changes no bit (with gaps and NaN)."""
    rng = np.random.default_rng(3)
    mains, serials, site = [], [], []
    for s in range(40):
        errors = list(rng.uniform(-0.05, 0.05, size=1 + s % 3))
        main, serial = _site(rng, 960, errors, noise=0.05)
        mains.append(main)
        serials.extend(serial)
        site.extend([s] * len(errors))
    main_net, serial = np.array(mains), np.array(serials)
    serial[rng.random(serial.shape) < 0.01] = np.nan
    usable = rng.random(serial.shape) > 0.02
    results = []
    for chunk in (1, 960, 1 << 30):  # one site at a time, a few, all
        monkeypatch.setattr(error_estimate, "CHUNK_VALUES", chunk)
        results.append(estimate_errors(main_net, serial, np.array(site), usable))
    assert results[0].estimated.sum() > 30
    for other in results[1:]:
        for name in ("error_pct", "low_pct", "high_pct", "used", "estimated"):
            assert getattr(other, name).tobytes() == getattr(results[0], name).tobytes(), name


def test_a_meter_that_never_switches_is_not_estimated() -> None:
    main = np.full((1, 960), 0.4)
    serial = np.zeros((1, 960))
    est = estimate_errors(main, serial, np.zeros(1, np.int64), np.ones((1, 960), bool))
    assert not est.estimated[0] and np.isnan(est.error_pct[0])


def test_a_meter_is_within_only_when_its_whole_interval_is_inside_the_limit() -> None:
    from meterbench.fleet.error_estimate import ErrorEstimate, judge_errors

    #      inside  across+  across−  beyond+  beyond−  open(+inf)  none  skip  no class  skip+none
    low = np.array([-1.0, 3.0, -4.5, 4.5, -9.0, 3.5, np.nan, -1.0, -1.0, np.nan])
    high = np.array([1.0, 5.0, -3.0, 6.0, -4.2, np.inf, np.nan, 1.0, 1.0, np.nan])
    est = ErrorEstimate(error_pct=(low + np.where(np.isinf(high), low, high)) / 2,
                        low_pct=low, high_pct=high, used=np.full(10, 500),
                        estimated=~np.isnan(low))
    limits = np.array([4.0] * 8 + [np.nan, 4.0])
    skip = np.zeros(10, bool)
    skip[[7, 9]] = True
    assert judge_errors(est, limits, skip).tolist() == [
        "within", "inconclusive", "inconclusive", "exceeds", "exceeds", "inconclusive",
        "not_estimated", "not_judged", "no_class", "not_judged"]


def test_diagnosis_of_a_block_s_sites_at_once_gives_what_the_full_kernel_gives(
        scored_fleet: Path) -> None:
    m = L.read_manifest(scored_fleet)
    topo = L.read_topology(scored_fleet, m, block=0)
    data = read_block(scored_fleet, m, topo, 0)
    s = block_sites(data.topo)
    starts = m.start_ms + m.resolution_ms * np.arange(m.n_intervals, dtype=np.int64)
    many = virtual_main_point(flows(data.imp, data.exp, s.main), flows(data.imp, data.exp,
                                                                       s.serial),
                              sub_site=s.serial_site, n_sites=len(s.main))
    sites = np.flatnonzero(many.negative_import.any(axis=1))
    codes = site_codes(data, s, sites, many.negative_import[sites])
    production = 0
    for row, site in enumerate(sites.tolist()):
        main = flows(data.imp, data.exp, s.main[site])
        subs = flows(data.imp, data.exp, s.serial[s.serial_site == site])
        alone = replace(virtual_main_point(main, subs),  # the intervals the block's netting found
                        negative_import=many.negative_import[site])
        full = diagnose_negative_residuals(main, subs, alone, starts, m.resolution_ms).codes
        assert [c or "" for c in full] == [("", *CAUSES)[c] for c in codes[row].tolist()]
        production += full.count(DIAG_PRODUCTION)
    assert len(sites) >= 10 and production > 100


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1.0,
                                                                          1e-12, 1e-300]))
def test_huber_weight_in_two_steps_is_the_three_step_formula_bit_for_bit(u: float) -> None:
    """The fit computes the weight ``min(1, 1/max(u, 1e-12))`` as ``1/max(u, 1)``."""
    a = np.array([abs(u)])  # u = |r| / (c σ) is never negative
    three = np.minimum(1.0, 1.0 / np.maximum(a, 1e-12))
    two = 1.0 / np.maximum(a, 1.0)
    assert three.tobytes() == two.tobytes()


def test_delay_quantiles_beyond_the_week_say_so_and_the_latest_is_exact() -> None:
    from meterbench.fleet.deliveries import DELAY_BINS
    from meterbench.fleet.output import _quantile_h

    hist = np.zeros(DELAY_BINS, dtype=np.int64)
    hist[8] = 3             # three deliveries 2 h after the day
    assert _quantile_h(hist, 0.5) == 2.0
    hist[-1] = 10           # ten delivered half a year late
    assert _quantile_h(hist, 0.5) == "≥ 167.75" and _quantile_h(hist, 0.1) == 2.0
