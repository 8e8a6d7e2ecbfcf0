"""DataHub messages back into interval series, so delivered values can be judged like any export.

A DSO's field acceptance may start from what the operator actually delivered: its RSM-012 files.
Every series of every message becomes points on a regular grid per metering point (GSRN); a
position that no message carries is missing, and two messages that disagree about one position
are refused rather than silently merged.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from meterbench.core.errors import UserError
from meterbench.core.quality import FROM_CIM, Quality
from meterbench.core.timeutil import RESOLUTIONS_MS, format_iso_utc
from meterbench.datahub import codes
from meterbench.datahub.files import read_message_file
from meterbench.pipeline.series import IntervalSeries


def message_files(path: Path) -> list[Path]:
    """A message file, or every ``*.json``/``*.xml`` file of a folder (e.g. an outbox)."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".json", ".xml"))
        if not files:
            raise UserError("no .json or .xml message files in the folder", source=str(path))
        return files
    return [path]


def series_by_metering_point(paths: Iterable[Path]) -> dict[str, IntervalSeries]:
    points: dict[str, dict[int, tuple[float, int]]] = {}
    resolution: dict[str, int] = {}
    for path in paths:
        message = read_message_file(path).message
        for s in message.series:
            res = RESOLUTIONS_MS.get(s.period.resolution)
            if res is None:
                raise UserError(f"resolution {s.period.resolution!r} cannot be compared",
                                source=str(path), field="resolution", expected="PT15M or PT1H")
            gsrn = s.metering_point_id
            if resolution.setdefault(gsrn, res) != res:
                raise UserError(f"metering point {gsrn} mixes resolutions", source=str(path),
                                field="resolution", expected="one resolution per metering point")
            grid = points.setdefault(gsrn, {})
            for p in s.period.points:
                start = s.period.start_ms + (p.position - 1) * res
                quality = FROM_CIM.get(p.quality or codes.DEFAULT_QUALITY, Quality.MISSING)
                value = float(p.quantity) if p.quantity is not None else float("nan")
                if quality == Quality.MISSING:
                    value = float("nan")
                if start in grid and not _same(grid[start], (value, int(quality))):
                    raise UserError(f"two messages disagree about {gsrn} at {format_iso_utc(start)}",
                                    source=str(path), field=f"position {p.position}",
                                    expected="one value per metering point and interval")
                grid[start] = (value, int(quality))
    out = {}
    for gsrn, grid in points.items():
        res = resolution[gsrn]
        first, last = min(grid), max(grid)
        starts = np.arange(first, last + res, res, dtype=np.int64)
        qty = np.array([grid.get(int(t), (np.nan, 0))[0] for t in starts])
        qual = np.array([grid.get(int(t), (np.nan, int(Quality.MISSING)))[1] for t in starts],
                        dtype=np.uint8)
        out[gsrn] = IntervalSeries(starts, qty, qual, res)
    return out


def _same(a: tuple[float, int], b: tuple[float, int]) -> bool:
    return a[1] == b[1] and (a[0] == b[0] or (np.isnan(a[0]) and np.isnan(b[0])))
