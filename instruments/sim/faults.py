"""Faults a simulated meter can be scripted to show, per time window, declared as plain data.

Two families:

* **wire faults** change what goes over the line: a Modbus exception (``exception``), no answer at
  all (``no_answer``), a corrupted frame (``corrupt``: bad CRC on RTU framing, a wrong transaction
  id on Modbus TCP, which has no checksum), a dropped TCP connection (``drop``);
* **value faults** change what the registers hold: a frozen counter (``frozen``), a counter reset
  (``reset``), the model's "not available" sentinel (``not_available``), ``nan``, and a jump of
  the meter's own clock (``clock_jump``: ``seconds`` added to ``clock.unix_ms`` inside the window;
  only for models whose map has a clock).

Windows are ``[start, end)`` in epoch ms on the simulator's own time function (so they work in
virtual time); a missing ``start`` means "from the beginning", a missing ``end`` "for ever".
``count`` limits a wire fault to the first N requests inside its window (a transient fault that a
retry gets past).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from meterbench.instruments.errors import EXCEPTION_NAMES, FaultSpecError

WIRE_KINDS = ("exception", "no_answer", "corrupt", "drop")
VALUE_KINDS = ("frozen", "reset", "not_available", "nan", "clock_jump")
KINDS = WIRE_KINDS + VALUE_KINDS
_ALIASES = {"timeout": "no_answer", "bad_crc": "corrupt", "disconnect": "drop",
            "frozen_counter": "frozen", "counter_reset": "reset", "sentinel": "not_available"}

#: Short names accepted for exception codes (Modbus Application Protocol V1.1b3, section 7).
SHORT_EXCEPTION_CODES: dict[str, int] = {
    "illegal_function": 0x01, "illegal_address": 0x02, "illegal_value": 0x03,
    "device_failure": 0x04, "acknowledge": 0x05, "busy": 0x06, "memory_parity": 0x08,
    "gateway_path": 0x0A, "gateway_no_response": 0x0B,
}
EXCEPTION_CODES: dict[str, int] = {
    **SHORT_EXCEPTION_CODES, **{name.lower(): code for code, name in EXCEPTION_NAMES.items()}}
ENERGY_CHANNELS = ("energy.import", "energy.export")
_KEYS = {"kind", "start", "end", "code", "channels", "count", "seconds"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class Fault:
    """One scripted fault; see the module docstring for the kinds."""

    kind: str
    start_ms: int | None = None
    end_ms: int | None = None
    code: int | None = None
    channels: tuple[str, ...] | None = None
    count: int | None = None
    seconds: float = 0.0  # clock_jump: how far the meter's clock jumps

    def active(self, now_ms: int) -> bool:
        return ((self.start_ms is None or now_ms >= self.start_ms)
                and (self.end_ms is None or now_ms < self.end_ms))

    @property
    def is_wire(self) -> bool:
        return self.kind in WIRE_KINDS


def parse_time_ms(value: Any, *, source: str | None, field: str) -> int:
    """Epoch ms from an int, an aware ``datetime`` (TOML) or ISO 8601 text with an offset."""
    if isinstance(value, bool):
        raise FaultSpecError(f"not a time: {value!r}", source=source, field=field,
                             expected="epoch ms or ISO 8601 like 2026-03-29T01:00:00Z")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise FaultSpecError(f"not an ISO 8601 time: {value!r}", source=source, field=field,
                                 expected="e.g. 2026-03-29T01:00:00Z") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise FaultSpecError(f"time {value.isoformat()} has no UTC offset", source=source,
                                 field=field, expected="a trailing Z or +HH:MM")
        return (value - _EPOCH) // _MS
    raise FaultSpecError(f"not a time: {value!r}", source=source, field=field,
                         expected="epoch ms or ISO 8601 like 2026-03-29T01:00:00Z")


def fault_from_dict(data: Mapping[str, Any], *, source: str | None = None,
                    field: str = "fault") -> Fault:
    """A :class:`Fault` from plain data, e.g. ``{kind="exception", code="busy", start=..., end=...}``.

    ``source``/``field`` name where the dict came from, for the error message.
    """
    def fail(key: str, message: str, expected: str) -> FaultSpecError:
        return FaultSpecError(message, source=source, field=f"{field}.{key}", expected=expected)

    if not isinstance(data, Mapping):
        raise FaultSpecError(f"not a table: {data!r}", source=source, field=field,
                             expected="{ kind = \"exception\", code = \"busy\", start = ..., end = ... }")
    unknown = set(data) - _KEYS
    if unknown:
        raise fail(sorted(unknown)[0], "unknown key", "one of " + ", ".join(sorted(_KEYS)))
    kind = _ALIASES.get(str(data.get("kind", "")), data.get("kind"))
    if kind not in KINDS:
        raise fail("kind", f"unknown fault kind {data.get('kind')!r}", "one of " + ", ".join(KINDS))
    start = parse_time_ms(data["start"], source=source, field=f"{field}.start") if "start" in data else None
    end = parse_time_ms(data["end"], source=source, field=f"{field}.end") if "end" in data else None
    if start is not None and end is not None and end <= start:
        raise fail("end", "end is not after start", "end > start")
    if kind == "reset":
        if start is None:
            raise fail("start", "a counter reset needs the time it happens", "start = <time>")
        if end is not None:
            raise fail("end", "a counter reset is permanent, it has no end", "no end key")
    code = None
    if kind == "exception":
        raw = data.get("code")
        if isinstance(raw, str) and raw.lower() in EXCEPTION_CODES:
            code = EXCEPTION_CODES[raw.lower()]
        elif isinstance(raw, int) and not isinstance(raw, bool) and 1 <= raw <= 0x7F:
            code = raw
        else:
            raise fail("code", f"bad exception code {raw!r}",
                       "one of " + ", ".join(SHORT_EXCEPTION_CODES) + " or a number 1..127")
    elif "code" in data:
        raise fail("code", "only an 'exception' fault has a code", "no code key")
    channels = data.get("channels")
    if channels is not None:
        if kind in WIRE_KINDS:
            raise fail("channels", f"a {kind} fault hits whole requests, not channels", "no channels key")
        if (not isinstance(channels, Sequence) or isinstance(channels, str) or not channels
                or not all(isinstance(c, str) for c in channels)):
            raise fail("channels", f"bad channel list {channels!r}", "a list of channel names")
        channels = tuple(channels)
    count = data.get("count")
    if count is not None:
        if kind not in WIRE_KINDS:
            raise fail("count", "only wire faults can be limited to a number of requests", "no count key")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise fail("count", f"bad count {count!r}", "a positive integer")
    seconds = data.get("seconds")
    if kind == "clock_jump":
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds:
            raise fail("seconds", f"bad clock jump {seconds!r}", "a non-zero number of seconds")
    elif seconds is not None:
        raise fail("seconds", "only a clock_jump fault has seconds", "no seconds key")
    return Fault(kind=kind, start_ms=start, end_ms=end, code=code, channels=channels, count=count,
                 seconds=float(seconds or 0.0))


class FaultSchedule:
    """The faults of one served meter, with the little state some of them need.

    Not thread-safe by design: one server (one event loop) owns a schedule.
    """

    def __init__(self, faults: Iterable[Fault | Mapping[str, Any]] = (), *,
                 source: str | None = None) -> None:
        self.faults: list[Fault] = [
            f if isinstance(f, Fault) else fault_from_dict(f, source=source, field=f"faults[{i}]")
            for i, f in enumerate(faults)]
        self._hits: dict[int, int] = {}
        #: Value captured at a frozen/reset fault's start, per (fault index, channel).
        self.captured: dict[tuple[int, str], float] = {}

    def __bool__(self) -> bool:
        return bool(self.faults)

    def wire_fault(self, now_ms: int) -> Fault | None:
        """The first active wire fault for one request (counts it against ``count``)."""
        for i, f in enumerate(self.faults):
            if f.is_wire and f.active(now_ms):
                if f.count is not None:
                    if self._hits.get(i, 0) >= f.count:
                        continue
                    self._hits[i] = self._hits.get(i, 0) + 1
                return f
        return None

    def value_faults(self) -> list[tuple[int, Fault]]:
        return [(i, f) for i, f in enumerate(self.faults) if not f.is_wire]
