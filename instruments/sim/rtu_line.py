"""A simulated RS485 line: Modbus RTU devices behind a pseudo-terminal, at a real line speed.

The client opens :attr:`RtuLine.device_path` (the pty's slave end) like any serial port; the line
serves its unit ids on the master end. A pty moves bytes instantly and ignores the baud rate, so
the line adds the wire time itself: each answer is written when the request and the answer would
have finished crossing the wire at the configured baud, parity and stop bits, with the 3.5-character
silences of Modbus over Serial Line V1.02 (section 2.5.1.1; see :mod:`meterbench.instruments.rtu`). The line
is half-duplex: a request arriving while the line is still busy starts when the line is free.
Deadlines are absolute (``loop.call_at``), so timer lateness does not accumulate.
"""

from __future__ import annotations

import asyncio
import os
import time
import tty
from collections.abc import Callable, Mapping

from meterbench.instruments import rtu
from meterbench.instruments.sim.served import ANSWER, CORRUPT, ServedMeter, respond
from meterbench.instruments.sim.tcp_gateway import wall_clock_ms

#: How long before an answer's deadline the line wakes to finish with a precise sleep.
_EARLY_WAKE_S = 0.0012


class RtuLine:
    """Serve ``units`` (unit id -> :class:`ServedMeter`) as RTU devices on a pty pair."""

    def __init__(self, units: Mapping[int, ServedMeter], *, baud: int = 9600, parity: str = "N",
                 stopbits: int = 1, time_ms: Callable[[], int] | None = None,
                 line_time: bool = True) -> None:
        if parity not in ("N", "E", "O"):
            raise ValueError(f"parity must be N, E or O, got {parity!r}")
        if stopbits not in (1, 2):
            raise ValueError(f"stop bits must be 1 or 2, got {stopbits!r}")
        if baud <= 0:
            raise ValueError(f"baud must be positive, got {baud}")
        for unit in units:
            if not 1 <= unit <= 247:
                raise ValueError(f"unit id {unit} outside 1..247")
        self.units = dict(units)
        self.baud = baud
        self.parity = parity
        self.stopbits = stopbits
        self.time_ms = time_ms or wall_clock_ms
        self.line_time = line_time
        self.char_s = rtu.bits_per_char(parity, stopbits) / baud
        self.silence_s = rtu.silence_s(baud, parity, stopbits)
        self.requests = 0
        #: Seconds answers were written after their wire deadline (timer lateness), summed.
        self.late_s = 0.0
        #: Seconds the line sat idle between a finished transaction and the next request, summed.
        self.idle_s = 0.0
        self._master: int | None = None
        self._slave: int | None = None
        self._path: str | None = None
        self._buf = bytearray()
        self._line_free = 0.0
        self._pending: set[asyncio.TimerHandle] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def device_path(self) -> str:
        if self._path is None:
            raise RuntimeError("line not started")
        return self._path

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line editing: a byte pipe like a serial line
        os.set_blocking(master, False)
        self._master, self._slave = master, slave  # keep the slave open: no EIO between clients
        self._path = os.ttyname(slave)
        self._loop.add_reader(master, self._on_readable)

    async def stop(self) -> None:
        for handle in self._pending:
            handle.cancel()
        self._pending.clear()
        if self._master is not None and self._loop is not None:
            self._loop.remove_reader(self._master)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    async def __aenter__(self) -> RtuLine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _on_readable(self) -> None:
        try:
            data = os.read(self._master, 4096)  # type: ignore[arg-type]
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return  # EIO while no client has the slave open
        self._buf += data
        while (n := rtu.request_length(self._buf)) is not None:
            adu = bytes(self._buf[:n])
            del self._buf[:n]
            self._request(adu)

    def _request(self, adu: bytes) -> None:
        loop = self._loop
        assert loop is not None
        now = loop.time()
        if self._line_free:
            self.idle_s += max(0.0, now - self._line_free)
        start = max(now, self._line_free)
        request_end = start + len(adu) * self.char_s
        self._line_free = request_end + self.silence_s
        served = self.units.get(adu[0])
        if served is None or not rtu.crc_ok(adu):
            return  # not for a device on this line, or garbled: every device stays silent
        self.requests += 1
        action, pdu = respond(served, adu[1:-2], self.time_ms())
        if action != ANSWER and action != CORRUPT or not pdu:
            return  # silent (no answer; a serial line cannot "drop" a connection either)
        out = bytearray(rtu.frame(adu[0], pdu))
        if action == CORRUPT:
            out[-1] ^= 0xFF
        answer_end = request_end + self.silence_s + len(out) * self.char_s
        self._line_free = answer_end + self.silence_s
        if not self.line_time:
            self._write(bytes(out))
            return
        # The loop's timers wake up to ~1 ms late (epoll has ms resolution): wake early and
        # sleep the rest precisely, so that the answer leaves at its wire deadline.
        handle = loop.call_at(answer_end - _EARLY_WAKE_S, self._write, bytes(out), answer_end)
        self._pending.add(handle)

    def _write(self, data: bytes, deadline: float | None = None) -> None:
        if deadline is not None and self._loop is not None:
            early = deadline - self._loop.time()
            if early > 0:
                time.sleep(early)  # at most _EARLY_WAKE_S: short enough to block the loop
            self.late_s += max(0.0, self._loop.time() - deadline)
        self._pending = {h for h in self._pending if not h.cancelled() and h.when() > self._loop.time()}
        if self._master is None:
            return
        try:
            os.write(self._master, data)
        except OSError:
            pass  # nobody listening: the bytes are lost, as on a real line
