"""``meterbench fleet synth``: a seeded synthetic fleet with known faults.

Each site has a main meter (a summation meter: import and export from the sign of the site's
net power, sampled every 5 minutes) and one to three serial operator meters (EV chargers, heat
pumps); a share of sites has PV behind the main meter. Meter errors are small for healthy meters
(a few tenths of a percent); faulty ones carry one of :mod:`meterbench.fleet.faults`, and every
injected fault is a row of ``truth.parquet``. Values are rounded to DataHub's 0.001 kWh with the
pipeline's carry rounding, delivered one message per point and local day at an operator-typical
time the next morning.

Blocks are generated independently from ``(seed, block)``: the same seed gives the same dataset,
whatever the order or number of processes that write it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from meterbench.accuracy.limits import in_service_limit_pct
from meterbench.core.gs1 import gs1_check_digit
from meterbench.core.quality import Quality
from meterbench.core.timeutil import MS_PER_HOUR
from meterbench.fleet import faults as F
from meterbench.fleet import layout as L
from meterbench.fleet import loads
from meterbench.pipeline.labelling import is_summer_time
from meterbench.pipeline.rounding import round_with_carry

STEP_MS = 300_000  # physics every 5 minutes, so a quarter can hold import and export
#: Values per block the writer aims at (points × intervals): bounds a worker's memory.
BLOCK_VALUES = 4_000_000
DSO_GLN = "5790000000005"
SERIAL_CLASSES = ("B", "C")


@dataclass(frozen=True)
class SynthSettings:
    sites: int
    days: int
    first_day: date
    seed: int = 0
    sites_per_block: int | None = None
    zone: str = "Europe/Copenhagen"
    country: str = "DK"
    rates: F.FaultRates = field(default_factory=F.FaultRates)

    def block_size(self) -> int:
        if self.sites_per_block:
            return self.sites_per_block
        return max(1, min(self.sites, BLOCK_VALUES // (self.days * 96 * 3)))


def gsrn(site: int, k: int) -> str:
    body = f"571313{site:09d}{k:02d}"
    return body + gs1_check_digit(body)


def gln(k: int) -> str:
    body = f"579000001{k:03d}"
    return body + gs1_check_digit(body)


EV_OPERATORS = tuple(gln(k) for k in range(1, 4))
HP_OPERATORS = tuple(gln(k) for k in range(4, 7))
LATE_OPERATOR = EV_OPERATORS[2]  # this one delivers a day late, for the timeliness view


@dataclass
class _Block:
    """One block's points, as dense arrays on the period's grid, and its truth rows."""

    topo: L.Topology
    imp: np.ndarray        # (points, n) kWh
    exp: np.ndarray
    quality: np.ndarray    # (points, n) uint8, for both directions
    truth: list[tuple[str, str, str, int, float]]  # kind, site, gsrn, day index or -1, value


def _topology(rng: np.random.Generator, first_site: int, n_sites: int, block: int,
              pv_share: float) -> tuple[L.Topology, np.ndarray]:
    n_serial = rng.choice([1, 2, 3], size=n_sites, p=[0.6, 0.3, 0.1])
    first_is_ev = rng.random(n_sites) < 0.6
    pv_site = rng.random(n_sites) < pv_share
    cols: dict[str, list[Any]] = {k: [] for k in L.TOPOLOGY_COLUMNS}
    for i in range(n_sites):
        site = first_site + i
        kinds = ["ev", "heat_pump"] if first_is_ev[i] else ["heat_pump", "ev"]
        kinds = (kinds + ["ev"])[: n_serial[i]]
        rows = [("main", DSO_GLN, "", "household+pv" if pv_site[i] else "household")]
        for kind in kinds:
            ops = EV_OPERATORS if kind == "ev" else HP_OPERATORS
            rows.append(("serial", ops[int(rng.integers(len(ops)))],
                         SERIAL_CLASSES[int(rng.random() < 0.4)], kind))
        for k, (role, op, cls, appliance) in enumerate(rows):
            cols["site"].append(f"S{site:07d}")
            cols["block"].append(block)
            cols["gsrn"].append(gsrn(site, k))
            cols["role"].append(role)
            cols["operator"].append(op)
            cols["accuracy_class"].append(cls)
            cols["appliance"].append(appliance)
            cols["exports"].append(True)
    topo = L.Topology(*(np.asarray(cols[k], dtype=object) for k in L.TOPOLOGY_COLUMNS[:-1]),
                      exports=np.asarray(cols["exports"], dtype=bool))
    topo = L.Topology(site=topo.site, block=topo.block.astype(np.int32), gsrn=topo.gsrn,
                      role=topo.role, operator=topo.operator, accuracy_class=topo.accuracy_class,
                      appliance=topo.appliance, exports=topo.exports)
    return topo, pv_site


def _physics(rng: np.random.Generator, m: L.Manifest, topo: L.Topology, pv_site: np.ndarray,
             zone: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """True quarter-hour energies: serial meters (import), main import and export (kWh)."""
    n_int = m.n_intervals
    sub = m.resolution_ms // STEP_MS
    times = m.start_ms + STEP_MS * np.arange(n_int * sub, dtype=np.int64)
    hour = L.local_clock_hours(times, zone)
    day_index = np.searchsorted(m.day_bounds_ms, times, side="right") - 1
    day_start_step = (m.day_bounds_ms[:-1] - m.start_ms) // STEP_MS
    steps_per_hour = MS_PER_HOUR // STEP_MS
    site_names, site_of_point = np.unique(topo.site.astype(str), return_inverse=True)
    n_sites = len(site_names)
    serial = np.flatnonzero(topo.role == L.ROLE_SERIAL)
    power = np.zeros((len(serial), len(times)))
    ev = topo.appliance[serial] == "ev"
    if ev.any():
        power[ev] = loads.ev_charger(rng, day_start_step, steps_per_hour, len(times),
                                     int(ev.sum()))
    if (~ev).any():
        doy = (times / loads.MS_PER_DAY - 4.0) % 365.25
        temp = loads.outdoor_temperature(rng, doy, hour, day_index)
        power[~ev] = loads.heat_pump(rng, temp, hour, steps_per_hour, int((~ev).sum()))
    net = loads.household(rng, hour, n_sites)
    np.add.at(net, site_of_point[serial], power)
    if pv_site.any():
        net[pv_site] -= loads.pv(rng, times, day_index, int(pv_site.sum()))
    h = STEP_MS / MS_PER_HOUR
    serial_kwh = power.reshape(len(serial), n_int, sub).sum(axis=2) * h
    main_imp = np.maximum(net, 0.0).reshape(n_sites, n_int, sub).sum(axis=2) * h
    main_exp = np.maximum(-net, 0.0).reshape(n_sites, n_int, sub).sum(axis=2) * h
    return serial_kwh, main_imp, main_exp, site_of_point


def _shift(values: np.ndarray, k: int) -> np.ndarray:
    """Values labelled ``k`` intervals late (label = true start + k), zero where none arrives."""
    out = np.zeros_like(values)
    if k > 0:
        out[k:] = values[:-k]
    elif k < 0:
        out[:k] = values[-k:]
    else:
        out[:] = values
    return out


def _summer_late(values: np.ndarray, summer: np.ndarray, k: int) -> np.ndarray:
    """Labels ``k`` intervals late where the true start is in summer time, right in winter."""
    out = np.where(summer, 0.0, values)
    idx = np.flatnonzero(summer)
    idx = idx[idx + k < len(values)]
    out[idx + k] = values[idx]
    return out


def _block(settings: SynthSettings, m: L.Manifest, block: int, first_site: int,
           n_sites: int) -> tuple[_Block, np.ndarray, np.random.Generator]:
    rng = np.random.default_rng([settings.seed, block])
    rates = settings.rates
    topo, pv_site = _topology(rng, first_site, n_sites, block, rates.pv_share)
    serial_true, main_imp, main_exp, site_of_point = _physics(rng, m, topo, pv_site,
                                                              settings.zone)
    n_pts, n_int = len(topo), m.n_intervals
    serial = np.flatnonzero(topo.role == L.ROLE_SERIAL)
    main = np.flatnonzero(topo.role == L.ROLE_MAIN)
    truth: list[tuple[str, str, str, int, float]] = []
    for s in np.flatnonzero(pv_site):
        truth.append((F.PV, str(topo.site[main[s]]), "", -1, 0.0))
    # meter errors: the DSO's main meter within a tenth of a percent, serial meters per fault
    main_err = rng.normal(0.0, 0.001, len(main))
    for s_row, pt in enumerate(main):
        truth.append((F.ACCURACY, str(topo.site[pt]), str(topo.gsrn[pt]), -1,
                      float(main_err[s_row] * 100)))
    serial_err = np.clip(rng.normal(0.0, 0.002, len(serial)), -0.006, 0.006)
    kinds = np.array(["", F.SHIFT, F.SUMMER_ONLY, F.SWAP, F.METER_ERROR, F.STUCK, F.DEAD])
    p = [rates.shift, rates.summer_only, rates.swap, rates.meter_error, rates.stuck, rates.dead]
    fault = kinds[rng.choice(len(kinds), size=len(serial), p=[1.0 - sum(p), *p])]
    for j in np.flatnonzero(fault == F.METER_ERROR):
        limit = in_service_limit_pct(str(topo.accuracy_class[serial[j]]),
                                     country=settings.country)
        size = rng.uniform(max(3.0, limit + 1.0), limit + 5.0)
        serial_err[j] = size / 100 * (1 if rng.random() < 0.5 else -1)
    imp = np.empty((n_pts, n_int))
    exp = np.zeros((n_pts, n_int))
    imp[main] = round_with_carry(main_imp * (1 + main_err[:, None]), axis=-1)
    exp[main] = round_with_carry(main_exp * (1 + main_err[:, None]), axis=-1)
    imp[serial] = round_with_carry(serial_true * (1 + serial_err[:, None]), axis=-1)
    quality = np.full((n_pts, n_int), Quality.MEASURED, dtype=np.uint8)
    starts = m.start_ms + m.resolution_ms * np.arange(n_int, dtype=np.int64)
    summer = is_summer_time(starts, settings.zone)
    per_hour = MS_PER_HOUR // m.resolution_ms
    first = m.day_first_index
    busy_days = np.zeros((n_pts, m.days), dtype=bool)  # days a day-fault already uses
    for j, kind in enumerate(fault.tolist()):
        pt = serial[j]
        site, g = str(topo.site[pt]), str(topo.gsrn[pt])
        truth.append((F.ACCURACY, site, g, -1, float(serial_err[j] * 100)))
        if kind == F.SHIFT:
            k = int(rng.choice([1, per_hour, -per_hour]))
            imp[pt] = _shift(imp[pt], k)
            truth.append((kind, site, g, -1, k * m.resolution_ms / MS_PER_HOUR))
        elif kind == F.SUMMER_ONLY and summer.any():
            # a period without daylight-saving time leaves this meter correct: no fault
            imp[pt] = _summer_late(imp[pt], summer, per_hour)
            truth.append((kind, site, g, -1, 1.0))
        elif kind == F.SWAP:
            imp[pt], exp[pt] = exp[pt].copy(), imp[pt].copy()
            truth.append((kind, site, g, -1, 0.0))
        elif kind == F.METER_ERROR:
            truth.append((kind, site, g, -1, float(serial_err[j] * 100)))
        elif kind in (F.STUCK, F.DEAD):
            length = int(rng.integers(1, 5))
            d0 = int(rng.integers(0, max(1, m.days - length + 1)))
            for d in range(d0, min(m.days, d0 + length)):
                a, b = int(first[d]), int(first[d + 1])
                if kind == F.STUCK:
                    imp[pt, a:b] = round(float(rng.uniform(0.05, 0.8)), 3)
                else:
                    imp[pt, a:b] = np.nan
                    exp[pt, a:b] = np.nan
                    quality[pt, a:b] = Quality.MISSING
                busy_days[pt, d] = True
                truth.append((kind, site, g, d, 0.0))
    return _Block(topo, imp, exp, quality, truth), busy_days, rng


def _deliveries(settings: SynthSettings, m: L.Manifest, blk: _Block, busy: np.ndarray,
                rng: np.random.Generator) -> Any:
    """The block's points table: one row per delivery, with missing and repeated days."""
    topo = blk.topo
    n_pts, days = len(topo), m.days
    r = settings.rates
    u = rng.random((n_pts, days))
    missing = (u < r.missing_day) & ~busy
    conflict = (u >= r.missing_day) & (u < r.missing_day + r.conflict) & ~busy
    duplicate = ((u >= r.missing_day + r.conflict)
                 & (u < r.missing_day + r.conflict + r.duplicate) & ~busy)
    for kind, mask in ((F.MISSING_DAY, missing), (F.CONFLICT, conflict),
                       (F.DUPLICATE, duplicate)):
        for pt, d in zip(*np.nonzero(mask), strict=True):
            blk.truth.append((kind, str(topo.site[pt]), str(topo.gsrn[pt]), int(d), 0.0))
    # delivery time: hours after the local day's end, typical of the operator
    habit = {op: 1.0 + 5.0 * ((int(op[-4:-1]) * 7919) % 100) / 100 for op in set(topo.operator)}
    habit[LATE_OPERATOR] = 30.0
    delay_h = (np.array([habit[o] for o in topo.operator])[:, None]
               + rng.exponential(1.0, (n_pts, days)))
    delivered = m.day_bounds_ms[None, 1:] + np.round(delay_h * MS_PER_HOUR).astype(np.int64)
    pt_idx, day_idx = np.nonzero(~missing)
    first = m.day_first_index
    # the conflicting first delivery: a few values off, corrected by a later delivery
    extra_pt, extra_day = np.nonzero(conflict | duplicate)
    rows_pt = np.concatenate([pt_idx, extra_pt])
    rows_day = np.concatenate([day_idx, extra_day])
    rows_delivered = np.concatenate([delivered[pt_idx, day_idx],
                                     delivered[extra_pt, extra_day] - 6 * MS_PER_HOUR])
    order = np.lexsort((rows_delivered, rows_day, rows_pt))
    rows_pt, rows_day, rows_delivered = rows_pt[order], rows_day[order], rows_delivered[order]
    lengths = (first[1:] - first[:-1])[rows_day]
    offsets = np.zeros(len(rows_pt) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = (np.repeat(rows_pt * m.n_intervals + first[rows_day] - offsets[:-1], lengths)
            + np.arange(offsets[-1]))
    imp = blk.imp.reshape(-1)[flat]
    exp = blk.exp.reshape(-1)[flat]
    qual = blk.quality.reshape(-1)[flat]
    is_extra = np.concatenate([np.zeros(len(pt_idx), bool), conflict[extra_pt, extra_day]])[order]
    for row in np.flatnonzero(is_extra):  # the earlier, wrong delivery of a conflicting day
        a, b = int(offsets[row]), int(offsets[row + 1])
        k = a + rng.choice(b - a, size=4, replace=False)
        imp[k] = np.round(imp[k] * rng.uniform(0.5, 1.5, 4) + 0.01, 3)
    return L.points_table(m, topo, rows_pt, rows_day, rows_delivered,
                          L.ListColumn(offsets, imp, qual), L.ListColumn(offsets, exp, qual))


def write_block(settings: SynthSettings, m: L.Manifest, block: int, folder: str
                ) -> tuple[L.Topology, list[tuple[str, str, str, int, float]], int]:
    """Generate and write one block (any process may do it: it depends on seed and block only)."""
    size = settings.block_size()
    first_site = block * size
    blk, busy, rng = _block(settings, m, block, first_site, min(size, settings.sites - first_site))
    table = _deliveries(settings, m, blk, busy, rng)
    L.write_points(Path(folder) / L.POINTS_DIR / L.block_name(block), table)
    return blk.topo, blk.truth, table.num_rows


def _blocks(settings: SynthSettings, m: L.Manifest, tmp: Path, client: Any,
            progress: Callable[[int, int], None] | None) -> list[Any]:
    """Every block's (topology, truth, rows), in block order; on a Dask client if given."""
    n = m.blocks
    if client is None:
        out = []
        for b in range(n):
            out.append(write_block(settings, m, b, str(tmp)))
            if progress:
                progress(b + 1, n)
        return out
    from dask.distributed import as_completed

    futures = client.map(write_block, [settings] * n, [m] * n, range(n), [str(tmp)] * n,
                         pure=False)
    for k, _ in enumerate(as_completed(futures), start=1):
        if progress:
            progress(k, n)
    return client.gather(futures)


def synth(settings: SynthSettings, out: Path,
          progress: Callable[[int, int], None] | None = None, client: Any = None
          ) -> tuple[L.Manifest, dict[str, Any]]:
    """Write the synthetic dataset into ``out`` (a new folder, written whole or not at all).

    With a Dask ``client`` the blocks are generated on its workers (which must see ``out``'s
    folder); the files are the same either way.
    """
    size = settings.block_size()
    n_blocks = -(-settings.sites // size)
    m = L.Manifest(first_day=settings.first_day, days=settings.days, blocks=n_blocks,
                   sites=settings.sites, zone=settings.zone, country=settings.country,
                   source="synth", seed=settings.seed)
    pa = L.pa()
    t0 = time.perf_counter()
    with L.whole_folder(out, "the dataset") as tmp:
        (tmp / L.POINTS_DIR).mkdir()
        done = _blocks(settings, m, tmp, client, progress)
        rows = sum(d[2] for d in done)
        truths = [t for d in done for t in d[1]]
        topo = L.Topology(*(np.concatenate([getattr(d[0], f) for d in done])
                            for f in L.Topology.__dataclass_fields__))
        L.write_topology(tmp, topo)
        kinds, sites, gsrns, days, values = (list(c) for c in zip(*truths, strict=True)) \
            if truths else ([], [], [], [], [])
        day0 = (m.first_day - date(1970, 1, 1)).days
        L.pq().write_table(pa.table({
            "kind": pa.array(kinds, pa.string()), "site": pa.array(sites, pa.string()),
            "gsrn": pa.array(gsrns, pa.string()),
            "day": pa.array([None if d < 0 else day0 + d for d in days], pa.int32()
                            ).cast(pa.date32()),
            "value": pa.array(values, pa.float64())}), tmp / L.TRUTH)
        L.write_manifest(tmp, m)
    elapsed = time.perf_counter() - t0
    return m, {"blocks": n_blocks, "points": int(len(topo)), "rows": rows,
               "seconds": elapsed, "site_days": settings.sites * settings.days}
