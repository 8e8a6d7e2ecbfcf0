"""Writing a run store's readings out as CSV or Parquet, streamed in batches (a week of 1-second
polls is far larger than memory should hold).

The columns are the readings vocabulary every command shares (``meterbench intervals`` reads an
export as it is): ``meter``, ``time`` (the sample time, midway between request and response, as
the run's own pipeline uses it), ``channel``, ``value`` (engineering unit of the channel; empty
when flagged), then ``flag`` (why a value is missing: ``nan``, ``not_available``, ...,
``poll_failed`` for a poll that got no answer, ``gap`` for the first poll an acquisition missed
while it was down), ``tick_utc`` (scheduled poll time), ``request_utc``, ``response_utc``. CSV
times are ISO 8601 UTC with milliseconds; Parquet times are ``timestamp[ms, UTC]``. Failed polls
and gaps follow the readings, one row per channel of the meter.

An export covers the bench period the run folder records (each series from its last reading at
or before the period's start to its first at or after its end, so every boundary is bracketed);
``everything=True`` (``--all``) writes every stored reading, pre-roll included. The store is
opened read-only, so a run folder on read-only media exports to a writable ``--out``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from meterbench.core.errors import UserError
from meterbench.core.outfiles import atomic_output, check_output_path, spreadsheet_cell
from meterbench.core.timeutil import format_iso_utc
from meterbench.run.lock import LOCK_FILE, locked
from meterbench.store.run_store import Store, StoreError

FORMATS = ("csv", "parquet")
COLUMNS = ("meter", "time", "channel", "value", "flag", "tick_utc", "request_utc",
           "response_utc")
#: Files a run folder's own commands wrote: an export never writes over them.
RUN_FILES = ("store.sqlite", "store.sqlite-wal", "store.sqlite-shm", "results.json",
             "acquisition.json", "report.html", "report.pdf", LOCK_FILE, ".reserve")
RUN_FOLDERS = ("series", "outbox", "datahub")
#: Flags of the rows that stand for a poll without an answer rather than a reading.
OUTAGE_FLAGS = ("poll_failed", "gap")

Row = tuple[str, str, int | None, int, int, float | None, str | None]


def _iso(ms: int | None) -> str:
    return "" if ms is None else format_iso_utc(int(ms))


def _iso_ms(ms: int | None) -> str:
    """A CSV time cell: always with milliseconds (``...T23:58:00.000Z``), so the column parses
    with one fixed format."""
    return "" if ms is None else format_iso_utc(int(ms), always_ms=True)


def bench_period(run_dir: Path, store: Store) -> tuple[int, int] | None:
    """The bench period the folder records: the store's ``period``, else results.json's."""
    period = store.meta().get("period")
    if isinstance(period, dict) and {"start_ms", "end_ms"} <= set(period):
        return int(period["start_ms"]), int(period["end_ms"])
    results = Path(run_dir) / "results.json"
    if results.is_file():
        from meterbench.core.timeutil import parse_iso

        try:
            run = json.loads(results.read_text(encoding="utf-8"))["run"]
            return parse_iso(run["period_start_utc"]), parse_iso(run["period_end_utc"])
        except (OSError, ValueError, KeyError, TypeError, UserError):
            return None
    return None


def _bracket(store: Store, period: tuple[int, int]) -> dict[tuple[str, str], tuple[int, int]]:
    """Per series, the sample times that bracket the period: last valid reading at or before its
    start, first at or after its end (or the period itself where there is none)."""
    start, end = period
    mid = "(request_ms + response_ms) / 2"
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for meter, channel, lo, hi in store._db.execute(
            f"SELECT m.name, c.name, max(CASE WHEN {mid} <= ? THEN {mid} END), "
            f"min(CASE WHEN {mid} >= ? THEN {mid} END) FROM readings r "
            "JOIN meters m ON m.id = r.meter JOIN channels c ON c.id = r.channel "
            "WHERE r.value IS NOT NULL AND r.flag IS NULL GROUP BY m.name, c.name",
            (start, end)):
        out[(meter, channel)] = (start if lo is None else int(lo), end if hi is None else int(hi))
    return out


def export_rows(store: Store, period: tuple[int, int] | None) -> Iterator[list[Row]]:
    """The rows to write, in batches: readings (within the period's brackets), then failed polls
    and acquisition gaps (within the period), one row per channel of their meter."""
    brackets = _bracket(store, period) if period is not None else None
    for chunk in store.iter_readings():
        if brackets is None:
            yield chunk
            continue
        kept = []
        for row in chunk:
            lo, hi = brackets.get((row[0], row[1]), period)  # type: ignore[arg-type]
            if lo <= (row[3] + row[4]) // 2 <= hi:
                kept.append(row)
        if kept:
            yield kept
    channels: dict[str, list[str]] = {}
    for meter, channel in store._db.execute(
            "SELECT DISTINCT m.name, c.name FROM readings r JOIN meters m ON m.id = r.meter "
            "JOIN channels c ON c.id = r.channel ORDER BY m.name, c.name"):
        channels.setdefault(meter, []).append(channel)
    outages = []
    for e in store.events():
        if e["kind"] not in OUTAGE_FLAGS or e["meter"] not in channels:
            continue
        at = e["tick_ms"] if e["tick_ms"] is not None else e["t_ms"]
        if period is not None and not period[0] <= at <= period[1]:
            continue
        outages += [(e["meter"], ch, e["tick_ms"], at, at, None, e["kind"])
                    for ch in channels[e["meter"]]]
    if outages:
        yield outages


def _csv_row(row: Row) -> list[Any]:
    m, c, t, rq, rs, v, f = row
    sample = (rq + rs) // 2
    polled = f not in OUTAGE_FLAGS  # an outage row has no request or response
    return [spreadsheet_cell(m), _iso_ms(sample), spreadsheet_cell(c),
            "" if v is None else repr(v), spreadsheet_cell(f or ""), _iso_ms(t),
            _iso_ms(rq) if polled else "", _iso_ms(rs) if polled else ""]


def export_csv(rows: Iterator[list[Row]], path: Path) -> int:
    n = 0
    with atomic_output(path, what="export") as tmp, \
            open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for chunk in rows:
            w.writerows(_csv_row(r) for r in chunk)
            n += len(chunk)
    return n


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise UserError("Parquet export needs pyarrow, which is not installed", field="--format",
                        expected="pip install 'meterbench[export]', or --format csv") from None
    return pyarrow


def export_parquet(rows: Iterator[list[Row]], path: Path) -> int:
    pa = _pyarrow()
    ts = pa.timestamp("ms", tz="UTC")
    schema = pa.schema([("meter", pa.string()), ("time", ts), ("channel", pa.string()),
                        ("value", pa.float64()), ("flag", pa.string()), ("tick_utc", ts),
                        ("request_utc", ts), ("response_utc", ts)])
    n = 0
    with atomic_output(path, what="export") as tmp, \
            pa.parquet.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for chunk in rows:
            polled = [r[6] not in OUTAGE_FLAGS for r in chunk]
            cols = [[r[0] for r in chunk], [(r[3] + r[4]) // 2 for r in chunk],
                    [r[1] for r in chunk], [r[5] for r in chunk], [r[6] for r in chunk],
                    [r[2] for r in chunk], [r[3] if p else None for r, p in zip(chunk, polled, strict=True)],
                    [r[4] if p else None for r, p in zip(chunk, polled, strict=True)]]
            writer.write_table(pa.Table.from_arrays(
                [pa.array(col, type=field.type) for col, field in zip(cols, schema, strict=True)],
                schema=schema))
            n += len(chunk)
        if n == 0:
            writer.write_table(schema.empty_table())
    return n


class Exported(NamedTuple):
    """What an export wrote, and a note when the bench period and the readings do not match."""

    path: Path
    rows: int
    note: str | None


def coverage_note(store: Store, period: tuple[int, int] | None) -> str | None:
    """Say so when the stored readings do not cover the bench period the export is cut to.

    An acquisition stopped early, or one started before the bench period, leaves the default
    export short or nearly empty; the note names both spans and the ``--all`` way out.
    """
    if period is None:
        return None
    mid = "(request_ms + response_ms) / 2"
    first, last = store._db.execute(
        f"SELECT min({mid}), max({mid}) FROM readings WHERE value IS NOT NULL").fetchone()
    start, end = period
    span = f"the bench period is {_iso(start)} to {_iso(end)}"
    if first is None:
        return f"the store holds no reading ({span})"
    if first <= start and last >= end:
        return None
    stored = f"the readings span {_iso(int(first))} to {_iso(int(last))}"
    if last < start:
        reason = "the period has not been reached yet; --all exports every stored reading"
    elif last < end:
        reason = ("the acquisition stopped before the period's end; resume it with "
                  "meterbench acquire --out RUN")
    else:
        reason = "the readings begin after the period does"
    return f"{span}, {stored}: {reason}"


def _refuse_run_files(run_dir: Path, out: Path) -> None:
    """An export never replaces a file the run folder's own commands wrote (the store, above
    all), however ``--out`` names it (relative, via a symlink, a hard link)."""
    root = run_dir.resolve()
    target = out.resolve()
    inside = root == target.parent or root in target.parents
    rel = target.relative_to(root).parts if inside else ()
    protected = [run_dir / name for name in RUN_FILES]
    same = any(p.exists() and out.exists() and p.samefile(out) for p in protected)
    if same or (rel and (rel[0] in RUN_FILES or (len(rel) > 1 and rel[0] in RUN_FOLDERS))):
        raise UserError("would write over a file of the run folder", source=str(out),
                        field="--out", expected="a new file, e.g. RUN/readings.csv (the default)")


def export_run(run_dir: Path, fmt: str, out: Path | None = None, *,
               everything: bool = False) -> Exported:
    """Export ``run_dir``'s store: the file written, its rows and a coverage note. Writing into
    the run folder holds its lock (an export is a writer there like any other)."""
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}", field="--format", expected=" or ".join(FORMATS))
    run_dir = Path(run_dir)
    store_path = run_dir / "store.sqlite"
    if not store_path.is_file():
        raise UserError("no store.sqlite in this folder", source=str(run_dir),
                        expected="a run folder made by meterbench run or acquire")
    if fmt == "parquet":
        _pyarrow()
    out = Path(out) if out else run_dir / f"readings.{fmt}"
    _refuse_run_files(run_dir, out)
    check_output_path(out, what="export")  # before the store is opened: a refusal touches nothing
    root = run_dir.resolve()
    inside = root in out.resolve().parents
    try:
        store = Store(store_path, read_only=True)
    except StoreError as exc:
        raise UserError(str(exc), source=str(store_path)) from None
    try:
        period = None if everything else bench_period(run_dir, store)
        note = coverage_note(store, period)
        rows = export_rows(store, period)
        write = export_csv if fmt == "csv" else export_parquet
        if inside:
            with locked(run_dir, "meterbench export"):
                n = write(rows, out)
        else:
            n = write(rows, out)
    finally:
        store.close()
    return Exported(out, n, note)
