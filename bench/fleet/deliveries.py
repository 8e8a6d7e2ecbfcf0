"""Deliveries of one block: completeness, duplicates and conflicts, timeliness.

One finding per metering point and local day (the directions it concerns in ``cause``):
a day not delivered, delivered with no value, with some values missing, delivered more than once
(identical: a duplicate; different: a conflict, the latest screened), or after the deadline.
Delivery delays are also kept per operator as a histogram, for the timeliness view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from meterbench.core.quality import Quality
from meterbench.core.timeutil import MS_PER_HOUR
from meterbench.fleet import findings as K
from meterbench.fleet import layout as L
from meterbench.fleet.assemble import BlockData, Direction, count_per_day

#: Delivery delays are kept as a histogram in quarter-hours up to a week (longer: last bin, and
#: the quantiles there are reported as "more than a week"); the latest delay is kept exactly.
DELAY_BINS = 7 * 24 * 4


@dataclass
class Timeliness:
    """Per operator: delay histogram (quarter-hours after the day's end), deliveries, late."""

    delay_hist: dict[str, np.ndarray] = field(default_factory=dict)
    latest_ms: dict[str, int] = field(default_factory=dict)  # the longest delay, exactly
    deliveries: dict[str, int] = field(default_factory=dict)
    late: dict[str, int] = field(default_factory=dict)


def _deadlines_ms(m: L.Manifest, deadline: dtime) -> np.ndarray:
    """UTC ms of the deadline for each local day: that local time on the next day."""
    tz = ZoneInfo(m.zone)
    out = []
    for d in range(m.days):
        nxt = m.day_of(d) + timedelta(days=1)
        out.append(int(datetime.combine(nxt, deadline, tzinfo=tz).timestamp() * 1000))
    return np.asarray(out, dtype=np.int64)


def delivery_findings(rows: K.FindingRows, m: L.Manifest, data: BlockData,
                      deadline_time: dtime | None, result: Timeliness) -> None:
    """Missing, dead and incomplete days, lateness, duplicates and conflicts."""
    topo = data.topo
    first = m.day_first_index
    per_day = first[1:] - first[:-1]
    deadline = _deadlines_ms(m, deadline_time) if deadline_time else None
    counts = {}
    for name, d in (("import", data.imp), ("export", data.exp)):
        counts[name] = count_per_day(d.quality != Quality.MISSING, first)
    both = (("import", data.imp), ("export", data.exp))
    _per_day(rows, m, topo, K.MISSING, [(n, ~d.delivered) for n, d in both],
             lambda day, names: f"no {' and '.join(names)} delivery for "
                                f"{K.day_text(m.first_day, day)}")
    _per_day(rows, m, topo, K.DEAD, [(n, d.delivered & (counts[n] == 0)) for n, d in both],
             lambda day, names: f"{' and '.join(names)} delivered with all {per_day[day]} "
                                "values missing")
    _repeats(rows, m, topo, both)
    for name, d in both:
        part = d.delivered & (counts[name] > 0) & (counts[name] < per_day[None, :])
        for pt, day in zip(*np.nonzero(part), strict=True):
            gap = int(per_day[day] - counts[name][pt, day])
            rows.add(K.INCOMPLETE, topo.site[pt], topo.gsrn[pt], topo.operator[pt], int(day),
                     value=float(gap), cause=name,
                     detail=f"{gap} of {per_day[day]} {name} values missing")
    _timeliness(rows, m, topo, data, deadline, result)


def _repeats(rows: K.FindingRows, m: L.Manifest, topo: L.Topology,
             both: tuple[tuple[str, Direction], ...]) -> None:
    """One finding per point and day delivered more than once: a conflict if any direction's
    values differ between deliveries, else a duplicate."""
    seen: dict[tuple[int, int], dict[str, tuple[int, int]]] = {}
    for name, d in both:
        for pt, day, n in d.duplicates:
            seen.setdefault((pt, day), {})[name] = (n, 0)
        for pt, day, n, differ in d.conflicts:
            seen.setdefault((pt, day), {})[name] = (n, differ)
    for (pt, day), per in sorted(seen.items()):
        n = max(v[0] for v in per.values())
        differ = {k: v[1] for k, v in per.items() if v[1]}
        if differ:
            rows.add(K.CONFLICT, topo.site[pt], topo.gsrn[pt], topo.operator[pt], day,
                     value=float(sum(differ.values())), cause="+".join(differ),
                     detail=f"delivered {n} times; "
                            + ", ".join(f"{c} {k} value(s)" for k, c in differ.items())
                            + " differ between deliveries (the latest is screened)")
        else:
            rows.add(K.DUPLICATE, topo.site[pt], topo.gsrn[pt], topo.operator[pt], day,
                     value=float(n), cause="+".join(per),
                     detail=f"delivered {n} times with identical values")


def _per_day(rows: K.FindingRows, m: L.Manifest, topo: L.Topology, kind: str,
             masks: list[tuple[str, np.ndarray]], text: Any) -> None:
    """One finding per point and day where any direction's mask is set (cause: directions)."""
    union = np.logical_or.reduce([mask for _, mask in masks])
    for pt, day in zip(*np.nonzero(union), strict=True):
        names = [n for n, mask in masks if mask[pt, day]]
        rows.add(kind, topo.site[pt], topo.gsrn[pt], topo.operator[pt], int(day),
                 cause="+".join(names), detail=text(int(day), names))


def _timeliness(rows: K.FindingRows, m: L.Manifest, topo: L.Topology, data: BlockData,
                deadline: np.ndarray | None, result: Timeliness) -> None:
    """When each point's day was complete: its latest delivery of either direction."""
    at = np.maximum(data.imp.delivered_ms, np.where(topo.exports[:, None],
                                                   data.exp.delivered_ms, 0))
    got = at > 0
    delay_ms = at - m.day_bounds_ms[None, 1:]
    delay_q = delay_ms // (MS_PER_HOUR // 4)
    for op in np.unique(topo.operator.astype(str)).tolist():
        sel = (topo.operator == op)[:, None] & got
        q = np.clip(delay_q[sel], 0, DELAY_BINS - 1)
        hist = np.bincount(q, minlength=DELAY_BINS)
        if sel.any():
            longest = int(delay_ms[sel].max())
            result.latest_ms[op] = max(result.latest_ms.get(op, longest), longest)
        result.delay_hist[op] = result.delay_hist.get(op, 0) + hist
        result.deliveries[op] = result.deliveries.get(op, 0) + int(sel.sum())
        result.late.setdefault(op, 0)
    if deadline is None:
        return
    late = got & (at > deadline[None, :])
    for pt, day in zip(*np.nonzero(late), strict=True):
        hours = (at[pt, day] - deadline[day]) / MS_PER_HOUR
        result.late[topo.operator[pt]] = result.late.get(topo.operator[pt], 0) + 1
        rows.add(K.LATE, topo.site[pt], topo.gsrn[pt], topo.operator[pt], int(day),
                 value=hours, detail=f"delivered {hours:.1f} h after the deadline")
