"""One simulated meter as a Modbus device: physics + register map + fault schedule.

:class:`ServedMeter` answers a read PDU the way the real model would: it asks the
:class:`~meterbench.instruments.sim.meter.SimMeter` for the engineering values of the channels the request
covers *now* (on the simulator's time function), applies value faults, and encodes them with the
model's register map (so float32 or scaled-integer quantization happens exactly as on the wire).
Framing (MBAP, RTU) and wire faults belong to the servers; this module is PDU in, PDU out.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

from meterbench.instruments.errors import CodecError, FaultSpecError
from meterbench.instruments.regmap import MAX_REGISTERS_PER_READ, Channel, RegisterMap
from meterbench.instruments.sim.faults import ENERGY_CHANNELS, Fault, FaultSchedule
from meterbench.instruments.sim.meter import SimMeter

ILLEGAL_FUNCTION = 0x01
ILLEGAL_DATA_ADDRESS = 0x02
ILLEGAL_DATA_VALUE = 0x03
SLAVE_DEVICE_FAILURE = 0x04


class DeviceException(Exception):
    """Raised inside a served device to answer with a Modbus exception code."""

    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(code)


def exception_pdu(function: int, code: int) -> bytes:
    """Exception response: function code with the high bit set, then the code (V1.1b3, 7)."""
    return bytes((function | 0x80, code))


@dataclass
class ServedMeter:
    """A simulated meter behind a Modbus unit id."""

    meter: SimMeter
    regmap: RegisterMap
    faults: FaultSchedule = field(default_factory=FaultSchedule)
    _plans: dict[tuple[int, int, int], tuple[Channel, ...]] = field(
        default_factory=dict, repr=False, init=False)
    _spans: dict[int, tuple[int, int]] = field(default_factory=dict, repr=False, init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.faults, FaultSchedule):
            self.faults = FaultSchedule(self.faults)
        for fc in {c.function for c in self.regmap.channels.values()}:
            chans = [c for c in self.regmap.channels.values() if c.function == fc]
            self._spans[fc] = (min(c.address for c in chans), max(c.end for c in chans))
        self._check_faults()

    def _check_faults(self) -> None:
        """Refuse value faults this model cannot show (e.g. NaN in an integer register)."""
        for i, f in self.faults.value_faults():
            where = f"faults[{i}].channels"
            for name in self._fault_channels(f):
                if name not in self.regmap.channels:
                    raise FaultSpecError(f"model {self.regmap.model} has no channel {name!r}",
                                         field=where, expected=", ".join(self.regmap.channels))
                ch = self.regmap.channels[name]
                if f.kind == "not_available" and ch.sentinel is None:
                    raise FaultSpecError(
                        f"model {self.regmap.model} has no 'not available' value for {name}",
                        field=where, expected="channels whose map defines a sentinel")
                if f.kind == "nan" and not ch.dtype.is_float:
                    raise FaultSpecError(f"{name} is {ch.dtype.name} in {self.regmap.model}: "
                                         "it cannot hold NaN", field=where,
                                         expected="float channels")
            if not self._fault_channels(f):
                why = {"not_available": "has no 'not available' value on any channel",
                       "nan": "has no float channel to hold NaN",
                       "clock_jump": "has no clock register (clock.unix_ms)"}.get(f.kind, "has no energy channel")
                raise FaultSpecError(f"model {self.regmap.model} {why}", field=where,
                                     expected="channels this model can show the fault on")

    def _fault_channels(self, f: Fault) -> tuple[str, ...]:
        if f.channels is not None:
            return f.channels
        chans = self.regmap.channels.values()
        if f.kind in ("frozen", "reset"):
            return tuple(c for c in ENERGY_CHANNELS if c in self.regmap.channels)
        if f.kind == "not_available":
            return tuple(c.name for c in chans if c.sentinel is not None)
        if f.kind == "clock_jump":
            return ("clock.unix_ms",) if "clock.unix_ms" in self.regmap.channels else ()
        return tuple(c.name for c in chans if c.dtype.is_float)  # nan

    def _plan(self, function: int, address: int, count: int) -> tuple[Channel, ...]:
        key = (function, address, count)
        plan = self._plans.get(key)
        if plan is None:
            if not 1 <= count <= MAX_REGISTERS_PER_READ:
                raise DeviceException(ILLEGAL_DATA_VALUE)
            span = self._spans.get(function)
            if span is None or address < span[0] or address + count > span[1]:
                raise DeviceException(ILLEGAL_DATA_ADDRESS)
            plan = tuple(c for c in self.regmap.channels.values() if c.function == function
                         and c.address < address + count and c.end > address)
            if len(self._plans) < 4096:
                self._plans[key] = plan
        return plan

    def values(self, names: list[str], now_ms: int) -> dict[str, float | None]:
        """Engineering values of ``names`` at ``now_ms`` with value faults applied."""
        if self.faults:
            # Capture values at a fault's start before the meter is advanced to now.
            for i, f in self.faults.value_faults():
                if f.kind in ("frozen", "reset") and f.active(now_ms):
                    for n in self._fault_channels(f):
                        if n in names:
                            self._capture(i, f, n, now_ms)
        values: dict[str, float | None] = dict(self.meter.read_channels(names, now_ms))
        if self.faults:
            for i, f in self.faults.value_faults():
                if f.start_ms is not None and now_ms < f.start_ms:
                    continue
                targets = [n for n in self._fault_channels(f) if n in values]
                if f.kind == "reset":
                    for n in targets:
                        offset = self._capture(i, f, n, now_ms)
                        v = values[n]
                        if v is not None:
                            v = v - offset
                            if self.meter.rollover_kwh:
                                v = math.fmod(v + self.meter.rollover_kwh, self.meter.rollover_kwh)
                            values[n] = v
                    continue
                if not f.active(now_ms):
                    continue
                for n in targets:
                    if f.kind == "clock_jump":
                        v = values[n]
                        values[n] = None if v is None else v + f.seconds * 1000.0
                    elif f.kind == "frozen":
                        values[n] = self._capture(i, f, n, now_ms)
                    elif f.kind == "not_available":
                        values[n] = None
                    else:
                        values[n] = math.nan
        return values

    def _capture(self, index: int, f: Fault, name: str, now_ms: int) -> float:
        """The channel's value at the fault's start (read once, then kept)."""
        key = (index, name)
        if key not in self.faults.captured:
            at = f.start_ms if f.start_ms is not None else now_ms
            self.faults.captured[key] = self.meter.read_channels([name], at)[name]
        return self.faults.captured[key]

    def read_bytes(self, function: int, address: int, count: int, now_ms: int) -> bytes:
        """The ``count`` registers from ``address`` as wire bytes (unmapped gaps read 0)."""
        plan = self._plan(function, address, count)
        out = bytearray(2 * count)
        if plan:
            values = self.values([c.name for c in plan], now_ms)
            for ch in plan:
                try:
                    data = ch.encode_bytes(values[ch.name])
                except CodecError:
                    raise DeviceException(SLAVE_DEVICE_FAILURE) from None
                lo = 2 * (ch.address - address)
                if lo >= 0 and ch.end <= address + count:
                    out[lo:lo + len(data)] = data
                else:  # a request that cuts through a multi-register value
                    for k in range(0, len(data), 2):
                        pos = lo + k
                        if 0 <= pos < 2 * count:
                            out[pos:pos + 2] = data[k:k + 2]
        return bytes(out)

    def read_registers(self, function: int, address: int, count: int, now_ms: int) -> list[int]:
        data = self.read_bytes(function, address, count, now_ms)
        return list(struct.unpack(f">{count}H", data))

    def handle_pdu(self, pdu: bytes, now_ms: int) -> bytes:
        """Answer one request PDU (value faults applied; wire faults are the server's)."""
        if not pdu:
            return exception_pdu(0, ILLEGAL_FUNCTION)
        function = pdu[0]
        if function not in (3, 4):
            return exception_pdu(function, ILLEGAL_FUNCTION)
        if len(pdu) != 5:
            return exception_pdu(function, ILLEGAL_DATA_VALUE)
        address, count = struct.unpack_from(">HH", pdu, 1)
        try:
            data = self.read_bytes(function, address, count, now_ms)
        except DeviceException as exc:
            return exception_pdu(function, exc.code)
        return bytes((function, 2 * count)) + data

#: What a server does with one request after wire faults are applied.
ANSWER, SILENT, CORRUPT, DROP = "answer", "silent", "corrupt", "drop"


def respond(served: ServedMeter, pdu: bytes, now_ms: int) -> tuple[str, bytes]:
    """``(action, response_pdu)`` for one request addressed to ``served``."""
    fault = served.faults.wire_fault(now_ms) if served.faults else None
    if fault is None:
        return ANSWER, served.handle_pdu(pdu, now_ms)
    if fault.kind == "exception":
        return ANSWER, exception_pdu(pdu[0] if pdu else 0, fault.code or SLAVE_DEVICE_FAILURE)
    if fault.kind == "no_answer":
        return SILENT, b""
    if fault.kind == "drop":
        return DROP, b""
    return CORRUPT, served.handle_pdu(pdu, now_ms)
