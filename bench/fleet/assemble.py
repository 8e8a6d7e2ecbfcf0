"""One block's deliveries → dense arrays on the period's grid, keeping every delivery's facts.

The screen needs each metering point as a regular series, but a DSO receives deliveries: one
per point and local day, sometimes none, sometimes two. Here the block file is read, checked
(columns, one unit, known metering points, day lengths), and for every point, direction and
local day the **latest** delivery is placed on the grid (a resend replaces, as DataHub keeps the
latest), while earlier deliveries of the same day are compared with it: identical ones are
duplicates, different ones conflicts. Nothing is merged silently: both facts come back as
findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from meterbench.core.errors import UserError
from meterbench.core.quality import Quality
from meterbench.fleet import layout as L

_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Direction:
    """One direction (import or export) of every point of a block on the period's grid."""

    kwh: np.ndarray             # (points, n) float64, NaN where unknown
    quality: np.ndarray         # (points, n) uint8
    delivered: np.ndarray       # (points, days) bool: a delivery carried this day
    delivered_ms: np.ndarray    # (points, days) int64 time of the latest delivery, 0 if none
    duplicates: list[tuple[int, int, int]]   # (point, day, count) identical repeats
    conflicts: list[tuple[int, int, int, int]]  # (point, day, rows, values that differ)


@dataclass(frozen=True)
class BlockData:
    """A block on the period's grid. ``topo`` is the block's topology in screen order (the
    main meters by site, then the serial meters grouped by site: :func:`screen_order`), and
    row k of every array is topology row k."""

    topo: L.Topology
    imp: Direction
    exp: Direction


def _fail(path: Path, message: str, field: str, expected: str) -> UserError:
    return UserError(message, source=str(path), field=field, expected=expected)


def _dictionary_codes(table: Any, name: str) -> tuple[np.ndarray, list[str]]:
    """Row codes and the dictionary of a (possibly dictionary-encoded) string column."""
    pa = L.pa()
    col = table.column(name)
    if not pa.types.is_dictionary(col.type):
        col = col.dictionary_encode()
    col = col.unify_dictionaries() if col.num_chunks > 1 else col
    chunks = col.chunks
    if not chunks:
        return np.zeros(0, np.int64), []
    dictionary = chunks[0].dictionary.to_pylist()
    codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in chunks])
    return codes.astype(np.int64), dictionary


