"""Run the block screen on Dask: a LocalCluster sized to the machine, or an existing cluster.

Dask only schedules: every block is screened by :func:`meterbench.fleet.screen.screen_block`,
the same function the in-process path calls, and results are put together in block order, so the
findings do not depend on which worker screened what. A worker that dies mid-run is replaced and
its blocks run again (Dask's scheduler reschedules them, up to its ``allowed-failures``); a
block that still cannot be screened makes the whole screen fail with every such block named,
and nothing is written: a partial screen is never presented as a whole one.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from meterbench.core.errors import UserError
from meterbench.fleet import layout as L
from meterbench.fleet.screen import BlockResult, ScreenSettings, screen_block

#: Re-runs of a block whose task raised (an I/O hiccup on shared storage); a worker that dies
#: is handled by the scheduler instead.
TASK_RETRIES = 1

Progress = Callable[[int, int, int, float], None]  # blocks done, blocks, site-days, seconds

#: Dask settings of the local cluster's workers. Their statistical profiler (only the
#: dashboard's Profile page shows it) samples the running task's stack every 10 ms, taking
#: the interpreter lock from the numpy code each time; the event loop's watchdog tick wakes
#: every 20 ms. Both spend a worker's core on nothing a screen needs; neither changes a result.
#: The dashboard's task stream, progress and worker pages keep working.
LOCAL_WORKER_CONFIG = {"distributed.worker.profile.enabled": False,
                       "distributed.admin.tick.interval": "1s"}


class ScreenIncomplete(Exception):
    """Some blocks could not be screened; the message names them."""


def missing_extra() -> str | None:
    """None when Dask, distributed and pyarrow import; else the one line saying what to do."""
    missing = []
    for name in ("dask", "distributed", "pyarrow"):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if not missing:
        return None
    return (f"meterbench fleet needs {', '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed: "
            "pip install 'meterbench[fleet]'")


SCHEDULER_EXPECTED = "the address of a running dask scheduler, e.g. tcp://10.0.0.5:8786"
#: How long a scheduler without workers is given for one to join.
WORKER_WAIT_S = 60.0
#: How long a scheduler's address is given to send its greeting.
GREETING_S = 10.0


def probe_scheduler(address: str, timeout_s: float | None = None) -> None:
    """Refuse, as one line, an address that is malformed, unreachable, or reachable but silent.

    A Dask scheduler greets a new TCP connection at once (distributed's comm handshake: each
    side writes its handshake before reading the other's); a service that accepts and stays
    silent would otherwise keep the client waiting without end. Only ``tcp://`` (and bare
    ``host:port``) addresses are probed; others (tls, inproc) go to Dask as given."""
    timeout_s = GREETING_S if timeout_s is None else timeout_s
    scheme, _, rest = address.rpartition("://")
    if scheme not in ("", "tcp"):
        return
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise UserError(f"not a scheduler address: {address!r}", field="--scheduler",
                        expected=SCHEDULER_EXPECTED)
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s) as s:
            s.settimeout(timeout_s)
            greeting = s.recv(1)
    except TimeoutError:
        raise UserError(f"{address} accepts connections but sent nothing in {timeout_s:.0f} s: "
                        "not a Dask scheduler", field="--scheduler",
                        expected=SCHEDULER_EXPECTED) from None
    except OSError as exc:
        raise UserError(f"cannot reach the Dask scheduler at {address}: "
                        f"{exc.strerror or type(exc).__name__}", field="--scheduler",
                        expected=SCHEDULER_EXPECTED) from None
    if not greeting:
        raise UserError(f"{address} closed the connection at once: not a Dask scheduler",
                        field="--scheduler", expected=SCHEDULER_EXPECTED)


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None,
                memory_limit: str | None = None) -> Iterator[Any]:
    """A client of the given scheduler, or of a LocalCluster started here and stopped after.

    The local cluster has one single-threaded worker process per core (``workers`` to
    change): the kernels are numpy code that holds the GIL between calls, so processes, not
    threads, use the cores. Each worker's memory limit defaults to its share of the machine.
    Its dashboard listens on a free port (``client.dashboard_link``): a fixed one would collide
    with another cluster on the machine.
    """
    from dask.distributed import Client, LocalCluster

    if scheduler:
        probe_scheduler(scheduler)
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise UserError(f"cannot reach the Dask scheduler: {exc}", field="--scheduler",
                            expected=SCHEDULER_EXPECTED) from None
        except Exception as exc:  # noqa: BLE001 - what answered does not speak Dask's protocol
            raise UserError(f"{scheduler} answered, but not as a Dask scheduler "
                            f"({type(exc).__name__})", field="--scheduler",
                            expected=SCHEDULER_EXPECTED) from None
        try:
            if not client.scheduler_info().get("workers"):
                print(f"meterbench: waiting up to {WORKER_WAIT_S:.0f} s for a worker to join "
                      f"the scheduler at {scheduler}", file=sys.stderr)
                try:
                    client.wait_for_workers(1, timeout=WORKER_WAIT_S)
                except (TimeoutError, OSError):
                    raise UserError(f"the Dask scheduler has no workers (none joined in "
                                    f"{WORKER_WAIT_S:.0f} s)", field="--scheduler",
                                    expected="a scheduler with workers: start dask worker "
                                             f"{scheduler} on the machines") from None
            yield client
        finally:
            client.close()
        return
    import dask

    n = workers or os.cpu_count() or 1
    # The workers' own error logs stay quiet: every failure reaches the user through this
    # process, as one line (a user error) or as the list of blocks that could not be screened.
    # Dask starts workers with glibc returning freed memory to the system at once
    # (MALLOC_TRIM_THRESHOLD_=64 KiB); a block allocates and frees the same large arrays again
    # and again, so the local workers instead keep what a block frees for the next one
    # (:mod:`meterbench.fleet.memory`): memory stays bounded by the block size anyway.
    from meterbench.fleet.memory import KeepFreedMemory

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ, **LOCAL_WORKER_CONFIG}):
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=logging.CRITICAL,
                               memory_limit=memory_limit or "auto")
    client = Client(cluster)
    try:
        client.register_plugin(KeepFreedMemory())
        yield client
    finally:
        client.close()
        cluster.close()


def warm_up() -> bool:
    """Import what a block needs (run on every worker before the clock starts)."""
    import pyarrow.parquet  # noqa: F401
    import scipy.fft  # noqa: F401

    from meterbench.fleet import assemble, screen  # noqa: F401
    from meterbench.pipeline import labelling, negative_residuals, netting  # noqa: F401

    return True


def run_blocks(dataset: Path, settings: ScreenSettings, blocks: list[int], *,
               client: Any = None, progress: Progress | None = None,
               task: Callable[..., BlockResult] = screen_block) -> list[BlockResult]:
    """Screen ``blocks``; with no client, one after another in this process (the reference).

    Results come back in block order whatever order they finished in. Each result is released
    on the cluster as soon as it is here, so workers hold only the blocks in progress.
    """
    t0 = time.perf_counter()
    done = site_days = 0
    results: dict[int, BlockResult] = {}
    if client is None:
        for b in blocks:
            results[b] = task(str(dataset), b, settings)
            done += 1
            site_days += results[b].site_days
            if progress:
                progress(done, len(blocks), site_days, time.perf_counter() - t0)
        return [results[b] for b in blocks]
    futures = client.map(task, [str(dataset)] * len(blocks), blocks, settings=settings,
                         pure=False, retries=TASK_RETRIES,
                         key=[f"meterbench-fleet-block-{b}-{os.getpid()}-{t0}" for b in blocks])
    block_of = {f.key: b for f, b in zip(futures, blocks, strict=True)}
    failed: list[str] = []
    try:
        for future in settled(futures):
            b = block_of[future.key]
            if future.status == "cancelled":
                failed.append(f"block {b}: cancelled by the scheduler")
                continue
            if future.status != "finished":
                exc = future.exception()
                if isinstance(exc, UserError):
                    raise exc
                failed.append(f"block {b}: {type(exc).__name__}: {_one_line(exc)}")
                continue
            results[b] = future.result()
            future.release()  # the worker may drop it now: its memory stays one block's worth
            done += 1
            site_days += results[b].site_days
            if progress:
                progress(done, len(blocks), site_days, time.perf_counter() - t0)
    finally:
        client.cancel([f for f in futures if not f.done()])
    if failed:
        raise ScreenIncomplete(f"{len(failed)} of {len(blocks)} blocks could not be screened "
                               f"({'; '.join(sorted(failed)[:3])}"
                               f"{'; …' if len(failed) > 3 else ''}); nothing was written")
    return [results[b] for b in blocks]


def settled(futures: list[Any]) -> Iterator[Any]:
    """Each future once it has settled (finished, failed or cancelled), in completion order.

    A future can be reported done and then be *lost*: the worker holding its result died before
    the result was fetched. The scheduler computes it again, so a lost future is waited for once
    more instead of being taken for a failure.
    """
    from dask.distributed import as_completed

    pending = as_completed(futures)
    for future in pending:
        if future.status in ("finished", "error", "cancelled"):
            yield future
        else:
            pending.add(future)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else ""


def check_dataset(dataset: Path) -> tuple[L.Manifest, L.Topology]:
    """Manifest and topology, checked, before any block is sent anywhere."""
    manifest = L.read_manifest(dataset)
    topo = L.read_topology(dataset, manifest)
    for b in range(manifest.blocks):
        path = L.block_path(dataset, b)
        if not path.is_file():
            raise UserError("missing", source=str(path),
                            expected=f"one points file per block ({manifest.blocks} blocks)")
        try:  # the footer only: cheap, and a wrong file is refused before any worker starts
            names = L.pq().ParquetFile(path).schema_arrow.names
        except Exception as exc:  # pyarrow: not Parquet, damaged
            raise UserError(f"cannot read: {L.first_line(exc)}", source=str(path),
                            expected="a Parquet file") from None
        missing = [c for c in L.POINT_COLUMNS if c not in names]
        if missing:
            raise UserError(f"missing column(s) {', '.join(missing)}", source=str(path),
                            field=missing[0], expected=", ".join(L.POINT_COLUMNS))
    return manifest, topo
