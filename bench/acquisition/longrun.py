"""A long acquisition into a run folder: start, stop on a signal or after a duration, resume.

``meterbench acquire`` drives this. The run folder holds ``store.sqlite`` (readings, events, the
bench file and its hash, the software version, the clock's anchor) and ``acquisition.json`` (one
entry per session with its statistics). Started again on the same folder it resumes: same bench
file (checked by hash), same clock line, each meter continues after its last stored poll, and the
polls missed while the process was down are one ``gap`` event per meter.

On a simulated bench the clock is an :class:`~meterbench.clocks.anchored.AnchoredClock` starting at the
bench's day (scale from the bench file or ``--scale``; the bench's ``clock = "real"`` means scale
1), and the world is rebuilt from the same seed on resume, so a restarted simulator serves the
values the first one would have. Real benches use the wall clock and run until stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meterbench.acquisition.engine import (
    MeterStats,
    PollPlan,
    StatusHook,
    acquire,
    poll_plan,
    record_downtime,
)
from meterbench.acquisition.links import build_drivers, shared_links
from meterbench.acquisition.status import totals
from meterbench.clocks.anchored import AnchoredClock, wall_ms
from meterbench.config.bench_file import SCALE, BenchConfig
from meterbench.core.errors import EnvironmentFailure, UserError, environment_failure
from meterbench.core.timeutil import format_iso_utc
from meterbench.run import folder as runfolder
from meterbench.run.field_devices import FieldDevices, field_devices
from meterbench.store.run_store import Store, StoreError

STORE_FILE = "store.sqlite"
ACQUISITION_FILE = "acquisition.json"
#: Space set aside while acquiring and given back when the disk fills up, so the store can still
#: record why the session stopped (a ``session_stopped`` event needs a few pages of the WAL).
RESERVE_FILE = ".reserve"
RESERVE_BYTES = 256 * 1024


@dataclass
class SessionResult:
    """What one ``meterbench acquire`` invocation did."""

    run_dir: Path
    resumed: bool
    reason: str                   # "duration", "signal SIGTERM", "end of bench period", ...
    started_wall_ms: int
    stopped_wall_ms: int
    stats: dict[str, MeterStats]
    readings_total: int
    gaps: int

    def as_dict(self) -> dict[str, Any]:
        return dict(resumed=self.resumed, reason=self.reason,
                    started_utc=format_iso_utc(self.started_wall_ms),
                    stopped_utc=format_iso_utc(self.stopped_wall_ms),
                    seconds=(self.stopped_wall_ms - self.started_wall_ms) / 1000.0,
                    totals=totals(self.stats),
                    meters={k: s.summary() for k, s in self.stats.items()})


def open_store(run_dir: Path, config: BenchConfig, *, commit_interval_s: float = 1.0,
               on_commit: Callable[[int, int], None] | None = None) -> tuple[Store, bool]:
    """The run's store, checked to belong to this bench; ``(store, resumed)``."""
    path = run_dir / STORE_FILE
    existed = path.exists()
    try:
        store = Store(path, commit_interval_s=commit_interval_s, on_commit=on_commit)
    except StoreError as exc:
        raise UserError(str(exc), source=str(path), expected="a meterbench run store") from None
    meta = store.meta()
    bench = meta.get("bench")
    if existed and bench is not None:
        if bench.get("sha256") != config.sha256:
            store.close()
            raise UserError("run folder was acquired with a different bench file "
                            f"({bench.get('source')}, sha256 {str(bench.get('sha256'))[:12]}...)",
                            source=str(run_dir), field="bench",
                            expected="the same bench file to resume, or a new --out folder")
        if "acquire_clock" not in meta and store.reading_count():
            store.close()
            raise UserError("run folder holds a run made by 'meterbench run' (virtual clock), "
                            "which cannot be resumed", source=str(run_dir),
                            expected="a folder made by 'meterbench acquire', or a new one")
    # A stored clock anchor means a session began the run's time line, even if it stored
    # nothing (interrupted or killed while starting): this session continues that line.
    resumed = existed and (store.reading_count() > 0 or "acquire_clock" in meta)
    if bench is None:
        store.set_meta("bench", {"name": config.name, "source": config.source,
                                 "sha256": config.sha256, "text": bench_text(config)})
    return store, resumed


def bench_text(config: BenchConfig) -> str | None:
    from meterbench.config.bench_file import resolve

    try:
        return resolve(config.source.removeprefix("builtin:"))[1]
    except UserError:
        return None


