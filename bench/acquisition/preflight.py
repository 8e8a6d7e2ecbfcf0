"""Checks that a real bench's devices can be reached, before anything is started or stored.

A bench file naming a serial device that is not plugged in, or a TCP gateway that nobody answers
on, is a mistake the user can fix; finding it out at the first poll would instead produce a run
folder full of failed polls and failed verdicts. Only real benches are checked (:class:`meterbench.run.field_devices.RealField`): a simulated
bench's servers are started by the bench itself.
"""

from __future__ import annotations

import socket
from pathlib import Path

from meterbench.config.bench_file import BenchConfig
from meterbench.core.errors import UserError


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
        try:
            with socket.create_connection((t.host, t.port), timeout=max(t.timeout_s, 0.1)):
                pass
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise UserError(f"cannot connect to {t.host}:{t.port} for meter {meter.id!r}: {reason}",
                            source=config.source, field=f"{where}.port",
                            expected="a reachable Modbus TCP endpoint (or run with --sim)") from None
