"""``meterbench fleet ingest``: a fleet dataset from what operators actually delivered.

Sources are DataHub RSM-012 messages (CIM JSON or XML files, or folders of them such as an
outbox; read by the bench's DataHub reader) and interval CSV files in the format of
``meterbench intervals`` with the GSRN as ``meter``. Every delivery stays a delivery: a message's
series becomes one row per local day it covers, stamped with the message's creation time; a CSV
file is one delivery stamped with its modification time. A day delivered twice is two rows,
never merged; the screen compares them.

The topology CSV names every metering point: ``site,gsrn,role,operator`` and optionally
``accuracy_class`` (A/B/C, serial meters: it selects the in-service limit), ``appliance`` and
``export_gsrn`` (the production metering point that carries the same meter's export, e.g. the
main meter of a site with PV). A point without ``export_gsrn`` has no export metering point: its
export is zero by definition. A series whose GSRN the topology does not list is an error.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from meterbench.cli.pipeline_csv import read_csv_text, read_intervals, sniff_columns
from meterbench.core.errors import UserError
from meterbench.core.quality import Quality
from meterbench.core.timeutil import RESOLUTIONS_MS
from meterbench.datahub import codes
from meterbench.datahub.counts import READ_QUALITY
from meterbench.datahub.files import read_message_file
from meterbench.datahub.identifiers import require_gln, require_gsrn
from meterbench.datahub.to_series import message_files
from meterbench.fleet import layout as L

TOPOLOGY_REQUIRED = ("site", "gsrn", "role", "operator")
CLASSES = ("A", "B", "C", "")
#: Sites per block when not given: about this many values (points × intervals) per block.
BLOCK_VALUES = 4_000_000


@dataclass(frozen=True)
class Delivery:
    """One series of one delivery: a metering point's values on the grid from ``start_ms``."""

    point: int
    direction: str            # "import" or "export"
    start_ms: int
    resolution_ms: int
    values: np.ndarray        # kWh (NaN where missing)
    quality: np.ndarray       # uint8
    delivered_ms: int
    unit: str
    source: str


def read_topology_csv(path: Path) -> tuple[L.Topology, dict[str, tuple[int, str]]]:
    """The topology, and every GSRN → (point, direction) it names."""
    source = str(path)
    with read_csv_text(path) as fh:
        reader = csv.DictReader(fh)
        names = [n.strip() for n in (reader.fieldnames or [])]
        missing = [c for c in TOPOLOGY_REQUIRED if c not in names]
        if missing:
            raise UserError(f"missing column(s) {', '.join(missing)}", source=source,
                            field="header (row 1)", expected=",".join(TOPOLOGY_REQUIRED))
        reader.fieldnames = names
        rows = list(enumerate(reader, start=2))
    cols: dict[str, list[Any]] = {k: [] for k in L.TOPOLOGY_COLUMNS}
    lookup: dict[str, tuple[int, str]] = {}
    for k, (row_no, row) in enumerate(rows):
        where = f"{source}: row {row_no}"
        get = {c: (row.get(c) or "").strip() for c in names}
        gsrn = require_gsrn(get["gsrn"], source=where, field="gsrn")
        role = get["role"]
        if role not in L.ROLES:
            raise UserError(f"unknown role {role!r}", source=where, field="role",
                            expected="main or serial")
        operator = require_gln(get["operator"], source=where, field="operator")
        cls = get.get("accuracy_class", "")
        if cls not in CLASSES:
            raise UserError(f"unknown class {cls!r}", source=where, field="accuracy_class",
                            expected="A, B or C (MID)")
        export_gsrn = get.get("export_gsrn", "")
        for g, direction in ((gsrn, "import"), (export_gsrn, "export")):
            if not g:
                continue
            require_gsrn(g, source=where, field="export_gsrn" if direction == "export"
                         else "gsrn")
            if g in lookup:
                raise UserError(f"GSRN {g} listed twice", source=where, field="gsrn",
                                expected="one row per metering point")
            lookup[g] = (k, direction)
        if not get["site"]:
            raise UserError("empty site", source=where, field="site", expected="a site id")
        for c, v in (("site", get["site"]), ("block", 0), ("gsrn", gsrn), ("role", role),
                     ("operator", operator), ("accuracy_class", cls),
                     ("appliance", get.get("appliance", "")), ("exports", bool(export_gsrn))):
            cols[c].append(v)
    if not rows:
        raise UserError("no metering points", source=source, expected="at least one data row")
    topo = L.Topology(site=np.asarray(cols["site"], object), block=np.zeros(len(rows), np.int32),
                      gsrn=np.asarray(cols["gsrn"], object), role=np.asarray(cols["role"], object),
                      operator=np.asarray(cols["operator"], object),
                      accuracy_class=np.asarray(cols["accuracy_class"], object),
                      appliance=np.asarray(cols["appliance"], object),
                      exports=np.asarray(cols["exports"], bool))
    return topo, lookup


