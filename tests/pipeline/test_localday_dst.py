"""Local days in Europe/Copenhagen, including both daylight-saving days of 2026."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from meterbench.core.quality import Quality
from meterbench.core.timeutil import to_ms
from meterbench.pipeline.aggregate import quarters_to_hours
from meterbench.pipeline.intervals import intervals_from_register
from meterbench.pipeline.localday import (
    intervals_in_local_day,
    local_day_bounds_ms,
    local_day_view,
    local_days,
)

MIN = 60_000
Q = 15 * MIN
H = 60 * MIN


@pytest.mark.parametrize(("day", "quarters", "utc_start"), [
    (date(2026, 3, 29), 92, datetime(2026, 3, 28, 23, tzinfo=UTC)),   # spring: 23 h
    (date(2026, 10, 25), 100, datetime(2026, 10, 24, 22, tzinfo=UTC)),  # autumn: 25 h
    (date(2026, 1, 15), 96, datetime(2026, 1, 14, 23, tzinfo=UTC)),
    (date(2026, 7, 1), 96, datetime(2026, 6, 30, 22, tzinfo=UTC)),
])
def test_quarters_per_local_day(day, quarters, utc_start):
    assert intervals_in_local_day(day, Q) == quarters
    assert intervals_in_local_day(day, H) == quarters // 4
    start, end = local_day_bounds_ms(day)
    assert start == to_ms(utc_start)
    assert (end - start) // Q == quarters


@pytest.mark.parametrize(("day", "quarters"), [(date(2026, 3, 29), 92), (date(2026, 10, 25), 100)])
def test_dst_day_from_register_readings(day, quarters):
    """1-minute readings of a constant 2 kW load across a DST day: every local quarter exists,
    is measured and holds 0.5 kWh; the day's energy is 2 kW x its real length."""
    start, end = local_day_bounds_ms(day)
    t = np.arange(start - H, end + H + 1, MIN, dtype=np.int64)
    v = 1000.0 + (t - start) / H * 2.0
    r = intervals_from_register(t, v, start - H, end + H, Q, None, 6 * H)
    view = local_day_view(r.series, day)
    assert len(view) == quarters
    assert (view.quality == Quality.MEASURED).all()
    np.testing.assert_allclose(view.quantity, 0.5, atol=1e-9)
    assert view.total_kwh() == pytest.approx(2.0 * quarters / 4, abs=1e-9)
    hours = quarters_to_hours(view)
    assert len(hours) == quarters // 4
    np.testing.assert_allclose(hours.quantity, 2.0, atol=1e-9)
    assert day in local_days(r.series)


def test_local_day_view_fills_missing():
    day = date(2026, 10, 25)
    start, end = local_day_bounds_ms(day)
    t = np.arange(start, start + 2 * H + 1, MIN, dtype=np.int64)
    r = intervals_from_register(t, (t - start) / H, start, start + 2 * H, Q, None, 6 * H)
    view = local_day_view(r.series, day)
    assert len(view) == 100
    assert (view.quality[:8] == Quality.MEASURED).all()
    assert (view.quality[8:] == Quality.MISSING).all()
    assert np.isnan(view.quantity[8:]).all()
