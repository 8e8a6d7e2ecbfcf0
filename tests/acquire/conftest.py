"""Simulated meters on real Modbus TCP servers (127.0.0.1) for the acquisition tests."""

from __future__ import annotations

import pytest

from meterbench.instruments.registers import load_register_map
from meterbench.instruments.sim.constant import ConstantCircuit
from meterbench.instruments.sim.faults import FaultSchedule
from meterbench.instruments.sim.meter import SimMeter
from meterbench.instruments.sim.served import ServedMeter
from meterbench.instruments.sim.tcp_gateway import ModbusTcpGateway
from meterbench.run.simhost import SimHost

#: Constant circuit: 3 x 230 V x 10 A at PF 1 = 6900 W, i.e. 6.9 kWh per hour exactly.
POWER_W = 3 * 230.0 * 10.0
INITIAL_KWH = 100.0


def served(start_ms, *, faults=(), model="eastron_sdm630", clock_offset_ms=0):
    regmap = load_register_map(model)
    meter = SimMeter(ConstantCircuit(), start_ms, import_kwh=INITIAL_KWH,
                     clock_offset_ms=clock_offset_ms)
    return ServedMeter(meter, regmap, FaultSchedule(faults))


def true_import_kwh(start_ms, t_ms):
    return INITIAL_KWH + POWER_W / 1000.0 * (t_ms - start_ms) / 3_600_000


@pytest.fixture
def sim_host():
    """A background loop serving gateways, as the bench does (never the drivers' loop)."""
    host = SimHost()
    gateways = []

    def serve(units, time_ms):
        gw = ModbusTcpGateway(units, time_ms=time_ms, host="127.0.0.1", port=0)
        host.call(gw.start())
        host.on_stop(gw.stop)
        gateways.append(gw)
        return gw

    yield serve
    host.stop()
