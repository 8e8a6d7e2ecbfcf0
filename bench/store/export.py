"""Writing a run store's readings out as CSV or Parquet, streamed in batches (a week of 1-second
polls is far larger than memory should hold).

Columns: ``meter``, ``channel``, ``tick_utc`` (scheduled poll time), ``request_utc``,
``response_utc`` (host times), ``value`` (engineering unit of the channel; empty when flagged),
``flag``. CSV times are ISO 8601 UTC with milliseconds; Parquet times are ``timestamp[ms, UTC]``.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from meterbench.core.errors import UserError
from meterbench.core.timeutil import format_iso_utc
from meterbench.store.run_store import Store

FORMATS = ("csv", "parquet")
COLUMNS = ("meter", "channel", "tick_utc", "request_utc", "response_utc", "value", "flag")


def _iso(ms: int | None) -> str:
    return "" if ms is None else format_iso_utc(int(ms))


def export_csv(store: Store, path: Path) -> int:
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for chunk in store.iter_readings():
            w.writerows((m, c, _iso(t), _iso(rq), _iso(rs), "" if v is None else repr(v), f or "")
                        for m, c, t, rq, rs, v, f in chunk)
            n += len(chunk)
    os.replace(tmp, path)
    return n


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise UserError("Parquet export needs pyarrow, which is not installed", field="--format",
                        expected="pip install 'meterbench[export]', or --format csv") from None
    return pyarrow


def export_parquet(store: Store, path: Path) -> int:
    pa = _pyarrow()
    ts = pa.timestamp("ms", tz="UTC")
    schema = pa.schema([("meter", pa.string()), ("channel", pa.string()), ("tick_utc", ts),
                        ("request_utc", ts), ("response_utc", ts), ("value", pa.float64()),
                        ("flag", pa.string())])
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with pa.parquet.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for chunk in store.iter_readings():
            cols = list(zip(*chunk, strict=True))
            writer.write_table(pa.Table.from_arrays(
                [pa.array(col, type=field.type) for col, field in zip(cols, schema, strict=True)],
                schema=schema))
            n += len(chunk)
        if n == 0:
            writer.write_table(schema.empty_table())
    os.replace(tmp, path)
    return n


def export_run(run_dir: Path, fmt: str, out: Path | None = None) -> tuple[Path, int]:
    """Export ``run_dir``'s store; returns (file written, readings)."""
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}", field="--format", expected=" or ".join(FORMATS))
    store_path = Path(run_dir) / "store.sqlite"
    if not store_path.is_file():
        raise UserError("no store.sqlite in this folder", source=str(run_dir),
                        expected="a run folder made by meterbench run or acquire")
    if fmt == "parquet":
        _pyarrow()
    out = Path(out) if out else Path(run_dir) / f"readings.{fmt}"
    from meterbench.store.run_store import StoreError

    try:
        store = Store(store_path)
    except StoreError as exc:
        raise UserError(str(exc), source=str(store_path)) from None
    try:
        n = export_csv(store, out) if fmt == "csv" else export_parquet(store, out)
    finally:
        store.close()
    return out, n
