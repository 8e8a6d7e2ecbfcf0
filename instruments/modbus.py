"""Register-map-driven Modbus meter driver over TCP, RTU on a serial line, and RTU over TCP.

Built on the pymodbus async client (one request at a time per connection, so a bus or gateway
is one :class:`ModbusLink` shared by the meters on it, and concurrency across meters means one
link per gateway or line). What this layer adds:

* typed errors (:mod:`meterbench.instruments.errors`): timeout, Modbus exception with the code's name,
  connection lost, corrupted frame (bad RTU CRC or a foreign MBAP transaction id, seen on the raw
  bytes because pymodbus silently drops such frames and would only report a timeout);
* retries with exponential backoff, and reconnection after a dropped connection;
* a :class:`Reading` stamped with the caller's time function (a virtual clock in simulated runs)
  and the wall-clock round-trip time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import termios
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType

from meterbench.instruments import rtu
from meterbench.instruments.errors import (
    ModbusConnectionError,
    ModbusError,
    ModbusExceptionError,
    ModbusFrameError,
    ModbusTimeoutError,
)
from meterbench.instruments.regmap import FC_HOLDING, FC_INPUT, ReadRequest, RegisterMap, coalesce

#: Exception codes worth retrying: the device is alive but cannot serve now (V1.1b3, section 7).
TRANSIENT_EXCEPTIONS = frozenset({0x05, 0x06})  # ACKNOWLEDGE, SLAVE_DEVICE_BUSY

#: Largest run of unused registers read to save a transaction. On TCP a round trip costs far more
#: than 64 bytes. On a serial line one extra transaction costs an 8-byte request, a 5-byte
#: response header/CRC and two 3.5-character silences, about 20 characters = 10 registers.
MAX_GAP_TCP = 32
MAX_GAP_SERIAL = 10

# pymodbus logs every timeout at ERROR level; our typed errors carry the same facts.
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class TcpTransport:
    """Modbus TCP (MBAP framing) to a meter or gateway."""

    host: str
    port: int = 502

    def describe(self) -> str:
        return f"tcp://{self.host}:{self.port}"


@dataclass(frozen=True)
class RtuOverTcpTransport:
    """RTU frames (with CRC) tunnelled through a transparent TCP serial gateway."""

    host: str
    port: int

    def describe(self) -> str:
        return f"rtu+tcp://{self.host}:{self.port}"


@dataclass(frozen=True)
class SerialTransport:
    """Modbus RTU on a serial device (RS485 adapter, or a pty of a simulated line)."""

    port: str
    baud: int = 9600
    parity: str = "N"
    stopbits: int = 1
    bytesize: int = 8

    def __post_init__(self) -> None:
        if self.parity not in ("N", "E", "O"):
            raise ValueError(f"parity must be N, E or O, got {self.parity!r}")
        if self.stopbits not in (1, 2):
            raise ValueError(f"stop bits must be 1 or 2, got {self.stopbits!r}")

    def describe(self) -> str:
        return f"rtu://{self.port}?baud={self.baud}&parity={self.parity}&stopbits={self.stopbits}"


Transport = TcpTransport | RtuOverTcpTransport | SerialTransport


class ModbusLink:
    """One connection (socket or serial port) that may carry several unit ids, one request at a
    time. Share it between the :class:`ModbusMeter` s on one bus or gateway."""

    def __init__(self, transport: Transport, *, timeout_s: float = 1.0) -> None:
        self.transport = transport
        self.timeout_s = timeout_s
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._corrupt = False
        self._sent_tid = 0

    @property
    def serial_framing(self) -> bool:
        return not isinstance(self.transport, TcpTransport)

    @property
    def connected(self) -> bool:
        """Connected, and in the running event loop (a link may outlive one ``asyncio.run``:
        a connection made in a finished loop is dead and gets replaced)."""
        if self._client is None or not self._client.connected:
            return False
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return True  # asked from outside any loop: report the socket's state

    def _make_client(self, parity: str | None = None
                     ) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        common = dict(timeout=self.timeout_s, retries=0, reconnect_delay=0,
                      trace_packet=self._trace_packet, trace_connect=self._trace_connect)
        t = self.transport
        if isinstance(t, SerialTransport):
            return AsyncModbusSerialClient(t.port, framer=FramerType.RTU, baudrate=t.baud,
                                           parity=parity or t.parity, stopbits=t.stopbits,
                                           bytesize=t.bytesize, **common)
        framer = FramerType.SOCKET if isinstance(t, TcpTransport) else FramerType.RTU
        return AsyncModbusTcpClient(t.host, port=t.port, framer=framer, **common)

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        """See raw bytes: pymodbus drops corrupt frames silently, we want to name them."""
        if sending:
            if not self.serial_framing and len(data) >= 2:
                self._sent_tid = int.from_bytes(data[:2], "big")
        elif self.serial_framing:
            n = rtu.response_length(data)
            if n is not None and not rtu.crc_ok(data[:n]):
                self._corrupt = True
        elif len(data) >= 7 and int.from_bytes(data[:2], "big") != self._sent_tid:
            self._corrupt = True
        return data

    def _trace_connect(self, connected: bool) -> None:
        """Fail the pending request at once when the peer drops the connection (else it would
        wait for its timeout)."""
        if connected or self._client is None:
            return
        future = getattr(self._client.ctx, "response_future", None)
        if future is not None and not future.done():
            future.set_exception(ConnectionResetError("connection lost"))

    async def connect(self) -> None:
        if self.connected:
            return
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._lock = asyncio.Lock()  # a lock is tied to the loop that first waits on it
        if self._client is not None:
            try:
                self._client.close()
            except RuntimeError:
                pass  # its loop is closed: the socket went with it
            self._client = None
        parity = None
        if _is_pty(self.transport) and not _pty_accepts_parity(self.transport.port):
            # A pty carries no parity bit and some kernels refuse PARENB on one (seen on
            # Linux 6.18): open the simulated line without it; the line's timing still uses
            # the configured parity.
            parity = "N"
        self._client = self._make_client(parity=parity)
        self._loop = loop
        try:
            ok = await self._client.connect()
        except (OSError, termios.error, ModbusException) as exc:
            raise ModbusConnectionError(f"{self.transport.describe()}: cannot connect: {exc}") from exc
        if not ok:
            raise ModbusConnectionError(f"{self.transport.describe()}: cannot connect")

    async def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except RuntimeError:
                pass  # opened in a loop that is closed now
            self._client = None

    async def read_registers(self, unit_id: int, function: int, address: int, count: int
                             ) -> list[int]:
        """One attempt at one read, with typed errors; reconnects first if disconnected."""
        if asyncio.get_running_loop() is not self._loop:
            await self.connect()
        async with self._lock:
            ctx = dict(unit_id=unit_id, address=address, function=function)
            if not self.connected:
                await self.connect()
            assert self._client is not None
            self._corrupt = False
            try:
                if function == FC_INPUT:
                    rr = await self._client.read_input_registers(address, count=count,
                                                                 device_id=unit_id)
                elif function == FC_HOLDING:
                    rr = await self._client.read_holding_registers(address, count=count,
                                                                   device_id=unit_id)
                else:
                    raise ValueError(f"not a read function code: {function}")
            except ModbusIOException as exc:
                text = str(exc)
                if self._corrupt or "device id" in text or "transaction id" in text:
                    raise ModbusFrameError(f"unit {unit_id}: corrupted answer to a read at "
                                           f"{address} ({exc})", **ctx) from None
                if "No response" not in text and not self.connected:
                    raise ModbusConnectionError(f"unit {unit_id}: connection lost", **ctx) from None
                # (after a run of timeouts pymodbus closes a TCP link; the next read reconnects)
                raise ModbusTimeoutError(f"unit {unit_id}: no answer within {self.timeout_s} s "
                                         f"to a read at {address}", **ctx) from None
            except (ConnectionException, ConnectionError, OSError) as exc:
                raise ModbusConnectionError(f"unit {unit_id}: connection lost ({exc})",
                                            **ctx) from None
            except ModbusException as exc:
                raise ModbusFrameError(f"unit {unit_id}: bad answer ({exc})", **ctx) from None
            if rr.isError():
                raise ModbusExceptionError(getattr(rr, "exception_code", 0), **ctx)
            regs = list(rr.registers)
            if len(regs) != count:
                raise ModbusFrameError(f"unit {unit_id}: asked {count} registers, got {len(regs)}",
                                       **ctx)
            return regs


def _is_pty(transport: Transport) -> bool:
    if not isinstance(transport, SerialTransport) or transport.parity == "N":
        return False
    path = os.path.realpath(transport.port)
    return path.startswith("/dev/pts/") or path.startswith("/dev/pty")


def _pty_accepts_parity(path: str) -> bool:
    """Whether the kernel lets this pty set the parity flag (probed, then restored)."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        attrs = termios.tcgetattr(fd)
        probe = list(attrs)
        probe[2] = attrs[2] | termios.PARENB
        try:
            termios.tcsetattr(fd, termios.TCSANOW, probe)
        except termios.error:
            return False
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
        return True
    finally:
        os.close(fd)


