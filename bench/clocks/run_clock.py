"""The bench's clocks: real, scaled or virtual time behind one small interface.

Simulators never see these objects, only ``clock.now_ms`` as a plain time function, so the same
simulated meter runs under all three. A virtual clock jumps straight to the next poll time: a
simulated week runs as fast as the Modbus round trips allow.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from typing import Protocol


class Clock(Protocol):
    kind: str

    def now_ms(self) -> int: ...

    async def sleep_until(self, t_ms: int) -> None: ...


class RealClock:
    kind = "real"

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep_until(self, t_ms: int) -> None:
        delay = (t_ms - self.now_ms()) / 1000.0
        if delay > 0:
            await asyncio.sleep(delay)


class ScaledClock:
    """Runs ``scale`` times faster than the wall clock from ``start_ms``."""

    kind = "scaled"

    def __init__(self, start_ms: int, scale: float) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.start_ms = start_ms
        self.scale = scale
        self._wall0 = time.monotonic()

    def now_ms(self) -> int:
        return self.start_ms + int((time.monotonic() - self._wall0) * 1000.0 * self.scale)

    async def sleep_until(self, t_ms: int) -> None:
        delay = (t_ms - self.now_ms()) / 1000.0 / self.scale
        if delay > 0:
            await asyncio.sleep(delay)


class VirtualClock:
    """Discrete-event time: it stands still while anyone works and jumps when everyone waits.

    Tasks that poll concurrently :meth:`join` the clock. When every participant is waiting in
    :meth:`sleep_until`, time jumps to the earliest wake-up and those tasks run, together if they
    share that time. Time never runs backwards. Without participants ``sleep_until`` simply moves
    the clock (one driver stepping the world).
    """

    kind = "virtual"

    def __init__(self, start_ms: int) -> None:
        self._now = int(start_ms)
        self._participants = 0
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = 0

    def now_ms(self) -> int:
        return self._now

    def advance_to(self, t_ms: int) -> None:
        self._now = max(self._now, int(t_ms))

    def join(self) -> None:
        self._participants += 1

    def leave(self) -> None:
        self._participants -= 1
        self._maybe_advance()

    async def sleep_until(self, t_ms: int) -> None:
        if t_ms <= self._now:
            await asyncio.sleep(0)
            return
        if self._participants == 0:
            self.advance_to(t_ms)
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._waiters, (int(t_ms), self._seq, fut))
        self._maybe_advance()
        try:
            await fut
        except asyncio.CancelledError:
            self._waiters = [w for w in self._waiters if w[2] is not fut]
            heapq.heapify(self._waiters)
            raise

    def _maybe_advance(self) -> None:
        live = [w for w in self._waiters if not w[2].done()]
        if not live or len(live) < self._participants:
            return
        t = self._waiters[0][0]
        self.advance_to(t)
        while self._waiters and self._waiters[0][0] <= t:
            _, _, fut = heapq.heappop(self._waiters)
            if not fut.done():
                fut.set_result(None)


def make_clock(kind: str, start_ms: int, scale: float = 60.0) -> RealClock | ScaledClock | VirtualClock:
    if kind == "virtual":
        return VirtualClock(start_ms)
    if kind == "scaled":
        return ScaledClock(start_ms, scale)
    if kind == "real":
        return RealClock()
    raise ValueError(f"unknown clock kind {kind!r}")
