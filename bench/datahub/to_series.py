"""DataHub messages back into interval series, so delivered values can be judged like any export.

A DSO's field acceptance may start from what the operator actually delivered: its RSM-012 files.
Every series of every message becomes points on a regular grid per metering point (GSRN). The
grid is built from the **declared** periods and resolution, not from the points present: a
day declared as 96 quarter-hours is 96 intervals even when the message carries 90 points, and
the 6 absent positions are missing and counted. Between the first declared start and the last
declared end of a metering point, intervals that no message declares (a day not delivered) are
missing too, and counted apart. Two messages that disagree about one position are refused rather
than silently merged.

Quality codes are read as :mod:`meterbench.datahub.counts` describes: A05 "incomplete" keeps its
value with quality estimated (and is counted as incomplete); a code that cannot be read refuses
the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from meterbench.core.errors import UserError
from meterbench.core.quality import Quality
from meterbench.core.timeutil import RESOLUTIONS_MS, format_iso_utc, format_minute_utc
from meterbench.datahub.counts import (
    QUALITY_INCOMPLETE,
    READABLE_CODES,
    PositionCounts,
    read_quality,
)
from meterbench.datahub.files import read_message_file
from meterbench.datahub.model import Series
from meterbench.datahub.rules import expected_position_count
from meterbench.pipeline.series import IntervalSeries


@dataclass(frozen=True)
class MeteringPointReading:
    """One metering point read from message files: its series on the declared grid and counts.

    ``counts`` covers the intervals some message declares (each interval once, however many
    messages declare it); ``undelivered`` the intervals inside the series' span that none does.
    ``len(series) == counts.declared + undelivered``.
    """

    gsrn: str
    series: IntervalSeries
    counts: PositionCounts
    undelivered: int
    files: int

    @property
    def missing(self) -> int:
        return self.counts.missing + self.undelivered

    def describe(self) -> str:
        text = f"{self.gsrn}: {self.counts.describe()}"
        if self.undelivered:
            text += f"; {self.undelivered} intervals in no message's period (missing)"
        return f"{text}; {self.files} file(s)"


def message_files(path: Path) -> list[Path]:
    """A message file, or every ``*.json``/``*.xml`` file in a folder and its subfolders.

    Subfolders count because a bench's outbox keeps one folder per day (``outbox/<day>/``):
    the outbox itself is the natural thing to name. Hidden files and folders (``.git``, an
    editor's swap files) are not messages.
    """
    if path.is_dir():
        files = sorted(p for p in path.rglob("*")
                       if p.suffix.lower() in (".json", ".xml") and p.is_file()
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
        if not files:
            raise UserError("no .json or .xml message files in the folder or its subfolders",
                            source=str(path))
        return files
    return [path]


@dataclass
class _Point:
    """What has been read so far for one metering point."""

    resolution_ms: int
    slots: dict[int, tuple[float, int, bool]]  # start -> (kWh, quality, incomplete)
    periods: list[tuple[int, int]]
    files: set[Path]


def read_metering_points(paths: Iterable[Path]) -> dict[str, MeteringPointReading]:
    """Every metering point in the message files, on the grid of its declared periods."""
    points: dict[str, _Point] = {}
    for path in paths:
        message = read_message_file(path).message
        for s in message.series:
            _add_series(points, s, path)
    return {gsrn: _reading(gsrn, p) for gsrn, p in points.items()}


def series_by_metering_point(paths: Iterable[Path]) -> dict[str, IntervalSeries]:
    """Interval series per GSRN (see :func:`read_metering_points` for the counts behind them)."""
    return {gsrn: r.series for gsrn, r in read_metering_points(paths).items()}


def _add_series(points: dict[str, _Point], s: Series, path: Path) -> None:
    source = str(path)
    period = s.period
    res = RESOLUTIONS_MS.get(period.resolution)
    if res is None:
        raise UserError(f"resolution {period.resolution!r} cannot be compared", source=source,
                        field="resolution", expected="PT15M or PT1H")
    gsrn = s.metering_point_id
    point = points.setdefault(gsrn, _Point(res, {}, [], set()))
    if point.resolution_ms != res:
        raise UserError(f"metering point {gsrn} mixes resolutions", source=source,
                        field="resolution", expected="one resolution per metering point")
    declared = expected_position_count(period.resolution, period.start_ms, period.end_ms)
    if declared is None or period.start_ms % res:
        raise UserError(f"period {format_minute_utc(period.start_ms)} to "
                        f"{format_minute_utc(period.end_ms)} is not a whole number of "
                        f"{period.resolution} on the {period.resolution} grid", source=source,
                        field="timeInterval", expected="start before end, both on the grid")
    point.periods.append((period.start_ms, period.end_ms))
    point.files.add(path)
    for p in period.points:
        where = f"metering point {gsrn}, position {p.position}"
        if not 1 <= p.position <= declared:
            raise UserError(f"position {p.position} lies outside the declared period",
                            source=source, field=where, expected=f"1..{declared}")
        quality = read_quality(p.quality, p.quantity is not None)
        if quality is None:
            raise UserError(f"quality {p.quality!r} cannot be read", source=source, field=where,
                            expected=READABLE_CODES)
        missing = quality == Quality.MISSING
        value = float("nan") if missing else float(p.quantity)  # type: ignore[arg-type]
        entry = (value, int(quality), p.quality == QUALITY_INCOMPLETE and not missing)
        start = period.start_ms + (p.position - 1) * res
        if start in point.slots and not _same(point.slots[start], entry):
            raise UserError(f"two messages disagree about {gsrn} at {format_iso_utc(start)}",
                            source=source, field=where,
                            expected="one value per metering point and interval")
        point.slots[start] = entry


def _reading(gsrn: str, p: _Point) -> MeteringPointReading:
    res = p.resolution_ms
    first = min(s for s, _ in p.periods)
    last = max(e for _, e in p.periods)
    starts = np.arange(first, last, res, dtype=np.int64)
    declared = np.zeros(len(starts), dtype=bool)
    for s, e in p.periods:
        declared[(s - first) // res:(e - first) // res] = True
    quantity = np.full(len(starts), np.nan)
    quality = np.full(len(starts), Quality.MISSING, dtype=np.uint8)
    present = np.zeros(len(starts), dtype=bool)
    incomplete = 0
    for start, (value, code, is_incomplete) in p.slots.items():
        k = (start - first) // res
        quantity[k], quality[k], present[k] = value, code, True
        incomplete += is_incomplete
    on = quality[declared]
    counts = PositionCounts(
        declared=int(declared.sum()),
        measured=int(np.count_nonzero(on == Quality.MEASURED)),
        estimated=int(np.count_nonzero(on == Quality.ESTIMATED)) - incomplete,
        incomplete=incomplete,
        calculated=int(np.count_nonzero(on == Quality.CALCULATED)),
        not_available=int(np.count_nonzero(present & (quality == Quality.MISSING))),
        absent=int(np.count_nonzero(declared & ~present)))
    series = IntervalSeries(starts, quantity, quality, res)
    return MeteringPointReading(gsrn, series, counts, int(np.count_nonzero(~declared)),
                                len(p.files))


def _same(a: tuple[float, int, bool], b: tuple[float, int, bool]) -> bool:
    return a[1:] == b[1:] and (a[0] == b[0] or (np.isnan(a[0]) and np.isnan(b[0])))