@dataclass
class Reading:
    """One poll of one meter.

    ``values`` has every requested channel (``None`` when flagged); ``flags`` names why
    (``not_available``, ``nan``, ``inf``). ``request_ms``/``response_ms`` come from the meter's
    time function (epoch ms; a virtual clock in simulated runs); ``rtt_ms`` is the wall-clock
    duration of the whole poll including retries, in ms.
    """

    values: dict[str, float | None]
    flags: dict[str, str]
    request_ms: int
    response_ms: int
    rtt_ms: float
    transactions: int = 1
    retries: int = 0
    unit_id: int = 0
    registers: dict[str, list[int]] = field(default_factory=dict, repr=False)


class ModbusMeter:
    """A meter of a known model (``regmap``) at ``unit_id`` on ``transport``.

    ``transport`` is a transport description (the meter opens its own connection) or a shared
    :class:`ModbusLink`. Retries (``retries`` after the first attempt) apply to timeouts, lost
    connections, corrupt frames and the busy/acknowledge exceptions, waiting
    ``backoff_s · 2**k`` before retry k+1.
    """

    def __init__(self, regmap: RegisterMap, transport: Transport | ModbusLink, unit_id: int, *,
                 timeout_s: float = 1.0, retries: int = 2, backoff_s: float = 0.05,
                 time_ms: Callable[[], int] | None = None, max_gap: int | None = None) -> None:
        if not 0 <= unit_id <= 247:
            raise ValueError(f"unit id {unit_id} outside 0..247")
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.regmap = regmap
        self.unit_id = unit_id
        self.retries = retries
        self.backoff_s = backoff_s
        self.time_ms = time_ms or wall_clock_ms
        if isinstance(transport, ModbusLink):
            self.link, self._owns_link = transport, False
        else:
            self.link, self._owns_link = ModbusLink(transport, timeout_s=timeout_s), True
        if max_gap is None:
            max_gap = MAX_GAP_SERIAL if isinstance(self.link.transport, SerialTransport) else MAX_GAP_TCP
        self.max_gap = max_gap
        self._plans: dict[tuple[str, ...], list[ReadRequest]] = {}

    async def connect(self) -> None:
        await self.link.connect()

    async def close(self) -> None:
        if self._owns_link:
            await self.link.close()

    async def __aenter__(self) -> ModbusMeter:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def plan(self, channels: Sequence[str]) -> list[ReadRequest]:
        """The read requests that cover ``channels`` (cached per channel list)."""
        key = tuple(channels)
        plan = self._plans.get(key)
        if plan is None:
            chans = [self.regmap.channel(name) for name in channels]
            plan = coalesce(chans, max_registers=self.regmap.max_registers, max_gap=self.max_gap)
            self._plans[key] = plan
        return plan

    async def read(self, channels: Sequence[str]) -> Reading:
        """Read ``channels`` (standard names); raises a :class:`ModbusError` subclass when a
        request still fails after the retries."""
        plan = self.plan(channels)
        request_ms = self.time_ms()
        t0 = time.perf_counter()
        values: dict[str, float | None] = {}
        flags: dict[str, str] = {}
        raw: dict[str, list[int]] = {}
        retries = 0
        for req in plan:
            regs, used = await self._read_with_retries(req)
            retries += used
            for ch in req.channels:
                words = req.slice_for(ch, regs)
                raw[ch.name] = list(words)
                value, flag = ch.decode(words)
                values[ch.name] = value
                if flag:
                    flags[ch.name] = flag
        rtt_ms = (time.perf_counter() - t0) * 1000.0
        return Reading(values={name: values[name] for name in channels}, flags=flags,
                       request_ms=request_ms, response_ms=self.time_ms(), rtt_ms=rtt_ms,
                       transactions=len(plan), retries=retries, unit_id=self.unit_id,
                       registers=raw)

    async def read_registers(self, function: int, address: int, count: int) -> list[int]:
        """Raw registers (with retries), for tools and cross-checks."""
        regs, _ = await self._read_with_retries(ReadRequest(function, address, count, ()))
        return regs

    async def _read_with_retries(self, req: ReadRequest) -> tuple[list[int], int]:
        last: ModbusError | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                regs = await self.link.read_registers(self.unit_id, req.function, req.address,
                                                      req.count)
                return regs, attempt
            except ModbusExceptionError as exc:
                if exc.code not in TRANSIENT_EXCEPTIONS:
                    raise
                last = exc
            except (ModbusTimeoutError, ModbusConnectionError, ModbusFrameError) as exc:
                last = exc
        assert last is not None
        raise last
