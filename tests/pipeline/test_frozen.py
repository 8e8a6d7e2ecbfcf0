"""A frozen energy register is caught by the meter's own power and its intervals are estimated."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from meterbench.core.quality import Quality
from meterbench.pipeline.frozen import detect_frozen
from meterbench.pipeline.intervals import intervals_from_register

MIN, H = 60_000, 3_600_000
DAY = 24 * H
STEP = 0.001


def readings(power_w=2000.0, freeze=(6 * H, 7.5 * H), catch_up=True):
    t = np.arange(-2 * MIN, DAY + 3 * MIN, MIN, dtype=np.int64)
    true = 1000.0 + power_w / 1000 * (t / H)
    reg = true.copy()
    if freeze:
        a, b = freeze
        inside = (t >= a) & (t < b)
        reg[inside] = np.interp(a, t, true)
        if not catch_up:
            reg[t >= b] -= power_w / 1000 * (b - a) / H
    reg = np.round(reg / STEP) * STEP
    p = np.full(len(t), power_w)
    return t, reg, p, true


def run(t, reg, p):
    mi = intervals_from_register(t, reg, 0, DAY, 15 * MIN, 150_000)
    return mi.series, detect_frozen(mi.series, t, reg, t, p, STEP, meter="m", channel="energy.import")


def test_frozen_then_caught_up_is_estimated_and_conserves_the_register():
    t, reg, p, _ = readings()
    before, res = run(t, reg, p)
    hit = res.affected
    frozen_quarters = (before.start_ms >= 6 * H) & (before.start_ms < 7.5 * H)
    assert hit[frozen_quarters].all()
    assert (res.series.quality[hit] == Quality.ESTIMATED).all()
    assert (res.series.quality[~hit] == Quality.MEASURED).all()
    np.testing.assert_array_equal(res.series.quantity[~hit], before.quantity[~hit])
    assert abs(res.series.quantity.sum() - before.quantity.sum()) < 1e-9  # register energy kept
    np.testing.assert_allclose(res.series.quantity[frozen_quarters], 0.5, atol=0.002)
    assert len(res.events) == 1 and "caught up" in res.events[0].text
    assert "06:00" in res.events[0].text


def test_frozen_never_caught_up_is_filled_from_power():
    t, reg, p, _ = readings(catch_up=False)
    _, res = run(t, reg, p)
    frozen_quarters = (res.series.start_ms >= 6 * H) & (res.series.start_ms < 7.5 * H)
    assert (res.series.quality[frozen_quarters] == Quality.ESTIMATED).all()
    np.testing.assert_allclose(res.series.quantity[frozen_quarters], 0.5, atol=1e-6)
    assert "never caught up" in res.events[0].text


def test_a_flat_register_without_load_is_not_a_fault():
    t, reg, p, _ = readings(power_w=0.0, freeze=None)
    _, res = run(t, reg, p)
    assert not res.affected.any() and not res.events


def test_a_load_too_small_to_move_the_register_is_not_a_fault():
    t, reg, p, _ = readings(power_w=40.0, freeze=None)  # 0.67 Wh a minute: below one register step
    _, res = run(t, reg, p)
    assert not res.affected.any()


@settings(max_examples=40, deadline=None)
@given(a=st.integers(0, 80), length=st.integers(2, 40), catch=st.booleans(),
       power=st.floats(500, 11_000))
def test_only_frozen_spans_change_and_never_to_measured(a, length, catch, power):
    start = a * 15 * MIN + 7 * MIN
    t, reg, p, _ = readings(power_w=power, freeze=(start, start + length * MIN), catch_up=catch)
    before, res = run(t, reg, p)
    assert res.affected.any()
    assert not (res.series.quality[res.affected] == Quality.MEASURED).any()
    np.testing.assert_array_equal(res.series.quantity[~res.affected], before.quantity[~res.affected])
    if catch:
        assert abs(np.nansum(res.series.quantity) - np.nansum(before.quantity)) < 1e-9
