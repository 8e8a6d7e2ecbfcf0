"""Field acceptance on interval series: bias with CI, limits, completeness, labelling diagnosis."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from meterbench.accuracy.field import (
    FieldSettings,
    bias_with_ci,
    field_acceptance,
    pair_verdict,
    shift_words,
)
from meterbench.core.quality import Quality
from meterbench.core.records import fact, record
from meterbench.core.timeutil import MS_PER_HOUR, to_ms
from meterbench.pipeline.series import IntervalSeries

Q = 900_000
START = to_ms(datetime(2026, 6, 1, tzinfo=ZoneInfo("Europe/Copenhagen")))  # local midnight, summer
SETTINGS = FieldSettings(operator_class="B", reference_class="C")


def _reference(days: int = 7, seed: int = 1) -> IntervalSeries:
    """An EV charger: sessions of a few hours at 11 kW, idle otherwise (distinctive shape)."""
    rng = np.random.default_rng(seed)
    n = days * 96
    kwh = np.full(n, 0.002)
    for d in range(days):
        begin = d * 96 + int(rng.integers(60, 80))
        kwh[begin:begin + int(rng.integers(8, 20))] = 11.0 / 4
        begin = d * 96 + int(rng.integers(20, 35))
        kwh[begin:begin + int(rng.integers(2, 6))] = 7.0 / 4
    return IntervalSeries(START + Q * np.arange(n, dtype=np.int64), np.round(kwh, 3),
                          np.full(n, Quality.MEASURED, dtype=np.uint8), Q)


def _operator(ref: IntervalSeries, error_pct: float, *, shift_ms: int = 0, seed: int = 2
              ) -> IntervalSeries:
    rng = np.random.default_rng(seed)
    noisy = ref.quantity * (1 + error_pct / 100) + rng.uniform(-0.0005, 0.0005, len(ref))
    return IntervalSeries(ref.start_ms + shift_ms, np.round(np.maximum(noisy, 0), 3),
                          ref.quality.copy(), Q)


def _rec(result, check_id):
    return next(r for r in result.records if r.check == check_id)


def test_accurate_meter_passes_and_bias_ci_covers_the_true_error():
    ref = _reference()
    res = field_acceptance(_operator(ref, -0.6), ref, operator_id="ev", reference_id="ev_ref",
                           settings=SETTINGS)
    bias = _rec(res, "field.bias")
    assert bias.verdict == "pass"
    assert res.summary["bias_ci95"][0] <= -0.6 <= res.summary["bias_ci95"][1]
    assert abs(bias.value - -0.6) <= bias.uncertainty
    assert _rec(res, "field.labelling").verdict == "pass"
    assert _rec(res, "field.interval_limits").value == 0
    assert _rec(res, "field.completeness").value == 100.0


def test_inaccurate_meter_fails_on_bias():
    ref = _reference()
    res = field_acceptance(_operator(ref, 3.5), ref, operator_id="ev", reference_id="ev_ref",
                           settings=SETTINGS)
    assert _rec(res, "field.bias").verdict == "fail"
    assert _rec(res, "field.labelling").verdict == "pass"


def test_one_hour_shift_is_diagnosed_not_failed_as_inaccurate():
    ref = _reference()
    shifted = _operator(ref, -0.6, shift_ms=MS_PER_HOUR)
    res = field_acceptance(shifted, ref, operator_id="ev", reference_id="ev_ref", settings=SETTINGS)
    lab = _rec(res, "field.labelling")
    assert lab.verdict == "fail" and "labelled one hour late" in lab.detail
    assert "not an inaccurate meter" in lab.detail
    bias = _rec(res, "field.bias")
    assert bias.verdict == "pass", bias.detail
    assert abs(bias.value - -0.6) <= bias.uncertainty
    assert res.summary["time_offset_s"] == 3600.0
    assert _rec(res, "field.interval_limits").value == 0
    # without the diagnosis the same data would look wildly inaccurate interval by interval
    naive = (shifted.quantity[:-4] - ref.quantity[4:]) / ref.quantity[4:]
    assert np.nanmax(np.abs(naive)) > 1.0


def test_missing_intervals_reduce_completeness_and_late_days_are_reported():
    ref = _reference(days=2)
    op = _operator(ref, 0.2)
    q = op.quality.copy()
    qty = op.quantity.copy()
    q[10:22], qty[10:22] = Quality.MISSING, np.nan
    op = IntervalSeries(op.start_ms, qty, q, Q)
    settings = FieldSettings("B", "C", deadline=time(10, 0))
    deliveries = {date(2026, 6, 1): to_ms(datetime(2026, 6, 2, 7, 0, tzinfo=UTC)),
                  date(2026, 6, 2): to_ms(datetime(2026, 6, 3, 9, 30, tzinfo=UTC))}
    res = field_acceptance(op, ref, operator_id="ev", reference_id="r", settings=settings,
                           deliveries=deliveries)
    comp = _rec(res, "field.completeness")
    assert comp.value == pytest.approx(100 * (2 * 96 - 12) / (2 * 96)) and comp.verdict == "fail"
    late = _rec(res, "field.timeliness")
    # 09:30 UTC on 3 June is 11:30 in Copenhagen: after the 10:00 deadline
    assert late.value == 1.0 and "2026-06-02" in late.detail


def test_bias_ci_math():
    ref = np.array([1.0, 2.0, 3.0, 4.0])
    b, u, half = bias_with_ci(ref * 1.01, ref)
    assert b == pytest.approx(1.0) and u == pytest.approx(0.0, abs=1e-12)
    assert shift_words(-2 * MS_PER_HOUR) == "labelled two hours early"


def test_clock_offset_from_readings_is_recovered():
    """Register readings every minute; the operator's timestamps run 90 s ahead."""
    rng = np.random.default_rng(5)
    t = START + 60_000 * np.arange(3 * 1440, dtype=np.int64)
    power_kw = np.repeat(rng.choice([0.0, 2.4, 11.0], size=3 * 1440 // 20, p=[0.6, 0.3, 0.1]), 20)
    energy = np.cumsum(power_kw / 60.0)
    ref = _reference(days=3)
    res = field_acceptance(_operator(ref, 0.0), ref, operator_id="ev", reference_id="r",
                           settings=SETTINGS, readings=((t + 90_000, energy), (t, energy)))
    rec = _rec(res, "field.time_offset")
    assert abs(rec.value - 90.0) <= max(rec.uncertainty, 1.0), rec.detail
    assert res.summary["clock_offset_s"] == rec.value


def test_pair_verdict_is_the_worst_record_not_the_bias_alone():
    """The pair's verdict used to be the bias verdict: a one-hour labelling error (or missing
    intervals) with an accurate meter said "pass" in --json and results.json while the command
    exited 1."""
    ref = _reference(days=2)
    res = field_acceptance(_operator(ref, -0.6, shift_ms=MS_PER_HOUR), ref, operator_id="ev",
                           reference_id="ev_ref", settings=SETTINGS)
    assert _rec(res, "field.bias").verdict == "pass"
    assert _rec(res, "field.labelling").verdict == "fail"
    assert res.summary["verdict"] == "fail"
    # missing intervals alone fail the pair too
    op = _operator(ref, -0.6)
    qty, q = op.quantity.copy(), op.quality.copy()
    qty[5:9], q[5:9] = np.nan, Quality.MISSING
    res = field_acceptance(IntervalSeries(op.start_ms, qty, q, Q), ref, operator_id="ev",
                           reference_id="ev_ref", settings=SETTINGS)
    assert _rec(res, "field.bias").verdict == "pass"
    assert _rec(res, "field.completeness").verdict == "fail"
    assert res.summary["verdict"] == "fail"
    # every record passing: the pair passes
    res = field_acceptance(_operator(ref, -0.6), ref, operator_id="ev", reference_id="ev_ref",
                           settings=SETTINGS)
    assert res.summary["verdict"] == "pass"


def test_pair_verdict_orders_conditional_outcomes_as_the_decision_rule_does():
    def rec(verdict: str):
        return record("field.bias", "ev", 1.0, "%", verdict)

    info = fact("field.timeliness", "ev", None, "days late", "not evaluated")
    assert pair_verdict([rec("pass"), info]) == "pass"
    assert pair_verdict([rec("pass"), rec("conditional_pass"), info]) == "conditional_pass"
    assert pair_verdict([rec("conditional_pass"), rec("conditional_fail")]) == "conditional_fail"
    assert pair_verdict([rec("conditional_fail"), rec("fail"), rec("pass")]) == "fail"
    assert pair_verdict([info]) == "fail"  # nothing judged shows nothing acceptable


def test_report_badge_shows_the_pairs_verdict(tmp_path):
    """The report heads each pair with results.json's verdict: with an accurate meter and a
    labelling error it showed a "pass" badge above a failing record."""
    from meterbench.reports.field_sections import field_section
    from meterbench.reports.page import Heading

    ref = _reference(days=2)
    res = field_acceptance(_operator(ref, -0.6, shift_ms=MS_PER_HOUR), ref, operator_id="ev",
                           reference_id="ev_ref", settings=SETTINGS)
    entry = {**res.summary, "records": [r.as_dict() for r in res.records]}  # as field_run writes
    section = field_section(tmp_path, {"field": [entry]}, None)
    (heading,) = [b for b in section.blocks if isinstance(b, Heading)]
    assert heading.badge is not None and heading.badge.style == "fail"


def _later(series: IntervalSeries, days: int) -> IntervalSeries:
    return IntervalSeries(series.start_ms + days * 24 * MS_PER_HOUR, series.quantity,
                          series.quality, series.resolution_ms)


def test_nothing_compared_fails_bias_and_interval_limits_without_nan():
    """Files without an overlapping period gave "95 % CI +nan … +nan %" and a pass for "0
    intervals outside their limits" of 0 compared."""
    ref = _reference(days=1)
    res = field_acceptance(_later(_operator(ref, 0.0), 7), ref, operator_id="ev",
                           reference_id="ev_ref", settings=SETTINGS)
    assert res.summary["compared"] == 0
    for check_id in ("field.bias", "field.interval_limits"):
        rec = _rec(res, check_id)
        assert rec.verdict == "fail" and rec.value is None, rec
        assert rec.detail.startswith("not evaluated: ") and "nan" not in rec.detail, rec.detail
    assert res.summary["verdict"] == "fail"
    assert res.summary["bias_pct"] is None and res.summary["bias_ci95"] is None
    assert res.summary["outside"] is None


def test_one_compared_interval_is_not_enough_for_a_bias():
    ref = _reference(days=1)
    op = _operator(ref, 0.0)
    qty, q = np.full(len(op), np.nan), np.full(len(op), Quality.MISSING, dtype=np.uint8)
    k = int(np.argmax(ref.quantity))
    qty[k], q[k] = op.quantity[k], Quality.MEASURED
    res = field_acceptance(IntervalSeries(op.start_ms, qty, q, Q), ref, operator_id="ev",
                           reference_id="ev_ref", settings=SETTINGS)
    bias = _rec(res, "field.bias")
    assert res.summary["compared"] == 1
    assert bias.verdict == "fail" and bias.value is None and "at least 2" in bias.detail
    assert _rec(res, "field.interval_limits").verdict == "pass"  # the one interval is within


def test_report_says_what_was_not_evaluated_when_nothing_was_compared(tmp_path):
    from meterbench.reports.field_sections import field_summary

    ref = _reference(days=1)
    res = field_acceptance(_later(_operator(ref, 0.0), 7), ref, operator_id="ev",
                           reference_id="ev_ref", settings=SETTINGS)
    text = repr(field_summary({**res.summary, "records": []}))
    assert "not evaluated: 0 interval(s)" in text and "none to check against its limit" in text
    assert "None" not in text.replace("=None", "") and "nan" not in text
