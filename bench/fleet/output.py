"""The screen's run folder: findings, meter errors, summary.json, report.html.

```
RUN/
  findings.parquet       one row per finding (findings.COLUMNS), sorted
  meter_errors.parquet   every serial meter's error estimate and its status
  summary.json           counts, per-operator views, timeliness, engine figures, score
  report.html            self-contained report (figures inline)
```

Written into ``RUN.partial`` and renamed at the end, so a folder named RUN is always whole.
"""

from __future__ import annotations

import json
import platform
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from meterbench import __version__
from meterbench.core.timeutil import MS_PER_HOUR
from meterbench.fleet import findings as K
from meterbench.fleet import layout as L
from meterbench.fleet.assemble import read_block
from meterbench.fleet.deliveries import DELAY_BINS
from meterbench.fleet.error_estimate import STATUSES
from meterbench.fleet.screen import BlockResult, ScreenSettings

SUMMARY_FORMAT = "meterbench.fleet-screen/1"
#: Sites shown in the heat map and with their series in the report.
HEATMAP_SITES = 40
WORST_SITES = 4
#: How much each kind weighs when ranking sites (settlement consequences first).
SEVERITY = {K.LABELLING: 50, K.METER_ERROR: 40, K.SWAPPED: 40, K.STUCK: 10, K.DEAD: 10,
            K.CONFLICT: 8, K.MISSING: 5, K.NEGATIVE: 2, K.NEGATIVE_EXPORT: 2, K.INCOMPLETE: 1,
            K.LATE: 1, K.DUPLICATE: 0}


@dataclass
class Screen:
    """All blocks put together."""

    manifest: L.Manifest
    findings: Any      # pyarrow Table, sorted
    errors: Any        # pyarrow Table
    results: list[BlockResult]


def combine(manifest: L.Manifest, results: list[BlockResult]) -> Screen:
    pa = L.pa()
    findings = K.sort_findings(pa.concat_tables([r.findings for r in results])
                               if results else K.empty_table(manifest.first_day))
    errors = pa.concat_tables([r.errors for r in results]).sort_by("gsrn")
    return Screen(manifest, findings, errors, results)


def _quantile_h(hist: np.ndarray, q: float) -> float | str | None:
    """The q-quantile of the delays in hours (quarter-hour resolution); ``"≥ 167.75"`` when it
    falls in the histogram's last bin (a week or more)."""
    total = hist.sum()
    if not total:
        return None
    k = int(np.searchsorted(np.cumsum(hist), q * total))
    if k >= DELAY_BINS - 1:
        return f"≥ {(DELAY_BINS - 1) / 4:g}"
    return round(k / 4, 2)


def summary(screen: Screen, dataset: Path, settings: ScreenSettings,
            engine: dict[str, Any], score: dict[str, Any] | None) -> dict[str, Any]:
    m = screen.manifest
    rows = screen.findings.select(["kind", "operator", "cause"]).to_pylist()
    by_kind = Counter(r["kind"] for r in rows)
    by_operator: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        by_operator[r["operator"]][r["kind"]] += 1
    hist: dict[str, np.ndarray] = {}
    latest: dict[str, int] = {}
    deliveries: Counter[str] = Counter()
    late: Counter[str] = Counter()
    for r in screen.results:
        for op, h in r.timeliness.delay_hist.items():
            hist[op] = hist.get(op, np.zeros(DELAY_BINS, dtype=np.int64)) + h
        for op, ms in r.timeliness.latest_ms.items():
            latest[op] = max(latest.get(op, ms), ms)
        deliveries.update(r.timeliness.deliveries)
        late.update(r.timeliness.late)
    timeliness = {op: {"deliveries": int(deliveries[op]),
                       "late": int(late[op]) if settings.deadline else None,
                       "median_h_after_day_end": _quantile_h(h, 0.5),
                       "p95_h_after_day_end": _quantile_h(h, 0.95),
                       "max_h_after_day_end": (round(latest[op] / MS_PER_HOUR, 2)
                                               if op in latest else None)}
                  for op, h in sorted(hist.items())}
    status = Counter(screen.errors.column("status").to_pylist())
    site_days = sum(r.site_days for r in screen.results)
    return {
        "format": SUMMARY_FORMAT,
        "dataset": str(dataset),
        "period": {"first_day": m.first_day.isoformat(), "days": m.days, "zone": m.zone,
                   "resolution": m.resolution, "country": m.country},
        "sites": sum(r.sites for r in screen.results),
        "metering_points": sum(r.points for r in screen.results),
        "serial_meters": sum(r.serial for r in screen.results),
        "site_days": site_days,
        "blocks": len(screen.results),
        "deadline": settings.deadline.strftime("%H:%M") if settings.deadline else None,
        "findings": {k: by_kind.get(k, 0) for k in K.KINDS},
        "findings_by_operator": {op: {k: c[k] for k in K.KINDS if c[k]}
                                 for op, c in sorted(by_operator.items())},
        "timeliness": timeliness,
        "meter_errors": {s: status.get(s, 0) for s in STATUSES},
        "engine": engine,
        "ground_truth": score,
        "software": {"meterbench": __version__, "python": platform.python_version(),
                     **_versions()},
    }


