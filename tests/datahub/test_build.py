"""Building messages from intervals: days, positions, qualities, identifiers, recovered values."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterbench.core.errors import UserError
from meterbench.core.quality import Quality
from meterbench.core.timeutil import format_minute_utc, parse_iso
from meterbench.datahub.build import Intervals, build_messages, local_day_bounds
from meterbench.datahub.rules import validate_message

from .conftest import GSRN, QUARTER_MS, RECEIVER, SENDER, metering_point

CREATED = parse_iso("2026-11-02T06:00:00Z")


def _intervals(start: str, kwh: list[float], quality: list[int] | None = None,
               resolution: str = "PT15M") -> Intervals:
    step = QUARTER_MS if resolution == "PT15M" else 4 * QUARTER_MS
    t0 = parse_iso(start)
    return Intervals("ev", "energy.import", resolution, [t0 + i * step for i in range(len(kwh))],
                     kwh, quality if quality is not None else [Quality.MEASURED] * len(kwh))


@pytest.mark.parametrize(("day", "start", "end", "quarters"), [
    (date(2026, 3, 29), "2026-03-28T23:00Z", "2026-03-29T22:00Z", 92),   # spring: 23 h
    (date(2026, 6, 15), "2026-06-14T22:00Z", "2026-06-15T22:00Z", 96),
    (date(2026, 10, 25), "2026-10-24T22:00Z", "2026-10-25T23:00Z", 100),  # autumn: 25 h
])
def test_local_day_is_midnight_to_midnight_copenhagen_in_utc(day: date, start: str, end: str,
                                                             quarters: int) -> None:
    (message,) = build_messages([], [metering_point()], SENDER, RECEIVER, CREATED, days=[day])
    period = message.series[0].period
    assert (format_minute_utc(period.start_ms), format_minute_utc(period.end_ms)) == (start, end)
    assert [p.position for p in period.points] == list(range(1, quarters + 1))
    # a day with no intervals is delivered as not available, never as zeros
    assert all(p.quality == "A02" and p.quantity is None for p in period.points)
    assert validate_message(message, {GSRN: metering_point()}) == []


def test_positions_are_interval_start_labelled_in_utc() -> None:
    day_start, _ = local_day_bounds(date(2026, 10, 25))
    # a value at 01:00Z (= 02:00 CET, after the autumn fall-back) lands at position 4*3+1 = 13
    value_at = parse_iso("2026-10-25T01:00Z")
    iv = Intervals("ev", "energy.import", "PT15M", [value_at], [1.5], [Quality.MEASURED])
    (message,) = build_messages([iv], [metering_point()], SENDER, RECEIVER, CREATED)
    points = message.series[0].period.points
    assert message.series[0].period.start_ms == day_start
    assert (value_at - day_start) // QUARTER_MS + 1 == 13
    assert points[12].quantity == Decimal("1.500") and points[12].quality == "A04"
    assert [p.position for p in points if p.quantity is not None] == [13]


def test_quality_mapping_and_missing_points_carry_no_quantity() -> None:
    kwh = [1.0, 2.0, 3.0, 4.0, math.nan, 6.0]
    quality = [Quality.MEASURED, Quality.ESTIMATED, Quality.CALCULATED, Quality.MISSING,
               Quality.MEASURED, Quality.MEASURED]
    iv = _intervals("2026-06-15T08:00Z", kwh, quality)
    (message,) = build_messages([iv], [metering_point()], SENDER, RECEIVER, CREATED,
                                whole_days=False)
    got = [(p.quantity, p.quality) for p in message.series[0].period.points[:6]]
    assert got == [(Decimal("1.000"), "A04"), (Decimal("2.000"), "A03"),
                   (Decimal("3.000"), "A03"),  # calculated is sent as estimated (A06 refused)
                   (None, "A02"),              # missing: the 4.0 is not sent
                   (None, "A02"),              # NaN labelled measured is still not available
                   (Decimal("6.000"), "A04")]


def test_calculated_can_be_sent_as_another_code_when_asked() -> None:
    iv = _intervals("2026-06-15T08:00Z", [1.0] * 16, [Quality.CALCULATED] * 16)
    (message,) = build_messages([iv], [metering_point()], SENDER, RECEIVER, CREATED,
                                whole_days=False, calculated_as="A04")
    assert {p.quality for p in message.series[0].period.points} == {"A04"}


def test_covered_span_and_gaps_inside_it() -> None:
    t0 = parse_iso("2026-06-15T08:00Z")
    iv = Intervals("ev", "energy.import", "PT15M", [t0, t0 + 20 * QUARTER_MS], [1.0, 2.0], [1, 1])
    (message,) = build_messages([iv], [metering_point()], SENDER, RECEIVER, CREATED,
                                whole_days=False)
    period = message.series[0].period
    assert (period.start_ms, period.end_ms) == (t0, t0 + 21 * QUARTER_MS)
    assert [p.quality for p in period.points] == ["A04"] + ["A02"] * 19 + ["A04"]


def test_one_message_per_metering_point_and_day_with_fresh_ids() -> None:
    t0 = parse_iso("2026-06-14T20:00Z")  # 22:00 local on the 14th, runs into the 15th
    iv = _intervals("2026-06-14T20:00Z", [0.5] * 16)
    pv = Intervals("pv", "energy.export", "PT1H", [t0, t0 + 3_600_000], [0.2, 0.3], [1, 2])
    points = [metering_point(), metering_point(gsrn="571313180000000012", meter="pv",
                                               channel="energy.export", type="E18",
                                               resolution="PT1H")]
    messages = build_messages([iv, pv], points, SENDER, RECEIVER, CREATED)
    keys = [(m.series[0].metering_point_id, format_minute_utc(m.series[0].period.start_ms))
            for m in messages]
    assert keys == [(GSRN, "2026-06-13T22:00Z"), (GSRN, "2026-06-14T22:00Z"),
                    ("571313180000000012", "2026-06-13T22:00Z")]
    ids = [m.mrid for m in messages] + [m.series[0].mrid for m in messages]
    assert len(set(ids)) == len(ids)
    again = build_messages([iv, pv], points, SENDER, RECEIVER, CREATED)
    assert [m.mrid for m in again] == [m.mrid for m in messages]  # reproducible
    later = build_messages([iv, pv], points, SENDER, RECEIVER, CREATED + 1)
    assert not {m.mrid for m in later} & {m.mrid for m in messages}  # a re-delivery is new


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(min_value=0, max_value=1e6, allow_nan=False)),
                min_size=1, max_size=200),
       st.integers(min_value=0, max_value=95))
def test_simulated_energies_are_recovered_within_rounding(values: list[float | None],
                                                          offset: int) -> None:
    """Every delivered value is the input within 0.0005 kWh, at the right time; none invented."""
    t0 = parse_iso("2026-06-14T22:00Z") + offset * QUARTER_MS
    kwh = [math.nan if v is None else v for v in values]
    quality = [Quality.MISSING if v is None else Quality.MEASURED for v in values]
    iv = Intervals("ev", "energy.import", "PT15M", [t0 + i * QUARTER_MS for i in range(len(kwh))],
                   kwh, quality)
    messages = build_messages([iv], [metering_point()], SENDER, RECEIVER, CREATED)
    delivered: dict[int, Decimal] = {}
    for message in messages:
        period = message.series[0].period
        for p in period.points:
            if p.quantity is not None:
                delivered[period.start_ms + (p.position - 1) * QUARTER_MS] = p.quantity
    expected = {t0 + i * QUARTER_MS: v for i, v in enumerate(values) if v is not None}
    assert delivered.keys() == expected.keys()
    for t, v in expected.items():
        assert abs(float(delivered[t]) - v) <= 0.0005 + 1e-9 * v
    assert sum(len(m.series[0].period.points) for m in messages) == 96 * len(messages)
    # whatever the values, a built delivery passes every business rule
    assert [validate_message(m, {GSRN: metering_point()}) for m in messages] == [[]] * len(messages)


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda iv: Intervals(iv.meter, iv.channel, iv.resolution, [iv.start_ms[0] + 60_000],
                          [1.0], [1]), "not on the PT15M grid"),
    (lambda iv: Intervals(iv.meter, iv.channel, iv.resolution, [iv.start_ms[0]] * 2,
                          [1.0, 1.0], [1, 1]), "duplicate interval start"),
    (lambda iv: Intervals(iv.meter, iv.channel, "PT1H", iv.start_ms, iv.kwh, iv.quality),
     "intervals are PT1H but metering point"),
    (lambda iv: Intervals(iv.meter, iv.channel, iv.resolution, iv.start_ms, iv.kwh[:-1],
                          iv.quality), "differ in length"),
])
def test_bad_intervals_are_user_errors(mutate, message: str) -> None:
    iv = mutate(_intervals("2026-06-15T08:00Z", [1.0, 2.0]))
    with pytest.raises(UserError, match=message):
        build_messages([iv], [metering_point()], SENDER, RECEIVER, CREATED)


def test_bad_identifiers_and_resolutions_are_user_errors() -> None:
    with pytest.raises(UserError, match="GLN"):
        build_messages([], [metering_point()], "123", RECEIVER, CREATED, days=[date(2026, 6, 15)])
    with pytest.raises(UserError, match="GSRN"):
        build_messages([], [metering_point(gsrn="5713")], SENDER, RECEIVER, CREATED,
                       days=[date(2026, 6, 15)])
    with pytest.raises(UserError, match="PT15M or PT1H"):
        build_messages([], [metering_point(resolution="PT5M")], SENDER, RECEIVER, CREATED,
                       days=[date(2026, 6, 15)])
