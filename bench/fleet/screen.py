"""Screen one block of sites with the pipeline's kernels; the same function runs on every worker.

Per block (a few hundred sites, the whole period): deliveries are placed on the grid
(:mod:`meterbench.fleet.assemble`), then

* completeness and timeliness per point and local day, duplicates and conflicts;
* the virtual main point of every site (:func:`meterbench.pipeline.virtual_main_point`, all sites
  at once) and, for each site and local day with negative import residuals, the bench's
  diagnosis (:func:`meterbench.pipeline.diagnose_negative_residuals`) on that day's intervals;
* stuck and dead days, swapped channels;
* labelling of every serial meter whose lag scan (:mod:`meterbench.fleet.label_scan`) is not
  zero, by :func:`meterbench.pipeline.diagnose_labelling` against the reference
  ``main − Σ the site's other serial meters``;
* each serial meter's error against the main meter (:mod:`meterbench.fleet.error_estimate`)
  judged against its in-service limit (:func:`meterbench.accuracy.limits.in_service_limit_pct`).

The result depends only on the block's files, never on the worker or the order of blocks, so a
Dask cluster gives bit for bit what one process gives.
"""

from __future__ import annotations

import os
import resource
import socket
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from meterbench.accuracy.limits import in_service_limit_pct
from meterbench.core.quality import Quality
from meterbench.core.timeutil import MS_PER_HOUR
from meterbench.fleet import findings as K
from meterbench.fleet import layout as L
from meterbench.fleet.assemble import BlockData, Direction, read_block
from meterbench.fleet.error_estimate import estimate_errors
from meterbench.fleet.label_scan import lag_candidates
from meterbench.pipeline.labelling import (
    LabellingDiagnosis,
    apply_label_correction,
    diagnose_labelling,
    is_summer_time,
)
from meterbench.pipeline.localday import reindex
from meterbench.pipeline.negative_residuals import (
    DIAG_MISALIGNED,
    DIAG_PRODUCTION,
    DIAG_SUB_EXCEEDS,
    diagnose_negative_residuals,
)
from meterbench.pipeline.netting import (
    DEFAULT_TOLERANCE_KWH,
    PointFlows,
    VirtualPoint,
    virtual_main_point,
)
from meterbench.pipeline.series import IntervalSeries

#: Delivery delays are kept as a histogram in quarter-hours up to a week (longer: last bin).
DELAY_BINS = 7 * 24 * 4
#: A serial meter whose export exceeds its import over the period, by at least this much, has
#: its channels swapped (a consumption point - charger, heat pump - does not export).
SWAP_MIN_KWH = 1.0
#: Labelling: shifts searched (the labelling diagnosis's own default), and the change of a
#: serial meter's interval value that counts as its load switching (400 W over a quarter-hour).
MAX_SHIFT_MS = 3 * MS_PER_HOUR
#: Daylight of a block: the times of day its sites export, widened by this much each side.
PRODUCTION_MARGIN_MS = MS_PER_HOUR
SWITCH_KWH = 0.1


@dataclass(frozen=True)
class ScreenSettings:
    """Options of a screen that change findings (the engine's options do not)."""

    deadline: dtime | None = None   # local time on the day after the delivered day


@dataclass
class BlockResult:
    block: int
    findings: Any                    # pyarrow Table (findings.COLUMNS)
    errors: Any                      # pyarrow Table: every serial meter's error estimate
    site_days: int
    sites: int
    points: int
    serial: int
    delay_hist: dict[str, np.ndarray] = field(default_factory=dict)
    late: dict[str, int] = field(default_factory=dict)
    deliveries: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    worker: str = ""


@dataclass(frozen=True)
class _Sites:
    """Index arrays of a block: main point per site, serial points and their site rows."""

    main: np.ndarray
    serial: np.ndarray
    serial_site: np.ndarray
    site_of_point: np.ndarray