def _unknown(gsrn: str, source: str, field: str) -> UserError:
    return UserError(f"metering point {gsrn} is not in the topology", source=source, field=field,
                     expected="every delivered GSRN listed in the topology CSV (gsrn or "
                              "export_gsrn)")


def _from_messages(path: Path, lookup: dict[str, tuple[int, str]]) -> Iterable[Delivery]:
    for file in message_files(path):
        message = read_message_file(file).message
        for s in message.series:
            res = RESOLUTIONS_MS.get(s.period.resolution)
            if res is None or s.period.resolution not in ("PT15M", "PT1H"):
                raise UserError(f"resolution {s.period.resolution!r}", source=str(file),
                                field="resolution", expected="PT15M or PT1H")
            hit = lookup.get(s.metering_point_id)
            if hit is None:
                raise _unknown(s.metering_point_id, str(file), "marketEvaluationPoint.mRID")
            n = (s.period.end_ms - s.period.start_ms) // res
            values = np.full(n, np.nan)
            quality = np.full(n, Quality.MISSING, dtype=np.uint8)
            for p in s.period.points:  # the declared period is the grid; absent points: missing
                k = p.position - 1
                if not 0 <= k < n:
                    raise UserError(f"position {p.position} outside the period", source=str(file),
                                    field="Point.position", expected=f"1 … {n}")
                # the bench's reading of DataHub codes: A05 "incomplete" is estimated, value kept
                q = READ_QUALITY.get(p.quality or codes.DEFAULT_QUALITY, Quality.MISSING)
                quality[k] = q
                if q != Quality.MISSING and p.quantity is not None:
                    values[k] = float(p.quantity)
            yield Delivery(hit[0], hit[1], s.period.start_ms, res, values, quality,
                           message.created_ms, s.unit, str(file))


def _from_csv(path: Path, lookup: dict[str, tuple[int, str]]) -> Iterable[Delivery]:
    delivered = int(os.stat(path).st_mtime * 1000)
    for row in read_intervals(path):
        hit = lookup.get(row.meter)
        if hit is None:
            raise _unknown(row.meter, str(path), "meter")
        direction = {"energy.import": "import", "energy.export": "export"}.get(row.channel)
        if direction is None:
            raise UserError(f"channel {row.channel!r}", source=str(path), field="channel",
                            expected="energy.import or energy.export")
        point, listed = hit
        if listed == "export" and direction == "import":
            direction = "export"  # the production point's own GSRN: its values are export
        s = row.series
        yield Delivery(point, direction, int(s.start_ms[0]), s.resolution_ms,
                       np.where(s.quality == Quality.MISSING, np.nan, s.quantity),
                       s.quality.astype(np.uint8), delivered, "kWh", str(path))


def read_sources(sources: list[Path], lookup: dict[str, tuple[int, str]]) -> list[Delivery]:
    out: list[Delivery] = []
    for path in sources:
        if not path.exists():
            raise UserError("no such file or folder", source=str(path))
        if path.is_file() and path.suffix.lower() == ".csv":
            if "quality" not in sniff_columns(path):
                raise UserError("not an interval CSV", source=str(path), field="header (row 1)",
                                expected="meter,channel,start,resolution,quantity,quality")
            out.extend(_from_csv(path, lookup))
        else:
            out.extend(_from_messages(path, lookup))
    if not out:
        raise UserError("no series in the sources", expected="RSM-012 messages or interval CSVs")
    return out


def _manifest(deliveries: list[Delivery], zone: str, country: str, sites: int,
              blocks: int) -> L.Manifest:
    res = {d.resolution_ms for d in deliveries}
    if len(res) > 1:
        raise UserError("the sources mix resolutions", source=deliveries[0].source,
                        field="resolution", expected="one resolution for the whole fleet")
    name = {v: k for k, v in RESOLUTIONS_MS.items()}[res.pop()]
    first = min(d.start_ms for d in deliveries)
    last = max(d.start_ms + len(d.values) * d.resolution_ms for d in deliveries) - 1
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    d0 = datetime.fromtimestamp(first / 1000, UTC).astimezone(tz).date()
    d1 = datetime.fromtimestamp(last / 1000, UTC).astimezone(tz).date()
    return L.Manifest(first_day=d0, days=(d1 - d0).days + 1, blocks=blocks, sites=sites,
                      resolution=name, zone=zone, country=country, source="ingest")


