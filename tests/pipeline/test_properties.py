"""Hypothesis properties of the interval stage, aggregation, rounding and netting."""

from __future__ import annotations

from datetime import date

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from meterbench.core.quality import Quality
from meterbench.pipeline.aggregate import hours_to_quarters, quarters_to_hours_arrays
from meterbench.pipeline.intervals import (
    clean_readings,
    intervals_from_register,
    many_meter_events,
)
from meterbench.pipeline.localday import intervals_in_local_day
from meterbench.pipeline.netting import PointFlows, virtual_main_point
from meterbench.pipeline.quality_rules import aggregate_quality, combine_strict, quality_rank
from meterbench.pipeline.registers import intervals_many
from meterbench.pipeline.rounding import round_with_carry
from meterbench.pipeline.series import IntervalSeries

MIN = 60_000
Q = 15 * MIN
H = 60 * MIN


@st.composite
def register_readings(draw, *, with_rollover: bool):
    """Readings from 0 to n_q quarters: jittered, with holes, first and last on the grid."""
    n_q = draw(st.integers(1, 12))
    span = n_q * Q
    n_inner = draw(st.integers(0, 60))
    inner = draw(st.lists(st.integers(1, span - 1), min_size=n_inner, max_size=n_inner,
                          unique=True))
    t = np.array(sorted({0, span, *inner}), dtype=np.int64)
    power_kw = draw(st.lists(st.floats(0, 20), min_size=len(t) - 1, max_size=len(t) - 1))
    inc = np.array(power_kw) * np.diff(t) / H
    true = draw(st.floats(0, 5000)) + np.concatenate([[0.0], np.cumsum(inc)])
    modulus = None
    reg = true
    if with_rollover:
        modulus = 100.0
        # keep every step within a tenth of the modulus so a wrap is unambiguous
        true = true[0] + np.concatenate([[0.0], np.cumsum(np.minimum(inc, 10.0))])
        reg = np.mod(true, modulus)
    return t, true, reg, modulus, n_q


@settings(max_examples=100, deadline=None)
@given(register_readings(with_rollover=False))
def test_energy_conserved_across_gaps(data):
    t, true, reg, _, n_q = data
    r = intervals_from_register(t, reg, 0, n_q * Q, Q, max_gap_ms=2 * MIN,
                                estimate_limit_ms=10 * H)
    assert (r.series.quality != Quality.MISSING).all()
    total = float(np.sum(r.series.quantity))
    assert abs(total - (true[-1] - true[0])) <= 1e-9 * max(1.0, abs(true[-1]))
    assert (r.series.quantity >= -1e-9).all()


@settings(max_examples=100, deadline=None)
@given(register_readings(with_rollover=True))
def test_energy_conserved_across_rollovers(data):
    t, true, reg, modulus, n_q = data
    r = intervals_from_register(t, reg, 0, n_q * Q, Q, max_gap_ms=2 * MIN,
                                estimate_limit_ms=10 * H, rollover_kwh=modulus)
    assert (r.series.quality != Quality.MISSING).all()
    assert not [e for e in r.events if e.kind == "reset"]
    total = float(np.sum(r.series.quantity))
    assert abs(total - (true[-1] - true[0])) <= 1e-9 * max(1.0, abs(true[-1]))


def _without_glitches(t, v):
    """The documented glitch rule, as a loop: a reading whose decrease the next-but-one reading
    undoes (the register is back at or above the reading before it) is dropped."""
    keep = [not (0 < i < len(v) - 1 and v[i + 1] >= v[i - 1] and (v[i] < v[i - 1] or v[i] > v[i + 1]))
            for i in range(len(v))]
    return [x for x, k in zip(t, keep, strict=True) if k], [x for x, k in zip(v, keep, strict=True) if k]


