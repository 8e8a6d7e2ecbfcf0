"""Negative residuals of a block's virtual main points, and why.

Every site is netted at once (:func:`meterbench.pipeline.virtual_main_point`); each site with
negative import residuals is explained by the bench's diagnosis
(:func:`meterbench.pipeline.diagnose_negative_residuals`) over the whole period, and reported
per local day and cause. Negative export residuals are reported, not diagnosed (as in the
pipeline).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from meterbench.core.timeutil import MS_PER_HOUR
from meterbench.fleet import findings as K
from meterbench.fleet import layout as L
from meterbench.fleet.assemble import BlockData, Direction, Sites
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

#: Daylight of a block: the times of day its sites export, widened by this much each side.
PRODUCTION_MARGIN_MS = MS_PER_HOUR


def flows(d_imp: Direction, d_exp: Direction, idx: np.ndarray) -> PointFlows:
    return PointFlows(d_imp.kwh[idx], d_exp.kwh[idx], d_imp.quality[idx], d_exp.quality[idx])


def residual_findings(rows: K.FindingRows, m: L.Manifest, data: BlockData,
                        st: Sites) -> None:
    """Net every site at once; diagnose the sites with negative residuals, report per day."""
    topo = data.topo
    main = flows(data.imp, data.exp, st.main)
    subs = flows(data.imp, data.exp, st.serial)
    vp = virtual_main_point(main, subs, sub_site=st.serial_site, n_sites=len(st.main))
    first = m.day_first_index
    day_of = np.repeat(np.arange(m.days), first[1:] - first[:-1])
    starts = m.start_ms + m.resolution_ms * np.arange(m.n_intervals, dtype=np.int64)
    daylight = _daylight(data.exp.kwh[st.main], _local_slot(starts, m), day_of, m.days,
                         PRODUCTION_MARGIN_MS // m.resolution_ms)
    for site in np.flatnonzero(vp.negative_import.any(axis=1)):
        subs_idx = st.serial[st.serial_site == site]
        site_main = flows(data.imp, data.exp, st.main[site:site + 1])
        site_main = PointFlows(*(x[0] for x in (site_main.import_kwh, site_main.export_kwh,
                                                site_main.import_quality,
                                                site_main.export_quality)))
        site_subs = flows(data.imp, data.exp, subs_idx)
        site_vp = _site_row(vp, site)
        codes = diagnose_site(site_main, site_subs, site_vp, starts, m.resolution_ms,
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


def diagnose_site(main: PointFlows, subs: PointFlows, vp: Any, starts: np.ndarray,
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
