"""Plain-data specs start real endpoints (in the caller's loop or in another process) and the
descriptions they return are enough to reach every meter."""

from __future__ import annotations

import pytest
from simkit import run

from meterbench.instruments.errors import (
    ConfigError,
    FaultSpecError,
    ModbusExceptionError,
    RegisterMapError,
)
from meterbench.instruments.modbus import (
    ModbusMeter,
    RtuOverTcpTransport,
    SerialTransport,
    TcpTransport,
)
from meterbench.instruments.registers import load_register_map
from meterbench.instruments.sim.serve import EndpointInfo, ServerProcess, SimServers, spec_from_dict

CIRCUIT = {"voltage_v": [230, 231, 232], "current_a": [1, 2, 3], "phi_deg": [0, 0, 0]}
SPECS = [
    {"name": "a", "model": "eastron_sdm630", "unit_id": 1, "gateway": "gw", "circuit": CIRCUIT},
    {"name": "b", "model": "abb_b23", "unit_id": 2, "gateway": "gw", "circuit": CIRCUIT,
     "meter": {"import_kwh": 100.0}},
    {"name": "c", "model": "carlo_gavazzi_em340", "transport": "rtu", "unit_id": 5,
     "gateway": "bus", "baud": 115200, "parity": "E", "circuit": CIRCUIT},
    {"name": "d", "model": "orno_we517", "transport": "rtu", "unit_id": 6, "gateway": "bus",
     "baud": 115200, "parity": "E", "circuit": CIRCUIT},
    {"name": "e", "model": "eastron_sdm72", "transport": "rtu_over_tcp", "unit_id": 9,
     "circuit": CIRCUIT, "faults": [{"kind": "exception", "code": "busy"}]},
]


def _transport(info: EndpointInfo):
    if info.transport == "tcp":
        return TcpTransport(info.host, info.port)
    if info.transport == "rtu_over_tcp":
        return RtuOverTcpTransport(info.host, info.port)
    return SerialTransport(info.device, info.baud, info.parity, info.stopbits)


async def _read(info: EndpointInfo) -> float | None:
    async with ModbusMeter(load_register_map(info.model), _transport(info), info.unit_id,
                           retries=0) as m:
        return (await m.read(["power.total"])).values["power.total"]


def test_sim_servers_group_units_by_gateway_and_describe_them():
    async def main():
        async with SimServers(SPECS) as servers:
            infos = {e.name: e for e in servers.endpoints}
            powers = {n: await _read(infos[n]) for n in "abcd"}
            with pytest.raises(ModbusExceptionError):
                await _read(infos["e"])
            return infos, powers, len(servers.servers)

    infos, powers, n_servers = run(main())
    assert n_servers == 3  # gw (2 units), bus (2 units), e alone
    assert infos["a"].port == infos["b"].port and infos["a"].host == "127.0.0.1"
    assert infos["c"].device == infos["d"].device and infos["c"].device.startswith("/dev/")
    assert infos["c"].as_dict()["baud"] == 115200 and infos["c"].parity == "E"
    assert infos["e"].transport == "rtu_over_tcp" and infos["e"].port not in (0, infos["a"].port)
    # 230·1 + 231·2 + 232·3 W on every model, within its resolution
    for name, p in powers.items():
        assert p == pytest.approx(1388.0, abs=0.1), name


def test_server_process_serves_from_another_process():
    with ServerProcess(SPECS[:2]) as proc:
        assert [e.name for e in proc.endpoints] == ["a", "b"]
        assert run(_read(proc.endpoints[1])) == pytest.approx(1388.0, abs=0.01)
        pid = proc.pid
    import os
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_server_process_reports_start_failures():
    bad = [{"model": "eastron_sdm630", "faults": [{"kind": "not_available"}]}]
    with pytest.raises(RuntimeError, match="no 'not available' value"):
        ServerProcess(bad).start()


@pytest.mark.parametrize("data, field", [
    ({"model": "x", "transport": "udp"}, "endpoint.transport"),
    ({"model": "x", "unit_id": 0}, "endpoint.unit_id"),
    ({"model": "x", "parity": "M"}, "endpoint.parity"),
    ({"model": "x", "circuit": {"amps": 1}}, "endpoint.circuit.amps"),
    ({"unit_id": 1}, "endpoint.model"),
    ({"model": "x", "prot": 1}, "endpoint.prot"),
])
def test_bad_specs_name_the_field(data, field):
    with pytest.raises(ConfigError) as err:
        spec_from_dict(data, source="bench.toml")
    assert err.value.field == field and err.value.source == "bench.toml"


def test_errors_inside_a_spec_name_its_index():
    async def start(specs):
        servers = SimServers(specs, source="bench.toml")
        await servers.start()

    with pytest.raises(RegisterMapError) as err:
        run(start([SPECS[0], {"model": "nope"}]))
    assert err.value.field.startswith("endpoints[1]")
    with pytest.raises(FaultSpecError) as err:
        run(start([{"model": "eastron_sdm630", "faults": [{"kind": "nan", "channels": ["x"]}]}]))
    assert err.value.field == "endpoints[0].faults[0].channels"
    with pytest.raises(ConfigError, match="used twice"):
        run(start([SPECS[0], SPECS[0]]))
