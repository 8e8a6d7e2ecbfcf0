"""Read a finished run folder's DataHub inputs and write the messages.

Contract with the run folder (issue 9):

* ``RUN/results.json``: ``{"datahub": {"sender_gln", "receiver_gln", "metering_points": [{"meter",
  "gsrn", "type", "subtype", "resolution", "channel"}]}}`` (other keys are ignored);
* ``RUN/series/intervals.csv``: columns ``meter,channel,start,resolution,quantity,quality`` with
  ``start`` as ``YYYY-MM-DDTHH:MMZ`` UTC, ``quantity`` kWh (empty when missing) and ``quality`` one
  of ``measured|estimated|calculated|missing``.

Every problem is a :class:`UserError` naming the file, the field (or CSV line) and what was expected.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from meterbench.core.errors import UserError
from meterbench.core.outfiles import atomic_output
from meterbench.core.quality import FROM_LABEL
from meterbench.datahub import codes
from meterbench.datahub.build import DEFAULT_DAY_ZONE, Intervals, build_messages
from meterbench.datahub.errors import MalformedMessage
from meterbench.datahub.files import message_filename, serialize
from meterbench.datahub.identifiers import require_gln, require_gsrn
from meterbench.datahub.model import Message, MeteringPoint
from meterbench.datahub.times import parse_period_time

RESULTS_FILE = "results.json"
INTERVALS_FILE = Path("series") / "intervals.csv"
INTERVAL_COLUMNS = ("meter", "channel", "start", "resolution", "quantity", "quality")


@dataclass(frozen=True)
class DeliveryInputs:
    sender_gln: str
    receiver_gln: str
    metering_points: tuple[MeteringPoint, ...]
    intervals: tuple[Intervals, ...]
    intervals_source: str | None = None


def load_delivery_config(results_path: Path) -> tuple[str, str, tuple[MeteringPoint, ...]]:
    """Sender GLN, receiver GLN and the metering points from a run's ``results.json``."""
    source = str(results_path)
    try:
        tree = json.loads(results_path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror or exc}", source=source) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"not valid JSON: {exc}", source=source) from None
    section = tree.get("datahub") if isinstance(tree, dict) else None
    if not isinstance(section, dict):
        raise UserError("no DataHub settings", source=source, field="datahub",
                        expected="an object with sender_gln, receiver_gln, metering_points")
    sender = require_gln(section.get("sender_gln"), source=source, field="datahub.sender_gln")
    receiver = require_gln(section.get("receiver_gln"), source=source,
                           field="datahub.receiver_gln")
    entries = section.get("metering_points")
    if not isinstance(entries, list) or not entries:
        raise UserError("no metering points", source=source, field="datahub.metering_points",
                        expected="a non-empty list")
    points = tuple(_metering_point(e, source, f"datahub.metering_points[{i}]")
                   for i, e in enumerate(entries))
    seen: set[str] = set()
    for mp in points:
        if mp.gsrn in seen:
            raise UserError(f"GSRN {mp.gsrn} listed twice", source=source,
                            field="datahub.metering_points", expected="one entry per GSRN")
        seen.add(mp.gsrn)
    return sender, receiver, points


def _metering_point(entry: Any, source: str, where: str) -> MeteringPoint:
    if not isinstance(entry, dict):
        raise UserError("not an object", source=source, field=where)

    def text(key: str, allowed: frozenset[str] | tuple[str, ...] | None = None) -> str:
        value = entry.get(key)
        if not isinstance(value, str) or not value:
            raise UserError(f"missing or not a string: {value!r}", source=source,
                            field=f"{where}.{key}", expected="a non-empty string")
        if allowed is not None and value not in allowed:
            raise UserError(f"unknown value {value!r}", source=source, field=f"{where}.{key}",
                            expected="one of " + ", ".join(sorted(allowed)))
        return value

    return MeteringPoint(
        gsrn=require_gsrn(entry.get("gsrn"), source=source, field=f"{where}.gsrn"),
        type=text("type", codes.METERING_POINT_TYPES),
        subtype=text("subtype", codes.SUBTYPES),
        resolution=text("resolution", codes.BUILD_RESOLUTIONS),
        meter=text("meter"),
        channel=text("channel"),
        unit=text("unit", codes.ACCEPTED_UNITS) if "unit" in entry else codes.UNIT_KWH,
    )