def _list_column(table: Any, name: str, dtype: Any, path: Path
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(valid rows, offsets, flat values) of a list column; null elements become NaN / 0."""
    pa = L.pa()
    col = table.column(name)
    col = col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    if not pa.types.is_list(col.type) and not pa.types.is_large_list(col.type):
        raise _fail(path, f"column {name} is {col.type}", name, "a list of numbers per row")
    valid = ~col.is_null().to_numpy(zero_copy_only=False)
    offsets = col.offsets.to_numpy().astype(np.int64)
    values = col.values
    try:
        if values.null_count:
            fill = np.nan if dtype == np.float64 else 0
            values = values.fill_null(fill)
        flat = values.to_numpy(zero_copy_only=False).astype(dtype, copy=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        raise _fail(path, f"column {name} holds {values.type}", name, "numbers") from None
    return valid, offsets, flat


def read_block(dataset: Path, manifest: L.Manifest, topo: L.Topology, block: int) -> BlockData:
    """Read and check one block file, and place its deliveries on the grid (rows in
    :func:`screen_order`)."""
    path = L.block_path(dataset, block)
    table = _read_points(path, manifest)
    unit_codes, units = _dictionary_codes(table, "unit")
    used = sorted({units[c] for c in np.unique(unit_codes).tolist()})
    if len(used) > 1:
        raise _fail(path, f"mixed units {', '.join(used)} in one partition", "unit",
                    "one energy unit per partition")
    if used and used[0] not in L.UNITS_TO_KWH:
        raise _fail(path, f"unknown unit {used[0]!r}", "unit", ", ".join(L.UNITS_TO_KWH))
    factor = L.UNITS_TO_KWH[used[0]] if used else 1.0
    gsrn_codes, gsrns = _dictionary_codes(table, "gsrn")
    index = {g: k for k, g in enumerate(topo.gsrn.tolist())}
    lookup = np.array([index.get(g, -1) for g in gsrns], dtype=np.int64)
    listed = lookup[gsrn_codes] if len(gsrn_codes) else gsrn_codes  # topology row
    if (listed < 0).any():
        bad = gsrns[int(gsrn_codes[np.flatnonzero(listed < 0)[0]])]
        raise _fail(path, f"metering point {bad} is not in block {block} of the topology",
                    "gsrn", "every GSRN of a block listed in topology.parquet for that block")
    day = (table.column("day").to_numpy().astype("datetime64[D]").astype(np.int64)
           - (manifest.first_day - _EPOCH).days)
    bad_day = (day < 0) | (day >= manifest.days)
    if bad_day.any():
        k = int(np.flatnonzero(bad_day)[0])
        raise _fail(path, f"row {k + 1}: day {manifest.day_of(day[k])} is outside the period",
                    "day", f"{manifest.first_day} + {manifest.days} days")
    start = table.column("start").cast(L.pa().int64()).to_numpy()
    if (start != manifest.day_bounds_ms[day]).any():
        k = int(np.flatnonzero(start != manifest.day_bounds_ms[day])[0])
        raise _fail(path, f"row {k + 1}: start is not local midnight of {manifest.day_of(day[k])}",
                    "start", f"the first interval of the local day ({manifest.zone})")
    delivered = table.column("delivered").cast(L.pa().int64()).to_numpy()
    order = screen_order(topo)
    row_of = np.empty(len(order), dtype=np.int64)
    row_of[order] = np.arange(len(order))
    topo = topo.select(order)
    rows = _Rows(row_of[listed], listed, day, delivered)
    return BlockData(topo, *(_direction(path, manifest, topo, table, name, rows, factor)
                             for name in ("import", "export")))


@dataclass(frozen=True)
class _Rows:
    """Per row of a block file: the point's row on the grid (screen order), its row in the
    topology as given (the order the files are written in), the day, the delivery time."""

    point: np.ndarray
    listed: np.ndarray
    day: np.ndarray
    delivered: np.ndarray


def _direction(path: Path, m: L.Manifest, topo: L.Topology, table: Any, name: str,
               file_rows: _Rows, factor: float) -> Direction:
    point, day, delivered = file_rows.point, file_rows.day, file_rows.delivered
    valid, offsets, values = _list_column(table, name, np.float64, path)
    q_valid, q_offsets, quality = _list_column(table, f"{name}_quality", np.uint8, path)
    lengths = np.diff(offsets)
    first = m.day_first_index
    want = (first[1:] - first[:-1])[day]
    wrong = valid & ((lengths != want) | ~q_valid | (np.diff(q_offsets) != lengths))
    if wrong.any():
        k = int(np.flatnonzero(wrong)[0])
        raise _fail(path, f"row {k + 1}: {lengths[k]} {name} values for "
                    f"{m.day_of(day[k])}", name,
                    f"{want[k]} values and as many qualities (the local day's intervals)")
    if factor != 1.0:
        values = values * factor
    n_pts, n = len(topo), m.n_intervals
    kwh = np.full((n_pts, n), np.nan)
    qual = np.zeros((n_pts, n), dtype=np.uint8)
    got = np.zeros((n_pts, m.days), dtype=bool)
    got_ms = np.zeros((n_pts, m.days), dtype=np.int64)
    order = _by_point_day_delivery(np.flatnonzero(valid), file_rows.listed, day, delivered)
    key = file_rows.listed[order] * m.days + day[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = key[1:] != key[:-1]
    keep = order[last]
    _copy_segments((kwh.reshape(-1), qual.reshape(-1)), (values, quality),
                   point[keep] * n + first[day[keep]], offsets[keep], lengths[keep])
    missing = np.isnan(kwh)  # a value that is not a number is missing, whatever its label;
    missing |= qual == Quality.MISSING  # a missing value has no number
    np.copyto(kwh, np.nan, where=missing)
    np.copyto(qual, np.uint8(Quality.MISSING), where=missing)
    _refuse_infinity(path, m, name, kwh, point[keep], day[keep], keep)
    got[point[keep], day[keep]] = True
    got_ms[point[keep], day[keep]] = delivered[keep]
    duplicates, conflicts = _repeats(order, key, last, offsets, values, quality, point, day)
    if not topo.exports.all() and name == "export":  # no export metering point: nothing to net
        none = ~topo.exports
        kwh[none] = 0.0
        qual[none] = Quality.MEASURED
        got[none] = True
    return Direction(kwh, qual, got, got_ms, duplicates, conflicts)


def _refuse_infinity(path: Path, m: L.Manifest, name: str, kwh: np.ndarray,
                     point: np.ndarray, day: np.ndarray, row: np.ndarray) -> None:
    """An infinite screened value is a malformed delivery: one line naming its row.

    Energy is finite; a missing value is NaN or carries the missing quality. With every value
    finite or NaN, the checks may count NaN as 0 where ``np.nan_to_num`` would also turn an
    infinity into the largest float.
    """
    if not np.isinf(kwh).any():
        return
    pt, t = divmod(int(np.flatnonzero(np.isinf(kwh).reshape(-1))[0]), m.n_intervals)
    d = int(np.searchsorted(m.day_first_index, t, side="right") - 1)
    k = int(row[np.flatnonzero((point == pt) & (day == d))[0]])
    raise _fail(path, f"row {k + 1}: an infinite {name} value for {m.day_of(d)}", name,
                "finite numbers (a missing value: NaN or quality 0)")


def _repeats(order: np.ndarray, key: np.ndarray, last: np.ndarray, offsets: np.ndarray,
             values: np.ndarray, quality: np.ndarray, point: np.ndarray, day: np.ndarray
             ) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int, int]]]:
    """Days delivered more than once: identical repeats, or conflicts (values that differ)."""
    duplicates: list[tuple[int, int, int]] = []
    conflicts: list[tuple[int, int, int, int]] = []
    first_of = np.ones(len(order), dtype=bool)
    first_of[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first_of)
    ends = np.flatnonzero(last) + 1
    for a, b in zip(starts[ends - starts > 1].tolist(), ends[ends - starts > 1].tolist(),
                    strict=True):
        rows = order[a:b]
        latest = rows[-1]
        ref_v = values[offsets[latest]:offsets[latest + 1]]
        ref_q = quality[offsets[latest]:offsets[latest + 1]]
        differ = 0
        for r in rows[:-1].tolist():
            v = values[offsets[r]:offsets[r + 1]]
            q = quality[offsets[r]:offsets[r + 1]]
            if len(v) != len(ref_v):
                differ = max(differ, max(len(v), len(ref_v)))
                continue
            same = (v == ref_v) | (np.isnan(v) & np.isnan(ref_v))
            differ = max(differ, int(np.count_nonzero(~same | (q != ref_q))))
        pt, d = int(point[latest]), int(day[latest])
        if differ:
            conflicts.append((pt, d, b - a, differ))
        else:
            duplicates.append((pt, d, b - a))
    return duplicates, conflicts


#: Columns the screen reads; ``site``, ``role`` and ``operator`` come from the topology (the
#: file must still have them: its schema is checked against every documented column).
READ_COLUMNS = ("gsrn", "day", "start", "unit", "import", "import_quality", "export",
                "export_quality", "delivered")


def _read_points(path: Path, manifest: L.Manifest) -> Any:
    """The block file's columns the screen needs, after checking that it has all of them.

    Read in this thread only: a worker is one core, and Arrow's thread pool would compete
    with the other workers for the same cores (a fifth more CPU time for the same file).
    """
    try:
        file = L.pq().ParquetFile(path)
        missing = [c for c in L.POINT_COLUMNS if c not in file.schema_arrow.names]
        if missing:
            raise _fail(path, f"missing column(s) {', '.join(missing)}", missing[0],
                        ", ".join(L.POINT_COLUMNS))
        return file.read(columns=list(READ_COLUMNS), use_threads=False)
    except FileNotFoundError:
        raise _fail(path, "missing", "points", f"{manifest.blocks} block files") from None
    except UserError:
        raise
    except Exception as exc:  # pyarrow: damaged file, not Parquet
        raise _fail(path, f"cannot read: {L.first_line(exc)}", "points", "a Parquet file"
                    ) from None


def _by_point_day_delivery(rows: np.ndarray, point: np.ndarray, day: np.ndarray,
                           delivered: np.ndarray) -> np.ndarray:
    """``rows`` in (point, day, delivery time) order, ties kept in file order.

    The bench writes block files in this order, so a check (one pass) usually replaces the
    sort; a stable sort of ordered rows is the identity, so both paths agree.
    """
    p, d, t = point[rows], day[rows], delivered[rows]
    dp, dd, dt = np.diff(p), np.diff(d), np.diff(t)
    if ((dp > 0) | ((dp == 0) & ((dd > 0) | ((dd == 0) & (dt >= 0))))).all():
        return rows
    return rows[np.lexsort((t, d, p))]


def _copy_segments(targets: tuple[np.ndarray, ...], sources: tuple[np.ndarray, ...],
                   to: np.ndarray, at: np.ndarray, length: np.ndarray) -> None:
    """``target[to[i]:to[i] + length[i]] = source[at[i]:at[i] + length[i]]`` for every i.

    Segments that continue each other on both sides (a point's consecutive days, as the files
    hold them) are copied as one slice: a few hundred slice copies per block instead of an
    index per value.
    """
    if not len(length):
        return
    src_end, dst_end = at + length, to + length
    joined = (at[1:] == src_end[:-1]) & (to[1:] == dst_end[:-1])
    first = np.flatnonzero(np.concatenate([[True], ~joined]))
    final = np.concatenate([first[1:], [len(length)]]) - 1
    for s0, s1, d0 in zip(at[first].tolist(), src_end[final].tolist(), to[first].tolist(),
                          strict=True):
        for target, source in zip(targets, sources, strict=True):
            target[d0:d0 + s1 - s0] = source[s0:s1]


def nan_to_zero(values: np.ndarray) -> np.ndarray:
    """``values`` with NaN as 0: all ``np.nan_to_num`` does to a block's values, which are finite
    or NaN (:func:`read_block` refuses infinities), in one pass instead of four."""
    return np.where(np.isnan(values), 0.0, values)


def count_per_day(mask: np.ndarray, first: np.ndarray) -> np.ndarray:
    """True entries of each row per local day (``first``: the days' first intervals and the
    end). Counted in 32-bit integers: a day has at most a hundred intervals, and summing
    booleans as 64-bit integers would convert the whole mask first."""
    return np.add.reduceat(mask, first[:-1], axis=1, dtype=np.int32)


@dataclass(frozen=True)
class Sites:
    """Index arrays of a block: main point per site, serial points and their site rows.

    ``main_rows`` and ``serial_rows`` select the same rows as ``main`` and ``serial``: slices
    when the rows are contiguous (as :func:`read_block` lays them out), so taking every main
    or serial meter's series is a view, not a copy.
    """

    main: np.ndarray
    serial: np.ndarray
    serial_site: np.ndarray
    site_of_point: np.ndarray
    main_rows: slice | np.ndarray
    serial_rows: slice | np.ndarray


def block_sites(topo: L.Topology) -> Sites:
    """Main meter of every site (by site name order) and the serial meters grouped by site."""
    site_names, site_of_point = np.unique(topo.site.astype(str), return_inverse=True)
    main = np.full(len(site_names), -1, dtype=np.int64)
    is_main = topo.role == L.ROLE_MAIN
    main[site_of_point[is_main]] = np.flatnonzero(is_main)
    serial = np.flatnonzero(~is_main)
    order = np.argsort(site_of_point[serial], kind="stable")
    serial = serial[order]
    return Sites(main, serial, site_of_point[serial], site_of_point, _rows(main), _rows(serial))


def screen_order(topo: L.Topology) -> np.ndarray:
    """Topology rows in screen order: every site's main meter (sites by name), then the
    serial meters grouped by site (a site's in topology order)."""
    st = block_sites(topo)
    return np.concatenate([st.main, st.serial])


def _rows(index: np.ndarray) -> slice | np.ndarray:
    """``index`` as a slice when it is a run of consecutive rows."""
    if len(index) and (np.diff(index) == 1).all():
        return slice(int(index[0]), int(index[-1]) + 1)
    return index
