"""The per-zone table of hours answers exactly what the zone itself says, hour by hour."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterbench.core.timeutil import MS_PER_HOUR
from meterbench.fleet.layout import local_clock_hours
from meterbench.pipeline import zone_hours
from meterbench.pipeline.labelling import is_summer_time

#: Zones with daylight saving north and south, none, and a half-hour change (Lord Howe).
ZONES = ("Europe/Copenhagen", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe",
         "Asia/Kolkata", "UTC")
T_2026 = 1_767_225_600_000  # 2026-01-01T00:00Z


def _asked(times_ms: np.ndarray, zone: str) -> tuple[np.ndarray, np.ndarray]:
    """What the zone says about each time's UTC hour, one call per element."""
    tz = ZoneInfo(zone)
    local = [datetime.fromtimestamp(int(t) // MS_PER_HOUR * 3600, UTC).astimezone(tz)
             for t in times_ms.ravel().tolist()]
    dst = np.array([bool(x.dst()) for x in local], dtype=bool).reshape(times_ms.shape)
    hours = np.array([(int(t) / MS_PER_HOUR + x.utcoffset().total_seconds() / 3600) % 24.0
                      for t, x in zip(times_ms.ravel().tolist(), local, strict=True)])
    return dst, hours.reshape(times_ms.shape)


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(ZONES),
       offset_h=st.integers(-3 * 8784, 3 * 8784),
       steps=st.lists(st.integers(-40 * 24 * 4, 40 * 24 * 4), min_size=1, max_size=60),
       far=st.booleans())
def test_table_answers_what_the_zone_says(zone: str, offset_h: int, steps: list[int],
                                          far: bool) -> None:
    """Calls that widen the table before and after it, and far-apart times that bypass it."""
    times = T_2026 + offset_h * MS_PER_HOUR + np.asarray(steps, dtype=np.int64) * 900_000
    if far:  # beyond the widest span the table may cover
        times = np.append(times, times[0] + (zone_hours.MAX_SPAN_HOURS + 5) * MS_PER_HOUR)
    dst, hours = _asked(times, zone)
    assert np.array_equal(is_summer_time(times, zone), dst)
    assert np.array_equal(local_clock_hours(times, zone), hours)  # bit for bit


def test_shape_empty_and_a_fresh_table() -> None:
    zone_hours._tables.pop("Europe/Copenhagen", None)
    times = T_2026 + np.arange(24 * 200, dtype=np.int64).reshape(4, -1) * 3_600_000
    assert np.array_equal(is_summer_time(times), _asked(times, "Europe/Copenhagen")[0])
    assert is_summer_time(np.zeros(0, np.int64)).shape == (0,)
    # the table now covers the 200 days asked about, and nothing was widened for the empty call
    table = zone_hours._tables["Europe/Copenhagen"]
    assert table.end - table.first == 24 * 200


def test_an_unknown_zone_is_refused_as_before() -> None:
    with pytest.raises(Exception, match="No time zone found"):
        is_summer_time(np.array([T_2026]), "Europe/Atlantis")
