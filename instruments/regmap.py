"""Register maps as values: how one meter model lays out its channels in Modbus registers.

A :class:`Channel` says where a standard channel (``energy.import``, ``voltage.l1`` …) lives
(function code, 0-based PDU address), how its registers encode a number (type, word order, scale)
and which raw bit pattern means "not available". The codec here is pure: registers in, number
out, and back, so that the driver and the simulated servers share one definition of every model
and cannot drift apart.

Conventions (Modbus Application Protocol V1.1b3, section 4.2): every 16-bit register is sent
big-endian; multi-register values are split into words whose order varies by vendor, so
``word_order="big"`` means high word first (Eastron, ABB) and ``"little"`` low word first
(Carlo Gavazzi EM340: its communication protocol, as read by mbmd meters/rs485/carlogavazzi-ex3x0.go).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from meterbench.instruments.errors import CodecError, RegisterMapError

#: Function codes for reading (Modbus Application Protocol V1.1b3, sections 6.3 and 6.4).
FC_HOLDING = 3
FC_INPUT = 4
FUNCTION_NAMES = {"holding": FC_HOLDING, "input": FC_INPUT}

#: Most registers one read request may ask for (Modbus Application Protocol V1.1b3, 6.3/6.4:
#: quantity of registers 1 to 125).
MAX_REGISTERS_PER_READ = 125


@dataclass(frozen=True)
class DataType:
    """A register encoding: ``registers`` 16-bit words holding a ``struct`` code, big-endian."""

    name: str
    registers: int
    struct_code: str
    is_float: bool
    signed: bool

    @property
    def bits(self) -> int:
        return 16 * self.registers

    def int_range(self) -> tuple[int, int]:
        if self.signed:
            return -(1 << (self.bits - 1)), (1 << (self.bits - 1)) - 1
        return 0, (1 << self.bits) - 1


DATA_TYPES: dict[str, DataType] = {t.name: t for t in (
    DataType("int16", 1, "h", False, True),
    DataType("uint16", 1, "H", False, False),
    DataType("int32", 2, "i", False, True),
    DataType("uint32", 2, "I", False, False),
    DataType("int64", 4, "q", False, True),
    DataType("uint64", 4, "Q", False, False),
    DataType("float32", 2, "f", True, True),
    DataType("float64", 4, "d", True, True),
)}
WORD_ORDERS = ("big", "little")

#: Flags a decoded value can carry instead of (or besides) a number.
FLAG_NOT_AVAILABLE = "not_available"
FLAG_NAN = "nan"
FLAG_INF = "inf"


def registers_to_bytes(registers: Sequence[int], word_order: str) -> bytes:
    """Registers (as sent, in address order) to one big-endian byte string, high word first."""
    words = list(registers) if word_order == "big" else list(reversed(registers))
    return b"".join(int(w).to_bytes(2, "big") for w in words)


def bytes_to_registers(data: bytes, word_order: str) -> list[int]:
    words = [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]
    return words if word_order == "big" else list(reversed(words))


def decode_raw(registers: Sequence[int], dtype: DataType, word_order: str) -> int | float:
    """The raw number (before scale) that ``registers`` hold."""
    if len(registers) != dtype.registers:
        raise CodecError(f"{dtype.name} needs {dtype.registers} registers, got {len(registers)}")
    return struct.unpack(">" + dtype.struct_code, registers_to_bytes(registers, word_order))[0]


def encode_raw(raw: int | float, dtype: DataType, word_order: str) -> list[int]:
    """Registers holding the raw number; integers outside the type's range are refused."""
    if not dtype.is_float:
        lo, hi = dtype.int_range()
        if not lo <= raw <= hi:
            raise CodecError(f"{raw} does not fit {dtype.name} ({lo}..{hi})")
    try:
        data = struct.pack(">" + dtype.struct_code, raw)
    except (struct.error, OverflowError) as exc:
        raise CodecError(f"cannot encode {raw!r} as {dtype.name}: {exc}") from None
    return bytes_to_registers(data, word_order)


def _exact_divisor(scale: float) -> int | None:
    """``10`` for ``scale=0.1``: dividing by an integer keeps 2301 -> 230.1 exact in repr."""
    if 0 < scale < 1:
        inverse = 1.0 / scale
        if abs(inverse - round(inverse)) < 1e-9 * inverse:
            return round(inverse)
    return None


