"""Drivers for a bench's meters, one connection per transport.

Meters behind one gateway (same host:port and framing) or on one serial line share one
:class:`~meterbench.instruments.modbus.ModbusLink`: one TCP connection to the gateway, one open port on the
line, one transaction at a time on that bus (the link's lock). A gateway that serves several
masters would accept parallel connections, but an RS485 line behind it would serialize them
anyway, and many gateways accept only a few connections.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from meterbench.config.bench_file import BenchConfig, TransportSpec
from meterbench.core.errors import UserError
from meterbench.instruments.errors import ConfigError
from meterbench.instruments.modbus import (
    ModbusLink,
    ModbusMeter,
    RtuOverTcpTransport,
    SerialTransport,
    TcpTransport,
)
from meterbench.instruments.registers import load_register_map
from meterbench.instruments.sim.serve import EndpointInfo


def transport_of(spec: TransportSpec) -> TcpTransport | RtuOverTcpTransport | SerialTransport:
    if spec.kind == "tcp":
        return TcpTransport(spec.host, spec.port)
    if spec.kind == "rtu_over_tcp":
        return RtuOverTcpTransport(spec.host, spec.port)
    return SerialTransport(spec.device, spec.baud, spec.parity, spec.stopbits)


def endpoint_transport(ep: EndpointInfo) -> TcpTransport | RtuOverTcpTransport | SerialTransport:
    """How to reach a simulated endpoint (a TCP gateway, an RTU-over-TCP gateway or a pty line)."""
    if ep.transport == "rtu":
        return SerialTransport(ep.device, ep.baud, ep.parity, ep.stopbits)
    if ep.transport == "rtu_over_tcp":
        return RtuOverTcpTransport(ep.host, ep.port)
    return TcpTransport(ep.host, ep.port)


def build_drivers(config: BenchConfig, endpoints: Sequence[EndpointInfo], time_ms: Callable[[], int],
                  *, retries: int = 2) -> dict[str, ModbusMeter]:
    """One driver per meter (by id); meters on the same transport share its link.

    On a simulated bench ``endpoints`` say where each meter is served (the bench file's
    transports name the real devices)."""
    links: dict[Any, ModbusLink] = {}
    drivers: dict[str, ModbusMeter] = {}
    for spec in config.meters:
        try:
            regmap = load_register_map(spec.model)
        except ConfigError as exc:
            raise UserError(exc.message, source=config.source, field=f"meter {spec.id}.model",
                            expected=exc.expected) from None
        t = spec.transport
        if config.simulate:
            ep = next(e for e in endpoints if e.name == spec.id)
            transport: Any = endpoint_transport(ep)
            unit = ep.unit_id
        else:
            transport = transport_of(t)
            unit = t.unit
        link = links.get(transport)
        if link is None:
            link = links[transport] = ModbusLink(transport, timeout_s=t.timeout_s)
        else:
            link.timeout_s = max(link.timeout_s, t.timeout_s)  # the slowest meter on the bus rules
        drivers[spec.id] = ModbusMeter(regmap, link, unit, retries=retries, time_ms=time_ms)
    return drivers


def shared_links(drivers: dict[str, ModbusMeter]) -> dict[str, list[str]]:
    """Transport description -> meters on it (for the status display and results)."""
    out: dict[str, list[str]] = {}
    for mid, d in drivers.items():
        out.setdefault(d.link.transport.describe(), []).append(mid)
    return out
