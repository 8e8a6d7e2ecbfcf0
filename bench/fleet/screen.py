"""Screen one block of sites with the pipeline's kernels; the same function runs on every worker.

Per block (a few hundred sites, the whole period) the deliveries are placed on the grid
(:mod:`meterbench.fleet.assemble`), then checked:

* deliveries: completeness, duplicates and conflicts, timeliness (:mod:`meterbench.fleet.deliveries`);
* negative residuals of every site's virtual main point and their diagnosis
  (:mod:`meterbench.fleet.residuals`);
* stuck days and swapped channels (here);
* labelling of the serial meters (:mod:`meterbench.fleet.labels`);
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
from dataclasses import dataclass, field
from datetime import time as dtime
from pathlib import Path
from typing import Any

import numpy as np

from meterbench.accuracy.limits import in_service_limit_pct
from meterbench.core.quality import Quality
from meterbench.fleet import findings as K
from meterbench.fleet import layout as L
from meterbench.fleet.assemble import (
    BlockData,
    Sites,
    block_sites,
    count_per_day,
    nan_to_zero,
    read_block,
)
from meterbench.fleet.deliveries import Timeliness, delivery_findings
from meterbench.fleet.error_estimate import estimate_errors, judge_errors
from meterbench.fleet.labels import labelling_findings, main_net_of
from meterbench.fleet.residuals import residual_findings

#: A serial meter whose export exceeds its import over the period, by at least this much, has
#: its channels swapped (a consumption point - charger, heat pump - does not export).
SWAP_MIN_KWH = 1.0


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
    timeliness: Timeliness = field(default_factory=Timeliness)
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    worker: str = ""


def _stuck(rows: K.FindingRows, m: L.Manifest, data: BlockData) -> np.ndarray:
    """Stuck days of every point (points, days): one non-zero value all day, all measured.

    A value is NaN exactly where its quality is missing (:mod:`meterbench.fleet.assemble`), so
    a day with every interval measured has no NaN, and its maximum and minimum are the
    values' own; on other days they may be NaN, but such a day is not stuck anyway.
    """
    topo = data.topo
    first = m.day_first_index
    v = data.imp.kwh
    hi = np.maximum.reduceat(v, first[:-1], axis=1)
    lo = np.minimum.reduceat(v, first[:-1], axis=1)
    complete = count_per_day(data.imp.quality == Quality.MEASURED, first) \
        == (first[1:] - first[:-1])[None, :]
    stuck = complete & (hi == lo) & (hi > 0)
    pt, day = np.nonzero(stuck)
    value = hi[pt, day]
    rows.add_many(K.STUCK, pt, topo, day, value=value,
                  detail=[f"{x:.3f} kWh in every interval of the day" for x in value.tolist()])
    return stuck


def _swapped(rows: K.FindingRows, data: BlockData, st: Sites, serial_filled: np.ndarray
             ) -> np.ndarray:
    """Serial meters (consumption points) whose export exceeds their import over the period
    (``serial_filled``: their import, NaN as 0; sums as np.nansum makes them)."""
    topo = data.topo
    imp_sum = serial_filled.sum(axis=1)
    exp_sum = nan_to_zero(data.exp.kwh[st.serial_rows]).sum(axis=1)
    swapped = (exp_sum > imp_sum) & (exp_sum >= SWAP_MIN_KWH)
    for j in np.flatnonzero(swapped):
        pt = st.serial[j]
        share = 100 * exp_sum[j] / (exp_sum[j] + imp_sum[j])
        rows.add(K.SWAPPED, topo.site[pt], topo.gsrn[pt], topo.operator[pt], -1, value=share,
                 detail=f"a consumption point that exported {exp_sum[j]:.1f} kWh and imported "
                        f"{imp_sum[j]:.1f} kWh ({share:.0f} % export): import and export "
                        "swapped")
    return swapped


def _meter_errors(rows: K.FindingRows, m: L.Manifest, data: BlockData, st: Sites,
                  main_net: np.ndarray, serial: np.ndarray, usable: np.ndarray,
                  skip: np.ndarray) -> Any:
    """Error estimate of every serial meter (labels corrected where the diagnosis found them
    wrong, so a mislabelled meter does not spoil its neighbours' fit); a finding where it
    exceeds the in-service limit. Meters in ``skip`` are fitted but not judged."""
    topo = data.topo
    est = estimate_errors(main_net, serial, st.serial_site, usable & np.isfinite(serial))
    classes = topo.accuracy_class[st.serial]
    limit_of = {c: in_service_limit_pct(str(c), country=m.country) if c else np.nan
                for c in set(classes.tolist())}
    limits = np.array([limit_of[c] for c in classes.tolist()], dtype=np.float64)
    status = judge_errors(est, limits, skip)
    for j in np.flatnonzero(status == "exceeds"):
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
    st = block_sites(topo)
    result = BlockResult(block=block, findings=None, errors=None,
                         site_days=len(st.main) * m.days, sites=len(st.main), points=len(topo),
                         serial=len(st.serial))
    rows = K.FindingRows(m.first_day)
    delivery_findings(rows, m, data, settings.deadline, result.timeliness)
    stuck = _stuck(rows, m, data)
    serial_imp = data.imp.kwh[st.serial_rows]
    serial_filled = nan_to_zero(serial_imp)
    swapped = _swapped(rows, data, st, serial_filled)
    main_net = main_net_of(data, st)
    first = m.day_first_index
    day_of_interval = np.repeat(np.arange(m.days), first[1:] - first[:-1])
    usable = (data.imp.quality[st.serial_rows] != Quality.MISSING) \
        & ~stuck[st.serial_rows][:, day_of_interval]
    labelled_wrong, corrected, shifted = labelling_findings(rows, m, data, st, main_net,
                                                            serial_imp, serial_filled, usable,
                                                            swapped)
    residual_findings(rows, m, data, st, shifted)  # a labelling found explains its negatives
    result.errors = _meter_errors(rows, m, data, st, main_net, corrected, usable,
                                  swapped | labelled_wrong)
    result.findings = rows.table()
    return result


def _peak_rss_mb() -> float:
    """This process's own peak resident memory (MB).

    Linux's ``VmHWM``: ``getrusage``'s ``ru_maxrss`` survives fork and exec, so a worker
    started by a large process would report its parent's peak instead of its own.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:  # not Linux
        pass
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
