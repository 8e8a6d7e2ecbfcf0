"""CSV files of the pipeline commands: readings in, intervals out.

Readings: header ``meter,time,channel,value`` (any column order, extra columns ignored), ISO 8601
times with ``Z`` or an offset, cumulative kWh (``energy.*`` channels) or any other channel's value.
This is the vocabulary every command shares: ``meterbench export`` writes it. An optional ``flag``
column marks a row whose value is missing (a failed poll, a NaN, an acquisition gap): its value
is not used, and the intervals it touches are estimated at best.
Intervals: header ``meter,channel,start,resolution,quantity,quality`` with ``start`` as
``YYYY-MM-DDTHH:MMZ``, quantity in kWh with 3 decimals (empty when missing) and quality
``measured|estimated|calculated|missing``.

A bad row raises :class:`meterbench.core.errors.UserError` naming the file, the row (1 = header) and the
field, so the CLI exits 2 with one line. A row with more fields than the header is refused (a
decimal comma such as ``1,5`` would otherwise be read as ``1``), and a header that looks
semicolon-separated gets that said. Files are read with a size limit (:data:`MAX_CSV_BYTES`) as a
stream, whatever ``stat`` says (a device such as ``/dev/zero`` is cut off at the limit).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from meterbench.core.bounded import MAX_CSV_BYTES, read_bytes_bounded
from meterbench.core.csvheader import require_columns
from meterbench.core.errors import UserError
from meterbench.core.outfiles import spreadsheet_cell, unspreadsheet_cell
from meterbench.core.quality import FROM_LABEL, Quality
from meterbench.core.timeutil import RESOLUTIONS_MS, format_minute_utc, parse_iso
from meterbench.pipeline.rounding import round_with_carry
from meterbench.pipeline.series import IntervalSeries

READING_COLUMNS = ("meter", "time", "channel", "value")
INTERVAL_COLUMNS = ("meter", "channel", "start", "resolution", "quantity", "quality")
RESOLUTION_NAMES = {ms: name for name, ms in RESOLUTIONS_MS.items()}


@dataclass
class ReadingTable:
    """Readings grouped by (meter, channel), in file order, and the flagged rows' times."""

    source: str
    series: dict[tuple[str, str], tuple[list[int], list[float]]] = field(default_factory=dict)
    flagged: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def arrays(self, key: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
        t, v = self.series.get(key, ([], []))
        return np.asarray(t, dtype=np.int64), np.asarray(v, dtype=np.float64)

    def outages(self, key: tuple[str, str]) -> np.ndarray:
        return np.asarray(self.flagged.get(key, []), dtype=np.int64)


def _header(reader: csv.DictReader, wanted: tuple[str, ...], source: str) -> None:
    try:
        names = [n.strip() for n in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise UserError(f"not valid CSV: {exc}", source=source, field="header (row 1)") from None
    require_columns(names, wanted, source=source)
    reader.fieldnames = names


def read_csv_text(path: Path) -> io.StringIO:
    """The whole file as text, refused with one line when it is not readable UTF-8.

    Reading it at once keeps a decoding error (a spreadsheet's UTF-16 export, a binary file
    passed by mistake) out of the row loop, where it would escape as a traceback.
    """
    data = read_bytes_bounded(path, MAX_CSV_BYTES, what="CSV file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"not UTF-8 text (byte {exc.start})", source=str(path),
                        expected="a UTF-8 CSV file") from None
    return io.StringIO(text, newline="")


def _rows(reader: csv.DictReader, source: str) -> Iterable[tuple[int, dict[str, str]]]:
    """Numbered rows (1 = header); a row the csv module cannot split is a user error."""
    row_no = 1
    try:
        for row_no, row in enumerate(reader, start=2):
            extra = row.get(None)  # type: ignore[call-overload]
            if extra:
                n = len(reader.fieldnames or []) + len(extra)
                raise UserError(f"{n} fields where the header has {len(reader.fieldnames or [])}",
                                source=f"{source}: row {row_no}",
                                expected="one value per column, with a point as the decimal mark "
                                "(1.5, not 1,5)")
            yield row_no, {k: unspreadsheet_cell(v) if isinstance(v, str) else v
                           for k, v in row.items()}
    except csv.Error as exc:
        raise UserError(f"not valid CSV: {exc}", source=f"{source}: row {row_no + 1}",
                        expected="comma-separated values") from None


def sniff_columns(path: Path) -> list[str]:
    """The header of a CSV file (to tell readings from intervals)."""
    try:
        first = next(csv.reader(read_csv_text(path)), [])
    except csv.Error as exc:
        raise UserError(f"not valid CSV: {exc}", source=f"{path}: row 1") from None
    return [c.strip() for c in first]


def read_readings(path: Path) -> ReadingTable:
    source = str(path)
    table = ReadingTable(source)
    with read_csv_text(path) as fh:
        reader = csv.DictReader(fh)
        _header(reader, READING_COLUMNS, source)
        for row_no, row in _rows(reader, source):
            where = f"{source}: row {row_no}"
            meter = (row.get("meter") or "").strip()
            channel = (row.get("channel") or "").strip()
            if not meter:
                raise UserError("empty meter", source=where, field="meter",
                                expected="a meter name")
            if not channel:
                raise UserError("empty channel", source=where, field="channel",
                                expected="a channel such as energy.import")
            t = parse_iso(row.get("time") or "", source=where, field="time")
            text = (row.get("value") or "").strip()
            if (row.get("flag") or "").strip():  # a poll without a usable value: an outage
                table.flagged.setdefault((meter, channel), []).append(t)
                continue
            try:
                value = float(text)
            except ValueError:
                raise UserError(f"not a number: {text!r}", source=where, field="value",
                                expected="a decimal number (kWh for energy channels)") from None
            if not math.isfinite(value):
                raise UserError(f"not a finite number: {text!r}", source=where, field="value",
                                expected="a finite decimal number")
            times, values = table.series.setdefault((meter, channel), ([], []))
            times.append(t)
            values.append(value)
    if not table.series:
        raise UserError("no readings", source=source, expected="at least one data row")
    return table


@dataclass(frozen=True)
class IntervalRow:
    meter: str
    channel: str
    series: IntervalSeries


def format_quantity(value: float) -> str:
    if math.isnan(value):
        return ""
    text = f"{value:.3f}"
    return "0.000" if text == "-0.000" else text


def write_intervals(rows: Iterable[IntervalRow], out: IO[str]) -> None:
    """Write interval rows; quantities are rounded to 0.001 kWh with a carry per series."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(INTERVAL_COLUMNS)
    for row in rows:
        s = row.series
        name = RESOLUTION_NAMES.get(s.resolution_ms, f"{s.resolution_ms}ms")
        rounded = round_with_carry(s.quantity)
        for start, qty, qual in zip(s.start_ms.tolist(), rounded.tolist(), s.quality.tolist(),
                                    strict=True):
            writer.writerow([spreadsheet_cell(row.meter), spreadsheet_cell(row.channel),
                             format_minute_utc(start), name, format_quantity(qty),
                             Quality(qual).label])


def read_intervals(path: Path) -> list[IntervalRow]:
    """Read an intervals CSV back (the output of ``meterbench intervals``) into series."""
    source = str(path)
    groups: dict[tuple[str, str], tuple[int, list[int], list[float], list[int]]] = {}
    row_of: dict[tuple[str, str], list[int]] = {}
    with read_csv_text(path) as fh:
        reader = csv.DictReader(fh)
        _header(reader, INTERVAL_COLUMNS, source)
        for row_no, row in _rows(reader, source):
            where = f"{source}: row {row_no}"
            meter = (row.get("meter") or "").strip()
            channel = (row.get("channel") or "").strip()
            res_text = (row.get("resolution") or "").strip()
            if res_text not in RESOLUTIONS_MS:
                raise UserError(f"unknown resolution {res_text!r}", source=where,
                                field="resolution", expected="PT15M or PT1H")
            start = parse_iso(row.get("start") or "", source=where, field="start")
            qual_text = (row.get("quality") or "").strip().lower()
            if qual_text not in FROM_LABEL:
                raise UserError(f"unknown quality {qual_text!r}", source=where, field="quality",
                                expected="measured, estimated, calculated or missing")
            qty_text = (row.get("quantity") or "").strip()
            try:
                qty = float(qty_text) if qty_text else math.nan
            except ValueError:
                raise UserError(f"not a number: {qty_text!r}", source=where, field="quantity",
                                expected="kWh, or empty when missing") from None
            res, starts, qtys, quals = groups.setdefault((meter, channel),
                                                         (RESOLUTIONS_MS[res_text], [], [], []))
            if RESOLUTIONS_MS[res_text] != res:
                raise UserError("resolution changes within one meter and channel", source=where,
                                field="resolution", expected=RESOLUTION_NAMES[res])
            starts.append(start)
            qtys.append(qty)
            quals.append(int(FROM_LABEL[qual_text]))
            row_of.setdefault((meter, channel), []).append(row_no)
    out = []
    for (meter, channel), (res, starts, qtys, quals) in groups.items():
        order = np.argsort(starts, kind="stable")
        s = np.asarray(starts, dtype=np.int64)[order]
        steps = np.diff(s)
        if np.any(steps != res):
            k = int(np.flatnonzero(steps != res)[0])
            rows = np.asarray(row_of[(meter, channel)])[order]
            a, b = format_minute_utc(int(s[k])), format_minute_utc(int(s[k + 1]))
            what = (f"start {b} twice (rows {rows[k]} and {rows[k + 1]})" if steps[k] == 0 else
                    f"nothing between {a} (row {rows[k]}) and {b} (row {rows[k + 1]})")
            raise UserError(f"intervals of {meter} {channel} are not a regular series: {what}",
                            source=source, field="start",
                            expected=f"consecutive starts {RESOLUTION_NAMES[res]} apart, each "
                                     "once (a gap is a row with quality missing)")
        out.append(IntervalRow(meter, channel, IntervalSeries(
            s, np.asarray(qtys)[order], np.asarray(quals, dtype=np.uint8)[order], res)))
    if not out:
        raise UserError("no intervals", source=source, expected="at least one data row")
    return out