def _rows(m: L.Manifest, deliveries: list[Delivery]) -> list[tuple[int, int, int, str, np.ndarray,
                                                                    np.ndarray]]:
    """Each delivery cut at local midnights: (point, day, delivered, direction, values, quality)."""
    first = m.day_first_index
    out = []
    for d in deliveries:
        k0 = (d.start_ms - m.start_ms) // m.resolution_ms
        if (d.start_ms - m.start_ms) % m.resolution_ms:
            raise UserError("series does not start on the interval grid", source=d.source,
                            expected=f"starts on whole {m.resolution} intervals")
        idx = k0 + np.arange(len(d.values))
        days = np.searchsorted(first, idx, side="right") - 1
        factor = L.UNITS_TO_KWH.get(d.unit)
        if factor is None:
            raise UserError(f"unit {d.unit!r}", source=d.source, field="unit",
                            expected=", ".join(L.UNITS_TO_KWH))
        for day in np.unique(days).tolist():
            a, b = int(first[day]), int(first[day + 1])
            values = np.full(b - a, np.nan)
            quality = np.full(b - a, Quality.MISSING, dtype=np.uint8)
            on = days == day
            values[idx[on] - a] = d.values[on] * factor
            quality[idx[on] - a] = d.quality[on]
            out.append((d.point, day, d.delivered_ms, d.direction, values, quality))
    return out


def _lists(rows: list[Any], direction: str) -> L.ListColumn:
    lengths = [len(r[4]) if r[3] == direction else 0 for r in rows]
    offsets = np.zeros(len(rows) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    pick = [r for r in rows if r[3] == direction]
    values = np.concatenate([r[4] for r in pick]) if pick else np.zeros(0)
    quality = np.concatenate([r[5] for r in pick]) if pick else np.zeros(0, np.uint8)
    return L.ListColumn(offsets, values, quality, np.array([r[3] == direction for r in rows]))


def ingest(sources: list[Path], topology_csv: Path, out: Path, *, zone: str = "Europe/Copenhagen",
           country: str = "DK", sites_per_block: int | None = None
           ) -> tuple[L.Manifest, dict[str, Any]]:
    """Read everything, check it, and write the dataset whole (via ``out.partial``)."""
    L.refuse_existing(out, "the dataset")
    topo, lookup = read_topology_csv(topology_csv)
    deliveries = read_sources(sources, lookup)
    site_names, site_of = np.unique(topo.site.astype(str), return_inverse=True)
    probe = _manifest(deliveries, zone, country, len(site_names), 1)
    per_site = max(1, len(topo) // len(site_names)) * probe.n_intervals
    size = sites_per_block or max(1, min(len(site_names), BLOCK_VALUES // max(per_site, 1)))
    n_blocks = -(-len(site_names) // size)
    m = _manifest(deliveries, zone, country, len(site_names), n_blocks)
    block_of_point = (site_of // size).astype(np.int32)
    topo = L.Topology(site=topo.site, block=block_of_point, gsrn=topo.gsrn, role=topo.role,
                      operator=topo.operator, accuracy_class=topo.accuracy_class,
                      appliance=topo.appliance, exports=topo.exports)
    L.check_topology(topo, m, str(topology_csv))
    rows = _rows(m, deliveries)
    with L.whole_folder(out, "the dataset") as tmp:
        (tmp / L.POINTS_DIR).mkdir()
        for b in range(n_blocks):
            in_block = np.flatnonzero(block_of_point == b)
            local = {int(p): k for k, p in enumerate(in_block)}
            block_rows = sorted((r for r in rows if r[0] in local),
                                key=lambda r: (local[r[0]], r[1], r[2], r[3]))
            point = np.array([local[r[0]] for r in block_rows], dtype=np.int64)
            day = np.array([r[1] for r in block_rows], dtype=np.int64)
            delivered = np.array([r[2] for r in block_rows], dtype=np.int64)
            table = L.points_table(m, topo.select(in_block), point, day, delivered,
                                   _lists(block_rows, "import"), _lists(block_rows, "export"))
            L.write_points(tmp / L.POINTS_DIR / L.block_name(b), table)
        L.write_topology(tmp, topo)
        L.write_manifest(tmp, m)
    return m, {"deliveries": len(deliveries), "rows": len(rows), "points": len(topo),
               "files": len({d.source for d in deliveries})}
