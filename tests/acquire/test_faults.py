"""Faulty meters (fault schedule of the simulator) are retried, backed off and reconnected, and
never delay the healthy meters. Real time (1 s polls for ~6 s): lateness is wall-clock here."""

from __future__ import annotations

import asyncio

import numpy as np

from meterbench.acquisition.engine import PollPlan, acquire
from meterbench.clocks.anchored import AnchoredClock, wall_ms
from meterbench.instruments.modbus import ModbusMeter, TcpTransport
from meterbench.instruments.registers import load_register_map
from meterbench.store.run_store import Store

from .conftest import served

CHANNELS = ("energy.import", "energy.export", "power.total")
TIMEOUT_S = 0.3


def test_faulty_meters_recover_and_do_not_delay_the_others(tmp_path, sim_host):
    now = wall_ms()
    t0 = (now // 1000 + 1) * 1000  # first tick
    clock = AnchoredClock(now, now, 1.0)
    # polls at +2 s and +3 s fail; after two failures the meter backs off one period (+4 s is
    # skipped) and +5 s, after the window, is answered again
    window = {"start": t0 + 1_500, "end": t0 + 4_500}
    faults = {
        "healthy": [],
        "silent": [dict(kind="no_answer", **window)],
        "dropping": [dict(kind="drop", **window)],
        "busy": [dict(kind="exception", code="busy", **window)],
    }
    regmap = load_register_map("eastron_sdm630")
    plans = []
    for mid, fs in faults.items():
        gw = sim_host({1: served(now, faults=fs)}, clock.now_ms)
        plans.append(PollPlan(mid, ModbusMeter(regmap, TcpTransport("127.0.0.1", gw.port), 1,
                                               timeout_s=TIMEOUT_S, retries=1, backoff_s=0.05,
                                               time_ms=clock.now_ms), CHANNELS, period_ms=1000))
    store = Store(tmp_path / "s.sqlite")
    stats = asyncio.run(acquire(plans, clock, store, start_ms=t0, end_ms=t0 + 7_000,
                                period_ms=1000, from_next_tick=True))
    store.commit()
    events = store.events()

    def kinds(meter):
        return [e["kind"] for e in events if e["meter"] == meter]

    healthy = stats["healthy"]
    assert healthy.ok == healthy.polls == 8 and healthy.errors == 0
    # The silent meter costs (1 + retries) x timeout = 0.6 s per failed poll; had the healthy meter
    # waited for it, its lateness would exceed that.
    assert max(healthy.lateness_ms) < 250, list(healthy.lateness_ms)
    assert kinds("healthy") == []

    for mid, error in (("silent", "ModbusTimeoutError"), ("dropping", "ModbusConnectionError"),
                       ("busy", "SLAVE_DEVICE_BUSY")):
        s = stats[mid]
        failed = [e for e in events if e["meter"] == mid and e["kind"] == "poll_failed"]
        assert failed and all(error in e["detail"] for e in failed), (mid, failed)
        assert all(window["start"] - 1000 <= e["tick_ms"] < window["end"] for e in failed)
        assert s.errors == len(failed)
        # back to normal after the window: the last polls were answered
        assert s.consecutive_failures == 0 and s.last_ok_ms is not None
        assert s.last_ok_ms >= window["end"]
        assert "recovered" in kinds(mid) or "reconnected" in kinds(mid)
        # every scheduled tick is accounted for: answered, failed or skipped (back-off)
        assert s.ok + s.errors + s.skipped == 8, (mid, s)
        assert (s.errors, s.skipped) == (2, 1), (mid, s)
        assert "polls_skipped" in kinds(mid)
        stored = store._db.execute(
            "SELECT count(DISTINCT tick_ms) FROM readings r JOIN meters m ON m.id = r.meter "
            "WHERE m.name = ?", (mid,)).fetchone()[0]
        assert stored == s.ok
    assert "disconnected" in kinds("dropping") and "reconnected" in kinds("dropping")
    assert stats["dropping"].reconnects >= 1
    late = np.array(stats["busy"].lateness_ms)
    assert late.max() < 250  # an exception answers at once: no timeouts there
    store.close()


def test_value_faults_are_stored_flagged_and_announced_once(tmp_path, sim_host):
    from meterbench.clocks.run_clock import VirtualClock

    t0 = 1_780_002_000_000  # on the hour
    clock = VirtualClock(t0)
    nan = [dict(kind="nan", channels=["energy.import"], start=t0 + 60_000, end=t0 + 180_000)]
    gw = sim_host({1: served(t0, faults=nan)}, clock.now_ms)
    regmap = load_register_map("eastron_sdm630")
    plan = PollPlan("m", ModbusMeter(regmap, TcpTransport("127.0.0.1", gw.port), 1,
                                     time_ms=clock.now_ms), CHANNELS)
    store = Store(tmp_path / "s.sqlite")
    asyncio.run(acquire([plan], clock, store, start_ms=t0, end_ms=t0 + 300_000, period_ms=60_000))
    flagged = store.events("value_flagged")
    assert [(e["tick_ms"] - t0, e["detail"]) for e in flagged] == [
        (60_000, "flagged: energy.import=nan"), (180_000, "values valid again")]
    rows = store._db.execute("SELECT tick_ms, value, flag FROM readings WHERE channel = "
                             "(SELECT id FROM channels WHERE name = 'energy.import') "
                             "ORDER BY tick_ms").fetchall()
    assert [(t - t0, f) for t, v, f in rows if f] == [(60_000, "nan"), (120_000, "nan")]
    assert all(v is None for _, v, f in rows if f)
    assert len(store.series("m", "energy.import").values) == 4  # 6 polls, 2 flagged
    store.close()
