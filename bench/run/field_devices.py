"""A field bench's meters, simulated or real, behind one small interface chosen once.

:func:`field_devices` decides when the bench is loaded: a simulated bench builds the world the
bench file describes and serves every meter over real Modbus on 127.0.0.1; a real bench reaches the
transports the bench file names. Everything downstream (the run, ``meterbench acquire``, the
drivers, the report) asks this object instead of branching on ``simulate`` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meterbench.acquisition.links import Transport, describe_transport, transport_of
from meterbench.acquisition.preflight import check_reachable
from meterbench.config.bench_file import BenchConfig, MeterSpec
from meterbench.instruments.modbus import RtuOverTcpTransport, SerialTransport, TcpTransport
from meterbench.instruments.sim.serve import EndpointInfo
from meterbench.run.simhost import SimHost, start_meters
from meterbench.run.simworld import MARGIN_MS, SimWorld, build_world


@dataclass(frozen=True)
class MeterEndpoint:
    """Where one meter answers: its transport (shared by meters on one gateway or bus), unit id,
    and a description for the report."""

    transport: Transport
    unit: int
    description: str


def _endpoint_of(ep: EndpointInfo) -> MeterEndpoint:
    """How to reach a simulated endpoint (a TCP gateway, an RTU-over-TCP gateway or a pty line)."""
    if ep.transport == "rtu":
        transport: Transport = SerialTransport(ep.device, ep.baud, ep.parity, ep.stopbits)
        where = ep.device
    elif ep.transport == "rtu_over_tcp":
        transport, where = RtuOverTcpTransport(ep.host, ep.port), f"{ep.host}:{ep.port}"
    else:
        transport, where = TcpTransport(ep.host, ep.port), f"{ep.host}:{ep.port}"
    return MeterEndpoint(transport, ep.unit_id,
                         f"simulated, {ep.transport} {where} unit {ep.unit_id}")


class SimulatedField:
    """The bench's simulated world and its Modbus servers on 127.0.0.1."""

    simulated = True

    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.world: SimWorld | None = None  # built when the devices start
        self._host: SimHost | None = None
        self.endpoints: dict[str, MeterEndpoint] = {}
        self.served: list[EndpointInfo] = []

    def check_reachable(self) -> None:
        """Nothing to check: the servers are the bench's own."""

    def start(self, time_ms: Callable[[], int]) -> dict[str, MeterEndpoint]:
        self.world = build_world(self.config)
        self._host = SimHost()
        try:
            self.served = start_meters(self._host, self.config, self.world, time_ms)
        except BaseException:
            self.stop()
            raise
        self.endpoints = {ep.name: _endpoint_of(ep) for ep in self.served}
        return self.endpoints

    def stop(self) -> None:
        if self._host is not None:
            self._host.stop()
            self._host = None

    def describe(self, meter_id: str) -> str:
        ep = self.endpoints.get(meter_id)
        return ep.description if ep is not None else "simulated, not started"

    def identity(self, meter: MeterSpec) -> str | None:
        return "simulated " + meter.model

    @property
    def poll_jitter_ms(self) -> int:
        """Simulated meters answer instantly: jitter spreads their polls like real latency."""
        return self.config.run.jitter_ms

    def time_origin_ms(self, wall_now_ms: int) -> int:
        """Where a long acquisition's clock starts: just before the bench's day."""
        return self.config.run.start_ms - MARGIN_MS // 2

    def acquisition_end_ms(self) -> int | None:
        """The simulated world ends half a margin after the bench period."""
        return self.config.run.end_ms + MARGIN_MS // 2


class RealField:
    """Real meters at the transports the bench file names."""

    simulated = False
    world = None

    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.endpoints = {m.id: MeterEndpoint(transport_of(m.transport), m.transport.unit,
                                              describe_transport(m.transport))
                          for m in config.meters}

    def check_reachable(self) -> None:
        check_reachable(self.config)

    def start(self, time_ms: Callable[[], int]) -> dict[str, MeterEndpoint]:
        return self.endpoints

    def stop(self) -> None:
        """Real meters keep running."""

    def describe(self, meter_id: str) -> str:
        return self.endpoints[meter_id].description

    def identity(self, meter: MeterSpec) -> str | None:
        return None  # a Modbus meter does not identify itself; the bench file's model is stated

    @property
    def poll_jitter_ms(self) -> int:
        return 0

    def time_origin_ms(self, wall_now_ms: int) -> int:
        return wall_now_ms

    def acquisition_end_ms(self) -> int | None:
        return None  # real devices run until stopped


FieldDevices = SimulatedField | RealField


def field_devices(config: BenchConfig) -> FieldDevices:
    """The bench's meters, simulated or real as the bench file (or ``--sim``) says."""
    return SimulatedField(config) if config.simulate else RealField(config)


def endpoint_summary(devices: Any) -> dict[str, str]:
    return {mid: ep.description for mid, ep in devices.endpoints.items()}