def _versions() -> dict[str, str]:
    out = {}
    for name in ("numpy", "dask", "distributed", "pyarrow"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - the fleet extra brings them
            pass
    return out


@dataclass(frozen=True)
class _Columns:
    """The findings as arrays: site and kind codes, day index (-1: the period), weight."""

    sites: np.ndarray      # unique site names
    site: np.ndarray       # code per finding
    kind: np.ndarray       # code per finding (index into findings.KINDS)
    day: np.ndarray
    weight: np.ndarray


def _columns(findings: Any, m: L.Manifest) -> _Columns:
    col = {n: findings.column(n).to_numpy(zero_copy_only=False) for n in ("site", "kind", "cause")}
    sites, site = np.unique(col["site"].astype(str), return_inverse=True)
    order = list(K.KINDS)
    kind_of = {k: i for i, k in enumerate(order)}
    kind = np.array([kind_of[k] for k in col["kind"].tolist()], dtype=np.int64)
    weight = np.array([SEVERITY.get(k, 1) for k in order], dtype=np.int64)[kind]
    weight[(kind == order.index(K.NEGATIVE))
           & (col["cause"].astype(str) == "production_behind_main")] = 0
    import pyarrow.compute as pc

    day0 = (m.first_day - date(1970, 1, 1)).days
    day = pc.fill_null(findings.column("day").cast(L.pa().int32()), day0 - 1).to_numpy()
    return _Columns(sites, site, kind, day.astype(np.int64) - day0, weight)


def _ranked_sites(c: _Columns) -> np.ndarray:
    """Site codes by the kinds they show (each kind's weight once), then by how many weighty
    findings, then by name."""
    n_kinds = len(K.KINDS)
    per_kind = np.zeros(len(c.sites) * n_kinds, dtype=np.int64)
    np.maximum.at(per_kind, c.site * n_kinds + c.kind, c.weight)
    score = per_kind.reshape(len(c.sites), n_kinds).sum(axis=1) * 1000 \
        + np.bincount(c.site, weights=(c.weight > 0), minlength=len(c.sites))
    return np.lexsort((np.arange(len(c.sites)), -score))


def report_data(screen: Screen, dataset: Path, doc: dict[str, Any]) -> dict[str, Any]:
    """What the report shows, as plain values (the renderer imports nothing from the bench)."""
    m = screen.manifest
    c = _columns(screen.findings, m)
    ranked = _ranked_sites(c) if len(c.sites) else np.zeros(0, dtype=np.int64)
    top = ranked[:HEATMAP_SITES]
    slot = np.full(len(c.sites), -1, dtype=np.int64)
    slot[top] = np.arange(len(top))
    heat = np.zeros((len(top), m.days), dtype=np.int64)
    on_day = c.day >= 0
    shown = slot[c.site] >= 0
    np.add.at(heat, (slot[c.site[shown & on_day]], c.day[shown & on_day]), 1)
    period_marks = np.bincount(slot[c.site[shown & ~on_day]], minlength=len(top))
    per_day = np.bincount(c.day[on_day], minlength=m.days)
    topology = L.read_topology(dataset, m)
    worst = []
    for code in ranked[:WORST_SITES].tolist():
        idx = np.flatnonzero(c.site == code)
        idx = idx[np.lexsort((np.where(c.day[idx] < 0, -1, c.day[idx]), -c.weight[idx]))]
        rows = screen.findings.take(idx).to_pylist()
        worst.append(_site_view(screen, dataset, topology, str(c.sites[code]), rows,
                                c.weight[idx]))
    return {"summary": doc, "kinds": K.KINDS,
            "heatmap": {"sites": [str(s) for s in c.sites[top]],
                        "days": [m.day_of(d).isoformat() for d in range(m.days)],
                        "counts": heat.tolist(), "period_findings": period_marks.tolist(),
                        "per_day": per_day.tolist()},
            "worst_sites": worst,
            "errors": {"error_pct": _finite(screen.errors, "error_pct"),
                       "limit_pct": _finite(screen.errors, "limit_pct", "error_pct")}}


def _finite(table: Any, name: str, where: str | None = None) -> list[float]:
    v = np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)
    ok = np.isfinite(np.asarray(table.column(where or name).to_numpy(zero_copy_only=False),
                                dtype=np.float64))
    return v[ok].tolist()


