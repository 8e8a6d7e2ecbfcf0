"""Runs a bench's simulated devices on their own event loop in a background thread.

The servers must outlive any one ``asyncio.run`` of the bench (acquisition, then live pytest
checks, then the lab suite), must stop cleanly when a test fails or the user presses Ctrl-C, and
must never share a loop with the drivers talking to them: a real device does not pause while its
client computes. A thread with its own loop gives all three.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from meterbench.config.bench_file import BenchConfig
from meterbench.core.errors import UserError
from meterbench.instruments.errors import ConfigError
from meterbench.instruments.sim.serve import EndpointInfo, SimServers
from meterbench.run.simworld import SimWorld


class SimHost:
    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="meterbench-sim",
                                        daemon=True)
        self._thread.start()
        self._stoppers: list[Callable[[], Awaitable[None]]] = []

    def call(self, coro: Awaitable[Any], timeout: float = 30.0) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
        try:
            return future.result(timeout)
        except BaseException:  # Ctrl-C or a timeout while waiting: the task must not run on
            future.cancel()
            raise

    def on_stop(self, stopper: Callable[[], Awaitable[None]]) -> None:
        self._stoppers.append(stopper)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        for stopper in reversed(self._stoppers):
            try:
                self.call(stopper(), timeout=10.0)
            except Exception:  # noqa: BLE001 - keep stopping the others
                pass
        self._stoppers.clear()
        try:  # a start interrupted half-way (Ctrl-C) ends here, not as "Task was destroyed"
            self.call(_cancel_others(), timeout=10.0)
        except Exception:  # noqa: BLE001 - stop the loop regardless
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10.0)
        self._loop.close()

    def __enter__(self) -> SimHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _cancel_others() -> None:
    """Cancel every task left on the loop (a server start interrupted half-way) and let each
    finish its cleanup."""
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not me]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def endpoint_specs(config: BenchConfig) -> list[dict[str, Any]]:
    """The simulated endpoints of a bench, as plain specs for :class:`SimServers`.

    Meters whose bench-file transports name the same TCP gateway or serial device are served by one
    simulated gateway or RTU line (several unit ids), like the real installation; a meter without a
    transport gets a TCP server of its own. Ports are always chosen by the OS.
    """
    specs = []
    for spec in config.meters:
        t = spec.transport
        specs.append(dict(name=spec.id, model=spec.model, transport=t.kind, unit_id=t.unit,
                          gateway=t.gateway_key if t.explicit else "", port=0,
                          baud=t.baud, parity=t.parity, stopbits=t.stopbits,
                          faults=list(spec.sim.faults)))
    return specs


def start_meters(host: SimHost, config: BenchConfig, world: SimWorld,
                 time_ms: Callable[[], int]) -> list[EndpointInfo]:
    """Serve every meter of the bench, driven by the simulated world, on 127.0.0.1."""
    servers = SimServers(endpoint_specs(config), time_ms=time_ms, meters=world.meters,
                         source=config.source)
    try:
        endpoints = host.call(servers.start())
    except ConfigError as exc:
        raise UserError(exc.message, source=exc.source or config.source, field=exc.field,
                        expected=exc.expected) from None
    host.on_stop(servers.stop)
    return endpoints
