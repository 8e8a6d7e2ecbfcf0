"""Message files: detect the format, read, write, and name them safely."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from meterbench.core.bounded import read_bytes_bounded
from meterbench.core.names import safe_component
from meterbench.datahub.build import DEFAULT_DAY_ZONE, local_day_of
from meterbench.datahub.cim_json import from_json, to_json
from meterbench.datahub.cim_xml import from_xml, to_xml
from meterbench.datahub.errors import MalformedMessage
from meterbench.datahub.model import Message

FORMATS = ("json", "xml")
#: Refuse absurdly large files before parsing: a day of PT15M for one point is ~20 kB.
MAX_MESSAGE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class MessageFile:
    path: Path
    format: str
    data: bytes
    message: Message


def detect_format(data: bytes, *, source: str | None = None) -> str:
    """``json`` or ``xml`` from the first non-blank character (after a BOM), not the file name."""
    head = data.lstrip(b"\xef\xbb\xbf").lstrip()[:1]
    if head == b"{":
        return "json"
    if head == b"<":
        return "xml"
    raise MalformedMessage("neither JSON nor XML", source=source,
                           expected="a CIM JSON object or a CIM XML document")


def parse_message(data: bytes, *, source: str | None = None) -> tuple[str, Message]:
    fmt = detect_format(data, source=source)
    message = from_json(data, source=source) if fmt == "json" else from_xml(data, source=source)
    return fmt, message


def read_message_file(path: Path) -> MessageFile:
    """Read and parse; :class:`MalformedMessage` (one line, naming the file) when impossible."""
    source = str(path)
    data = read_bytes_bounded(path, MAX_MESSAGE_BYTES, what="message file",
                              error=MalformedMessage)  # a stream: /dev/zero stops at the limit
    fmt, message = parse_message(data, source=source)
    return MessageFile(path=path, format=fmt, data=data, message=message)


def serialize(message: Message, fmt: str) -> bytes:
    if fmt == "json":
        return to_json(message).encode("utf-8")
    if fmt == "xml":
        return to_xml(message)
    raise ValueError(f"unknown message format {fmt!r}")


def message_filename(message: Message, fmt: str, *, day_zone: str = DEFAULT_DAY_ZONE) -> str:
    """``<GSRN>_<local day>.<fmt>``, e.g. ``571313000000000012_2026-03-29.json``.

    The builder makes at most one message per metering point and local day, so the name is unique
    within a delivery. Every part passes :func:`~meterbench.core.names.safe_component`, so a hostile identifier cannot
    escape DIR.
    """
    series = message.series[0]
    start = series.period.start_ms
    day = local_day_of(start, day_zone).isoformat()
    name = f"{safe_component(series.metering_point_id)}_{day}.{fmt}"
    if fmt not in FORMATS or "/" in name or "\\" in name:
        raise ValueError(f"unsafe message file name {name!r}")
    return name
