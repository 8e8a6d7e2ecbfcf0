"""The fleet dataset on disk: manifest, topology, points partitioned by site block, ground truth.

```
DATASET/
  fleet.json                 manifest: format version, resolution, zone, first day, days, blocks
  topology.parquet           one row per metering point: site, block, GSRN, role, operator, class
  points/block-00000.parquet one row per delivery of one metering point and local day
  truth.parquet              (synthetic fleets only) every injected fault
```

A points row is one delivery: the values of one metering point for one local day (92, 96 or 100
quarter-hours in Copenhagen), as a DataHub message carries them, with the time it was delivered.
A repeated delivery is another row; nothing is merged on disk. Values are lists so that a block
reads as a few contiguous arrays. The format is versioned by ``fleet.json``'s ``format`` field;
a reader refuses a version it does not know.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from meterbench.core.errors import UserError
from meterbench.core.timeutil import MS_PER_HOUR, RESOLUTIONS_MS
from meterbench.pipeline.localday import DEFAULT_ZONE, known_zone, local_day_bounds_ms
from meterbench.pipeline.zone_hours import hour_facts

FORMAT = "meterbench.fleet/1"
MANIFEST = "fleet.json"
TOPOLOGY = "topology.parquet"
POINTS_DIR = "points"
TRUTH = "truth.parquet"

ROLE_MAIN = "main"
ROLE_SERIAL = "serial"
ROLES = (ROLE_MAIN, ROLE_SERIAL)

#: Energy units a partition may use, as factors to kWh (one unit per partition).
UNITS_TO_KWH: dict[str, float] = {"kWh": 1.0, "KWH": 1.0, "Wh": 1e-3, "MWh": 1e3}

TOPOLOGY_COLUMNS = ("site", "block", "gsrn", "role", "operator", "accuracy_class", "appliance",
                    "exports")
POINT_COLUMNS = ("site", "gsrn", "role", "operator", "day", "start", "unit", "import",
                 "import_quality", "export", "export_quality", "delivered")


def pa() -> Any:
    """pyarrow, imported where it is needed (the ``fleet`` extra)."""
    import pyarrow

    return pyarrow


def pq() -> Any:
    import pyarrow.parquet

    return pyarrow.parquet


def points_schema() -> Any:
    p = pa()
    ts = p.timestamp("ms", tz="UTC")
    text = p.dictionary(p.int32(), p.string())
    return p.schema([("site", text), ("gsrn", text), ("role", text), ("operator", text),
                     ("day", p.date32()), ("start", ts), ("unit", text),
                     ("import", p.list_(p.float64())), ("import_quality", p.list_(p.uint8())),
                     ("export", p.list_(p.float64())), ("export_quality", p.list_(p.uint8())),
                     ("delivered", ts)])


@dataclass(frozen=True)
class ListColumn:
    """One direction's values of many rows: row r is ``values[offsets[r]:offsets[r+1]]``."""

    offsets: np.ndarray   # int32, rows + 1
    values: np.ndarray    # float64 kWh
    quality: np.ndarray   # uint8
    valid: np.ndarray | None = None  # bool per row; False: this delivery lacks the direction