def check_scale(config: BenchConfig, scale: float | None) -> None:
    """``--scale`` refused before anything is created: outside the supported range (NaN, inf,
    negative, a clock that stands still), or on a bench with real devices."""
    if scale is None:
        return
    if not SCALE.contains(scale):
        raise UserError(f"scale {scale} is out of range", field="--scale",
                        expected=SCALE.describe())
    if not config.simulate and scale != 1.0:
        raise UserError("a bench with real devices runs in real time", field="--scale",
                        expected="no --scale without --sim")


def run_clock(store: Store, config: BenchConfig, scale: float | None,
              devices: FieldDevices | None = None) -> AnchoredClock:
    """The run's clock: the stored anchor when resuming, else a new one (stored). Simulated
    devices start at the bench's day (scaled time); real ones at the wall clock, in real time."""
    saved = store.meta().get("acquire_clock")
    if saved is not None:
        clock = AnchoredClock.from_dict(saved)
        if scale is not None and scale != clock.scale:
            raise UserError(f"this run's clock runs at scale {clock.scale}, not {scale}",
                            source=str(store.path), field="--scale",
                            expected="no --scale (a resumed run keeps its time line)")
        return clock
    now = wall_ms()
    devices = devices or field_devices(config)
    if devices.simulated:
        if scale is None:
            scale = 1.0 if config.run.clock == "real" else config.run.scale
    elif scale not in (None, 1.0):
        raise UserError("a bench with real devices runs in real time", field="--scale",
                        expected="no --scale without --sim")
    clock = AnchoredClock(devices.time_origin_ms(now), now, scale or 1.0)
    store.set_meta("acquire_clock", clock.as_dict())
    return clock


def run_acquisition(config: BenchConfig, run_dir: Path, *, duration_s: float | None = None,
                    scale: float | None = None, status: StatusHook | None = None,
                    status_interval_s: float = 1.0, commit_interval_s: float = 1.0,
                    on_commit: Callable[[int, int], None] | None = None,
                    install_signal_handlers: bool = True,
                    on_start: Callable[[bool], None] | None = None) -> SessionResult:
    """One acquisition session, until ``duration_s`` wall seconds, SIGINT/SIGTERM or the end of a
    simulated bench's period. Everything stored is committed before it returns.

    The run folder is locked for the session (a second acquisition of it is refused, naming this
    process). ``on_start(resumed)`` is called once the session has really started, so a command
    says "acquiring" only when nothing can be refused any more. A full disk or a read-only medium
    ends the session with a ``session_stopped`` event saying so (space for it is set aside at the
    start) and raises :class:`EnvironmentFailure`; everything committed before is kept. A fresh
    folder whose session never started is removed again.
    """
    check_scale(config, scale)
    run_dir = Path(run_dir)
    fresh = not run_dir.exists()
    lock = runfolder.claim_run_dir(run_dir, "acquire")
    new_store = not (run_dir / STORE_FILE).exists()
    started_session = False
    try:
        store, resumed = open_store(run_dir, config, commit_interval_s=commit_interval_s,
                                    on_commit=on_commit)
        devices = field_devices(config)
        started = wall_ms()
        try:
            anchored = "acquire_clock" in store.meta()
            clock = run_clock(store, config, scale, devices)
            store.set_meta("software", runfolder.software_versions())
            if devices.simulated:  # a simulated world has a period; real devices run on
                store.set_meta("period", runfolder.period_meta(config))
            endpoints = devices.start(clock.now_ms)
            drivers = build_drivers(config, endpoints, clock.now_ms)
            plans = [poll_plan(spec, drivers[spec.id]) for spec in config.meters]
            store.set_meta("links", shared_links(drivers))
            end_ms = devices.acquisition_end_ms()
            resume_after = store.last_ticks()
            if anchored:  # the time line began at the first start: polls since are due
                for p in plans:
                    if p.meter_id not in resume_after:
                        resume_after[p.meter_id] = _before_first_tick(
                            clock, p.period_ms or config.run.poll_ms)
            _set_aside(run_dir)
            store.add_event(clock.now_ms(), None, "session_started",
                            ("resumed" if resumed else "started") + f" at {format_iso_utc(started)}"
                            f" (wall), clock {clock.kind} x{clock.scale:g}")
            store.commit()
            started_session = True
            if on_start is not None:
                on_start(resumed)
            try:
                stats, reason = asyncio.run(_session(plans, clock, store, config, end_ms,
                                                     resume_after, duration_s, status,
                                                     status_interval_s, install_signal_handlers))
            except (EnvironmentFailure, OSError, sqlite3.Error) as exc:
                failure = environment_failure(exc, str(run_dir / STORE_FILE))
                if failure is None:
                    raise
                raise _stopped_by_environment(run_dir, store, clock, failure) from None
            stopped = wall_ms()
            store.add_event(clock.now_ms(), None, "session_stopped", reason)
            store.commit()
            result = SessionResult(run_dir, resumed, reason, started, stopped, stats,
                                   store.reading_count(), len(store.events("gap")))
            _append_session(run_dir, config, result)
            return result
        finally:
            devices.stop()
            with contextlib.suppress(EnvironmentFailure):
                store.close()
            _give_back(run_dir)
    except BaseException:
        # Refused, failed or interrupted (Ctrl-C) before anything was acquired: remove what this
        # call created, so the next acquire starts afresh instead of finding a clock anchored
        # at a start whose polls were never taken.
        if not started_session:
            lock.release()
            if fresh:
                shutil.rmtree(run_dir, ignore_errors=True)
            elif new_store:
                _remove_store(run_dir)
        raise
    finally:
        lock.release()