def _sites(topo: L.Topology) -> _Sites:
    site_names, site_of_point = np.unique(topo.site.astype(str), return_inverse=True)
    main = np.full(len(site_names), -1, dtype=np.int64)
    is_main = topo.role == L.ROLE_MAIN
    main[site_of_point[is_main]] = np.flatnonzero(is_main)
    serial = np.flatnonzero(~is_main)
    order = np.argsort(site_of_point[serial], kind="stable")
    serial = serial[order]
    return _Sites(main, serial, site_of_point[serial], site_of_point)


def _deadlines_ms(m: L.Manifest, deadline: dtime) -> np.ndarray:
    """UTC ms of the deadline for each local day: that local time on the next day."""
    tz = ZoneInfo(m.zone)
    out = []
    for d in range(m.days):
        nxt = m.day_of(d) + timedelta(days=1)
        out.append(int(datetime.combine(nxt, deadline, tzinfo=tz).timestamp() * 1000))
    return np.asarray(out, dtype=np.int64)


def _deliveries(rows: K.FindingRows, m: L.Manifest, data: BlockData, s: ScreenSettings,
                result: BlockResult) -> None:
    """Missing, dead and incomplete days, lateness, duplicates and conflicts."""
    topo = data.topo
    first = m.day_first_index
    per_day = first[1:] - first[:-1]
    deadline = _deadlines_ms(m, s.deadline) if s.deadline else None
    counts = {}
    for name, d in (("import", data.imp), ("export", data.exp)):
        counts[name] = np.add.reduceat(d.quality != Quality.MISSING, first[:-1], axis=1)
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
                deadline: np.ndarray | None, result: BlockResult) -> None:
    """When each point's day was complete: its latest delivery of either direction."""
    at = np.maximum(data.imp.delivered_ms, np.where(topo.exports[:, None],
                                                   data.exp.delivered_ms, 0))
    got = at > 0
    delay_q = (at - m.day_bounds_ms[None, 1:]) // (MS_PER_HOUR // 4)
    for op in np.unique(topo.operator.astype(str)).tolist():
        sel = (topo.operator == op)[:, None] & got
        q = np.clip(delay_q[sel], 0, DELAY_BINS - 1)
        hist = np.bincount(q, minlength=DELAY_BINS)
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


def _flows(d_imp: Direction, d_exp: Direction, idx: np.ndarray) -> PointFlows:
    return PointFlows(d_imp.kwh[idx], d_exp.kwh[idx], d_imp.quality[idx], d_exp.quality[idx])


