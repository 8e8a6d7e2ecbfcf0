"""Ctrl-C while an acquisition starts up, and a folder left with a clock but no session."""

from __future__ import annotations

import json

from meterbench.acquisition import longrun
from meterbench.acquisition.longrun import open_store, run_clock
from meterbench.cli import main
from meterbench.clocks.anchored import AnchoredClock, wall_ms
from meterbench.config.bench_file import load_bench
from meterbench.run.field_devices import field_devices
from meterbench.store.run_store import Store

from .benchfiles import BENCH, PERIODS_MS


def _bench(tmp_path):
    bench = tmp_path / "acq.toml"
    bench.write_text(BENCH)
    return bench


def _interrupt_after_the_servers_started(monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(longrun, "build_drivers", interrupted)


def test_ctrl_c_during_start_up_leaves_no_folder(tmp_path, monkeypatch, capsys):
    """The folder used to stay behind with a store whose clock was anchored at this start, and
    the next acquire into it began hours later without a gap or a word."""
    _interrupt_after_the_servers_started(monkeypatch)
    out = tmp_path / "H"
    assert main(["acquire", str(_bench(tmp_path)), "--out", str(out), "--scale", "5000"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "meterbench: interrupted"
    assert not out.exists()


def test_ctrl_c_during_start_up_in_an_existing_empty_folder_removes_the_store(
        tmp_path, monkeypatch, capsys):
    """A folder the user made stays, but not the anchored store this start created in it."""
    _interrupt_after_the_servers_started(monkeypatch)
    out = tmp_path / "H"
    out.mkdir()
    assert main(["acquire", str(_bench(tmp_path)), "--out", str(out)]) == 130
    assert not list(out.glob("store.sqlite*")) and not (out / ".reserve").exists()


def test_a_folder_with_a_clock_but_no_session_is_resumed_with_the_gap(tmp_path, capsys):
    """A store anchored (by a start killed before its first poll) 2 wall seconds ago, at scale
    600: the next acquire used to say "acquiring", start 20 simulated minutes late with no gap
    event, and write resumed: false."""
    bench = _bench(tmp_path)
    config = load_bench(str(bench))
    out = tmp_path / "H"
    out.mkdir()
    store, resumed = open_store(out, config)
    assert not resumed
    clock = run_clock(store, config, None, field_devices(config))
    past = AnchoredClock(clock.origin_ms, wall_ms() - 2000, clock.scale)
    store.set_meta("acquire_clock", past.as_dict())
    store.commit()
    store.close()

    assert main(["acquire", str(bench), "--out", str(out), "--duration", "1s"]) == 0
    err = capsys.readouterr().err
    assert "meterbench: resuming bench" in err, err
    doc = json.loads((out / "acquisition.json").read_text())
    assert doc["sessions"][0]["resumed"] is True
    with Store(out / "store.sqlite", read_only=True) as s:
        gaps = {e["meter"]: e for e in s.events("gap")}
        assert set(gaps) == {m.id for m in config.meters}
        for meter, gap in gaps.items():
            period = PERIODS_MS[meter]
            first_due = -(-past.origin_ms // period) * period
            assert gap["tick_ms"] == first_due
            first_stored = s._db.execute(
                "SELECT min(tick_ms) FROM readings r JOIN meters m ON m.id = r.meter "
                "WHERE m.name = ?", (meter,)).fetchone()[0]
            missed = int(gap["detail"].split(": ")[1].split(" polls")[0])
            assert first_stored == first_due + missed * period  # nothing between, nothing twice


def test_stopping_the_sim_host_cancels_a_start_left_half_way():
    """A server start abandoned by Ctrl-C was destroyed with its loop ("Task was destroyed but
    it is pending!" on stderr) without its cleanup ever running."""
    import asyncio
    import threading

    from meterbench.run.simhost import SimHost

    cleaned = threading.Event()

    async def start():
        try:
            await asyncio.sleep(60)
        finally:
            cleaned.set()

    host = SimHost()
    asyncio.run_coroutine_threadsafe(start(), host._loop)
    host.stop()
    assert cleaned.is_set()

