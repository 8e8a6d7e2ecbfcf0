"""PT15M -> PT1H with DataHub's quality rule, netting and comparison: hand-checked cases."""

from __future__ import annotations

import numpy as np
import pytest

from meterbench.core.quality import Quality
from meterbench.pipeline.aggregate import hours_to_quarters, quarters_to_hours
from meterbench.pipeline.compare import compare_intervals
from meterbench.pipeline.negative_residuals import (
    DIAG_MISALIGNED,
    DIAG_PRODUCTION,
    DIAG_SUB_EXCEEDS,
    diagnose_negative_residuals,
)
from meterbench.pipeline.netting import PointFlows, sum_check, virtual_main_point
from meterbench.pipeline.quality_rules import aggregate_quality, combine_strict
from meterbench.pipeline.series import IntervalSeries

ME, ES, CA, MI = Quality.MEASURED, Quality.ESTIMATED, Quality.CALCULATED, Quality.MISSING
Q = 900_000
H = 3_600_000


@pytest.mark.parametrize(("inputs", "expected"), [
    ((ME, ME, ME, ME), ME),
    ((ME, ES, ME, ME), ES),
    ((ME, MI, ME, ME), ES),  # measured mixed with missing -> estimated (DataHub rule)
    ((ES, CA, MI, ME), CA),  # calculated wins over everything
    ((MI, MI, MI, MI), MI),
    ((ES, MI, MI, MI), ES),
])
def test_datahub_quarter_to_hour_quality_rule(inputs, expected):
    assert aggregate_quality(np.array(inputs, dtype=np.uint8)) == expected


def test_strict_combination_missing_dominates():
    out = combine_strict(np.array([ME, ES, CA, ME], np.uint8), np.array([MI, ME, ES, ME], np.uint8))
    assert list(out) == [MI, ES, CA, ME]


def test_quarters_to_hours_sums_and_rates():
    starts = np.arange(8) * Q
    qty = np.array([0.1, 0.2, 0.3, 0.4, 1.0, np.nan, 1.0, 1.0])
    qual = np.array([ME, ME, ME, ME, ME, MI, ME, ME], np.uint8)
    h = quarters_to_hours(IntervalSeries(starts, qty, qual, Q))
    assert list(h.start_ms) == [0, H]
    np.testing.assert_allclose(h.quantity, [1.0, 3.0])
    assert list(h.quality) == [ME, ES]


def test_quarters_to_hours_refuses_partial_hours():
    with pytest.raises(ValueError, match="whole hours"):
        quarters_to_hours(IntervalSeries(np.arange(3) * Q + Q, np.ones(3),
                                         np.ones(3, np.uint8), Q))


def test_hours_to_quarters_carry_sums_to_hour():
    h = IntervalSeries(np.array([0, H]), np.array([1.001, 0.007]), np.array([ME, ES], np.uint8), H)
    q = hours_to_quarters(h)
    np.testing.assert_allclose(q.quantity[:4].sum(), 1.001, atol=1e-12)
    np.testing.assert_allclose(q.quantity[4:].sum(), 0.007, atol=1e-12)
    assert set(np.round(q.quantity[:4], 3)) <= {0.25, 0.251}
    assert list(q.quality) == [ME] * 4 + [ES] * 4


def test_virtual_main_point_per_direction_and_net():
    main = PointFlows.measured(np.array([2.0, 2.0, 1.0]), np.array([0.0, 0.5, 0.0]))
    subs = PointFlows.measured(np.array([[0.5, 0.5, 0.2], [1.0, 0.2, 0.3]]),
                               np.array([[0.0, 0.1, 0.0], [0.0, 0.0, 0.0]]))
    v = virtual_main_point(main, subs)
    np.testing.assert_allclose(v.import_kwh, [0.5, 1.3, 0.5])
    np.testing.assert_allclose(v.export_kwh, [0.0, 0.4, 0.0])
    np.testing.assert_allclose(v.net_kwh, [0.5, 0.9, 0.5])
    di, de = sum_check(main, v, subs)
    np.testing.assert_allclose(di, 0, atol=1e-12)
    np.testing.assert_allclose(de, 0, atol=1e-12)
    assert not v.negative_import.any()


def test_missing_sub_makes_residual_missing():
    main = PointFlows.measured(np.array([2.0, 2.0]))
    subs = PointFlows.measured(np.array([[0.5, np.nan]]))
    v = virtual_main_point(main, subs)
    assert list(v.import_quality) == [ME, MI]
    assert np.isnan(v.import_kwh[1])


def test_clamp_policy_flags_and_sum_check_shows_clamped_energy():
    main = PointFlows.measured(np.array([1.0, 1.0]))
    subs = PointFlows.measured(np.array([[1.3, 0.4]]))
    rep = virtual_main_point(main, subs, policy="report")
    np.testing.assert_allclose(rep.import_kwh, [-0.3, 0.6])
    assert list(rep.negative_import) == [True, False]
    assert list(rep.import_quality) == [ME, ME]
    cl = virtual_main_point(main, subs, policy="clamp")
    np.testing.assert_allclose(cl.import_kwh, [0.0, 0.6])
    assert list(cl.import_quality) == [ES, ME]
    assert list(cl.clamped_import) == [True, False]
    di, _ = sum_check(main, cl, subs)
    np.testing.assert_allclose(di, [0.3, 0.0], atol=1e-12)
    with pytest.raises(ValueError, match="policy"):
        virtual_main_point(main, subs, policy="ignore")


