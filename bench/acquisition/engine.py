"""Acquisition: poll every meter on its schedule and store every answer, and every failure.

One task per meter. Meters that share a transport (a gateway's host:port, a serial line) share one
:class:`~meterbench.instruments.modbus.ModbusLink`, whose lock allows one transaction at a time on that bus;
meters on different links never wait for each other. Polls are aligned to multiples of each
meter's period (on the minute for 1-minute polling) and each stored reading keeps its scheduled
time (``tick_ms``), the request and response times and, when the meter's map has a clock channel,
the meter's own time as channel ``clock.unix_ms``.

Failures are events, never silent holes: ``poll_failed`` (after the driver's own retries),
``disconnected``/``reconnected``, ``polls_skipped`` (a meter in back-off, or a poll so late that
the next one was already due), ``gap`` (downtime between two sessions of a resumed run) and
``value_flagged`` (a meter starts or stops answering "not available"/NaN).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from meterbench.clocks.run_clock import Clock, VirtualClock
from meterbench.config.bench_file import MeterSpec
from meterbench.core.timeutil import format_iso_utc
from meterbench.instruments.errors import ModbusConnectionError, ModbusError
from meterbench.instruments.modbus import ModbusMeter
from meterbench.store.run_store import Store

Progress = Callable[[int, int], None]
StatusHook = Callable[[Mapping[str, "MeterStats"]], None]

#: The meter-clock channel name (meterbench.instruments.registers.STANDARD_CHANNELS).
CLOCK_CHANNEL = "clock.unix_ms"
#: Percentiles are computed over the most recent polls only, so a week-long run's memory is bounded.
STATS_WINDOW = 10_000
#: Longest back-off between attempts at a failing meter (a dead meter is still tried every minute,
#: or every period if that is longer).
MAX_BACKOFF_MS = 60_000


@dataclass
class MeterStats:
    """Counters of one meter's acquisition, shown live and written to results.json."""

    polls: int = 0            # polls attempted
    ok: int = 0               # polls answered
    errors: int = 0           # polls failed after the driver's retries
    skipped: int = 0          # scheduled polls not attempted (back-off or too late)
    reconnects: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None
    last_value: float | None = None
    last_ok_ms: int | None = None
    clock_offset_ms: float | None = None  # meter clock minus host midpoint, last poll
    rtt_ms: deque[float] = field(default_factory=lambda: deque(maxlen=STATS_WINDOW))
    lateness_ms: deque[int] = field(default_factory=lambda: deque(maxlen=STATS_WINDOW))
    #: request time minus scheduled time: how late the poll was sent (lateness_ms adds the RTT)
    send_lateness_ms: deque[int] = field(default_factory=lambda: deque(maxlen=STATS_WINDOW))

    @property
    def scheduled(self) -> int:
        return self.polls + self.skipped

    def summary(self) -> dict[str, Any]:
        def pct(values: Sequence[float], q: float) -> float | None:
            return float(np.percentile(values, q)) if len(values) else None

        return dict(polls=self.polls, ok=self.ok, errors=self.errors, skipped=self.skipped,
                    reconnects=self.reconnects, last_error=self.last_error,
                    last_value=self.last_value,
                    success_pct=100.0 * self.ok / self.polls if self.polls else 0.0,
                    clock_offset_ms=self.clock_offset_ms,
                    rtt_p50_ms=pct(self.rtt_ms, 50), rtt_p99_ms=pct(self.rtt_ms, 99),
                    lateness_p50_ms=pct(self.lateness_ms, 50),
                    lateness_p99_ms=pct(self.lateness_ms, 99),
                    send_lateness_p99_ms=pct(self.send_lateness_ms, 99))


@dataclass(frozen=True)
class PollPlan:
    """What to poll on one meter. ``period_ms`` None: the acquisition's default period."""

    meter_id: str
    driver: ModbusMeter
    channels: tuple[str, ...]
    period_ms: int | None = None


#: What every meter is polled for: the energy registers and present power.
POLL_CHANNELS = ("energy.import", "energy.export", "power.total")


