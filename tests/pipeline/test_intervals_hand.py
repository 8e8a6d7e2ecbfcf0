"""Hand-computed cases for boundary interpolation, quality and anomalies."""

from __future__ import annotations

import numpy as np
import pytest

from meterbench.core.quality import Quality
from meterbench.pipeline.intervals import intervals_from_register

MIN = 60_000
Q = 15 * MIN
H = 60 * MIN
EST = 6 * H


def test_interpolation_by_hand():
    # readings at 14 and 16 min straddle the 15-min boundary: 10.0 kWh and 10.4 kWh
    # -> boundary value 10.2; readings at 29 and 31 min (10.9, 11.1) -> 11.0 at 30 min.
    t = np.array([-1, 14, 16, 29, 31]) * MIN
    v = np.array([9.9, 10.0, 10.4, 10.9, 11.1])
    r = intervals_from_register(t, v, 0, 2 * Q, Q, max_gap_ms=5 * MIN, estimate_limit_ms=EST)
    # boundary 0 min lies between -1 min (9.9) and 14 min (10.0): 9.9 + 0.1 * 1/15
    b0 = 9.9 + 0.1 * (1 / 15)
    assert r.series.quantity[0] == pytest.approx(10.2 - b0, abs=1e-12)
    assert r.series.quantity[1] == pytest.approx(11.0 - 10.2, abs=1e-12)
    # the first boundary is bracketed by readings 15 min apart: more than max_gap -> estimated
    assert list(r.series.quality) == [Quality.ESTIMATED, Quality.MEASURED]


def test_exact_reading_on_boundary_is_measured_even_at_the_end():
    t = np.array([0, Q, 2 * Q])
    v = np.array([1.0, 1.5, 2.25])
    r = intervals_from_register(t, v, 0, 2 * Q, Q, max_gap_ms=Q, estimate_limit_ms=EST)
    np.testing.assert_allclose(r.series.quantity, [0.5, 0.75])
    assert list(r.series.quality) == [Quality.MEASURED] * 2


def test_outside_readings_is_missing():
    t = np.arange(0, 31) * MIN
    v = t / H
    r = intervals_from_register(t, v, -Q, 3 * Q, Q, max_gap_ms=2 * MIN, estimate_limit_ms=EST)
    assert list(r.series.quality) == [Quality.MISSING, Quality.MEASURED, Quality.MEASURED,
                                      Quality.MISSING]
    assert np.isnan(r.series.quantity[[0, 3]]).all()
    np.testing.assert_allclose(r.series.quantity[1:3], [0.25, 0.25])


def test_gap_estimated_then_missing_beyond_limit():
    # 1-min readings at 1 kW, then a gap from 10 min to 70 min (60 min): boundaries inside it are
    # estimated with a limit of 2 h, missing with a limit of 30 min.
    t = np.concatenate([np.arange(0, 11), np.arange(70, 121)]) * MIN
    v = t / H
    r = intervals_from_register(t, v, 0, 2 * H, Q, max_gap_ms=2 * MIN, estimate_limit_ms=2 * H)
    q = r.series.quality
    assert q[0] == Quality.ESTIMATED  # its end (15 min) sits in the gap
    assert (q[1:4] == Quality.ESTIMATED).all()
    assert q[4] == Quality.ESTIMATED  # starts at 60 min, in the gap
    assert (q[5:] == Quality.MEASURED).all()
    np.testing.assert_allclose(r.series.quantity, 0.25)  # straight-line fill of a constant load
    assert [e.kind for e in r.events] == ["gap"]
    assert "60.0 min" in r.events[0].text and "straight line" in r.events[0].text

    r2 = intervals_from_register(t, v, 0, 2 * H, Q, max_gap_ms=2 * MIN,
                                 estimate_limit_ms=30 * MIN)
    assert (r2.series.quality[0:5] == Quality.MISSING).all()
    assert np.isnan(r2.series.quantity[0:5]).all()
    assert "not filled" in r2.events[0].text


def test_gap_inside_one_interval_keeps_it_measured():
    # the register is cumulative: a hole strictly inside an hour does not make the hour unknown
    t = np.concatenate([np.arange(0, 11), np.arange(50, 61)]) * MIN
    v = t / H * 2.0
    r = intervals_from_register(t, v, 0, H, H, max_gap_ms=2 * MIN, estimate_limit_ms=EST)
    assert r.series.quality[0] == Quality.MEASURED
    assert r.series.quantity[0] == pytest.approx(2.0)


