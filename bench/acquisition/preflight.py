"""Checks that a real bench's devices can be reached, before anything is started or stored.

A bench file naming a serial device that is not plugged in, or a TCP gateway that nobody answers
on, is a mistake the user can fix; finding it out at the first poll would instead produce a run
folder full of failed polls and failed verdicts. Only real benches are checked (field:
:class:`meterbench.run.field_devices.RealField`; lab: :class:`meterbench.run.lab_run.LabRun`): a
simulated bench's servers are started by the bench itself.
"""

from __future__ import annotations

import socket
from pathlib import Path

from meterbench.config.bench_file import BenchConfig
from meterbench.core.errors import UserError

#: TCP ports of the VISA ``TCPIP::…::INSTR`` protocols: HiSLIP (IVI-6.1; IANA port 4880) and
#: VXI-11's portmapper (ONC RPC, RFC 1833: port 111), where every VXI-11 session starts.
HISLIP_PORT = 4880
VXI11_PORTMAPPER_PORT = 111


def visa_endpoint(resource: str) -> tuple[str, int] | Path | None:
    """Where a VISA resource string points, when that can be checked without a VISA library:
    ``(host, port)`` for LAN resources, the device path of ``ASRL/dev/…::INSTR``, else None
    (GPIB, USB, numbered serial ports: only opening them tells)."""
    parts = resource.split("::")
    head = parts[0].upper()
    if head.startswith("TCPIP") and len(parts) >= 3:
        host = parts[1]
        if parts[-1].upper() == "SOCKET" and len(parts) == 4 and parts[2].isdigit():
            return host, int(parts[2])
        if parts[-1].upper() == "INSTR":
            device = parts[2].lower() if len(parts) == 4 else "inst0"
            return host, HISLIP_PORT if device.startswith("hislip") else VXI11_PORTMAPPER_PORT
        return None
    if head.startswith("ASRL/"):
        return Path(parts[0][4:])
    return None


def _connect(host: str, port: int, timeout_s: float) -> str | None:
    """None when something accepts a TCP connection at host:port, else the reason."""
    try:
        with socket.create_connection((host, port), timeout=max(timeout_s, 0.1)):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def check_lab_reachable(config: BenchConfig, *, timeout_s: float = 3.0) -> None:
    """A real lab bench: every instrument whose resource can be checked without VISA, then every
    meter's transport (:func:`check_reachable`). Raises :class:`UserError` naming the field."""
    for i, spec in enumerate(config.lab.instruments.values()):
        where = visa_endpoint(spec.resource or "")
        field = f"instrument[{i}].resource"
        if isinstance(where, Path):
            if not where.exists():
                raise UserError(f"serial device {where} of the {spec.role} does not exist",
                                source=config.source, field=field,
                                expected="a connected serial adapter (or run with --sim)")
        elif where is not None:
            reason = _connect(*where, timeout_s)
            if reason is not None:
                raise UserError(f"cannot connect to {where[0]}:{where[1]} for the {spec.role} "
                                f"({spec.resource}): {reason}", source=config.source,
                                field=field, expected="a reachable instrument (or run with --sim)")
    check_reachable(config)


def check_reachable(config: BenchConfig) -> None:
    """Raise :class:`UserError` naming the meter's transport field when its endpoint is absent.

    Each connection (TCP gateway or serial bus) is checked once, however many meters share it.
    """
    seen: set[str] = set()
    for i, meter in enumerate(config.meters):
        t = meter.transport
        if t.gateway_key in seen:
            continue
        seen.add(t.gateway_key)
        where = f"meter[{i}].transport"
        if t.kind == "rtu":
            if not Path(t.device).exists():
                raise UserError(f"serial device {t.device} of meter {meter.id!r} does not exist",
                                source=config.source, field=f"{where}.device",
                                expected="a connected serial adapter, e.g. /dev/ttyUSB0 "
                                "(or run with --sim)")
            continue
        reason = _connect(t.host, t.port, t.timeout_s)
        if reason is not None:
            raise UserError(f"cannot connect to {t.host}:{t.port} for meter {meter.id!r}: {reason}",
                            source=config.source, field=f"{where}.port",
                            expected="a reachable Modbus TCP endpoint (or run with --sim)") from None