def points_table(manifest: Manifest, topo: Topology, point: np.ndarray, day: np.ndarray,
                 delivered_ms: np.ndarray, imp: ListColumn, exp: ListColumn,
                 unit: str = "kWh") -> Any:
    """A block's points table (one row per delivery) in the dataset's schema."""
    p = pa()
    text = p.dictionary(p.int32(), p.string())

    def col(values: np.ndarray) -> Any:
        return p.array(values[point].tolist(), p.string()).dictionary_encode().cast(text)

    def lists(c: ListColumn, values: Any, quality: Any) -> tuple[Any, Any]:
        off = p.array(c.offsets.astype(np.int32), p.int32())
        mask = None if c.valid is None else p.array(~c.valid)
        return (p.ListArray.from_arrays(off, values, mask=mask),
                p.ListArray.from_arrays(off, quality, mask=mask))

    day0 = (manifest.first_day - date(1970, 1, 1)).days
    imp_v, imp_q = lists(imp, p.array(imp.values, p.float64()), p.array(imp.quality, p.uint8()))
    exp_v, exp_q = lists(exp, p.array(exp.values, p.float64()), p.array(exp.quality, p.uint8()))
    columns = {
        "site": col(topo.site), "gsrn": col(topo.gsrn), "role": col(topo.role),
        "operator": col(topo.operator),
        "day": p.array((day0 + day).astype(np.int32), p.int32()).cast(p.date32()),
        "start": p.array(manifest.day_bounds_ms[day], p.timestamp("ms", tz="UTC")),
        "unit": p.DictionaryArray.from_arrays(p.array(np.zeros(len(point), np.int32)),
                                              p.array([unit])),
        "import": imp_v, "import_quality": imp_q, "export": exp_v, "export_quality": exp_q,
        "delivered": p.array(delivered_ms, p.timestamp("ms", tz="UTC")),
    }
    return p.table(columns, schema=points_schema())


def write_points(path: Path, table: Any) -> None:
    """One block's points file: zstd, one row group. The kWh lists are dictionary-encoded
    (Arrow's default: quarter-hour values at a meter's resolution repeat; measured on a
    synthetic block, 3.5 MB and the fastest read, against 13.5 MB byte-stream-split);
    byte-stream-split is the fallback once a column's dictionary outgrows its page limit."""
    pq().write_table(table, path, compression="zstd", compression_level=1,
                     use_byte_stream_split=["import.list.element", "export.list.element"],
                     row_group_size=max(1, table.num_rows))


def block_name(block: int) -> str:
    return f"block-{block:05d}.parquet"


@dataclass(frozen=True)
class Manifest:
    """What ``fleet.json`` says: the period every block covers, and how it is cut."""

    first_day: date
    days: int
    blocks: int
    sites: int
    resolution: str = "PT15M"
    zone: str = DEFAULT_ZONE
    country: str = "DK"
    source: str = "ingest"
    seed: int | None = None

    @property
    def resolution_ms(self) -> int:
        return RESOLUTIONS_MS[self.resolution]

    @cached_property
    def day_bounds_ms(self) -> np.ndarray:
        """UTC ms of each local midnight of the period, ``days + 1`` values."""
        edges = [local_day_bounds_ms(self.first_day + timedelta(days=k), self.zone)[0]
                 for k in range(self.days)]
        edges.append(local_day_bounds_ms(self.first_day + timedelta(days=self.days - 1),
                                         self.zone)[1])
        return np.asarray(edges, dtype=np.int64)

    @property
    def start_ms(self) -> int:
        return int(self.day_bounds_ms[0])

    @property
    def end_ms(self) -> int:
        return int(self.day_bounds_ms[-1])

    @property
    def n_intervals(self) -> int:
        return (self.end_ms - self.start_ms) // self.resolution_ms

    @property
    def day_first_index(self) -> np.ndarray:
        """Index of each local day's first interval on the period's grid (``days + 1``)."""
        return (self.day_bounds_ms - self.start_ms) // self.resolution_ms

    def day_of(self, index: int) -> date:
        return self.first_day + timedelta(days=int(index))

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "first_day": self.first_day.isoformat(), "days": self.days,
                "blocks": self.blocks, "sites": self.sites, "resolution": self.resolution,
                "zone": self.zone, "country": self.country, "source": self.source,
                "seed": self.seed}


def write_manifest(folder: Path, manifest: Manifest) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=1) + "\n",
                                   encoding="utf-8")