def _oracle(t, v, bounds, max_gap, est_limit, breaks):
    """Straightforward per-boundary loop of the documented rules (no numpy tricks)."""
    vals, quals, pos = [], [], []
    for b in bounds:
        lo = max((i for i in range(len(t)) if t[i] <= b), default=None)
        if lo is None:
            vals.append(np.nan), quals.append(Quality.MISSING), pos.append((0, 0))
            continue
        if t[lo] == b:
            vals.append(v[lo]), quals.append(Quality.MEASURED), pos.append((lo, lo - 1))
            continue
        if lo + 1 >= len(t) or lo in breaks:
            vals.append(np.nan), quals.append(Quality.MISSING), pos.append((lo, lo))
            continue
        gap = t[lo + 1] - t[lo]
        vals.append(v[lo] + (v[lo + 1] - v[lo]) * (b - t[lo]) / gap)
        quals.append(Quality.MEASURED if gap <= max_gap else
                     Quality.ESTIMATED if gap <= est_limit else Quality.MISSING)
        pos.append((lo, lo))
    out_q, out_v = [], []
    for k in range(len(bounds) - 1):
        q0, q1 = quals[k], quals[k + 1]
        first, last = pos[k][0], pos[k + 1][1]
        broken = any(first <= p <= last for p in breaks)
        if Quality.MISSING in (q0, q1) or broken:
            out_q.append(Quality.MISSING), out_v.append(np.nan)
        else:
            out_q.append(Quality.MEASURED if q0 == q1 == Quality.MEASURED else Quality.ESTIMATED)
            out_v.append(vals[k + 1] - vals[k])
    return np.array(out_v), np.array(out_q, dtype=np.uint8)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_matches_straightforward_oracle_with_resets(data):
    n = data.draw(st.integers(0, 40))
    t = np.array(sorted(data.draw(st.lists(st.integers(-2 * Q, 6 * Q), min_size=n, max_size=n,
                                           unique=True))), dtype=np.int64)
    steps = data.draw(st.lists(st.floats(-5, 5), min_size=max(n - 1, 0), max_size=max(n - 1, 0)))
    v = np.concatenate([[100.0], 100.0 + np.cumsum(steps)])[:n]
    max_gap = data.draw(st.sampled_from([MIN, 5 * MIN, Q]))
    est = data.draw(st.sampled_from([Q, H, 3 * H]))
    bounds = np.arange(0, 4 * Q + 1, Q)
    r = intervals_from_register(t, v, 0, 4 * Q, Q, max_gap_ms=max_gap, estimate_limit_ms=est)
    ot, ov_in = _without_glitches(t.tolist(), v.tolist())
    breaks = {i for i in range(len(ov_in) - 1) if ov_in[i + 1] < ov_in[i]}
    ov, oq = _oracle(ot, ov_in, bounds.tolist(), max_gap, est, breaks)
    np.testing.assert_array_equal(r.series.quality, oq)
    np.testing.assert_allclose(r.series.quantity, ov, rtol=0, atol=1e-9)
    # never booked as negative consumption
    assert not (r.series.quantity < -1e-9).any()


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_many_meters_equal_one_by_one(data):
    n_m = data.draw(st.integers(1, 6))
    ts, vs = [], []
    for _ in range(n_m):
        n = data.draw(st.integers(0, 30))
        t = sorted(data.draw(st.lists(st.integers(-Q, 5 * Q), min_size=n, max_size=n,
                                      unique=True)))
        steps = data.draw(st.lists(st.floats(-1, 3), min_size=n, max_size=n))
        ts.append(np.array(t, dtype=np.int64))
        vs.append(np.cumsum(steps) + 50.0 if n else np.zeros(0))
    # one meter's path = the vectorised core on its cleaned readings (misread glitches dropped)
    clean = [clean_readings(t, v) for t, v in zip(ts, vs, strict=True)]
    offsets = np.concatenate([[0], np.cumsum([len(c.times_ms) for c in clean])])
    many = intervals_many(offsets, np.concatenate([c.times_ms for c in clean]),
                          np.concatenate([c.values_kwh for c in clean]), 0, 4 * Q, Q,
                          5 * MIN, H, max_power_w=100_000.0)
    for m in range(n_m):
        one = intervals_from_register(ts[m], vs[m], 0, 4 * Q, Q, 5 * MIN, H,
                                      max_power_w=100_000.0)
        np.testing.assert_array_equal(many.quality[m], one.series.quality)
        np.testing.assert_allclose(many.quantity[m], one.series.quantity, atol=1e-12)


qualities = st.sampled_from([int(q) for q in Quality])


@given(st.lists(st.lists(qualities, min_size=4, max_size=4), min_size=1, max_size=20))
def test_hour_quality_never_better_than_present_inputs(rows):
    q = np.array(rows, dtype=np.uint8)
    out = aggregate_quality(q, axis=1)
    for row, res in zip(q, out, strict=True):
        present = row[row != Quality.MISSING]
        if not len(present):
            assert res == Quality.MISSING
        else:
            assert quality_rank(res) >= quality_rank(present).max()
            if (row == Quality.MISSING).any():
                assert res != Quality.MEASURED


@given(st.lists(st.tuples(qualities, qualities, qualities), min_size=1, max_size=30))
def test_strict_quality_never_better_than_any_input(rows):
    a, b, c = (np.array(col, dtype=np.uint8) for col in zip(*rows, strict=True))
    out = combine_strict(a, b, c)
    assert (quality_rank(out) >= np.maximum.reduce([quality_rank(x) for x in (a, b, c)])).all()


@given(st.lists(st.tuples(st.floats(0, 10), qualities), min_size=1, max_size=24),
       st.lists(st.tuples(st.floats(0, 10), qualities), min_size=1, max_size=24))