def test_reset_is_a_break_not_consumption():
    t = np.arange(0, 61) * MIN
    v = 500.0 + t / H
    v[33:] = v[33:] - 500.0  # register restarted near zero between 32 and 33 min
    r = intervals_from_register(t, v, 0, H, Q, max_gap_ms=2 * MIN, estimate_limit_ms=EST)
    assert list(r.series.quality) == [Quality.MEASURED, Quality.MEASURED, Quality.MISSING,
                                      Quality.MEASURED]
    np.testing.assert_allclose(r.series.quantity[[0, 1, 3]], 0.25)
    assert np.nanmin(r.series.quantity) >= 0
    (reset,) = [e for e in r.events if e.kind == "reset"]
    assert reset.start_ms == 32 * MIN and "not consumption" in reset.text


def test_rollover_is_unwrapped():
    t = np.arange(0, 61) * MIN
    true = 99_999.5 + t / H * 3.0  # 3 kW, passes 100 000 kWh at 10 min
    v = np.mod(true, 100_000.0)
    r = intervals_from_register(t, v, 0, H, Q, max_gap_ms=2 * MIN, estimate_limit_ms=EST,
                                rollover_kwh=100_000.0, max_power_w=50_000.0)
    assert (r.series.quality == Quality.MEASURED).all()
    np.testing.assert_allclose(r.series.quantity, 0.75, atol=1e-9)
    assert [e.kind for e in r.events] == ["rollover"]


def test_decrease_without_declared_modulus_is_a_reset():
    t = np.arange(0, 61) * MIN
    v = np.mod(99_999.5 + t / H * 3.0, 100_000.0)
    r = intervals_from_register(t, v, 0, H, Q, max_gap_ms=2 * MIN, estimate_limit_ms=EST)
    assert r.series.quality[0] == Quality.MISSING
    assert [e.kind for e in r.events] == ["reset"]


def test_implausible_jump_flagged_and_not_used():
    t = np.arange(0, 61) * MIN
    v = t / H * 1.0
    v[40:] += 100.0  # +100 kWh in one minute = 6 MW
    r = intervals_from_register(t, v, 0, H, Q, max_gap_ms=2 * MIN, estimate_limit_ms=EST,
                                max_power_w=30_000.0)
    assert r.series.quality[2] == Quality.MISSING
    assert (r.series.quality[[0, 1, 3]] == Quality.MEASURED).all()
    (jump,) = [e for e in r.events if e.kind == "jump"]
    assert "6,001.0 kW" in jump.text


def test_duplicates_and_unsorted_input():
    t = np.array([30, 0, 15, 15, 45, 60]) * MIN
    v = np.array([2.0, 0.0, 1.0, 1.1, 3.0, 4.0])
    r = intervals_from_register(t, v, 0, H, Q, max_gap_ms=Q, estimate_limit_ms=EST)
    np.testing.assert_allclose(r.series.quantity, [1.0, 1.0, 1.0, 1.0])
    assert [e.kind for e in r.events] == ["duplicate"]


def test_default_max_gap_is_two_and_a_half_polls():
    t = np.arange(0, 61) * MIN
    r = intervals_from_register(t, t / H, 0, H, Q, None, EST)
    assert r.max_gap_ms == 150_000


def test_start_must_be_on_grid():
    with pytest.raises(ValueError, match="multiples"):
        intervals_from_register(np.array([0, 1]), np.array([0.0, 1.0]), 1, Q, Q, None, EST)


def test_decrease_from_mid_range_is_a_reset_even_with_a_modulus():
    t = np.arange(0, 61) * MIN
    v = 60_000.0 + t / H
    v[30:] = t[30:] / H  # restarted at zero: not a wrap of a 100 000 kWh register
    r = intervals_from_register(t, v, 0, H, Q, max_gap_ms=2 * MIN, estimate_limit_ms=EST,
                                rollover_kwh=100_000.0)
    assert [e.kind for e in r.events] == ["reset"]
    assert r.series.quality[1] == Quality.MISSING