def poll_plan(spec: MeterSpec, driver: ModbusMeter) -> PollPlan:
    """The channels to poll on a meter: :data:`POLL_CHANNELS` its model has, plus its clock."""
    names = driver.regmap.channels
    channels = tuple(c for c in (*POLL_CHANNELS, CLOCK_CHANNEL) if c in names)
    return PollPlan(spec.id, driver, channels, spec.poll_ms)


def first_tick(start_ms: int, period_ms: int) -> int:
    return math.floor(start_ms / period_ms) * period_ms


def last_tick(end_ms: int, period_ms: int) -> int:
    return math.ceil(end_ms / period_ms) * period_ms


def record_downtime(store: Store, meter_id: str, last_ms: int, period_ms: int, now_ms: int,
                    end_ms: int | None = None) -> int:
    """Record the polls a resumed meter missed while the acquisition was down as one ``gap``
    event (none if it missed none), and return the tick it polls next.

    Polls after the last tick of a bench period that ends (``end_ms``) were never due, but the
    ones before it were: a run resumed after its period ended still records its downtime.
    """
    tick = last_ms + period_ms
    due = math.ceil(now_ms / period_ms) * period_ms
    if end_ms is not None:
        due = min(due, last_tick(end_ms, period_ms) + period_ms)
    if due > tick:
        store.add_event(now_ms, meter_id, "gap",
                        f"acquisition was down: {(due - tick) // period_ms} polls "
                        f"{format_iso_utc(tick)}...{format_iso_utc(due - period_ms)} not taken",
                        tick_ms=tick)
        return due
    return tick


def backoff_ms(failures: int, period_ms: int) -> int:
    """Extra wait before the next attempt at a meter that failed ``failures`` polls in a row.

    One failure: none (the next tick retries; the driver has already retried within the poll).
    Then one period, doubling, at most ``max(MAX_BACKOFF_MS, period)``: a dead meter on a shared
    bus costs the bus its timeouts only now and then, and is still tried every minute.
    """
    if failures <= 1:
        return 0
    return min(period_ms * 2 ** (failures - 2), max(MAX_BACKOFF_MS, period_ms))


@dataclass
class _Session:
    clock: Clock
    store: Store
    stop: asyncio.Event
    progress: Callable[[], None]
    sleeping: dict[str, asyncio.Task[Any]] = field(default_factory=dict)