def test_netting_quality_never_better_than_inputs(main_rows, sub_rows):
    n = min(len(main_rows), len(sub_rows))
    mv = np.array([r[0] for r in main_rows[:n]])
    mq = np.array([r[1] for r in main_rows[:n]], dtype=np.uint8)
    sv = np.array([r[0] for r in sub_rows[:n]])
    sq = np.array([r[1] for r in sub_rows[:n]], dtype=np.uint8)
    mv[mq == Quality.MISSING] = np.nan
    sv[sq == Quality.MISSING] = np.nan
    zeros_q = np.full(n, Quality.MEASURED, dtype=np.uint8)
    main = PointFlows(mv, np.zeros(n), mq, zeros_q)
    subs = PointFlows(sv[None, :], np.zeros((1, n)), sq[None, :], zeros_q[None, :])
    for policy in ("report", "clamp"):
        v = virtual_main_point(main, subs, policy=policy)
        worst = np.maximum(quality_rank(mq), quality_rank(sq))
        assert (quality_rank(v.import_quality) >= worst).all()
        assert (np.isnan(v.import_kwh) == (v.import_quality == Quality.MISSING)).all()


@given(st.lists(st.one_of(st.floats(-50, 50), st.just(float("nan"))), min_size=1,
                max_size=500))
def test_rounding_carry_never_drifts(values):
    q = np.array(values)
    r = round_with_carry(q)
    assert (np.isnan(r) == np.isnan(q)).all()
    drift = np.cumsum(np.nan_to_num(r)) - np.cumsum(np.nan_to_num(q))
    assert np.abs(drift).max() <= 0.0005 + 1e-9
    finite = r[~np.isnan(r)]
    assert np.allclose(finite * 1000, np.round(finite * 1000), atol=1e-6)


@given(st.lists(st.floats(0, 3), min_size=4, max_size=4 * 24).filter(lambda x: len(x) % 4 == 0))
def test_hour_sum_conserves_quarters(quarters):
    q = np.array(quarters)
    starts = np.arange(len(q)) * Q
    _, hours, qual = quarters_to_hours_arrays(starts, q, np.ones(len(q), dtype=np.uint8))
    assert abs(hours.sum() - q.sum()) <= 1e-9 * max(1, q.sum())
    assert (qual == Quality.MEASURED).all()


def test_many_meter_events_match_single_meter_events():
    t1 = np.arange(0, 61) * MIN
    v1 = t1 / H
    v1[40:] -= 0.5  # a reset
    t2 = np.concatenate([np.arange(0, 11), np.arange(40, 61)]) * MIN  # a 30-min gap
    v2 = t2 / H * 2
    t3 = np.arange(0, 61) * MIN  # a clean meter
    offsets = np.array([0, len(t1), len(t1) + len(t2), len(t1) + len(t2) + len(t3)])
    times = np.concatenate([t1, t2, t3])
    values = np.concatenate([v1, v2, t3 / H])
    many = intervals_many(offsets, times, values, 0, H, Q, 2 * MIN, 6 * H)
    events = many_meter_events(many, offsets, times, values, ["a", "b", "c"],
                               max_gap_ms=2 * MIN, estimate_limit_ms=6 * H, channel="energy.import")
    singles = [e for name, t, v in (("a", t1, v1), ("b", t2, v2), ("c", t3, t3 / H))
               for e in intervals_from_register(t, v, 0, H, Q, 2 * MIN, 6 * H, meter=name,
                                                channel="energy.import").events]
    assert sorted(e.as_record().items() for e in events) == sorted(
        e.as_record().items() for e in singles)
    assert {e.meter for e in events} == {"a", "b"}


def test_nan_reading_in_uncleaned_many_input_never_yields_measured_nan():
    t = np.arange(0, 61) * MIN
    v = t / H
    v[15] = np.nan  # reading exactly on the 15-min boundary
    many = intervals_many(np.array([0, len(t)]), t, v, 0, H, Q, 2 * MIN, 6 * H)
    q = many.quality[0]
    assert list(q) == [Quality.MISSING, Quality.MISSING, Quality.MEASURED, Quality.MEASURED]
    assert (np.isnan(many.quantity[0]) == (q == Quality.MISSING)).all()


@given(st.lists(st.one_of(st.floats(0, 500), st.just(float("nan"))), min_size=1, max_size=48))
def test_hours_to_quarters_sum_to_the_rounded_hour(hours):
    h = np.array(hours)
    series = IntervalSeries(np.arange(len(h)) * H, h,
                            np.where(np.isnan(h), 0, 1).astype(np.uint8), H)
    q = hours_to_quarters(series)
    four = q.quantity.reshape(-1, 4)
    present = ~np.isnan(h)
    np.testing.assert_allclose(four[present].sum(axis=1), np.round(h[present], 3), atol=1e-9)
    assert np.isnan(four[~present]).all()
    assert np.abs(four[present] - h[present, None] / 4).max(initial=0) <= 0.0015


@given(st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)))
def test_copenhagen_days_of_2026(day):
    n = intervals_in_local_day(day, Q)
    expected = {date(2026, 3, 29): 92, date(2026, 10, 25): 100}.get(day, 96)
    assert n == expected
