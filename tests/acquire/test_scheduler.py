"""The scheduler against real Modbus TCP servers: alignment, per-meter periods, shared links,
ground truth recovered, the meter's clock stored, stop and resume bookkeeping."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterbench.acquisition.engine import (
    CLOCK_CHANNEL,
    MAX_BACKOFF_MS,
    PollPlan,
    acquire,
    backoff_ms,
)
from meterbench.clocks.run_clock import VirtualClock
from meterbench.instruments.modbus import ModbusLink, ModbusMeter, TcpTransport
from meterbench.instruments.registers import load_register_map
from meterbench.store.run_store import Store

from .conftest import served, true_import_kwh

T0 = 1_780_002_000_000  # 2026-05-28T21:00:00Z, on the hour
CHANNELS = ("energy.import", "energy.export", "power.total")


def ticks_of(store, meter, channel="energy.import"):
    rows = store._db.execute(
        "SELECT tick_ms, response_ms, value FROM readings r JOIN meters m ON m.id = r.meter "
        "JOIN channels c ON c.id = r.channel WHERE m.name = ? AND c.name = ? ORDER BY tick_ms",
        (meter, channel)).fetchall()
    return np.array(rows, dtype=float).reshape(-1, 3)


def test_aligned_ticks_per_meter_periods_shared_gateway_and_truth(tmp_path, sim_host):
    clock = VirtualClock(T0 - 7_000)
    shared = sim_host({u: served(T0 - 60_000) for u in (1, 2, 3)}, clock.now_ms)
    alone = sim_host({5: served(T0 - 60_000)}, clock.now_ms)
    regmap = load_register_map("eastron_sdm630")
    link = ModbusLink(TcpTransport("127.0.0.1", shared.port), timeout_s=1.0)
    plans = [PollPlan(f"bus{u}", ModbusMeter(regmap, link, u, time_ms=clock.now_ms), CHANNELS)
             for u in (1, 2, 3)]
    plans.append(PollPlan("alone", ModbusMeter(regmap, TcpTransport("127.0.0.1", alone.port), 5,
                                               time_ms=clock.now_ms), CHANNELS, period_ms=30_000))
    store = Store(tmp_path / "s.sqlite")
    stats = asyncio.run(acquire(plans, clock, store, start_ms=T0 - 7_000, end_ms=T0 + 600_000,
                                period_ms=10_000))
    store.commit()
    for p in plans:
        period = p.period_ms or 10_000
        rows = ticks_of(store, p.meter_id)
        ticks = rows[:, 0].astype(np.int64)
        first = (T0 - 7_000) // period * period  # at or before the start
        last = -(-(T0 + 600_000) // period) * period  # at or after the end
        np.testing.assert_array_equal(ticks, np.arange(first, last + 1, period))
        assert np.all(ticks % period == 0)
        assert stats[p.meter_id].ok == len(ticks) and stats[p.meter_id].errors == 0
        # Ground truth recovered: the value read at the response time is the true register
        # within float32 quantization (ulp at ~100 kWh is 7.6e-6 kWh).
        truth = true_import_kwh(T0 - 60_000, rows[:, 1])
        np.testing.assert_allclose(rows[:, 2], truth, atol=2e-5)
    assert shared.requests == 3 * 62  # one request per poll (channels coalesced), 3 meters
    assert store.integrity_ok()
    store.close()


def test_meter_clock_is_stored_as_a_channel(tmp_path, sim_host):
    """A model whose map has clock.unix_ms gets its own time stored, so offset can be tracked."""
    path = tmp_path / "clocked.toml"
    path.write_text('model = "clocked"\n[defaults]\nfunction = "input"\n[channels]\n'
                    '"energy.import" = { address = 0x48, type = "float32", unit = "kWh" }\n'
                    '"clock.unix_ms" = { address = 0x100, type = "uint64", unit = "ms" }\n')
    clock = VirtualClock(T0)
    gw = sim_host({1: served(T0, model=str(path), clock_offset_ms=-4_321)}, clock.now_ms)
    regmap = load_register_map(str(path))
    from meterbench.acquisition.engine import poll_plan
    from meterbench.config.bench_file import MeterSpec, SimMeterSpec, TransportSpec
    spec = MeterSpec("c1", "operator", str(path), "B", TransportSpec(), (), SimMeterSpec())
    plan = poll_plan(spec, ModbusMeter(regmap, TcpTransport("127.0.0.1", gw.port), 1,
                                       time_ms=clock.now_ms))
    assert plan.channels == ("energy.import", CLOCK_CHANNEL)
    store = Store(tmp_path / "s.sqlite")
    stats = asyncio.run(acquire([plan], clock, store, start_ms=T0, end_ms=T0 + 120_000,
                                period_ms=60_000))
    store.commit()
    rows = ticks_of(store, "c1", CLOCK_CHANNEL)
    assert len(rows) == 3
    offsets = rows[:, 2] - rows[:, 1]  # meter time minus host (virtual) response time
    np.testing.assert_array_equal(offsets, -4_321.0)
    assert stats["c1"].clock_offset_ms == -4_321.0
    store.close()


def test_resume_continues_after_last_tick_and_records_the_gap(tmp_path, sim_host):
    clock = VirtualClock(T0)
    gw = sim_host({1: served(T0)}, clock.now_ms)
    regmap = load_register_map("eastron_sdm630")

    def plan():
        return [PollPlan("m", ModbusMeter(regmap, TcpTransport("127.0.0.1", gw.port), 1,
                                          time_ms=clock.now_ms), CHANNELS)]

    store = Store(tmp_path / "s.sqlite")
    asyncio.run(acquire(plan(), clock, store, start_ms=T0, end_ms=T0 + 50_000, period_ms=10_000))
    assert store.last_ticks() == {"m": T0 + 50_000}
    clock.advance_to(T0 + 95_000)  # the process was down; a poll is due at +100 s
    asyncio.run(acquire(plan(), clock, store, start_ms=clock.now_ms(), end_ms=T0 + 150_000,
                        period_ms=10_000, resume_after=store.last_ticks(), from_next_tick=True))
    ticks = ticks_of(store, "m")[:, 0].astype(np.int64)
    gaps = store.events("gap")
    assert len(gaps) == 1 and gaps[0]["tick_ms"] == T0 + 60_000
    assert "4 polls" in gaps[0]["detail"]  # +60, +70, +80, +90 s
    missing = set(range(T0, T0 + 150_001, 10_000)) - set(ticks.tolist())
    assert missing == {T0 + 60_000, T0 + 70_000, T0 + 80_000, T0 + 90_000}
    assert len(ticks) == len(set(ticks.tolist()))
    store.close()


def test_stop_event_ends_an_open_ended_acquisition(tmp_path, sim_host):
    async def main(store):
        from meterbench.clocks.anchored import AnchoredClock, wall_ms
        now = wall_ms()
        clock = AnchoredClock(now, now, 1.0)
        gw = sim_host({1: served(now)}, clock.now_ms)
        regmap = load_register_map("eastron_sdm630")
        plans = [PollPlan("m", ModbusMeter(regmap, TcpTransport("127.0.0.1", gw.port), 1,
                                           time_ms=clock.now_ms), CHANNELS, period_ms=1000)]
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(2.5, stop.set)
        seen = []
        stats = await acquire(plans, clock, store, start_ms=clock.now_ms(), end_ms=None,
                              period_ms=1000, stop=stop, status=lambda s: seen.append(s["m"].ok),
                              status_interval_s=0.5, from_next_tick=True)
        return stats, seen

    store = Store(tmp_path / "s.sqlite")
    stats, seen = asyncio.run(main(store))
    assert 2 <= stats["m"].ok <= 3  # one poll per wall second for 2.5 s
    assert len(seen) >= 4 and seen[-1] == stats["m"].ok  # status was fed while running
    assert store.reading_count() == 3 * stats["m"].ok  # everything committed on stop
    store.close()


@given(st.integers(1, 40), st.integers(1000, 900_000))
def test_backoff_grows_and_is_capped(failures, period):
    b = backoff_ms(failures, period)
    assert (b == 0) == (failures == 1)  # a single failure is simply retried at the next tick
    assert b <= max(MAX_BACKOFF_MS, period)
    assert backoff_ms(failures + 1, period) >= b


def test_shared_transport_shares_one_link(tmp_path):
    from meterbench.acquisition.links import build_drivers
    from meterbench.config.bench_file import parse_bench

    def meter(mid, role, port, unit, extra=""):
        return (f'[[meter]]\nid = "{mid}"\nrole = "{role}"\nmodel = "eastron_sdm630"\nclass = "B"\n'
                f'{extra}transport = {{ kind = "tcp", host = "10.0.0.9", port = {port}, unit = {unit} }}\n')
    text = ('[bench]\nname = "x"\n[run]\ndate = "2026-06-01"\n'
            + meter("main", "main", 502, 1) + meter("a", "operator", 502, 2, 'poll_period = "5s"\n')
            + meter("b", "operator", 503, 1))
    import tomllib
    cfg = parse_bench(tomllib.loads(text), source="x.toml", text=text)
    from meterbench.run.field_devices import RealField

    drivers = build_drivers(cfg, RealField(cfg).endpoints, lambda: 0)
    assert drivers["main"].link is drivers["a"].link
    assert drivers["b"].link is not drivers["a"].link
    assert cfg.meter("a").poll_ms == 5000 and cfg.meter("main").poll_ms is None


@pytest.mark.parametrize("period, message", [("500ms", "between 1s and 15min"),
                                             ("16min", "between 1s and 15min")])
def test_meter_poll_period_out_of_range_is_a_user_error(period, message):
    import tomllib

    from meterbench.config.bench_file import parse_bench
    from meterbench.core.errors import UserError
    text = ('[bench]\nname = "x"\n[run]\ndate = "2026-06-01"\n[[meter]]\nid = "main"\n'
            f'role = "main"\nmodel = "eastron_sdm630"\nclass = "B"\npoll_period = "{period}"\n')
    with pytest.raises(UserError, match=message) as err:
        parse_bench(tomllib.loads(text), source="x.toml", text=text)
    assert "x.toml" in str(err.value) and "poll_period" in str(err.value)


def test_when_one_poller_fails_the_others_stop_and_no_failure_is_left_unretrieved() -> None:
    """A full disk fails every poller that commits: the first failure is raised, the siblings
    are stopped, and none of their exceptions reaches asyncio's "never retrieved" log (which
    printed a traceback after the one-line error)."""
    import asyncio
    import gc

    from meterbench.acquisition.engine import _all_or_none

    unretrieved: list[dict] = []
    stopped: list[str] = []

    async def fails(after: float, name: str) -> None:
        await asyncio.sleep(after)
        raise OSError(28, f"disk full ({name})")

    async def polls_on() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            stopped.append("poller")
            raise

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: unretrieved.append(ctx))
        with pytest.raises(OSError, match="disk full \\(first\\)"):
            await _all_or_none([fails(0.01, "first"), fails(0.02, "second"), polls_on()])
        # nothing of the pollers runs on: the poller was stopped at once, the second failure
        # was awaited (plain gather leaves both running, the second failing later, unseen)
        assert stopped == ["poller"]
        assert asyncio.all_tasks() == {asyncio.current_task()}
        await asyncio.sleep(0.05)
        gc.collect()

    asyncio.run(main())
    gc.collect()
    assert stopped == ["poller"]
    assert unretrieved == []
