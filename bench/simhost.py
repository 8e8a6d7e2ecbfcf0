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
from dataclasses import dataclass
from typing import Any

from bench.config import BenchConfig, MeterSpec
from bench.errors import UserError
from bench.simworld import SimWorld
from instruments.errors import ConfigError
from instruments.registers import load_register_map
from instruments.sim.faults import FaultSchedule
from instruments.sim.served import ServedMeter
from instruments.sim.tcp_gateway import ModbusTcpGateway


@dataclass(frozen=True)
class Endpoint:
    meter: str
    model: str
    transport: str
    host: str
    port: int
    unit: int

    def as_dict(self) -> dict[str, Any]:
        return dict(meter=self.meter, model=self.model, transport=self.transport, host=self.host,
                    port=self.port, unit=self.unit)


class SimHost:
    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="meterbench-sim",
                                        daemon=True)
        self._thread.start()
        self._stoppers: list[Callable[[], Awaitable[None]]] = []

    def call(self, coro: Awaitable[Any], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)  # type: ignore[arg-type]

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
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10.0)
        self._loop.close()

    def __enter__(self) -> SimHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def served_meter(spec: MeterSpec, world: SimWorld, source: str) -> ServedMeter:
    try:
        regmap = load_register_map(spec.model)
        faults = FaultSchedule(spec.sim.faults, source=source) if spec.sim.faults else FaultSchedule()
        return ServedMeter(world.meters[spec.id], regmap, faults)
    except ConfigError as exc:
        raise UserError(exc.message, source=exc.source or source,
                        field=f"meter {spec.id}: {exc.field}" if exc.field else f"meter {spec.id}",
                        expected=exc.expected) from None


def start_meters(host: SimHost, config: BenchConfig, world: SimWorld,
                 time_ms: Callable[[], int]) -> list[Endpoint]:
    """One Modbus TCP server per meter on 127.0.0.1 (ports chosen by the OS)."""
    endpoints = []
    for spec in config.meters:
        served = served_meter(spec, world, config.source)
        gateway = ModbusTcpGateway({spec.transport.unit: served}, time_ms=time_ms,
                                   host="127.0.0.1", port=0)
        host.call(gateway.start())
        host.on_stop(gateway.stop)
        endpoints.append(Endpoint(spec.id, spec.model, "tcp", "127.0.0.1", gateway.port,
                                  spec.transport.unit))
    return endpoints
