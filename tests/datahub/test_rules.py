"""BRS-021 business validation: every rule rejects what it should and accepts the valid case."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from meterbench.core.timeutil import parse_iso
from meterbench.datahub.model import Message, Point, Series
from meterbench.datahub.rules import expected_position_count, validate_message

from .conftest import GSRN, day_message, metering_point

MASTER = {GSRN: metering_point()}


def _with_series(message: Message, **changes) -> Message:
    return replace(message, series=(replace(message.series[0], **changes),))


def _with_period(message: Message, **changes) -> Message:
    return _with_series(message, period=replace(message.series[0].period, **changes))


def _with_points(message: Message, points: list[Point]) -> Message:
    return _with_period(message, points=tuple(points))


def _rules(message: Message, master=MASTER, now: str | None = None) -> list[str]:
    return [r.rule for r in validate_message(message, master,
                                             now_ms=parse_iso(now) if now else None)]


def _hourly_day() -> Message:
    return day_message("2026-06-14T22:00Z", 24, "PT1H")


def test_a_built_day_is_accepted() -> None:
    assert validate_message(day_message(), MASTER) == []
    assert validate_message(_hourly_day(), {GSRN: metering_point(resolution="PT1H")}) == []
    assert validate_message(day_message()) == []  # no master data: master checks skipped


# unit ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("unit", ["MWH", "KW", "kwh", ""])
def test_unit_other_than_kwh_or_kvarh_is_rejected(unit: str) -> None:
    assert _rules(_with_series(day_message(), unit=unit)) == ["unit"]


def test_unit_must_match_the_metering_point() -> None:
    kvarh = _with_series(day_message(), unit="K3")
    assert _rules(kvarh, master={}) == []                        # K3 is a DataHub unit
    assert _rules(kvarh) == ["unit"]                             # but this point is KWH
    assert _rules(kvarh, {GSRN: metering_point(unit="K3")}) == []


# quantity --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("quantity", "ok"), [
    (Decimal("0"), True), (Decimal("-0.001"), False), (Decimal("1.234"), True),
    (Decimal("1.2340"), True), (Decimal("1.2345"), False), (Decimal("9999999999.999"), True),
    (Decimal("10000000000"), False), (None, True),
])
def test_quantity_sign_decimals_and_integer_digits(quantity: Decimal | None, ok: bool) -> None:
    points = list(day_message().series[0].period.points)
    points[5] = Point(6, quantity, "A04" if quantity is not None else "A02")
    rejections = validate_message(_with_points(day_message(), points), MASTER)
    assert [r.rule for r in rejections] == ([] if ok else ["quantity"])
    if not ok:
        assert rejections[0].position == 6 and rejections[0].metering_point_id == GSRN


def test_each_bad_quantity_is_reported_at_its_position() -> None:
    points = list(day_message().series[0].period.points)
    points[0] = Point(1, Decimal("-12345678901.5555"), "A04")  # negative, 4 decimals, 11 digits
    rejections = validate_message(_with_points(day_message(), points), MASTER)
    assert [(r.rule, r.position) for r in rejections] == [("quantity", 1)] * 3


# quality ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("quality", "ok"), [
    ("A02", True), ("A03", True), ("A04", True), (None, True),  # none counts as A04
    ("A01", False), ("A05", False), ("A06", False), ("D01", False),
])
def test_quality_codes(quality: str | None, ok: bool) -> None:
    points = list(day_message().series[0].period.points)
    points[3] = replace(points[3], quality=quality)
    assert _rules(_with_points(day_message(), points)) == ([] if ok else ["quality"])


# resolution ------------------------------------------------------------------------------------

def test_resolution_outside_the_list_is_rejected() -> None:
    message = _with_period(day_message(), resolution="PT5M")
    assert "resolution" in _rules(message, master={})


def test_resolution_must_match_the_metering_point() -> None:
    hourly = _hourly_day()
    assert _rules(hourly, master={}) == []
    assert _rules(hourly) == ["resolution"]  # the master says PT15M


def test_monthly_resolution_is_accepted_for_whole_local_months() -> None:
    start, end = parse_iso("2026-05-31T22:00Z"), parse_iso("2026-07-31T22:00Z")  # June + July
    assert expected_position_count("P1M", start, end) == 2
    message = _with_period(day_message(), resolution="P1M", start_ms=start, end_ms=end,
                           points=(Point(1, Decimal("300.000"), "A04"),
                                   Point(2, Decimal("310.000"), "A04")))
    assert _rules(message, {GSRN: metering_point(resolution="P1M")}) == []
    assert expected_position_count("P1M", start, end - 3_600_000) is None


# period ----------------------------------------------------------------------------------------

def _shifted(message: Message, start_shift_ms: int, end_shift_ms: int) -> Message:
    period = message.series[0].period
    return _with_period(message, start_ms=period.start_ms + start_shift_ms,
                        end_ms=period.end_ms + end_shift_ms)


def test_quarter_hour_period_must_start_and_end_on_quarter_hours() -> None:
    rules = _rules(_shifted(day_message(), 5 * 60_000, 5 * 60_000))
    assert rules == ["period", "period"]  # start and end; still 96 positions for 24 h


def test_hourly_period_must_start_and_end_on_whole_hours() -> None:
    master = {GSRN: metering_point(resolution="PT1H")}
    assert _rules(_shifted(_hourly_day(), 15 * 60_000, 15 * 60_000), master) == ["period"] * 2
    assert _rules(_hourly_day(), master) == []


def test_period_under_four_hours_is_rejected() -> None:
    base = day_message()
    start = base.series[0].period.start_ms
    short = _with_period(base, end_ms=start + 15 * 900_000,
                         points=base.series[0].period.points[:15])
    assert _rules(short) == ["period"]
    four_hours = _with_period(base, end_ms=start + 16 * 900_000,
                              points=base.series[0].period.points[:16])
    assert _rules(four_hours) == []


def test_start_must_be_before_end() -> None:
    period = day_message().series[0].period
    reversed_ = _with_period(day_message(), start_ms=period.end_ms, end_ms=period.start_ms)
    rejections = validate_message(reversed_, MASTER)
    assert [r.rule for r in rejections] == ["period"]
    assert "is not before end" in rejections[0].text
    assert expected_position_count("PT15M", period.end_ms, period.start_ms) is None


def test_start_older_than_three_years_is_rejected() -> None:
    message = day_message("2026-06-14T22:00Z")  # covers 2026-06-15 local
    assert _rules(message, now="2029-06-14T21:59Z") == []
    assert _rules(message, now="2029-06-14T22:01Z") == ["period"]
    # default "now" is the message's own createdDateTime: a stored message judges the same way
    assert _rules(replace(message, created_ms=parse_iso("2030-01-01T00:00Z"))) == ["period"]


# positions -------------------------------------------------------------------------------------

def test_position_count_must_match_the_period() -> None:
    points = day_message().series[0].period.points
    rejections = validate_message(_with_points(day_message(), list(points[:-1])), MASTER)
    assert [r.rule for r in rejections] == ["positions"]
    assert "95 positions" in rejections[0].text and "needs 96" in rejections[0].text


def test_autumn_day_needs_100_quarter_hours_in_utc() -> None:
    autumn = day_message("2026-10-24T22:00Z", 100)
    assert len(autumn.series[0].period.points) == 100 and _rules(autumn) == []
    too_few = _with_points(autumn, list(autumn.series[0].period.points[:96]))
    assert _rules(too_few) == ["positions"]  # 96 is a normal day, not this one


def test_duplicate_positions_are_rejected() -> None:
    points = list(day_message().series[0].period.points)
    points[10] = replace(points[10], position=10)
    rejections = validate_message(_with_points(day_message(), points), MASTER)
    assert [r.rule for r in rejections] == ["positions"]
    assert "duplicate positions 10" in rejections[0].text


def test_positions_must_be_consecutive_from_one() -> None:
    points = day_message().series[0].period.points
    shifted = [replace(p, position=p.position + 1) for p in points]
    assert _rules(_with_points(day_message(), shifted)) == ["positions"]
    swapped = list(points)
    swapped[2], swapped[3] = swapped[3], swapped[2]
    rejections = validate_message(_with_points(day_message(), swapped), MASTER)
    assert [r.rule for r in rejections] == ["positions"]
    assert "first break at point 3" in rejections[0].text


# metering point subtype ------------------------------------------------------------------------

@pytest.mark.parametrize(("subtype", "ok"), [("physical", True), ("virtual", True),
                                             ("calculated", False)])
def test_calculated_metering_point_cannot_receive_data(subtype: str, ok: bool) -> None:
    assert _rules(day_message(), {GSRN: metering_point(subtype=subtype)}) == ([] if ok else
                                                                               ["subtype"])


def test_every_series_is_judged_and_rejections_say_where() -> None:
    good = day_message().series[0]
    bad: Series = replace(good, mrid="second", unit="MWH")
    message = replace(day_message(), series=(good, bad))
    rejections = validate_message(message, MASTER)
    assert [(r.rule, r.series_mrid) for r in rejections] == [("unit", "second")]
    assert rejections[0].format() == (f"[unit] metering point {GSRN}, series second: "
                                      "unit 'MWH' is not KWH or K3 (kVArh)")