def read_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST
    source = str(path)
    if not folder.is_dir():
        raise UserError("not a folder", source=str(folder), expected="a fleet dataset folder")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError("no fleet.json: not a fleet dataset", source=str(folder),
                        expected="a folder made by meterbench fleet synth or ingest") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read: {exc}", source=source) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else None
        raise UserError(f"unknown dataset format {got!r}", source=source, field="format",
                        expected=FORMAT)
    try:
        manifest = Manifest(first_day=date.fromisoformat(doc["first_day"]), days=int(doc["days"]),
                            blocks=int(doc["blocks"]), sites=int(doc["sites"]),
                            resolution=str(doc.get("resolution", "PT15M")),
                            zone=str(doc.get("zone", DEFAULT_ZONE)),
                            country=str(doc.get("country", "DK")),
                            source=str(doc.get("source", "ingest")), seed=doc.get("seed"))
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"bad manifest field: {exc}", source=source,
                        expected="first_day, days, blocks, sites as written by meterbench fleet"
                        ) from None
    if manifest.resolution not in ("PT15M", "PT1H") or manifest.days < 1 or manifest.blocks < 1:
        raise UserError("resolution, days or blocks out of range", source=source,
                        expected="PT15M or PT1H, days >= 1, blocks >= 1")
    from meterbench.accuracy.limits import IN_SERVICE_FACTOR

    if manifest.country not in IN_SERVICE_FACTOR:
        raise UserError(f"no in-service limit preset {manifest.country!r}", source=source,
                        field="country", expected=", ".join(sorted(IN_SERVICE_FACTOR)))
    if not known_zone(manifest.zone):
        raise UserError(f"not an IANA time zone: {manifest.zone!r}", source=source,
                        field="zone", expected="e.g. Europe/Copenhagen")
    return manifest


@dataclass(frozen=True)
class Topology:
    """The topology table as arrays, one entry per metering point, sorted by block then site."""

    site: np.ndarray            # object (str)
    block: np.ndarray           # int32
    gsrn: np.ndarray            # object (str)
    role: np.ndarray            # object (str)
    operator: np.ndarray        # object (str)
    accuracy_class: np.ndarray  # object (str), "" for main meters
    appliance: np.ndarray       # object (str)
    exports: np.ndarray         # bool: does this point deliver export values?

    def __len__(self) -> int:
        return len(self.gsrn)

    def select(self, mask: np.ndarray) -> Topology:
        return Topology(*(getattr(self, f)[mask] for f in self.__dataclass_fields__))

    def as_columns(self) -> dict[str, np.ndarray]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def write_topology(folder: Path, topo: Topology) -> None:
    """The topology, one row group per block (in block order), so a worker reads its own."""
    p = pa()
    order = np.argsort(topo.block, kind="stable")
    topo = topo.select(order)
    table = p.table({"site": p.array(topo.site.tolist(), p.string()),
                     "block": p.array(topo.block, p.int32()),
                     "gsrn": p.array(topo.gsrn.tolist(), p.string()),
                     "role": p.array(topo.role.tolist(), p.string()),
                     "operator": p.array(topo.operator.tolist(), p.string()),
                     "accuracy_class": p.array(topo.accuracy_class.tolist(), p.string()),
                     "appliance": p.array(topo.appliance.tolist(), p.string()),
                     "exports": p.array(topo.exports, p.bool_())})
    bounds = np.searchsorted(topo.block, np.arange(int(topo.block.max(initial=-1)) + 2))
    with pq().ParquetWriter(folder / TOPOLOGY, table.schema) as writer:
        for b in range(len(bounds) - 1):
            writer.write_table(table.slice(int(bounds[b]), int(bounds[b + 1] - bounds[b])))


def read_topology(folder: Path, manifest: Manifest, *, block: int | None = None) -> Topology:
    """The topology (or one block's rows), checked: columns, roles, one main meter per site."""
    path = folder / TOPOLOGY
    source = str(path)
    try:
        table = _read_topology_table(path, block)
    except FileNotFoundError:
        raise UserError("missing", source=source,
                        expected="the topology table of the dataset") from None
    except Exception as exc:  # pyarrow raises many kinds for a damaged or wrong file
        raise UserError(f"cannot read: {first_line(exc)}", source=source,
                        expected="a Parquet file") from None
    missing = [c for c in TOPOLOGY_COLUMNS if c not in table.column_names]
    if missing:
        raise UserError(f"missing column(s) {', '.join(missing)}", source=source,
                        field=missing[0], expected=", ".join(TOPOLOGY_COLUMNS))
    cols = {c: table.column(c).to_numpy(zero_copy_only=False) for c in TOPOLOGY_COLUMNS}
    topo = Topology(site=cols["site"].astype(object), block=cols["block"].astype(np.int32),
                    gsrn=cols["gsrn"].astype(object), role=cols["role"].astype(object),
                    operator=cols["operator"].astype(object),
                    accuracy_class=cols["accuracy_class"].astype(object),
                    appliance=cols["appliance"].astype(object),
                    exports=cols["exports"].astype(bool))
    check_topology(topo, manifest, source)
    return topo