def _site_view(screen: Screen, dataset: Path, full: L.Topology, site: str,
               rows: list[dict[str, Any]], weights: np.ndarray) -> dict[str, Any]:
    """A worst site's findings and series: its worst day in quarter-hours, daily totals."""
    m = screen.manifest
    block = int(full.block[np.flatnonzero(full.site == site)[0]])
    topo = L.read_topology(dataset, m, block=block)
    data = read_block(dataset, m, topo, block)
    topo = data.topo  # its rows are the arrays' rows
    pts = np.flatnonzero(topo.site == site)
    main = pts[topo.role[pts] == L.ROLE_MAIN][0]
    serial = pts[topo.role[pts] == L.ROLE_SERIAL]
    per_day: Counter[int] = Counter()
    for r, w in zip(rows, weights.tolist(), strict=True):
        if r["day"] is not None:
            per_day[(r["day"] - m.first_day).days] += w
    day = max(per_day, key=lambda d: (per_day[d], -d)) if per_day else 0
    first = m.day_first_index
    a, b = int(first[day]), int(first[day + 1])
    starts = m.start_ms + m.resolution_ms * np.arange(a, b, dtype=np.int64)
    main_net = data.imp.kwh[main] - data.exp.kwh[main]
    serial_kwh = data.imp.kwh[serial]
    virtual = main_net - np.sum(serial_kwh, axis=0)  # a missing value: no virtual value

    def daily(v: np.ndarray) -> list[float | None]:
        """Day totals; a day with any value missing has no total (a gap in the chart, never a
        day of 0 kWh)."""
        return [round(x, 3) if np.isfinite(x) else None
                for x in np.add.reduceat(v, first[:-1]).tolist()]

    return {"site": site, "gsrn_main": str(topo.gsrn[main]),
            "serial": [{"gsrn": str(topo.gsrn[p]), "operator": str(topo.operator[p]),
                        "appliance": str(topo.appliance[p])} for p in serial],
            "findings": _grouped(rows),
            "day": m.day_of(day).isoformat(), "start_ms": starts.tolist(),
            "main_kwh": _nan_list(main_net[a:b]),
            "serial_kwh": [_nan_list(s[a:b]) for s in serial_kwh],
            "virtual_kwh": _nan_list(virtual[a:b]),
            "daily": {"days": [m.day_of(d).isoformat() for d in range(m.days)],
                      "main": daily(main_net), "serial": daily(np.sum(serial_kwh, axis=0)),
                      "virtual": daily(virtual)}}


def _grouped(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A site's findings for reading: day findings of one kind, point and cause on one line."""
    out: list[dict[str, Any]] = []
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rows:
        if r["day"] is None:
            out.append(dict(r, days=None, count=1))
            continue
        key = (r["kind"], r["gsrn"], r["cause"])
        g = groups.get(key)
        if g is None:
            g = groups[key] = dict(r, first=r["day"], last=r["day"], count=0)
            out.append(g)
        g["count"] += 1
        g["first"], g["last"] = min(g["first"], r["day"]), max(g["last"], r["day"])
    for g in out:
        if g["count"] > 1:
            g["days"] = f"{g['count']} days, {g['first'].isoformat()} … {g['last'].isoformat()}"
            g["detail"] = f"{g['detail']} (the first; {g['count'] - 1} more day(s) alike)"
        elif g.get("days", "") is not None:
            g["days"] = g["day"].isoformat()
    return [{k: v for k, v in g.items() if k not in ("day", "first", "last")} for g in out]


def _nan_list(v: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(x) else round(float(x), 4) for x in v.tolist()]


def write_run(out: Path, screen: Screen, doc: dict[str, Any], html: str | None) -> Path:
    """Write the run folder whole (via RUN.partial), never over an existing one."""
    with L.whole_folder(out, "the screen's results") as tmp:
        L.pq().write_table(screen.findings, tmp / "findings.parquet")
        L.pq().write_table(screen.errors, tmp / "meter_errors.parquet")
        (tmp / "summary.json").write_text(json.dumps(doc, indent=1, default=str) + "\n",
                                          encoding="utf-8")
        if html is not None:
            (tmp / "report.html").write_text(html, encoding="utf-8")
    return out