def _before_first_tick(clock: AnchoredClock, period_ms: int) -> int:
    """The tick before the first one the run's first session was due to poll (at or after the
    clock's origin): where a meter without any stored poll continues, so that every poll since
    the first start is accounted for (a gap) and none is silently missing."""
    return -(-clock.origin_ms // period_ms) * period_ms - period_ms


def _remove_store(run_dir: Path) -> None:
    for name in (STORE_FILE, STORE_FILE + "-wal", STORE_FILE + "-shm", RESERVE_FILE):
        with contextlib.suppress(OSError):
            (run_dir / name).unlink()


def _set_aside(run_dir: Path) -> None:
    """Claim :data:`RESERVE_BYTES` of disk now, to be given back if the disk fills up."""
    path = run_dir / RESERVE_FILE
    with open(path, "wb") as fh:
        fh.write(b"\0" * RESERVE_BYTES)
        fh.flush()


def _give_back(run_dir: Path) -> None:
    with contextlib.suppress(OSError):
        (run_dir / RESERVE_FILE).unlink()


def _stopped_by_environment(run_dir: Path, store: Store, clock: AnchoredClock,
                            exc: EnvironmentFailure) -> EnvironmentFailure:
    """Close the session after the machine refused a write: free the reserve, record why the
    session stopped and how many readings could not be stored, and say so in one line."""
    _give_back(run_dir)
    lost = store.discard_pending()
    detail = f"stopped: {exc.message}" + (f"; {lost} readings could not be stored" if lost else "")
    recorded = True
    try:
        store.add_event(clock.now_ms(), None, "session_stopped", detail)
        store.commit()
    except EnvironmentFailure:
        store.discard_pending()
        recorded = False
    kept = store.reading_count()
    tail = "" if recorded else "; the stop could not be recorded either"
    return EnvironmentFailure(f"acquisition stopped: {exc.message}; {kept} readings stored before "
                              f"are kept, {lost} could not be stored{tail}",
                              source=exc.source or str(run_dir))


async def _session(plans: list[PollPlan], clock: AnchoredClock, store: Store, config: BenchConfig,
                   end_ms: int | None, resume_after: dict[str, int], duration_s: float | None,
                   status: StatusHook | None, status_interval_s: float,
                   install_signal_handlers: bool) -> tuple[dict[str, MeterStats], str]:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    why = {"reason": "end of bench period"}

    def request_stop(reason: str) -> None:
        if not stop.is_set():
            why["reason"] = reason
            stop.set()

    if install_signal_handlers:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, request_stop, f"signal {sig.name}")
    if duration_s is not None:
        loop.call_later(duration_s, request_stop, "duration")
    if end_ms is not None and clock.now_ms() > end_ms:
        # The period is over, but the polls missed before its end are still a gap to record.
        for p in plans:
            if p.meter_id in resume_after:
                record_downtime(store, p.meter_id, resume_after[p.meter_id],
                                p.period_ms or config.run.poll_ms, clock.now_ms(), end_ms)
        return {p.meter_id: MeterStats() for p in plans}, "bench period already acquired"
    try:
        stats = await acquire(plans, clock, store, start_ms=clock.now_ms(), end_ms=end_ms,
                              period_ms=config.run.poll_ms, resume_after=resume_after, stop=stop,
                              status=status, status_interval_s=status_interval_s,
                              from_next_tick=True)
    finally:
        if install_signal_handlers:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
    return stats, why["reason"]


def _append_session(run_dir: Path, config: BenchConfig, result: SessionResult) -> None:
    path = run_dir / ACQUISITION_FILE
    doc: dict[str, Any] = {"bench": config.name, "bench_sha256": config.sha256, "sessions": []}
    if path.exists():
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            pass  # rewritten below from what this session knows; the store is the truth
    doc.setdefault("sessions", []).append(result.as_dict())
    doc["readings"] = result.readings_total
    doc["gaps"] = result.gaps
    runfolder.write_json(path, doc)


