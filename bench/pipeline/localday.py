"""Local-day views (Europe/Copenhagen by default) of UTC interval series.

DataHub days are local: a day has 92, 96 or 100 quarter-hours (23, 24 or 25 hours) on the spring
and autumn daylight-saving days (opengeh-wholesale, Europe/Copenhagen). Times stay UTC inside; the zone
is only used here, at the edge, to find where a local day starts and ends.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from meterbench.core.quality import Quality
from meterbench.core.timeutil import to_ms
from meterbench.pipeline.series import IntervalSeries

#: DataHub's market zone (DataHub 3 days are Europe/Copenhagen days). A preset, not a law:
#: pass another zone for another market.
DEFAULT_ZONE = "Europe/Copenhagen"


def known_zone(name: str) -> bool:
    """Whether ``name`` is a time zone this machine's zone database knows (an IANA name)."""
    try:
        ZoneInfo(name)
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


def local_day_bounds_ms(day: date, zone: str = DEFAULT_ZONE) -> tuple[int, int]:
    """UTC epoch ms of local midnight starting ``day`` and of the next local midnight."""
    tz = ZoneInfo(zone)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
    return to_ms(start), to_ms(end)


def intervals_in_local_day(day: date, resolution_ms: int, zone: str = DEFAULT_ZONE) -> int:
    """How many intervals the local day has (PT15M: 92, 96 or 100 in Copenhagen)."""
    start, end = local_day_bounds_ms(day, zone)
    return (end - start) // resolution_ms


def reindex(series: IntervalSeries, start_ms: int, end_ms: int) -> IntervalSeries:
    """``series`` on the full grid ``[start_ms, end_ms)``: intervals it lacks become missing."""
    res = series.resolution_ms
    if start_ms % res or end_ms % res:
        raise ValueError("bounds must lie on the series' grid")
    starts = np.arange(start_ms, end_ms, res, dtype=np.int64)
    quantity = np.full(len(starts), np.nan)
    quality = np.full(len(starts), Quality.MISSING, dtype=np.uint8)
    inside = (series.start_ms >= start_ms) & (series.start_ms < end_ms)
    pos = (series.start_ms[inside] - start_ms) // res
    quantity[pos] = series.quantity[inside]
    quality[pos] = series.quality[inside]
    return IntervalSeries(starts, quantity, quality, res)


def local_day_view(series: IntervalSeries, day: date, zone: str = DEFAULT_ZONE) -> IntervalSeries:
    """The intervals of one local day, in UTC order, missing where the series has none."""
    start, end = local_day_bounds_ms(day, zone)
    return reindex(series, start, end)


def local_days(series: IntervalSeries, zone: str = DEFAULT_ZONE) -> list[date]:
    """Local dates touched by the series (first interval's day to last interval's day)."""
    if not len(series):
        return []
    tz = ZoneInfo(zone)
    first = datetime.fromtimestamp(int(series.start_ms[0]) / 1000, tz).date()
    last = datetime.fromtimestamp(int(series.start_ms[-1]) / 1000, tz).date()
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]
