"""Negative residuals of a block's virtual main points, and why.

Every site is netted at once (:func:`meterbench.pipeline.virtual_main_point`); the sites with
negative import residuals are explained by the bench's diagnosis over the whole period, all of
them at once (:func:`meterbench.pipeline.negative_residuals.diagnose_codes`, the codes of
:func:`meterbench.pipeline.diagnose_negative_residuals` without a sentence per interval), and
reported per local day and cause. Negative export residuals are reported, not diagnosed (as in
the pipeline).
"""

from __future__ import annotations

import numpy as np

from meterbench.core.timeutil import MS_PER_HOUR
from meterbench.fleet import findings as K
from meterbench.fleet import layout as L
from meterbench.fleet.assemble import BlockData, Direction, Sites, count_per_day
from meterbench.pipeline.labelling import is_summer_time
from meterbench.pipeline.negative_residuals import (
    CAUSES,
    DIAG_MISALIGNED,
    DIAG_PRODUCTION,
    DIAG_SUB_EXCEEDS,
    diagnose_codes,
)
from meterbench.pipeline.netting import DEFAULT_TOLERANCE_KWH, PointFlows, virtual_main_point

#: Daylight of a block: the times of day its sites export, widened by this much each side.
PRODUCTION_MARGIN_MS = MS_PER_HOUR

#: Findings of one site and day come in this order of causes (by name).
REPORT_ORDER = tuple(sorted(CAUSES))
_CODE = {c: np.int8(k + 1) for k, c in enumerate(CAUSES)}


def flows(d_imp: Direction, d_exp: Direction, idx: np.ndarray | slice | int) -> PointFlows:
    return PointFlows(d_imp.kwh[idx], d_exp.kwh[idx], d_imp.quality[idx], d_exp.quality[idx])


def residual_findings(rows: K.FindingRows, m: L.Manifest, data: BlockData, st: Sites,
                      shifted: np.ndarray | None = None) -> None:
    """Net every site at once; diagnose the sites with negative residuals, report per day.

    ``shifted`` (per serial meter, ``[winter, summer]``): the seasons the labelling diagnosis
    found a serial meter's labels shifted in. The whole-period shift search cannot see a shift
    in summer time only; the labelling diagnosis can, so a negative residual of such a site in
    such a season is misaligned timestamps, not a serial meter reading more than the main."""
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
    codes = site_codes(data, st, sites, vp.negative_import[sites])
    if shifted is not None and shifted.any():
        _labelling_explains(codes, sites, st, shifted, is_summer_time(starts, m.zone))
    _production_hours(codes, exporting[sites].any(axis=1), daylight)
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

    Findings come in site, day and cause order (:data:`REPORT_ORDER`); a finding's energy is
    the sum of its intervals' residuals in time order (``np.sum`` of exactly those values).
    """
    row, t = np.nonzero(codes)
    if not len(row):
        return
    rank = np.array([0] + [REPORT_ORDER.index(c) for c in CAUSES])[codes[row, t]]
    key = (row * m.days + day_of[t]) * len(CAUSES) + rank
    order = np.argsort(key, kind="stable")  # within one finding: time order
    key, values = key[order], raw[row[order], t[order]]
    begin = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    count = np.diff(np.concatenate([begin, [len(key)]]))
    energy = [float(-np.add.reduce(values[a:a + n]))
              for a, n in zip(begin.tolist(), count.tolist(), strict=True)]
    cause = [REPORT_ORDER[c] for c in (key[begin] % len(CAUSES)).tolist()]
    rows.add_many(K.NEGATIVE, mains[key[begin] // len(CAUSES) // m.days], topo,
                  key[begin] // len(CAUSES) % m.days, value=count.astype(float),
                  low=-np.asarray(energy), cause=cause,
                  detail=[f"{n} negative interval(s), {e:.3f} kWh: {_CAUSE_TEXT[c]}"
                          for n, e, c in zip(count.tolist(), energy, cause, strict=True)])


def site_codes(data: BlockData, st: Sites, sites: np.ndarray, negative: np.ndarray
               ) -> np.ndarray:
    """The kernel's cause of each negative interval of ``sites`` (``CAUSES[code - 1]``; 0: not
    negative), all sites at once, their serial meters in the order of ``st.serial``."""
    first = np.searchsorted(st.serial_site, sites)
    count = np.searchsorted(st.serial_site, sites, side="right") - first
    start = np.concatenate([[0], np.cumsum(count)])
    subs = st.serial[np.repeat(first - start[:-1], count) + np.arange(start[-1])]
    mains = st.main[sites]
    return diagnose_codes(data.imp.kwh[mains], data.exp.kwh[mains], data.imp.kwh[subs], start,
                          negative)


def _labelling_explains(codes: np.ndarray, sites: np.ndarray, st: Sites, shifted: np.ndarray,
                        summer: np.ndarray) -> None:
    """Re-attribute, in place, a "sub meter exceeds main" interval of ``sites`` (rows of
    ``codes``) to misaligned timestamps where a serial meter of the site has shifted labels in
    that interval's season (production behind the main meter keeps its cause)."""
    by_site = np.zeros((len(st.main), 2), dtype=bool)
    np.logical_or.at(by_site, st.serial_site, shifted)
    season = by_site[sites]
    in_shift = np.where(summer[None, :], season[:, 1:2], season[:, 0:1])
    codes[(codes == _CODE[DIAG_SUB_EXCEEDS]) & in_shift] = _CODE[DIAG_MISALIGNED]


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


def _production_hours(codes: np.ndarray, producer: np.ndarray, daylight: np.ndarray) -> None:
    """Call production what happens while a producing site's production can be there (in
    place; ``producer``: per row of ``codes``, the site's main meter exports at some time).

    The kernel calls an interval *production* when the main meter exported in it. A summation
    meter nets production against a charging car inside the interval, so the main meter need
    not export while production is behind it: at a site whose main meter exports at some time
    of the period (a producer), a negative interval the kernel attributes to the serial meters
    reading more is called production when it lies in the block's daylight (the times of day
    at which sites of the block export that day, widened by an hour each side: production
    ramps up and down for a while before and after it exceeds a household's consumption). The
    kernel's own text names this possibility.
    """
    at = (codes == _CODE[DIAG_SUB_EXCEEDS]) & daylight[None, :] & producer[:, None]
    codes[at] = _CODE[DIAG_PRODUCTION]
