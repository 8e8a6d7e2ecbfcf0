"""SIGKILL the acquiring process at random moments, reopen the store each time: intact, every
reading the process said it committed is there, no duplicates, no holes but recorded downtime,
and the simulated world continues consistently; then a clean session resumes and stops on time."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from meterbench.config.bench_file import load_bench
from meterbench.run.simworld import build_world
from meterbench.store.run_store import Store

from .benchfiles import BENCH, PERIODS_MS

REPO = Path(__file__).resolve().parents[2]
KILLS = 10


class Acquirer:
    """``meterbench acquire`` in a subprocess, its commit lines collected as they come."""

    def __init__(self, bench: Path, out: Path, *extra: str) -> None:
        env = dict(os.environ)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "meterbench", "acquire", str(bench), "--out", str(out),
             "--log-commits", *extra], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=env, cwd=REPO)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def committed(self) -> int:
        """Readings this session reported as committed (the side channel)."""
        totals = [int(m.group(1)) for line in list(self.lines)
                  if (m := re.match(r"commit: \+\d+ readings, (\d+) this session", line))]
        return totals[-1] if totals else 0

    def wait_for_commit(self, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.committed:
            assert time.monotonic() < deadline, "no commit reported: " + "".join(self.lines)
            assert self.proc.poll() is None, "acquire exited: " + "".join(self.lines)
            time.sleep(0.02)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.reader.join(timeout=5)


def check_store(path: Path, reported: int) -> dict[str, np.ndarray]:
    """Integrity, nothing reported missing, no duplicates, holes only where a gap is recorded."""
    s = Store(path)
    try:
        assert s.integrity_ok()
        n = s.reading_count()
        assert n >= reported, f"{reported} readings reported committed, {n} in the store"
        db = s._db
        dup = db.execute("SELECT count(*) FROM (SELECT meter, channel, tick_ms, count(*) AS k "
                         "FROM readings GROUP BY meter, channel, tick_ms HAVING k > 1)").fetchone()[0]
        assert dup == 0
        partial = db.execute("SELECT count(*) FROM (SELECT meter, tick_ms, count(*) AS k FROM readings "
                             "GROUP BY meter, tick_ms HAVING k != 3)").fetchone()[0]
        assert partial == 0  # a poll's channels are committed together or not at all
        ticks = {}
        for meter, period in PERIODS_MS.items():
            got = np.array([t for (t,) in db.execute(
                "SELECT DISTINCT tick_ms FROM readings r JOIN meters m ON m.id = r.meter "
                "WHERE m.name = ? ORDER BY tick_ms", (meter,))], dtype=np.int64)
            ticks[meter] = got
            if len(got) < 2:
                continue
            assert np.all(got % period == 0)
            missing = set(range(int(got[0]), int(got[-1]) + 1, period)) - set(got.tolist())
            covered: set[int] = set()
            for e in s.events("gap"):
                if e["meter"] == meter:
                    k = int(re.search(r"(\d+) polls", e["detail"]).group(1))
                    covered |= set(range(e["tick_ms"], e["tick_ms"] + k * period, period))
            assert missing <= covered, f"{meter}: unexplained holes {sorted(missing - covered)[:5]}"
            assert not covered & set(got.tolist()), f"{meter}: a gap event covers stored polls"
        return ticks
    finally:
        s.close()


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_committed(tmp_path):
    bench = tmp_path / "acq.toml"
    bench.write_text(BENCH)
    out = tmp_path / "run"
    rng = random.Random(20261127)
    reported = 0
    previous_last: dict[str, int] = {}
    sessions_with_data = 0
    for k in range(KILLS):
        acq = Acquirer(bench, out)
        if k in (3, 7):  # during start-up (store opened, servers starting, first polls)
            time.sleep(rng.uniform(0.1, 0.8))
        else:  # while polling: a random moment after the first commit
            acq.wait_for_commit()
            time.sleep(rng.uniform(0.0, 1.5))
        acq.kill()
        reported += acq.committed
        ticks = check_store(out / "store.sqlite", reported)
        for meter, got in ticks.items():  # the run continued from where it was
            if meter in previous_last and len(got):
                assert got[-1] >= previous_last[meter]
            if len(got):
                previous_last[meter] = int(got[-1])
        sessions_with_data += acq.committed > 0
    assert sessions_with_data >= KILLS - 2  # the kills really hit running acquisitions
    gaps = Store(out / "store.sqlite").events("gap")
    assert len(gaps) >= 3  # downtime was recorded on resume

    # A clean session resumes, runs for its duration and exits 0 with a summary.
    acq = Acquirer(bench, out, "--duration", "2s")
    assert acq.proc.wait(timeout=60) == 0, "".join(acq.lines)
    acq.reader.join(timeout=5)
    assert any("resumed and stopped (duration)" in line for line in acq.lines), acq.lines
    final = check_store(out / "store.sqlite", reported + acq.committed)
    assert all(final[m][-1] > previous_last[m] for m in PERIODS_MS)

    # Same seed, same world: every stored register value is what a freshly built world's meter
    # shows between the poll's request and response times (float32 register quantization).
    world = build_world(load_bench(str(bench)))
    s = Store(out / "store.sqlite")
    for meter in PERIODS_MS:
        truth_meter = world.meters[meter]
        rows = s._db.execute(
            "SELECT request_ms, response_ms, value FROM readings r JOIN meters m ON m.id = r.meter "
            "JOIN channels c ON c.id = r.channel WHERE m.name = ? AND c.name = 'energy.import' "
            "ORDER BY tick_ms", (meter,)).fetchall()
        assert len(rows) > 20
        for req, resp, value in rows:
            lo = truth_meter.read_channels(["energy.import"], req)["energy.import"]
            hi = truth_meter.read_channels(["energy.import"], resp)["energy.import"]
            tol = 1e-6 * max(1.0, abs(hi))
            assert lo - tol <= value <= hi + tol, (meter, req, resp, value, lo, hi)
    s.close()
