"""Dask only schedules: a local cluster, an external one and a worker killed mid-run all give
the findings one process gives, bit for bit; a block that cannot be screened is reported."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from meterbench.fleet import layout as L
from meterbench.fleet.engine import ScreenIncomplete, dask_client, run_blocks
from meterbench.fleet.output import combine
from meterbench.fleet.screen import ScreenSettings, screen_block
from meterbench.fleet.synth import SynthSettings, synth

from .conftest import DENSE
from .tables import assert_same_table


def _reference(dataset: Path):
    m = L.read_manifest(dataset)
    return combine(m, run_blocks(dataset, ScreenSettings(), list(range(m.blocks))))


def test_local_cluster_gives_what_one_process_gives_bit_for_bit(small_fleet: Path) -> None:
    one = _reference(small_fleet)
    m = L.read_manifest(small_fleet)
    with dask_client(workers=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        results = run_blocks(small_fleet, ScreenSettings(), list(range(m.blocks)), client=client)
        kept = client.run(lambda dask_worker: "meterbench-keep-freed-memory"
                          in dask_worker.plugins)
    many = combine(m, results)
    assert list(kept.values()) == [True, True]  # every local worker keeps freed memory
    assert len({r.worker for r in results}) == 2  # both workers took blocks
    assert one.findings.num_rows > 50
    assert_same_table(one.findings, many.findings)
    assert_same_table(one.errors, many.errors)


def _killer(dataset: str, block: int, settings: ScreenSettings):
    """Block 1 takes its worker down with it, every time it is tried."""
    if block == 1:
        os._exit(17)
    return screen_block(dataset, block, settings)


def test_a_block_that_keeps_killing_its_worker_is_reported_not_dropped(small_fleet: Path) -> None:
    import dask

    m = L.read_manifest(small_fleet)  # the workers import _killer from this module
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            dask_client(workers=2) as client:
        with pytest.raises(ScreenIncomplete) as info:
            run_blocks(small_fleet, ScreenSettings(), list(range(m.blocks)), client=client,
                       task=_killer)
    text = str(info.value)
    # block 1 is named; a block that shared a dying worker may fail with it, and is named too
    assert f"of {m.blocks} blocks could not be screened" in text
    assert "block 1: KilledWorker" in text and "nothing was written" in text


def _double(x: int) -> int:
    return 2 * x


def test_a_result_lost_with_its_worker_is_waited_for_not_failed() -> None:
    """A block reported done whose worker dies before its result is fetched is *lost*: Dask
    computes it again, and the screen waits for that instead of calling the block failed
    (a run under load once ended "block 4: NoneType: None", exit 3). The exact moment of that
    run (the status flipping between being yielded and being read) cannot be forced from
    outside; this holds ``settled`` to waiting for a lost future until it is finished again."""
    from meterbench.fleet.engine import settled

    with dask_client(workers=2) as client:
        first, second = client.scheduler_info()["workers"]
        future = client.submit(_double, 21, workers=[first], allow_other_workers=True,
                               pure=False)
        while future.status != "finished":
            time.sleep(0.05)
        os.kill(client.run(os.getpid)[first], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while future.status == "finished" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert future.status == "lost"  # the situation the screen must survive
        got = list(settled([future]))
        assert [f.key for f in got] == [future.key] and got[0].status == "finished"
        assert got[0].result() == 42


# ---- an external cluster: `dask scheduler` and two `dask worker` processes on 127.0.0.1 ----

def _dask(*args: str) -> list[str]:
    return [sys.executable, "-m", "dask", *args]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("cluster")
    info = folder / "scheduler.json"
    procs = [subprocess.Popen(_dask("scheduler", "--host", "127.0.0.1", "--port", "0",
                                    "--no-dashboard", "--scheduler-file", str(info)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        workers = [subprocess.Popen(_dask("worker", address, "--nthreads", "1", "--no-nanny",
                                          "--no-dashboard", "--host", "127.0.0.1",
                                          "--memory-limit", "2GB"),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for _ in range(2)]
        procs += workers
        from dask.distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield {"address": address, "workers": workers}
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def _screen(dataset: Path, out: Path, *extra: str, cli_env: dict[str, str]
            ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meterbench", "fleet", "screen", str(dataset),
                           "--out", str(out), "--no-report", *extra], capture_output=True,
                          text=True, env=cli_env, timeout=300)


def test_external_cluster_gives_the_findings_of_the_default_local_run(
        small_fleet: Path, cluster: dict, tmp_path: Path, cli_env: dict[str, str]) -> None:
    local = _screen(small_fleet, tmp_path / "local", cli_env=cli_env)
    remote = _screen(small_fleet, tmp_path / "remote", "--scheduler", cluster["address"],
                     cli_env=cli_env)
    assert local.returncode == 1, local.stderr  # findings present
    assert remote.returncode == 1, remote.stderr
    a = L.pq().read_table(tmp_path / "local" / "findings.parquet")
    b = L.pq().read_table(tmp_path / "remote" / "findings.parquet")
    assert a.num_rows > 50
    assert_same_table(a, b)
    doc = json.loads((tmp_path / "remote" / "summary.json").read_text())
    assert doc["engine"]["scheduler"] == cluster["address"] and doc["engine"]["workers"] == 2


@pytest.fixture(scope="module")
def many_blocks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Many small blocks, so that a run lasts long enough to lose a worker in the middle."""
    out = tmp_path_factory.mktemp("fleet") / "many"
    synth(SynthSettings(sites=160, days=10, first_day=date(2026, 3, 24), seed=9,
                        sites_per_block=2, rates=DENSE), out)
    return out


def test_a_worker_killed_mid_run_is_survived_with_identical_findings(
        many_blocks: Path, cluster: dict, tmp_path: Path, cli_env: dict[str, str]) -> None:
    reference = _reference(many_blocks)
    proc = subprocess.Popen([sys.executable, "-m", "meterbench", "fleet", "screen",
                             str(many_blocks), "--out", str(tmp_path / "run"), "--no-report",
                             "--progress", "--scheduler", cluster["address"]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env)
    victim = cluster["workers"][0]
    lines = []
    for line in proc.stderr:  # kill one worker as soon as the screen has started
        lines.append(line)
        if "screened 2/" in line:
            os.kill(victim.pid, signal.SIGKILL)
            break
    rest, _ = proc.communicate(timeout=300)
    lines.append(_)
    assert victim.wait(timeout=10) == -signal.SIGKILL
    assert proc.returncode == 1, "".join(lines)
    first = next(x for x in lines if "screened " in x and "/" in x)
    total = int(first.split("screened ")[1].split("/")[1].split()[0])
    assert total == L.read_manifest(many_blocks).blocks
    assert any(f"screened {total}/{total}" in x for x in lines + rest.splitlines())
    assert_same_table(reference.findings,
                      L.pq().read_table(tmp_path / "run" / "findings.parquet"))
