"""Drivers for a bench's meters, one connection per transport.

Meters behind one gateway (same host:port and framing) or on one serial line share one
:class:`~meterbench.instruments.modbus.ModbusLink`: one TCP connection to the gateway, one open port on the
line, one transaction at a time on that bus (the link's lock). A gateway that serves several
masters would accept parallel connections, but an RS485 line behind it would serialize them
anyway, and many gateways accept only a few connections.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from meterbench.run.field_devices import MeterEndpoint


Transport = TcpTransport | RtuOverTcpTransport | SerialTransport


def transport_of(spec: TransportSpec) -> Transport:
    if spec.kind == "tcp":
        return TcpTransport(spec.host, spec.port)
    if spec.kind == "rtu_over_tcp":
        return RtuOverTcpTransport(spec.host, spec.port)
    return SerialTransport(spec.device, spec.baud, spec.parity, spec.stopbits)


def describe_transport(t: TransportSpec) -> str:
    if t.kind == "rtu":
        return f"rtu {t.device} {t.baud} {t.parity}{t.stopbits} unit {t.unit}"
    return f"{t.kind}://{t.host}:{t.port} unit {t.unit}"


def build_drivers(config: BenchConfig, endpoints: Mapping[str, MeterEndpoint],
                  time_ms: Callable[[], int], *, retries: int = 2) -> dict[str, ModbusMeter]:
    """One driver per meter (by id), at the endpoint the bench's devices give it (simulated or
    real: :mod:`meterbench.run.field_devices`); meters on the same transport share its link."""
    links: dict[Any, ModbusLink] = {}
    drivers: dict[str, ModbusMeter] = {}
    for spec in config.meters:
        try:
            regmap = load_register_map(spec.model)
        except ConfigError as exc:
            raise UserError(exc.message, source=config.source, field=f"meter {spec.id}.model",
                            expected=exc.expected) from None
        ep = endpoints[spec.id]
        timeout_s = spec.transport.timeout_s
        link = links.get(ep.transport)
        if link is None:
            link = links[ep.transport] = ModbusLink(ep.transport, timeout_s=timeout_s)
        else:
            link.timeout_s = max(link.timeout_s, timeout_s)  # the slowest meter on the bus rules
        drivers[spec.id] = ModbusMeter(regmap, link, ep.unit, retries=retries, time_ms=time_ms)
    return drivers


def shared_links(drivers: dict[str, ModbusMeter]) -> dict[str, list[str]]:
    """Transport description -> meters on it (for the status display and results)."""
    out: dict[str, list[str]] = {}
    for mid, d in drivers.items():
        out.setdefault(d.link.transport.describe(), []).append(mid)
    return out
