"""Labelling of a block's serial meters against their references.

A serial meter's reference is its site's main meter (import − export) less the site's other
serial meters. A lag scan (:mod:`meterbench.fleet.label_scan`) picks the candidates, the bench's
:func:`meterbench.pipeline.diagnose_labelling` decides, and
:func:`meterbench.pipeline.apply_label_correction` corrects what it finds, so that a mislabelled
meter does not spoil its neighbours' diagnosis and error fit.
"""

from __future__ import annotations

import numpy as np

from meterbench.core.quality import Quality
from meterbench.core.timeutil import MS_PER_HOUR
from meterbench.fleet import findings as K
from meterbench.fleet import layout as L
from meterbench.fleet.assemble import BlockData, Sites, nan_to_zero
from meterbench.fleet.label_scan import lag_candidates
from meterbench.pipeline.labelling import (
    LabellingDiagnosis,
    apply_label_correction,
    diagnose_labelling,
    is_summer_time,
)
from meterbench.pipeline.localday import reindex
from meterbench.pipeline.series import IntervalSeries

#: Shifts searched (the labelling diagnosis's own default), and the change of a serial meter's
#: interval value that counts as its load switching (400 W over a quarter-hour).
MAX_SHIFT_MS = 3 * MS_PER_HOUR
SWITCH_KWH = 0.1


def main_net_of(data: BlockData, st: Sites) -> np.ndarray:
    return data.imp.kwh[st.main_rows] - data.exp.kwh[st.main_rows]


def _reference(main_net: np.ndarray, filled: np.ndarray, st: Sites,
               meters: np.ndarray | None = None) -> np.ndarray:
    """Per serial meter (every one, or the rows ``meters``): its site's main net (import −
    export) less the site's other serial meters (``filled``: their import, NaN as 0).

    Only the sites of the meters asked about are summed. A site's total starts from zero and
    adds its meters in row order, one meter position at a time for all sites together (the
    same additions in the same order as adding row by row).
    """
    rows = np.arange(len(st.serial)) if meters is None else np.asarray(meters)
    sites, at = np.unique(st.serial_site[rows], return_inverse=True)
    bounds = np.searchsorted(st.serial_site, np.arange(len(st.main) + 1))
    first, count = bounds[sites], bounds[sites + 1] - bounds[sites]
    total = np.zeros((len(sites), filled.shape[1]))
    for k in range(int(count.max(initial=0))):
        has = np.flatnonzero(count > k)
        total[has] += filled[first[has] + k]
    others = total[at]
    np.subtract(others, filled if meters is None else filled[rows], out=others)
    out = main_net[st.serial_site[rows]]
    return np.subtract(out, others, out=out)


def _changes(values: np.ndarray) -> np.ndarray:
    """Interval-to-interval change, labelled like the later interval (NaN first)."""
    out = np.full(values.shape, np.nan)
    out[..., 1:] = np.diff(values, axis=-1)
    return out


def labelling_findings(rows: K.FindingRows, m: L.Manifest, data: BlockData, st: Sites,
                       main_net: np.ndarray, serial_kwh: np.ndarray, serial_filled: np.ndarray,
                       usable: np.ndarray, skip: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labelling diagnosis of the scan's candidates.

    ``serial_kwh`` is the serial meters' import (rows of ``st.serial``), ``serial_filled`` the
    same with NaN as 0. Returns the serial meters found wrong, every serial meter's import with
    the labelling corrections applied
    (:func:`meterbench.pipeline.labelling.apply_label_correction`), and per serial meter the
    seasons its labels are shifted in (``[winter, summer]``: a summer-only fault is shifted in
    summer time only), which the negative-residual diagnosis uses. A
    mislabelled meter spoils the reference of the other meters of its site, so those are
    diagnosed once more against a reference built from the corrected series.
    """
    starts = m.start_ms + m.resolution_ms * np.arange(m.n_intervals, dtype=np.int64)
    summer = is_summer_time(starts, m.zone)
    reference = _reference(main_net, serial_filled, st)
    np.copyto(reference, np.nan, where=~usable)
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
    if found:  # the other meters of a site with a mislabelled one: against the corrected
        spoiled = np.isin(st.serial_site, st.serial_site[list(found)])
        again = np.flatnonzero(spoiled & ~skip & ~np.isin(np.arange(len(st.serial)),
                                                          list(found)))
        if len(again):
            ref_again = np.where(usable[again],
                                 _reference(main_net, nan_to_zero(corrected), st, again),
                                 np.nan)
            for j, ref in zip(again.tolist(), ref_again, strict=True):
                diag = _diagnose_labelling(m, starts, serial_kwh[j], ref)
                if diag.is_error:
                    found[j] = diag
    wrong = np.zeros(len(st.serial), dtype=bool)
    shifted = np.zeros((len(st.serial), 2), dtype=bool)
    topo = data.topo
    for j in sorted(found):
        diag = found[j]
        wrong[j] = True
        shifted[j] = [bool(diag.winter_shift_ms), bool(diag.summer_shift_ms)]  # None, 0: not
        pt = st.serial[j]
        w = np.nan if diag.winter_shift_ms is None else diag.winter_shift_ms / MS_PER_HOUR
        s = np.nan if diag.summer_shift_ms is None else diag.summer_shift_ms / MS_PER_HOUR
        rows.add(K.LABELLING, topo.site[pt], topo.gsrn[pt], topo.operator[pt], -1,
                 value=s if np.isfinite(s) else w, winter_shift_h=w, summer_shift_h=s,
                 cause=diag.kind, detail=f"{diag.text}; correction: {diag.correction}")
    return wrong, corrected, shifted


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
    switching = np.abs(d_op) >= SWITCH_KWH  # NaN: not switching
    near = np.convolve(switching.astype(np.float64), np.ones(2 * reach + 1), "same") > 0.5
    d_ref = np.where(near, _changes(reference), np.nan)
    op = IntervalSeries(starts, d_op, _present(d_op), m.resolution_ms)
    ref = IntervalSeries(starts, d_ref, _present(d_ref), m.resolution_ms)
    return diagnose_labelling(op, ref, zone=m.zone, max_shift_ms=MAX_SHIFT_MS)


def _present(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), Quality.MEASURED, Quality.MISSING).astype(np.uint8)