@dataclass(frozen=True)
class Channel:
    """One standard channel of one model: engineering value = raw × ``scale`` in ``unit``."""

    name: str
    address: int
    function: int
    dtype: DataType
    word_order: str = "big"
    scale: float = 1.0
    unit: str = ""
    sentinel: int | None = None
    _divisor: int | None = field(init=False, repr=False, compare=False, default=None)
    _words: struct.Struct = field(init=False, repr=False, compare=False, default=None)  # type: ignore[assignment]
    _number: struct.Struct = field(init=False, repr=False, compare=False, default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        # Precompiled structs: the codec runs for every channel of every poll on both sides.
        object.__setattr__(self, "_divisor", _exact_divisor(self.scale))
        object.__setattr__(self, "_words", struct.Struct(f">{self.dtype.registers}H"))
        object.__setattr__(self, "_number", struct.Struct(">" + self.dtype.struct_code))

    @property
    def count(self) -> int:
        return self.dtype.registers

    @property
    def end(self) -> int:
        """First address after this channel."""
        return self.address + self.dtype.registers

    def _wire_to_big(self, data: bytes) -> bytes:
        """Swap words between wire order and high-word-first (its own inverse)."""
        if self.word_order == "big" or len(data) == 2:
            return data
        return b"".join(data[i:i + 2] for i in range(len(data) - 2, -1, -2))

    def decode(self, registers: Sequence[int]) -> tuple[float | None, str | None]:
        """``(value, flag)``: value ``None`` with flag ``not_available``/``nan``/``inf`` when the
        registers do not hold a usable number."""
        if len(registers) != self.dtype.registers:
            raise CodecError(f"channel {self.name}: {self.dtype.name} needs "
                             f"{self.dtype.registers} registers, got {len(registers)}")
        data = self._wire_to_big(self._words.pack(*registers))
        if self.sentinel is not None and int.from_bytes(data, "big") == self.sentinel:
            return None, FLAG_NOT_AVAILABLE
        raw = self._number.unpack(data)[0]
        if self.dtype.is_float:
            if math.isnan(raw):
                return None, FLAG_NAN
            if math.isinf(raw):
                return None, FLAG_INF
        value = raw / self._divisor if self._divisor else raw * self.scale
        return float(value), None

    def encode_bytes(self, value: float | None) -> bytes:
        """The channel's registers as wire bytes for ``value``; ``None`` encodes the "not
        available" sentinel (refused if the model has none), NaN only fits float types."""
        if value is None:
            if self.sentinel is None:
                raise CodecError(f"channel {self.name}: this model has no 'not available' value")
            return self._wire_to_big(self.sentinel.to_bytes(2 * self.dtype.registers, "big"))
        if self.dtype.is_float:
            raw: int | float = value * self._divisor if self._divisor else value / self.scale
            try:
                return self._wire_to_big(self._number.pack(raw))
            except (struct.error, OverflowError):
                raise CodecError(f"channel {self.name}: {value} overflows {self.dtype.name}") from None
        if not math.isfinite(value):
            raise CodecError(f"channel {self.name}: {value} cannot be held by {self.dtype.name}")
        scaled = value * self._divisor if self._divisor else value / self.scale
        if not math.isfinite(scaled):  # a huge value times the divisor: no integer holds it
            raise CodecError(f"channel {self.name}: {value} does not fit {self.dtype.name} "
                             f"with scale {self.scale}")
        raw = round(scaled)
        lo, hi = self.dtype.int_range()
        if not lo <= raw <= hi:
            raise CodecError(f"channel {self.name}: {value} does not fit {self.dtype.name} "
                             f"with scale {self.scale}")
        return self._wire_to_big(self._number.pack(raw))

    def encode(self, value: float | None) -> list[int]:
        """Registers a meter would hold for ``value`` (see :meth:`encode_bytes`)."""
        return list(self._words.unpack(self.encode_bytes(value)))

    def step_at(self, value: float) -> float:
        """The register's quantization step near ``value`` in engineering units: the scale for
        integers, the spacing of adjacent float32/float64 numbers for floats (a float32 energy
        counter at 100,000 kWh moves in steps of 0.0078 kWh). Half of it bounds the encoding error."""
        if not self.dtype.is_float:
            return self.resolution
        raw = abs(value * self._divisor if self._divisor else value / self.scale)
        if self.dtype.name == "float64":
            spacing = math.ulp(raw)
        else:
            bits = struct.unpack(">I", struct.pack(">f", raw))[0]
            lo, hi = struct.unpack(">2f", struct.pack(">2I", bits, bits + 1))
            spacing = hi - lo
        return spacing / self._divisor if self._divisor else spacing * self.scale

    @property
    def resolution(self) -> float:
        """Smallest step of an integer channel (its scale); 0 for floats (relative precision)."""
        return 0.0 if self.dtype.is_float else (1.0 / self._divisor if self._divisor else self.scale)


#: Kinds of test output: a flashing LED (read by an optical scanning head) or an S0 pulse output
#: (a switched contact wired to the error calculator).
TEST_OUTPUT_KINDS = ("LED", "S0")
#: Which energy the pulses count.
TEST_OUTPUT_ENERGIES = ("import", "export", "total")


@dataclass(frozen=True)
class TestOutput:
    """A meter's test output: one pulse per ``1/constant`` kWh of registered energy.

    ``source`` cites where the numbers come from (the manufacturer's manual); ``pulse_width_ms``
    is ``None`` where the manual does not give it.
    """

    __test__ = False  # not a pytest test class

    constant_imp_per_kwh: float
    kind: str
    source: str
    energy: str = "import"
    pulse_width_ms: float | None = None

    @property
    def kwh_per_pulse(self) -> float:
        return 1.0 / self.constant_imp_per_kwh


@dataclass(frozen=True)
class RegisterMap:
    """All channels of one meter model, read from ``source`` (a TOML file), and its test output
    (``None``: the model has none, or its constant could not be confirmed)."""

    model: str
    name: str
    channels: dict[str, Channel]
    source: str = ""
    max_registers: int = MAX_REGISTERS_PER_READ
    test_output: TestOutput | None = None

    def channel(self, name: str) -> Channel:
        try:
            return self.channels[name]
        except KeyError:
            raise RegisterMapError(f"model {self.model} has no channel {name!r}",
                                   source=self.source or None, field="channels",
                                   expected="one of " + ", ".join(sorted(self.channels))) from None


@dataclass(frozen=True)
class ReadRequest:
    """One read transaction: ``count`` registers from ``address`` with ``function``."""

    function: int
    address: int
    count: int
    channels: tuple[Channel, ...]

    def slice_for(self, channel: Channel, registers: Sequence[int]) -> Sequence[int]:
        start = channel.address - self.address
        return registers[start:start + channel.count]


def coalesce(channels: Iterable[Channel], *, max_registers: int = MAX_REGISTERS_PER_READ,
             max_gap: int = 32) -> list[ReadRequest]:
    """Group channels into as few read requests as the protocol allows.

    Channels are merged per function code when the unused registers between them are at most
    ``max_gap`` and the request stays within ``max_registers``. Reading a few unused registers is
    cheaper than another round trip; how many depends on the link (the driver picks ``max_gap``).
    """
    if not 1 <= max_registers <= MAX_REGISTERS_PER_READ:
        raise ValueError(f"max_registers must be 1..{MAX_REGISTERS_PER_READ}, got {max_registers}")
    unique = {(c.function, c.address, c.name): c for c in channels}
    requests: list[ReadRequest] = []
    by_function: dict[int, list[Channel]] = {}
    for ch in sorted(unique.values(), key=lambda c: (c.function, c.address, c.end)):
        by_function.setdefault(ch.function, []).append(ch)
    for function, chans in by_function.items():
        group: list[Channel] = []
        start = end = 0
        for ch in chans:
            if group and ch.address - end <= max_gap and max(end, ch.end) - start <= max_registers:
                group.append(ch)
                end = max(end, ch.end)
                continue
            if group:
                requests.append(ReadRequest(function, start, end - start, tuple(group)))
            group, start, end = [ch], ch.address, ch.end
        if group:
            requests.append(ReadRequest(function, start, end - start, tuple(group)))
    return requests