def _read_topology_table(path: Path, block: int | None) -> Any:
    """The whole table, or one block's rows (its row group when the file has one per block)."""
    if block is None:
        return pq().read_table(path)
    f = pq().ParquetFile(path)
    if block < f.num_row_groups:
        table = f.read_row_group(block)
        if "block" in table.column_names:
            blocks = table.column("block").to_numpy()
            if len(blocks) and (blocks == block).all():
                return table
    table = f.read()  # written some other way: filter
    mask = _block_mask(table, block)
    return table.filter(mask)


def _block_mask(table: Any, block: int) -> Any:
    import pyarrow.compute as pc

    if "block" not in table.column_names:
        return pa().array([True] * table.num_rows)
    return pc.equal(table.column("block"), block)


def check_topology(topo: Topology, manifest: Manifest, source: str) -> None:
    bad_role = ~np.isin(topo.role, ROLES)
    if bad_role.any():
        k = int(np.flatnonzero(bad_role)[0])
        raise UserError(f"unknown role {topo.role[k]!r} for {topo.gsrn[k]}", source=source,
                        field=f"row {k + 1}: role", expected="main or serial")
    if len(topo) and (topo.block.min() < 0 or topo.block.max() >= manifest.blocks):
        raise UserError("block number outside the dataset's blocks", source=source,
                        field="block", expected=f"0 … {manifest.blocks - 1}")
    uniq, counts = np.unique(topo.gsrn.astype(str), return_counts=True)
    if (counts > 1).any():
        raise UserError(f"GSRN {uniq[counts > 1][0]} listed twice", source=source, field="gsrn",
                        expected="one row per metering point")
    sites, mains = np.unique(topo.site[topo.role == ROLE_MAIN].astype(str), return_counts=True)
    all_sites = np.unique(topo.site.astype(str))
    no_main = np.setdiff1d(all_sites, sites)
    if len(no_main) or (mains > 1).any():
        which = no_main[0] if len(no_main) else sites[mains > 1][0]
        raise UserError(f"site {which} does not have exactly one main meter", source=source,
                        field="role", expected="one main and at least one serial meter per site")
    no_serial = np.setdiff1d(all_sites, topo.site[topo.role == ROLE_SERIAL].astype(str))
    if len(no_serial):
        raise UserError(f"site {no_serial[0]} has no serial meter (nothing to screen there)",
                        source=source, field="role",
                        expected="one main and at least one serial meter per site")


def refuse_existing(out: Path, what: str) -> None:
    if out.exists():
        raise UserError("already exists", source=str(out),
                        expected=f"a new folder for {what} (nothing is overwritten)")


@contextmanager
def whole_folder(out: Path, what: str) -> Iterator[Path]:
    """``OUT.partial`` to write into, renamed to ``OUT`` at the end and removed on any failure:
    a folder named OUT is always whole, and an existing one is never touched."""
    refuse_existing(out, what)
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    tmp.rename(out)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def local_clock_hours(times_ms: np.ndarray, zone: str) -> np.ndarray:
    """Local clock hour (fractional) of each UTC time, daylight saving included."""
    offset_s = hour_facts(times_ms // MS_PER_HOUR, zone)[1]
    return (times_ms / MS_PER_HOUR + offset_s / 3600) % 24.0


def block_path(folder: Path, block: int) -> Path:
    return folder / POINTS_DIR / block_name(block)
