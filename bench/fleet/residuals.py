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
from meterbench.fleet.assemble import BlockData, Direction, Sites, count_per_day
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

#: The kernel's causes in report order (by name); an interval's code is its index + 1, 0 none.
CAUSES = tuple(sorted((DIAG_MISALIGNED, DIAG_PRODUCTION, DIAG_SUB_EXCEEDS)))
_CODE = {c: np.int8(k + 1) for k, c in enumerate(CAUSES)}


def flows(d_imp: Direction, d_exp: Direction, idx: np.ndarray | slice | int) -> PointFlows:
    return PointFlows(d_imp.kwh[idx], d_exp.kwh[idx], d_imp.quality[idx], d_exp.quality[idx])


def residual_findings(rows: K.FindingRows, m: L.Manifest, data: BlockData,
                      st: Sites) -> None:
    """Net every site at once; diagnose the sites with negative residuals, report per day."""
    main = flows(data.imp, data.exp, st.main_rows)
    subs = flows(data.imp, data.exp, st.serial_rows)
    vp = virtual_main_point(main, subs, sub_site=st.serial_site, n_sites=len(st.main))
    first = m.day_first_index
    day_of = np.repeat(np.arange(m.days), first[1:] - first[:-1])
    starts = m.start_ms + m.resolution_ms * np.arange(m.n_intervals, dtype=np.int64)
    exporting = main.export_kwh > DEFAULT_TOLERANCE_KWH  # NaN (missing): not exporting
    daylight = _daylight(exporting, _local_slot(starts, m), day_of, m.days,
                         PRODUCTION_MARGIN_MS // m.resolution_ms)
    sites = np.flatnonzero(vp.negative_import.any(axis=1))
    codes = np.zeros((len(sites), m.n_intervals), dtype=np.int8)
    for i, site in enumerate(sites.tolist()):
        subs_idx = st.serial[st.serial_site == site]
        codes[i] = diagnose_site(flows(data.imp, data.exp, st.main[site]),
                                 flows(data.imp, data.exp, subs_idx), _site_row(vp, site),
                                 starts, m.resolution_ms,
                                 [str(g) for g in data.topo.gsrn[subs_idx]],
                                 str(data.topo.site[st.main[site]]))
        if exporting[site].any():
            _production_hours(codes[i], daylight)
    _report_negatives(rows, m, data.topo, st.main[sites], codes,
                      vp.raw_import_kwh[sites], day_of)
    neg_e = count_per_day(vp.negative_export, first)
    site, day = np.nonzero(neg_e)
    count = neg_e[site, day]
    rows.add_many(K.NEGATIVE_EXPORT, st.main[site], data.topo, day, value=count.astype(float),
                  cause="not_diagnosed",
                  detail=[f"{c} interval(s) where the serial meters export more than the main "
                          "meter" for c in count.tolist()])


def _report_negatives(rows: K.FindingRows, m: L.Manifest, topo: L.Topology, mains: np.ndarray,
                      codes: np.ndarray, raw: np.ndarray, day_of: np.ndarray) -> None:
    """One finding per site, local day and cause: the intervals and their energy.

    Findings come in site, day and cause order; a finding's energy is the sum of its
    intervals' residuals in time order (``np.sum`` of exactly those values).
    """
    row, t = np.nonzero(codes)
    if not len(row):
        return
    key = (row * m.days + day_of[t]) * len(CAUSES) + codes[row, t] - 1
    order = np.argsort(key, kind="stable")  # within one finding: time order
    key, values = key[order], raw[row[order], t[order]]
    begin = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    count = np.diff(np.concatenate([begin, [len(key)]]))
    energy = [float(-np.add.reduce(values[a:a + n]))
              for a, n in zip(begin.tolist(), count.tolist(), strict=True)]
    cause = [CAUSES[c] for c in (key[begin] % len(CAUSES)).tolist()]
    rows.add_many(K.NEGATIVE, mains[key[begin] // len(CAUSES) // m.days], topo,
                  key[begin] // len(CAUSES) % m.days, value=count.astype(float),
                  low=-np.asarray(energy), cause=cause,
                  detail=[f"{n} negative interval(s), {e:.3f} kWh: {_CAUSE_TEXT[c]}"
                          for n, e, c in zip(count.tolist(), energy, cause, strict=True)])


def _site_row(vp: VirtualPoint, site: int) -> VirtualPoint:
    """One site's row of the many-site virtual point (report policy: nothing clamped)."""
    rows = {f: getattr(vp, f)[site] for f in ("import_kwh", "export_kwh", "net_kwh",
                                              "import_quality", "export_quality", "net_quality",
                                              "negative_import", "negative_export",
                                              "clamped_import", "clamped_export")}
    return replace(vp, **rows)


def diagnose_site(main: PointFlows, subs: PointFlows, vp: Any, starts: np.ndarray,
                  resolution_ms: int, names: list[str], site: str) -> np.ndarray:
    """The negative-residual diagnosis of one site's period, one code per interval
    (``CAUSES[code - 1]``; 0: not negative).

    The kernel decides each negative interval in order: the main meter exported in it →
    production; else its shift test (one answer for the whole site and period, from the whole
    series) → misaligned timestamps or a sub-meter reading more. So the kernel is asked about
    one interval without export and its answer holds for every such interval, while the
    exporting ones take the kernel's first rule; the kernel writes a sentence per interval it is
    asked about, which a PV site would otherwise pay for thousands of times. The codes are the
    ones a full call gives (a test checks this on a whole block).
    """
    exported = main.export_kwh > DEFAULT_TOLERANCE_KWH  # as the kernel's test (NaN: 0)
    codes = np.zeros(len(exported), dtype=np.int8)
    codes[vp.negative_import & exported] = _CODE[DIAG_PRODUCTION]
    rest = np.flatnonzero(vp.negative_import & ~exported)
    if len(rest):
        one = np.zeros(len(exported), dtype=bool)
        one[rest[0]] = True
        diag = diagnose_negative_residuals(main, subs, replace(vp, negative_import=one), starts,
                                           resolution_ms, sub_names=names, site=site)
        codes[rest] = _CODE[diag.codes[int(rest[0])]]
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


def _daylight(exporting: np.ndarray, slot: np.ndarray, day_of: np.ndarray, days: int,
              margin: int) -> np.ndarray:
    """Per interval: is it within the times of day at which any site of the block exports
    on that local day, widened by ``margin`` intervals each side (the block's own daylight)."""
    exporting = exporting.any(axis=0)
    lo = np.full(days, np.iinfo(np.int64).max)
    hi = np.full(days, np.iinfo(np.int64).min)
    np.minimum.at(lo, day_of[exporting], slot[exporting])
    np.maximum.at(hi, day_of[exporting], slot[exporting])
    return (slot >= lo[day_of] - margin) & (slot <= hi[day_of] + margin)


def _production_hours(codes: np.ndarray, daylight: np.ndarray) -> None:
    """Call production what happens while a producing site's production can be there
    (``codes`` of a site whose main meter exports at some time of the period, in place).

    The kernel calls an interval *production* when the main meter exported in it. A summation
    meter nets production against a charging car inside the interval, so the main meter need
    not export while production is behind it: at a site whose main meter exports at some time
    of the period (a producer), a negative interval the kernel attributes to the serial meters
    reading more is called production when it lies in the block's daylight (the times of day
    at which sites of the block export that day, widened by an hour each side: production
    ramps up and down for a while before and after it exceeds a household's consumption). The
    kernel's own text names this possibility.
    """
    codes[(codes == _CODE[DIAG_SUB_EXCEEDS]) & daylight] = _CODE[DIAG_PRODUCTION]
