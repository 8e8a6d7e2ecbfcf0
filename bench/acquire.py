"""Acquisition: poll every meter on its schedule and store every answer, and every failure.

One task per meter, each with its own connection, so a meter that times out never delays the
others. Polls are aligned to multiples of the poll period (on the minute for 1-minute polling).
A poll that fails after the driver's retries is an event in the store, never a silent hole.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.clock import Clock, VirtualClock
from bench.store import Store
from bench.timeutil import format_iso_utc
from instruments.errors import ModbusError
from instruments.modbus import ModbusMeter

Progress = Callable[[int, int], None]


@dataclass
class MeterStats:
    polls: int = 0
    ok: int = 0
    errors: int = 0
    last_error: str | None = None
    rtt_ms: list[float] = field(default_factory=list)
    lateness_ms: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        def pct(values: Sequence[float], q: float) -> float | None:
            return float(np.percentile(values, q)) if len(values) else None

        return dict(polls=self.polls, ok=self.ok, errors=self.errors, last_error=self.last_error,
                    success_pct=100.0 * self.ok / self.polls if self.polls else 0.0,
                    rtt_p50_ms=pct(self.rtt_ms, 50), rtt_p99_ms=pct(self.rtt_ms, 99),
                    lateness_p50_ms=pct(self.lateness_ms, 50),
                    lateness_p99_ms=pct(self.lateness_ms, 99))


@dataclass(frozen=True)
class PollPlan:
    meter_id: str
    driver: ModbusMeter
    channels: tuple[str, ...]


def poll_ticks(start_ms: int, end_ms: int, period_ms: int) -> np.ndarray:
    """Poll times: multiples of the period covering ``[start_ms, end_ms]``."""
    first = math.floor(start_ms / period_ms) * period_ms
    last = math.ceil(end_ms / period_ms) * period_ms
    return np.arange(first, last + 1, period_ms, dtype=np.int64)


async def _poll_meter(plan: PollPlan, ticks: np.ndarray, jitter_ms: np.ndarray, clock: Clock,
                      store: Store, stats: MeterStats, done: Callable[[], None]) -> None:
    if isinstance(clock, VirtualClock):
        clock.join()
    try:
        for tick, jitter in zip(ticks, jitter_ms, strict=True):
            await clock.sleep_until(int(tick + jitter))
            stats.polls += 1
            try:
                if not plan.driver.link.connected:
                    await plan.driver.connect()
                reading = await plan.driver.read(plan.channels)
            except ModbusError as exc:
                stats.errors += 1
                stats.last_error = f"{type(exc).__name__}: {exc}"
                store.add_event(clock.now_ms(), plan.meter_id, "poll_failed",
                                f"poll due {format_iso_utc(int(tick))} failed: {stats.last_error}")
            else:
                stats.ok += 1
                stats.rtt_ms.append(reading.rtt_ms)
                stats.lateness_ms.append(reading.response_ms - int(tick))
                for ch in plan.channels:
                    store.add_reading(plan.meter_id, ch, reading.request_ms, reading.response_ms,
                                      reading.values.get(ch), reading.flags.get(ch))
            done()
    finally:
        if isinstance(clock, VirtualClock):
            clock.leave()


async def acquire(plans: Sequence[PollPlan], clock: Clock, store: Store, *, start_ms: int,
                  end_ms: int, period_ms: int, jitter_ms: int = 0, seed: int = 0,
                  progress: Progress | None = None) -> dict[str, MeterStats]:
    """Poll every meter from ``start_ms`` to ``end_ms``; returns per-meter statistics.

    ``jitter_ms`` (simulated benches) delays each poll by a seeded random amount below it, as a
    real bus's lateness would, so interpolation at interval boundaries is exercised.
    """
    ticks = poll_ticks(start_ms, end_ms, period_ms)
    rng = np.random.default_rng(seed)
    stats = {p.meter_id: MeterStats() for p in plans}
    total = len(ticks) * len(plans)
    state = {"done": 0, "shown": 0.0}

    def done() -> None:
        state["done"] += 1
        now = time.monotonic()
        if progress and (now - state["shown"] >= 0.25 or state["done"] == total):
            state["shown"] = now
            progress(state["done"], total)

    tasks = []
    for p in plans:
        jitter = rng.integers(0, jitter_ms, size=len(ticks)) if jitter_ms > 0 else np.zeros(len(ticks), dtype=np.int64)
        tasks.append(_poll_meter(p, ticks, jitter, clock, store, stats[p.meter_id], done))
    try:
        await asyncio.gather(*tasks)
    finally:
        store.commit()
        for p in plans:
            await p.driver.close()
    return stats
