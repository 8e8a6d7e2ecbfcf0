from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterbench.core.errors import UserError
from meterbench.core.timeutil import (
    format_iso_utc,
    format_minute_utc,
    from_ms,
    parse_duration,
    parse_iso,
    to_ms,
)


def test_iso_with_offset_is_converted_to_utc_ms():
    assert parse_iso("2026-03-29T03:00:00+02:00") == parse_iso("2026-03-29T01:00:00Z")
    assert parse_iso("1970-01-01T00:00:01Z") == 1000


def test_naive_time_is_refused_not_guessed():
    with pytest.raises(UserError, match="no UTC offset"):
        parse_iso("2026-03-29T01:00:00", source="x.csv", field="row 3: time")


def test_minute_format_has_no_seconds():
    assert format_minute_utc(parse_iso("2026-10-25T00:45:00Z")) == "2026-10-25T00:45Z"


@pytest.mark.parametrize("text,ms", [("PT15M", 900_000), ("PT1H", 3_600_000), ("P1D", 86_400_000),
                                     ("90s", 90_000), ("5min", 300_000), ("2h", 7_200_000),
                                     ("PT0.5S", 500), ("1d", 86_400_000)])
def test_durations(text, ms):
    assert parse_duration(text) == ms


def test_bad_duration_names_field():
    with pytest.raises(UserError) as e:
        parse_duration("fortnight", source="bench.toml", field="run.poll_period")
    assert "bench.toml: run.poll_period" in str(e.value)


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59),
                    timezones=st.just(UTC)))
def test_ms_round_trip(dt):
    dt = dt.replace(microsecond=dt.microsecond // 1000 * 1000)
    assert from_ms(to_ms(dt)) == dt
    assert parse_iso(format_iso_utc(to_ms(dt))) == to_ms(dt)


def test_to_ms_accepts_any_offset():
    cph_summer = timezone(timedelta(hours=2))
    assert to_ms(datetime(2026, 6, 1, 2, 0, tzinfo=cph_summer)) == to_ms(datetime(2026, 6, 1, 0, 0, tzinfo=UTC))