def test_diagnosis_production_behind_main():
    main = PointFlows.measured(np.array([0.2, 1.0]), np.array([0.8, 0.0]))
    subs = PointFlows.measured(np.array([[1.0, 0.5]]))
    v = virtual_main_point(main, subs)
    d = diagnose_negative_residuals(main, subs, v, np.array([0, Q]), Q)
    assert d.codes == [DIAG_PRODUCTION, None]
    assert "production behind the main meter" in d.events[0].text


def test_diagnosis_misaligned_sub_meter():
    rng = np.random.default_rng(3)
    charger = np.where(rng.random(96) < 0.3, 2.5, 0.0)  # on/off EV charger, kWh per quarter
    house = 0.1 + 0.05 * rng.random(96)
    main_imp = charger + house
    late = np.concatenate([[0.0], charger[:-1]])  # operator labels one quarter late
    main = PointFlows.measured(main_imp)
    subs = PointFlows.measured(np.vstack([late]))
    v = virtual_main_point(main, subs)
    assert v.negative_import.any()
    d = diagnose_negative_residuals(main, subs, v, np.arange(96) * Q, Q, sub_names=["EV charger"])
    flagged = [c for c in d.codes if c]
    assert flagged and set(flagged) == {DIAG_MISALIGNED}
    assert "EV charger looks labelled 1 interval(s) (15 min) late" in d.events[0].text


def test_diagnosis_sub_meter_exceeds_main():
    main = PointFlows.measured(np.full(8, 1.0))
    subs = PointFlows.measured(np.vstack([np.full(8, 1.02)]))  # reads 2 % more than the main
    v = virtual_main_point(main, subs)
    d = diagnose_negative_residuals(main, subs, v, np.arange(8) * Q, Q)
    assert d.codes == [DIAG_SUB_EXCEEDS] * 8


@pytest.mark.parametrize(("sorted_sites", "with_missing"), [(True, True), (False, True),
                                                            (True, False)])
def test_many_sites_equals_site_by_site(monkeypatch, sorted_sites, with_missing):
    """Blocked many-site netting (and its all-measured fast path) equals site-by-site."""
    import meterbench.pipeline.netting as netting

    monkeypatch.setattr(netting, "_SITE_BLOCK", 7)  # many blocks, some sites without subs
    rng = np.random.default_rng(7)
    n_sites, n = 50, 96
    sub_site = rng.integers(0, n_sites, 120)
    if sorted_sites:
        sub_site = np.sort(sub_site)
    main = PointFlows.measured(rng.random((n_sites, n)) * 5, rng.random((n_sites, n)))
    subs_i = rng.random((120, n))
    if with_missing:
        subs_i[5, 10] = np.nan
    subs = PointFlows.measured(subs_i, rng.random((120, n)) * 0.1)
    many = virtual_main_point(main, subs, sub_site=sub_site, policy="clamp")
    for s in range(n_sites):
        rows = sub_site == s
        one = virtual_main_point(
            PointFlows(main.import_kwh[s], main.export_kwh[s], main.import_quality[s],
                       main.export_quality[s]),
            PointFlows(subs.import_kwh[rows], subs.export_kwh[rows], subs.import_quality[rows],
                       subs.export_quality[rows]), policy="clamp")
        np.testing.assert_array_equal(many.import_quality[s], one.import_quality)
        np.testing.assert_array_equal(many.net_quality[s], one.net_quality)
        np.testing.assert_array_equal(many.clamped_import[s], one.clamped_import)
        np.testing.assert_allclose(many.import_kwh[s], one.import_kwh, atol=1e-12)
        np.testing.assert_allclose(many.net_kwh[s], one.net_kwh, atol=1e-12)
        np.testing.assert_allclose(many.raw_import_kwh[s], one.raw_import_kwh, atol=1e-12)


def test_compare_intervals_error_and_qualities():
    op = IntervalSeries(np.arange(4) * Q, np.array([1.01, 0.99, np.nan, 0.5]),
                        np.array([ME, ES, MI, ME], np.uint8), Q)
    ref = IntervalSeries(np.arange(1, 5) * Q, np.array([1.0, 1.0, 0.0, 9.0]),
                         np.array([ME, ME, ME, ME], np.uint8), Q)
    c = compare_intervals(op, ref)
    assert list(c.start_ms) == [Q, 2 * Q, 3 * Q]
    np.testing.assert_allclose(c.error_pct[0], -1.0)
    assert np.isnan(c.error_pct[1])  # operator missing
    assert np.isnan(c.error_pct[2])  # reference zero: no relative error
    assert list(c.operator_quality) == [ES, MI, ME]
    assert list(c.both_measured) == [False, False, True]
    assert c.energy_weighted_error_pct(np.array([True, False, False])) == pytest.approx(-1.0)


def test_sum_check_many_sites_shows_clamped_energy():
    main = PointFlows.measured(np.array([[1.0, 1.0], [2.0, 0.5]]))
    subs = PointFlows.measured(np.array([[0.4, 1.3], [0.5, 0.5], [0.2, 0.1]]))
    site = np.array([0, 1, 1])
    v = virtual_main_point(main, subs, sub_site=site, policy="clamp")
    di, de = sum_check(main, v, subs, sub_site=site)
    np.testing.assert_allclose(di, [[0.0, 0.3], [0.0, 0.1]], atol=1e-12)
    np.testing.assert_allclose(de, 0.0, atol=1e-12)
    np.testing.assert_allclose(v.raw_import_kwh, [[0.6, -0.3], [1.3, -0.1]], atol=1e-12)