class _MeterPoller:
    """The loop of one meter: wait for its tick, poll, store, handle failure."""

    def __init__(self, plan: PollPlan, period_ms: int, stats: MeterStats, jitter_ms: int,
                 rng: np.random.Generator, session: _Session) -> None:
        self.plan = plan
        self.period = period_ms
        self.stats = stats
        self.jitter_ms = jitter_ms
        self.rng = rng
        self.s = session
        self.flags_seen: frozenset[str] = frozenset()
        self.was_connected = False

    async def run(self, tick: int, end_tick: int | None) -> None:
        clock, plan, st = self.s.clock, self.plan, self.stats
        not_before = tick
        while end_tick is None or tick <= end_tick:
            if self.s.stop.is_set():
                return
            jitter = int(self.rng.integers(0, self.jitter_ms)) if self.jitter_ms > 0 else 0
            await self._sleep_until(tick + jitter)
            if self.s.stop.is_set():
                return
            now = clock.now_ms()
            due = tick
            # Too late for this tick (the previous poll overran) or in back-off: skip ahead to the
            # latest tick that is due, and say so.
            latest_due = max(tick, (now - jitter) // self.period * self.period)
            if not_before > tick:
                latest_due = max(latest_due, math.ceil(not_before / self.period) * self.period)
            if end_tick is not None:
                latest_due = min(latest_due, end_tick)
            if latest_due > tick:
                n = (latest_due - tick) // self.period
                st.skipped += n
                why = "meter in back-off" if not_before > tick else "previous poll overran"
                self.s.store.add_event(now, plan.meter_id, "polls_skipped",
                                       f"{n} polls {format_iso_utc(tick)}..."
                                       f"{format_iso_utc(latest_due - self.period)} skipped: {why}",
                                       tick_ms=tick)
                for _ in range(n):
                    self.s.progress()
                due = latest_due
                if due > now:  # back-off ends in the future: wait for that tick
                    tick = due
                    continue
            await self._poll(due)
            if st.consecutive_failures:
                not_before = clock.now_ms() + backoff_ms(st.consecutive_failures, self.period)
            tick = due + self.period
            self.s.progress()

    async def _sleep_until(self, t_ms: int) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.s.sleeping[self.plan.meter_id] = task
        try:
            await self.s.clock.sleep_until(t_ms)
        except asyncio.CancelledError:
            if not self.s.stop.is_set():
                raise  # a real cancellation, not our stop request
        finally:
            self.s.sleeping.pop(self.plan.meter_id, None)

    async def _poll(self, tick: int) -> None:
        plan, st, store, clock = self.plan, self.stats, self.s.store, self.s.clock
        st.polls += 1
        try:
            if not plan.driver.link.connected:
                await plan.driver.connect()
            reading = await plan.driver.read(plan.channels)
        except ModbusError as exc:
            st.errors += 1
            st.consecutive_failures += 1
            st.last_error = f"{type(exc).__name__}: {exc}"
            now = clock.now_ms()
            store.add_event(now, plan.meter_id, "poll_failed",
                            f"poll due {format_iso_utc(tick)} failed: {st.last_error}", tick_ms=tick)
            if isinstance(exc, ModbusConnectionError):
                if self.was_connected:
                    store.add_event(now, plan.meter_id, "disconnected", st.last_error, tick_ms=tick)
                self.was_connected = False
                await plan.driver.link.close()  # the next attempt opens a fresh connection
            return
        if not self.was_connected and st.ok > 0:
            st.reconnects += 1
            store.add_event(clock.now_ms(), plan.meter_id, "reconnected",
                            f"answering again after {st.consecutive_failures} failed polls",
                            tick_ms=tick)
        elif st.consecutive_failures:
            store.add_event(clock.now_ms(), plan.meter_id, "recovered",
                            f"answering again after {st.consecutive_failures} failed polls",
                            tick_ms=tick)
        self.was_connected = True
        st.consecutive_failures = 0
        st.ok += 1
        st.last_ok_ms = reading.response_ms
        st.rtt_ms.append(reading.rtt_ms)
        st.lateness_ms.append(reading.response_ms - tick)
        st.send_lateness_ms.append(reading.request_ms - tick)
        first = plan.channels[0]
        st.last_value = reading.values.get(first)
        meter_time = reading.values.get(CLOCK_CHANNEL)
        if meter_time is not None:
            st.clock_offset_ms = meter_time - (reading.request_ms + reading.response_ms) / 2
        store.add_poll(plan.meter_id, tick, reading.request_ms, reading.response_ms,
                       reading.values, reading.flags)
        flags = frozenset(f"{ch}={fl}" for ch, fl in reading.flags.items())
        if flags != self.flags_seen:
            store.add_event(reading.response_ms, plan.meter_id, "value_flagged",
                            ("flagged: " + ", ".join(sorted(flags))) if flags else "values valid again",
                            tick_ms=tick)
            self.flags_seen = flags


async def _connect_all(plans: Sequence[PollPlan]) -> None:
    """Open every link before the first tick, so the first polls are not late by a TCP handshake.
    A link that cannot connect now is left to the polls (which retry and record the failure)."""
    links = {id(p.driver.link): p.driver.link for p in plans}

    async def one(link: Any) -> None:
        try:
            await asyncio.wait_for(link.connect(), timeout=link.timeout_s)
        except (ModbusError, TimeoutError, OSError):
            pass

    await asyncio.gather(*(one(link) for link in links.values()))


async def _all_or_none(coroutines: Sequence[Any]) -> None:
    """Run the meters' pollers together; when one fails (a full disk, a bug), stop the others
    and collect what each of them raised, so the first failure is the one reported and no
    sibling's failure is left to asyncio's "exception was never retrieved" on stderr."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def acquire(plans: Sequence[PollPlan], clock: Clock, store: Store, *, start_ms: int,
                  end_ms: int | None, period_ms: int, jitter_ms: int = 0, seed: int = 0,
                  progress: Progress | None = None, resume_after: Mapping[str, int] | None = None,
                  stop: asyncio.Event | None = None, status: StatusHook | None = None,
                  status_interval_s: float = 1.0, from_next_tick: bool = False,
                  stats: dict[str, MeterStats] | None = None) -> dict[str, MeterStats]:
    """Poll every meter from ``start_ms`` to ``end_ms`` (None: until ``stop`` is set); returns
    per-meter statistics.

    ``jitter_ms`` (simulated benches) delays each poll by a seeded random amount below it, as a
    real bus's lateness would, so interpolation at interval boundaries is exercised.
    ``resume_after`` (meter -> last stored tick) continues a run: each meter goes on with the tick
    after its last one, or, if the clock has moved past it, with the next tick due, and the polls
    in between are recorded as one ``gap`` event. ``status`` is called every
    ``status_interval_s`` wall seconds (the live display); buffered readings are committed at the
    store's interval even while no poll completes. ``from_next_tick`` starts each meter at its
    first tick at or after ``start_ms`` (a live start) instead of the one at or before it.
    ``stats``: a dict to fill as the polls go (the caller keeps what was counted until an
    interrupt); a new one by default.
    """
    stop = stop or asyncio.Event()
    stats = {} if stats is None else stats
    stats.update({p.meter_id: MeterStats() for p in plans})
    state = {"done": 0, "shown": 0.0}
    starts: dict[str, int] = {}
    ends: dict[str, int | None] = {}
    total = 0
    now = clock.now_ms()
    for p in plans:
        period = p.period_ms or period_ms
        tick = math.ceil(start_ms / period) * period if from_next_tick else first_tick(start_ms, period)
        last = resume_after.get(p.meter_id) if resume_after else None
        if last is not None:  # resume: the next poll is the one after the last stored
            tick = record_downtime(store, p.meter_id, last, period, now, end_ms)
        starts[p.meter_id] = tick
        ends[p.meter_id] = last_tick(end_ms, period) if end_ms is not None else None
        if end_ms is not None:
            total += max(0, (ends[p.meter_id] - tick) // period + 1)  # type: ignore[operator]

    def done() -> None:
        state["done"] += 1
        if progress:
            t = time.monotonic()
            if t - state["shown"] >= 0.25 or state["done"] == total:
                state["shown"] = t
                progress(int(state["done"]), total)

    session = _Session(clock, store, stop, done)
    virtual = isinstance(clock, VirtualClock)

    async def run_one(i: int, p: PollPlan) -> None:
        rng = np.random.default_rng([seed, i])
        poller = _MeterPoller(p, p.period_ms or period_ms, stats[p.meter_id], jitter_ms, rng,
                              session)
        if virtual:
            clock.join()  # type: ignore[union-attr]
        try:
            await poller.run(starts[p.meter_id], ends[p.meter_id])
        finally:
            if virtual:
                clock.leave()  # type: ignore[union-attr]

    async def housekeeping() -> None:
        """Commit on time even when no poll completes; feed the status display; wake sleepers
        when asked to stop."""
        interval = min(store.commit_interval_s, status_interval_s) or 0.1
        last_status = time.monotonic()
        while True:
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(interval, 0.05))
            except TimeoutError:
                pass
            if stop.is_set():
                for task in list(session.sleeping.values()):
                    task.cancel()
                return
            if store.pending:
                store._maybe_commit()
            if status and time.monotonic() - last_status >= status_interval_s:
                last_status = time.monotonic()
                status(stats)

    keeper = asyncio.ensure_future(housekeeping())
    try:
        await _connect_all(plans)
        await _all_or_none([run_one(i, p) for i, p in enumerate(plans)])
    finally:
        keeper.cancel()
        try:
            await keeper
        except asyncio.CancelledError:
            pass
        store.commit()
        closed: set[int] = set()
        for p in plans:
            await p.driver.close()
            if id(p.driver.link) not in closed:  # shared links belong to no one meter
                closed.add(id(p.driver.link))
                await p.driver.link.close()
        if status:
            status(stats)
    return stats
