"""A simulated Modbus TCP gateway: several unit ids behind one 127.0.0.1 port.

Like a real RS485-to-Ethernet gateway, one listening port serves every meter on its (virtual) bus,
addressed by unit id. ``framing="socket"`` speaks Modbus TCP (MBAP header, Modbus Messaging on
TCP/IP Implementation Guide V1.0b, section 3.1.3); ``framing="rtu"`` speaks RTU frames with CRC over
the TCP stream, as transparent serial gateways do ("RTU over TCP").

Written on plain ``asyncio.Protocol`` rather than ``pymodbus.server`` because fault injection needs
the wire (a silent device, a corrupt frame, a dropped connection) and 100 meters need speed.
Runs inside any running event loop; the values come from each meter at ``time_ms()``.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable, Mapping

from meterbench.instruments import rtu
from meterbench.instruments.sim.served import (
    ANSWER,
    CORRUPT,
    DROP,
    ServedMeter,
    exception_pdu,
    respond,
)

#: Answer of a gateway whose serial device does not respond (Modbus Application Protocol
#: V1.1b3, section 7: 0x0B GATEWAY TARGET DEVICE FAILED TO RESPOND).
GATEWAY_TARGET_FAILED = 0x0B


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class _GatewayProtocol(asyncio.Protocol):
    def __init__(self, gateway: ModbusTcpGateway) -> None:
        self.gw = gateway
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.gw._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gw._connections.discard(self)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.gw.framing == "rtu":
            self._rtu_frames()
        else:
            self._mbap_frames()

    def _mbap_frames(self) -> None:
        buf = self.buf
        while len(buf) >= 8:
            tid, pid, length, unit = struct.unpack_from(">HHHB", buf)
            if pid != 0 or not 2 <= length <= 254:
                self._abort()  # not Modbus TCP: a real gateway closes such a connection
                return
            end = 6 + length
            if len(buf) < end:
                return
            pdu = bytes(buf[7:end])
            del buf[:end]
            action, answer = self._answer(unit, pdu)
            if action == DROP:
                self._abort()
                return
            if action == CORRUPT:
                tid ^= 0x5A5A  # MBAP has no checksum: corruption shows as a foreign transaction id
            if answer:
                self.transport.write(struct.pack(">HHHB", tid, 0, len(answer) + 1, unit) + answer)

    def _rtu_frames(self) -> None:
        buf = self.buf
        while (n := rtu.request_length(buf)) is not None:
            adu = bytes(buf[:n])
            del buf[:n]
            if not rtu.crc_ok(adu):
                continue  # a device ignores a frame with a bad CRC
            action, answer = self._answer(adu[0], adu[1:-2], serial=True)
            if action == DROP:
                self._abort()
                return
            if answer:
                out = bytearray(rtu.frame(adu[0], answer))
                if action == CORRUPT:
                    out[-1] ^= 0xFF
                self.transport.write(bytes(out))

    def _answer(self, unit: int, pdu: bytes, serial: bool = False) -> tuple[str, bytes]:
        served = self.gw.units.get(unit)
        if served is None:
            if serial or unit == 0:
                return ANSWER, b""
            return ANSWER, exception_pdu(pdu[0] if pdu else 0, GATEWAY_TARGET_FAILED)
        self.gw.requests += 1
        return respond(served, pdu, self.gw.time_ms())

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class ModbusTcpGateway:
    """Serve ``units`` (unit id -> :class:`ServedMeter`) on ``host:port`` (0 = OS chooses)."""

    def __init__(self, units: Mapping[int, ServedMeter], *, time_ms: Callable[[], int] | None = None,
                 host: str = "127.0.0.1", port: int = 0, framing: str = "socket") -> None:
        if framing not in ("socket", "rtu"):
            raise ValueError(f"framing must be 'socket' or 'rtu', got {framing!r}")
        for unit in units:
            if not 1 <= unit <= 247:
                raise ValueError(f"unit id {unit} outside 1..247")
        self.units = dict(units)
        self.time_ms = time_ms or wall_clock_ms
        self.host = host
        self._port = port
        self.framing = framing
        self.requests = 0
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[_GatewayProtocol] = set()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("gateway not started")
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _GatewayProtocol(self), self.host,
                                                self._port)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for conn in list(self._connections):
            conn._abort()
        await self._server.wait_closed()
        self._server = None

    def drop_connections(self) -> None:
        """Cut every open connection now (a gateway reboot, a pulled cable)."""
        for conn in list(self._connections):
            conn._abort()

    async def __aenter__(self) -> ModbusTcpGateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
