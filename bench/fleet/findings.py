"""Findings: what the screen reports, one row per fact, and the tables they are written as.

``findings.parquet`` columns (docs/fleet.md): ``kind``, ``site``, ``gsrn``, ``operator``,
``day`` (local day, null for findings about the whole period), ``value``, ``low``, ``high``,
``limit``, ``winter_shift_h``, ``summer_shift_h``, ``cause``, ``detail``. Rows are sorted by site,
metering point, day and kind, so two screens of the same data give the same file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from meterbench.fleet import layout as L

MISSING = "missing_delivery"
DEAD = "dead"
INCOMPLETE = "incomplete"
LATE = "late_delivery"
DUPLICATE = "duplicate_delivery"
CONFLICT = "conflicting_delivery"
NEGATIVE = "negative_residual"
NEGATIVE_EXPORT = "negative_export_residual"
LABELLING = "labelling"
STUCK = "stuck"
SWAPPED = "swapped_channels"
METER_ERROR = "meter_error"

#: Report order (most consequential for settlement first) and one line on each kind.
KINDS: dict[str, str] = {
    LABELLING: "values labelled at the wrong time (whole intervals, or in summer time only)",
    METER_ERROR: "serial meter's error against the main meter beyond its in-service limit",
    SWAPPED: "import and export channels swapped",
    STUCK: "the same non-zero value in every interval of a local day",
    DEAD: "a day delivered with every value missing",
    CONFLICT: "a day delivered twice with different values",
    MISSING: "no delivery for a metering point and local day",
    NEGATIVE: "negative import on the virtual main point (main − Σ serial)",
    NEGATIVE_EXPORT: "negative export on the virtual main point",
    INCOMPLETE: "a delivered day with some values missing",
    LATE: "delivered after the deadline",
    DUPLICATE: "a day delivered twice with identical values",
}

COLUMNS = ("kind", "site", "gsrn", "operator", "day", "value", "low", "high", "limit",
           "winter_shift_h", "summer_shift_h", "cause", "detail")
_NUMERIC = ("value", "low", "high", "limit", "winter_shift_h", "summer_shift_h")


@dataclass
class FindingRows:
    """Findings of one block as columns; ``day`` is the period's day index or -1."""

    first_day: date
    cols: dict[str, list[Any]] = field(default_factory=lambda: {c: [] for c in COLUMNS})

    def add(self, kind: str, site: str, gsrn: str, operator: str, day: int, *,
            value: float = np.nan, low: float = np.nan, high: float = np.nan,
            limit: float = np.nan, winter_shift_h: float = np.nan,
            summer_shift_h: float = np.nan, cause: str = "", detail: str = "") -> None:
        for name, v in zip(COLUMNS, (kind, site, gsrn, operator, day, value, low, high, limit,
                                     winter_shift_h, summer_shift_h, cause, detail),
                           strict=True):
            self.cols[name].append(v)

    def add_many(self, kind: str, points: np.ndarray, topo: L.Topology, day: np.ndarray | int,
                 *, detail: list[str], cause: str | list[str] = "",
                 **numbers: np.ndarray) -> None:
        """Findings of one kind about the metering points ``points`` (topology rows), in that
        order: the rows :meth:`add` would make one by one. ``day`` (the period's day index or
        -1) and the numeric columns are arrays of the same length, or one value for all."""
        n = len(detail)
        if len(points) != n:
            raise ValueError("one detail per finding")

        def each(v: Any) -> list[Any]:
            if isinstance(v, np.ndarray):
                return v.tolist()
            return list(v) if isinstance(v, list) else [v] * n

        given = {"kind": [kind] * n, "site": topo.site[points].tolist(),
                 "gsrn": topo.gsrn[points].tolist(), "operator": topo.operator[points].tolist(),
                 "day": each(day), "cause": each(cause), "detail": detail}
        for name in _NUMERIC:
            given[name] = each(numbers.pop(name, np.nan))
        if numbers:
            raise TypeError(f"unknown finding column(s) {', '.join(numbers)}")
        for name in COLUMNS:
            self.cols[name].extend(given[name])

    def table(self) -> Any:
        pa = L.pa()
        c = self.cols
        days = np.asarray(c["day"], dtype=np.int64)
        day0 = (self.first_day - date(1970, 1, 1)).days
        day_arr = pa.array(np.where(days >= 0, days + day0, 0).astype(np.int32),
                           mask=days < 0).cast(pa.date32())
        data = {"kind": pa.array(c["kind"], pa.string()), "site": pa.array(c["site"], pa.string()),
                "gsrn": pa.array(c["gsrn"], pa.string()),
                "operator": pa.array(c["operator"], pa.string()), "day": day_arr}
        for name in _NUMERIC:
            data[name] = pa.array(np.asarray(c[name], dtype=np.float64), pa.float64())
        data["cause"] = pa.array(c["cause"], pa.string())
        data["detail"] = pa.array(c["detail"], pa.string())
        return pa.table(data)


def empty_table(first_day: date) -> Any:
    return FindingRows(first_day).table()


def sort_findings(table: Any) -> Any:
    """Deterministic order: site, metering point, day (period findings first), kind."""
    import pyarrow.compute as pc

    pa = L.pa()
    day_key = pc.fill_null(table.column("day").cast(pa.int32()), -1)
    keyed = table.append_column("_day", day_key)
    order = pc.sort_indices(keyed, sort_keys=[("site", "ascending"), ("gsrn", "ascending"),
                                              ("_day", "ascending"), ("kind", "ascending"),
                                              ("cause", "ascending")])
    return table.take(order)


def day_text(first_day: date, day: int) -> str:
    return (first_day + timedelta(days=day)).isoformat()
