"""A zone's daylight-saving flag and UTC offset per UTC hour, remembered per process.

Asking :mod:`zoneinfo` costs a Python call per hour; the labelling diagnosis asks about the same
period for every meter it checks (a fleet block: hundreds of meters, one period), so the answers
are kept in one table per zone: a contiguous run of UTC hours, widened when a call reaches
beyond it. Each entry is exactly what ``datetime.fromtimestamp(hour, UTC).astimezone(zone)``
says about that hour, so a table lookup gives what asking would give.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

#: Widest span of hours a zone's table may cover (five years, about 0.4 MB); a call that
#: would widen it further is answered hour by hour without the table.
MAX_SPAN_HOURS = 5 * 366 * 24


@dataclass(frozen=True)
class _Table:
    first: int               # UTC hour (hours since the epoch) of the first entry
    dst: np.ndarray          # bool: daylight-saving time in force
    offset_s: np.ndarray     # float64: UTC offset, seconds

    @property
    def end(self) -> int:
        return self.first + len(self.dst)


_tables: dict[str, _Table] = {}


def _ask(zone: str, hours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The zone's own answers, one call per hour."""
    tz = ZoneInfo(zone)
    local = [datetime.fromtimestamp(h * 3600, UTC).astimezone(tz) for h in hours.tolist()]
    dst = np.array([bool(t.dst()) for t in local], dtype=bool)
    offset = np.array([t.utcoffset().total_seconds() for t in local], dtype=np.float64)
    return dst, offset


def _widened(zone: str, table: _Table | None, lo: int, hi: int) -> _Table:
    """The zone's table covering ``[lo, hi)`` too (only the new hours are asked)."""
    if table is None:
        return _Table(lo, *_ask(zone, np.arange(lo, hi, dtype=np.int64)))
    first, end = min(lo, table.first), max(hi, table.end)
    before = _ask(zone, np.arange(first, table.first, dtype=np.int64))
    after = _ask(zone, np.arange(table.end, end, dtype=np.int64))
    return _Table(first, np.concatenate([before[0], table.dst, after[0]]),
                  np.concatenate([before[1], table.offset_s, after[1]]))


def hour_facts(hours: np.ndarray, zone: str) -> tuple[np.ndarray, np.ndarray]:
    """(daylight saving in force, UTC offset in seconds) at each UTC hour of ``hours``.

    ``hours`` are whole hours since the epoch (int64, any shape); the results have its shape.
    """
    hours = np.asarray(hours, dtype=np.int64)
    if not hours.size:
        return np.zeros(hours.shape, dtype=bool), np.zeros(hours.shape)
    lo, hi = int(hours.min()), int(hours.max()) + 1
    table = _tables.get(zone)
    if table is None or lo < table.first or hi > table.end:
        first = lo if table is None else min(lo, table.first)
        end = hi if table is None else max(hi, table.end)
        if end - first > MAX_SPAN_HOURS:  # far-apart times: ask about the distinct hours only
            uniq, inv = np.unique(hours, return_inverse=True)
            dst, offset = _ask(zone, uniq)
            return dst[inv].reshape(hours.shape), offset[inv].reshape(hours.shape)
        table = _widened(zone, table, lo, hi)
        _tables[zone] = table
    at = hours - table.first
    return table.dst[at], table.offset_s[at]