def load_intervals(csv_path: Path) -> tuple[Intervals, ...]:
    """The interval CSV grouped into one :class:`Intervals` per (meter, channel)."""
    source = str(csv_path)
    groups: dict[tuple[str, str], dict[str, list[Any]]] = defaultdict(
        lambda: {"start": [], "kwh": [], "quality": [], "resolution": set()})
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in INTERVAL_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise UserError(f"missing columns {', '.join(missing)}", source=source,
                                field="header", expected=",".join(INTERVAL_COLUMNS))
            for row in reader:
                line = f"line {reader.line_num}"
                group = groups[(row["meter"] or "", row["channel"] or "")]
                group["start"].append(_start(row["start"], source, line))
                group["kwh"].append(_kwh(row["quantity"], source, line))
                quality = FROM_LABEL.get((row["quality"] or "").strip())
                if quality is None:
                    raise UserError(f"unknown quality {row['quality']!r}", source=source,
                                    field=f"{line} quality",
                                    expected="measured, estimated, calculated or missing")
                group["quality"].append(int(quality))
                group["resolution"].add(row["resolution"])
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror or exc}", source=source) from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise UserError(f"not a readable CSV: {exc}", source=source) from None
    out = []
    for (meter, channel), group in groups.items():
        if len(group["resolution"]) != 1:
            raise UserError(f"meter {meter!r} channel {channel!r} mixes resolutions "
                            f"{sorted(group['resolution'])}", source=source, field="resolution",
                            expected="one resolution per meter and channel")
        out.append(Intervals(meter=meter, channel=channel, resolution=group["resolution"].pop(),
                             start_ms=group["start"], kwh=group["kwh"], quality=group["quality"]))
    return tuple(out)


def _start(text: str | None, source: str, line: str) -> int:
    try:
        return parse_period_time((text or "").strip(), source=source, field=f"{line} start")
    except MalformedMessage as exc:
        raise UserError(exc.message, source=source, field=f"{line} start",
                        expected=exc.expected) from None


def _kwh(text: str | None, source: str, line: str) -> float:
    cleaned = (text or "").strip()
    if not cleaned:
        return math.nan
    try:
        value = float(cleaned)
    except ValueError:
        value = math.nan
        finite = False
    else:
        finite = math.isfinite(value)
    if not finite:
        raise UserError(f"not a number: {cleaned!r}", source=source, field=f"{line} quantity",
                        expected="kWh like 1.250, or empty when missing")
    return value


def load_run(run_dir: Path) -> DeliveryInputs:
    if not run_dir.is_dir():
        raise UserError("not a run folder", source=str(run_dir),
                        expected=f"a folder with {RESULTS_FILE} and {INTERVALS_FILE}")
    sender, receiver, points = load_delivery_config(run_dir / RESULTS_FILE)
    csv_path = run_dir / INTERVALS_FILE
    return DeliveryInputs(sender_gln=sender, receiver_gln=receiver, metering_points=points,
                          intervals=load_intervals(csv_path), intervals_source=str(csv_path))


def build_run_messages(inputs: DeliveryInputs, created_ms: int, *, whole_days: bool = True,
                       days: list[date] | None = None,
                       day_zone: str = DEFAULT_DAY_ZONE) -> list[Message]:
    try:
        return build_messages(inputs.intervals, inputs.metering_points, inputs.sender_gln,
                              inputs.receiver_gln, created_ms, days=days, day_zone=day_zone,
                              whole_days=whole_days)
    except UserError as exc:
        if exc.source is None and inputs.intervals_source:  # say which file the bad rows are in
            raise UserError(exc.message, source=inputs.intervals_source, field=exc.field,
                            expected=exc.expected) from None
        raise


def prepare_outbox(out_dir: Path, option: str = "--out") -> Path:
    """The folder messages go to, created if needed; a user error when it is a file."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError("is a file, not a folder", source=str(out_dir), field=option,
                        expected="a folder for the message files")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a parent is a file
        raise UserError("a parent of the folder is a file", source=str(out_dir),
                        field=option, expected="a folder for the message files") from None
    return out_dir


def write_messages(messages: list[Message], fmt: str, out_dir: Path) -> list[Path]:
    """Write each message as ``out_dir/<GSRN>_<local day>.<fmt>`` (atomically); returns the paths.

    Two messages that would share a file name (one metering point twice on one day, e.g. two
    meters given one GSRN) are refused before anything is written: the second would silently
    replace the first, and its energy would be lost without a word.
    """
    prepare_outbox(out_dir)
    root = out_dir.resolve()
    named: dict[str, Message] = {}
    for message in messages:
        name = message_filename(message, fmt)
        if name in named:
            raise UserError(f"two messages for metering point "
                            f"{message.series[0].metering_point_id} on one day ({name})",
                            field="metering point", expected="one GSRN per metering point")
        named[name] = message
    paths = []
    for name, message in named.items():
        path = out_dir / name
        if path.resolve().parent != root:  # defence in depth; names are already sanitized
            raise UserError(f"message file {path} would leave {out_dir}", field="file name")
        with atomic_output(path, what="message file") as tmp:
            tmp.write_bytes(serialize(message, fmt))
        paths.append(path)
    return paths