def _negative_residuals(rows: K.FindingRows, m: L.Manifest, data: BlockData,
                        st: _Sites) -> None:
    """Net every site at once; diagnose the sites with negative residuals, report per day."""
    topo = data.topo
    main = _flows(data.imp, data.exp, st.main)
    subs = _flows(data.imp, data.exp, st.serial)
    vp = virtual_main_point(main, subs, sub_site=st.serial_site, n_sites=len(st.main))
    first = m.day_first_index
    day_of = np.repeat(np.arange(m.days), first[1:] - first[:-1])
    starts = m.start_ms + m.resolution_ms * np.arange(m.n_intervals, dtype=np.int64)
    daylight = _daylight(data.exp.kwh[st.main], _local_slot(starts, m), day_of, m.days,
                         PRODUCTION_MARGIN_MS // m.resolution_ms)
    for site in np.flatnonzero(vp.negative_import.any(axis=1)):
        subs_idx = st.serial[st.serial_site == site]
        site_main = _flows(data.imp, data.exp, st.main[site:site + 1])
        site_main = PointFlows(*(x[0] for x in (site_main.import_kwh, site_main.export_kwh,
                                                site_main.import_quality,
                                                site_main.export_quality)))
        site_subs = _flows(data.imp, data.exp, subs_idx)
        site_vp = _site_row(vp, site)
        codes = _diagnose(site_main, site_subs, site_vp, starts, m.resolution_ms,
                          [str(g) for g in topo.gsrn[subs_idx]], str(topo.site[st.main[site]]))
        codes = _production_hours(codes, site_main.export_kwh, daylight)
        raw = np.where(site_vp.negative_import, site_vp.raw_import_kwh, 0.0)
        mp = st.main[site]
        neg = np.flatnonzero(codes != "")
        for day in np.unique(day_of[neg]).tolist():
            on_day = neg[day_of[neg] == day]
            for cause in sorted(set(codes[on_day].tolist())):
                hit = on_day[codes[on_day] == cause]
                energy = float(-np.nansum(raw[hit]))
                rows.add(K.NEGATIVE, topo.site[mp], topo.gsrn[mp], topo.operator[mp], day,
                         value=float(len(hit)), low=-energy, cause=cause,
                         detail=f"{len(hit)} negative interval(s), {energy:.3f} kWh: "
                                f"{_CAUSE_TEXT.get(cause, cause)}")
    neg_e = np.add.reduceat(vp.negative_export, first[:-1], axis=1)
    for site, day in zip(*np.nonzero(neg_e), strict=True):
        mp = st.main[site]
        rows.add(K.NEGATIVE_EXPORT, topo.site[mp], topo.gsrn[mp], topo.operator[mp], int(day),
                 value=float(neg_e[site, day]), cause="not_diagnosed",
                 detail=f"{neg_e[site, day]} interval(s) where the serial meters export more "
                        "than the main meter")


def _site_row(vp: VirtualPoint, site: int) -> VirtualPoint:
    """One site's row of the many-site virtual point (report policy: nothing clamped)."""
    rows = {f: getattr(vp, f)[site] for f in ("import_kwh", "export_kwh", "net_kwh",
                                              "import_quality", "export_quality", "net_quality",
                                              "negative_import", "negative_export",
                                              "clamped_import", "clamped_export")}
    return replace(vp, **rows)


def _diagnose(main: PointFlows, subs: PointFlows, vp: Any, starts: np.ndarray,
              resolution_ms: int, names: list[str], site: str) -> np.ndarray:
    """The negative-residual diagnosis of one site's period, one code per interval.

    The kernel decides each negative interval in order: the main meter exported in it →
    production; else its shift test (one answer for the whole site and period, from the whole
    series) → misaligned timestamps or a sub-meter reading more. So the kernel is asked about
    one interval without export and its answer holds for every such interval, while the
    exporting ones take the kernel's first rule; the kernel writes a sentence per interval it is
    asked about, which a PV site would otherwise pay for thousands of times. The codes are the
    ones a full call gives (a test checks this on a whole block).
    """
    exported = np.nan_to_num(main.export_kwh) > DEFAULT_TOLERANCE_KWH
    codes = np.full(len(exported), "", dtype=object)
    codes[vp.negative_import & exported] = DIAG_PRODUCTION
    rest = np.flatnonzero(vp.negative_import & ~exported)
    if len(rest):
        one = np.zeros(len(exported), dtype=bool)
        one[rest[0]] = True
        diag = diagnose_negative_residuals(main, subs, replace(vp, negative_import=one), starts,
                                           resolution_ms, sub_names=names, site=site)
        codes[rest] = diag.codes[int(rest[0])]
    return codes


def _local_slot(starts: np.ndarray, m: L.Manifest) -> np.ndarray:
    """Each interval's local clock time of day, in intervals (0 = the one at 00:00)."""
    hours = L.local_clock_hours(starts, m.zone)
    return np.round(hours * MS_PER_HOUR / m.resolution_ms).astype(np.int64)


_CAUSE_TEXT = {
    DIAG_PRODUCTION: "production behind the main meter, which cannot be netted against a "
                     "serial consumption point",
    DIAG_SUB_EXCEEDS: "the serial meters read more than the main meter",
    DIAG_MISALIGNED: "a serial meter's values are labelled at the wrong time",
}


def _daylight(main_export: np.ndarray, slot: np.ndarray, day_of: np.ndarray, days: int,
              margin: int) -> np.ndarray:
    """Per interval: is it within the times of day at which any site of the block exports
    on that local day, widened by ``margin`` intervals each side (the block's own daylight)."""
    exporting = (np.nan_to_num(main_export) > DEFAULT_TOLERANCE_KWH).any(axis=0)
    lo = np.full(days, np.iinfo(np.int64).max)
    hi = np.full(days, np.iinfo(np.int64).min)
    np.minimum.at(lo, day_of[exporting], slot[exporting])
    np.maximum.at(hi, day_of[exporting], slot[exporting])
    return (slot >= lo[day_of] - margin) & (slot <= hi[day_of] + margin)


def _production_hours(codes: np.ndarray, main_export: np.ndarray, daylight: np.ndarray
                      ) -> np.ndarray:
    """Call production what happens while a producing site's production can be there.

    The kernel calls an interval *production* when the main meter exported in it. A summation
    meter nets production against a charging car inside the interval, so the main meter need
    not export while production is behind it: at a site whose main meter exports at some time
    of the period (a producer), a negative interval the kernel attributes to the serial meters
    reading more is called production when it lies in the block's daylight (the times of day
    at which sites of the block export that day, widened by an hour each side: production
    ramps up and down for a while before and after it exceeds a household's consumption). The
    kernel's own text names this possibility.
    """
    if not (np.nan_to_num(main_export) > DEFAULT_TOLERANCE_KWH).any():
        return codes
    out = codes.copy()
    out[(codes == DIAG_SUB_EXCEEDS) & daylight] = DIAG_PRODUCTION
    return out


def _stuck_and_swapped(rows: K.FindingRows, m: L.Manifest, data: BlockData,
                       st: _Sites) -> tuple[np.ndarray, np.ndarray]:
    """Stuck days of every point, swapped serial meters; returns (stuck days, swapped)."""
    topo = data.topo
    first = m.day_first_index
    v = data.imp.kwh
    hi = np.maximum.reduceat(np.nan_to_num(v, nan=-np.inf), first[:-1], axis=1)
    lo = np.minimum.reduceat(np.nan_to_num(v, nan=np.inf), first[:-1], axis=1)
    complete = np.add.reduceat(data.imp.quality == Quality.MEASURED, first[:-1], axis=1) \
        == (first[1:] - first[:-1])[None, :]
    stuck = complete & (hi == lo) & (hi > 0)
    for pt, day in zip(*np.nonzero(stuck), strict=True):
        rows.add(K.STUCK, topo.site[pt], topo.gsrn[pt], topo.operator[pt], int(day),
                 value=float(hi[pt, day]),
                 detail=f"{hi[pt, day]:.3f} kWh in every interval of the day")
    imp_sum = np.nansum(data.imp.kwh[st.serial], axis=1)
    exp_sum = np.nansum(data.exp.kwh[st.serial], axis=1)
    swapped = (exp_sum > imp_sum) & (exp_sum >= SWAP_MIN_KWH)
    for j in np.flatnonzero(swapped):
        pt = st.serial[j]
        share = 100 * exp_sum[j] / (exp_sum[j] + imp_sum[j])
        rows.add(K.SWAPPED, topo.site[pt], topo.gsrn[pt], topo.operator[pt], -1, value=share,
                 detail=f"a consumption point that exported {exp_sum[j]:.1f} kWh and imported "
                        f"{imp_sum[j]:.1f} kWh ({share:.0f} % export): import and export "
                        "swapped")
    return stuck, swapped


def _main_net(data: BlockData, st: _Sites) -> np.ndarray:
    return data.imp.kwh[st.main] - data.exp.kwh[st.main]


def _reference(main_net: np.ndarray, serial: np.ndarray, st: _Sites) -> np.ndarray:
    """Per serial meter: its site's main net (import − export) less the site's other meters."""
    total = np.zeros_like(main_net)
    np.add.at(total, st.serial_site, np.nan_to_num(serial))
    return main_net[st.serial_site] - (total[st.serial_site] - np.nan_to_num(serial))


def _changes(values: np.ndarray) -> np.ndarray:
    """Interval-to-interval change, labelled like the later interval (NaN first)."""
    out = np.full(values.shape, np.nan)
    out[..., 1:] = np.diff(values, axis=-1)
    return out


def _labelling(rows: K.FindingRows, m: L.Manifest, data: BlockData, st: _Sites,
               main_net: np.ndarray, usable: np.ndarray, skip: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Labelling diagnosis of the scan's candidates.

    Returns the serial meters found wrong and every serial meter's import with the labelling
    corrections applied (:func:`meterbench.pipeline.labelling.apply_label_correction`). A
    mislabelled meter spoils the reference of the other meters of its site, so those are
    diagnosed once more against a reference built from the corrected series.
    """
    starts = m.start_ms + m.resolution_ms * np.arange(m.n_intervals, dtype=np.int64)
    summer = is_summer_time(starts, m.zone)
    serial_kwh = data.imp.kwh[st.serial]
    reference = np.where(usable, _reference(main_net, serial_kwh, st), np.nan)
    candidates = lag_candidates(serial_kwh, reference, [~summer, summer]) & ~skip
    found: dict[int, LabellingDiagnosis] = {}
    for j in np.flatnonzero(candidates).tolist():
        diag = _diagnose_labelling(m, starts, serial_kwh[j], reference[j])
        if diag.is_error:
            found[j] = diag
    corrected = serial_kwh.copy()
    for j, diag in found.items():
        series = IntervalSeries(starts, serial_kwh[j], data.imp.quality[st.serial[j]],
                                m.resolution_ms)
        corrected[j] = reindex(apply_label_correction(series, diag), m.start_ms,
                               m.end_ms).quantity
    spoiled = np.isin(st.serial_site, st.serial_site[list(found)]) if found else None
    if spoiled is not None:
        again = np.flatnonzero(spoiled & ~skip & ~np.isin(np.arange(len(st.serial)),
                                                          list(found)))
        if len(again):
            reference = np.where(usable, _reference(main_net, corrected, st), np.nan)
            for j in again.tolist():
                diag = _diagnose_labelling(m, starts, serial_kwh[j], reference[j])
                if diag.is_error:
                    found[j] = diag
    wrong = np.zeros(len(st.serial), dtype=bool)
    topo = data.topo
    for j in sorted(found):
        diag = found[j]
        wrong[j] = True
        pt = st.serial[j]
        w = np.nan if diag.winter_shift_ms is None else diag.winter_shift_ms / MS_PER_HOUR
        s = np.nan if diag.summer_shift_ms is None else diag.summer_shift_ms / MS_PER_HOUR
        rows.add(K.LABELLING, topo.site[pt], topo.gsrn[pt], topo.operator[pt], -1,
                 value=s if np.isfinite(s) else w, winter_shift_h=w, summer_shift_h=s,
                 cause=diag.kind, detail=f"{diag.text}; correction: {diag.correction}")
    return wrong, corrected


def _diagnose_labelling(m: L.Manifest, starts: np.ndarray, serial: np.ndarray,
                        reference: np.ndarray) -> LabellingDiagnosis:
    """The kernel on changes, the reference kept near the meter's own load changes.

    The reference of a serial meter also carries the household (and any production), which
    the meter does not see. So the kernel is given **changes** rather than levels (the
    household's slow variation cancels; a switching appliance stays), and the reference only
    within the kernel's shift range of the meter's own load changes (elsewhere it carries no
    timing information, only household noise that would dilute the comparison).
    """
    reach = MAX_SHIFT_MS // m.resolution_ms
    d_op = _changes(serial)
    switching = np.nan_to_num(np.abs(d_op)) >= SWITCH_KWH
    near = np.convolve(switching.astype(np.float64), np.ones(2 * reach + 1), "same") > 0.5
    d_ref = np.where(near, _changes(reference), np.nan)
    op = IntervalSeries(starts, d_op, _present(d_op), m.resolution_ms)
    ref = IntervalSeries(starts, d_ref, _present(d_ref), m.resolution_ms)
    return diagnose_labelling(op, ref, zone=m.zone, max_shift_ms=MAX_SHIFT_MS)


def _present(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), Quality.MEASURED, Quality.MISSING).astype(np.uint8)


def _meter_errors(rows: K.FindingRows, m: L.Manifest, data: BlockData, st: _Sites,
                  main_net: np.ndarray, serial: np.ndarray, usable: np.ndarray,
                  skip: np.ndarray) -> Any:
    """Error estimate of every serial meter (labels corrected where the diagnosis found them
    wrong, so a mislabelled meter does not spoil its neighbours' fit); a finding where it
    exceeds the in-service limit. Meters in ``skip`` are fitted but not judged."""
    topo = data.topo
    est = estimate_errors(main_net, serial, st.serial_site, usable & np.isfinite(serial))
    limits = np.array([in_service_limit_pct(str(c), country=m.country) if c else np.nan
                       for c in topo.accuracy_class[st.serial]])
    judged = est.estimated & ~skip & np.isfinite(limits)
    exceeds = judged & ((est.low_pct > limits) | (est.high_pct < -limits))
    for j in np.flatnonzero(exceeds):
        pt = st.serial[j]
        rows.add(K.METER_ERROR, topo.site[pt], topo.gsrn[pt], topo.operator[pt], -1,
                 value=float(est.error_pct[j]), low=float(est.low_pct[j]),
                 high=float(est.high_pct[j]), limit=float(limits[j]),
                 cause="exceeds_in_service_limit",
                 detail=f"reads {est.error_pct[j]:+.2f} % against the main meter (95 % CI "
                        f"{est.low_pct[j]:+.2f} … {est.high_pct[j]:+.2f} %), beyond the "
                        f"in-service limit ±{limits[j]:g} % of class {topo.accuracy_class[pt]} "
                        f"({m.country})")
    pa = L.pa()
    status = np.where(~est.estimated, "not_estimated",
                      np.where(skip, "not_judged", np.where(exceeds, "exceeds", "within")))
    return pa.table({
        "site": pa.array(topo.site[st.serial].tolist(), pa.string()),
        "gsrn": pa.array(topo.gsrn[st.serial].tolist(), pa.string()),
        "operator": pa.array(topo.operator[st.serial].tolist(), pa.string()),
        "accuracy_class": pa.array(topo.accuracy_class[st.serial].tolist(), pa.string()),
        "error_pct": pa.array(est.error_pct, pa.float64()),
        "low_pct": pa.array(est.low_pct, pa.float64()),
        "high_pct": pa.array(est.high_pct, pa.float64()),
        "limit_pct": pa.array(limits, pa.float64()),
        "differences": pa.array(est.used, pa.int64()),
        "status": pa.array(status.tolist(), pa.string())})


def screen_data(m: L.Manifest, data: BlockData, settings: ScreenSettings, block: int = 0
                ) -> BlockResult:
    """Every check on one block's assembled data (pure: no I/O)."""
    topo = data.topo
    st = _sites(topo)
    result = BlockResult(block=block, findings=None, errors=None,
                         site_days=len(st.main) * m.days, sites=len(st.main), points=len(topo),
                         serial=len(st.serial))
    rows = K.FindingRows(m.first_day)
    _deliveries(rows, m, data, settings, result)
    _negative_residuals(rows, m, data, st)
    stuck, swapped = _stuck_and_swapped(rows, m, data, st)
    main_net = _main_net(data, st)
    first = m.day_first_index
    day_of_interval = np.repeat(np.arange(m.days), first[1:] - first[:-1])
    usable = (data.imp.quality[st.serial] != Quality.MISSING) \
        & ~stuck[st.serial][:, day_of_interval]
    labelled_wrong, corrected = _labelling(rows, m, data, st, main_net, usable, swapped)
    result.errors = _meter_errors(rows, m, data, st, main_net, corrected, usable,
                                  swapped | labelled_wrong)
    result.findings = rows.table()
    return result


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def screen_block(dataset: str, block: int, settings: ScreenSettings) -> BlockResult:
    """Read, check and screen one block: the task every worker runs."""
    t0 = time.perf_counter()
    folder = Path(dataset)
    m = L.read_manifest(folder)
    topo = L.read_topology(folder, m, block=block)
    data = read_block(folder, m, topo, block)
    result = screen_data(m, data, settings, block)
    result.seconds = time.perf_counter() - t0
    result.peak_rss_mb = _peak_rss_mb()
    result.worker = f"{socket.gethostname()}:{os.getpid()}"
    return result
