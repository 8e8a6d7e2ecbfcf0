"""Every model read through the driver over Modbus TCP, RTU over TCP and RTU on a pty line,
recovering the simulated meter's values within what the model's encoding allows."""

from __future__ import annotations

import time

import pytest
from simkit import MODELS, T0, VirtualClock, assert_recovers, distinct_meter, run

from meterbench.instruments import rtu
from meterbench.instruments.errors import ModbusExceptionError
from meterbench.instruments.modbus import (
    ModbusLink,
    ModbusMeter,
    RtuOverTcpTransport,
    SerialTransport,
    TcpTransport,
)
from meterbench.instruments.registers import load_register_map
from meterbench.instruments.sim.rtu_line import RtuLine
from meterbench.instruments.sim.served import ServedMeter
from meterbench.instruments.sim.tcp_gateway import ModbusTcpGateway


def _fleet(clock: VirtualClock):
    """All models on unit ids 1..n, each with its own meter, plus the ground-truth readers."""
    units, sims = {}, {}
    for unit, model in enumerate(MODELS, start=1):
        sims[model] = distinct_meter()
        units[unit] = ServedMeter(sims[model], load_register_map(model))
    return units, sims


async def _read_all(transport_for, server, sims, clock, link_shared: bool):
    out = {}
    link = ModbusLink(transport_for(server), timeout_s=1.0) if link_shared else None
    for unit, model in enumerate(MODELS, start=1):
        regmap = load_register_map(model)
        meter = ModbusMeter(regmap, link or transport_for(server), unit, time_ms=clock)
        async with meter:
            reading = await meter.read(list(regmap.channels))
        assert reading.request_ms == reading.response_ms == clock.now_ms
        assert reading.rtt_ms > 0
        truth = sims[model].read_channels(list(regmap.channels), clock.now_ms)
        out[model] = (reading, truth)
    if link is not None:
        await link.close()
    return out


@pytest.mark.parametrize("framing", ["socket", "rtu"])
def test_every_model_over_tcp_gateway(clock, framing):
    async def main():
        units, sims = _fleet(clock)
        clock.advance(3_600_000)  # one hour of energy on every meter
        async with ModbusTcpGateway(units, time_ms=clock, framing=framing) as gw:
            make = ((lambda g: TcpTransport("127.0.0.1", g.port)) if framing == "socket"
                    else (lambda g: RtuOverTcpTransport("127.0.0.1", g.port)))
            return await _read_all(make, gw, sims, clock, link_shared=True)

    for model, (reading, truth) in run(main()).items():
        assert_recovers(model, reading.values, truth)
        assert reading.flags == {}
    # the hour of energy really was integrated (not just the initial register)
    reading, truth = run(main())["eastron_sdm630"]
    assert reading.values["energy.import"] > 12345.67 + 1.0


def test_every_model_over_rtu_pty_line(clock):
    async def main():
        units, sims = _fleet(clock)
        clock.advance(3_600_000)
        async with RtuLine(units, baud=115200, parity="E", time_ms=clock) as line:
            return await _read_all(lambda ln: SerialTransport(ln.device_path, 115200, "E"), line,
                                   sims, clock, link_shared=True)

    for model, (reading, truth) in run(main()).items():
        assert_recovers(model, reading.values, truth)


def test_gateway_answers_unknown_unit_like_a_real_gateway(clock):
    async def main():
        units, _ = _fleet(clock)
        async with ModbusTcpGateway(units, time_ms=clock) as gw:
            async with ModbusMeter(load_register_map("eastron_sdm630"),
                                   TcpTransport("127.0.0.1", gw.port), 200, retries=0) as m:
                await m.read(["energy.import"])

    with pytest.raises(ModbusExceptionError) as err:
        run(main())
    assert err.value.name == "GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND"


def test_reading_a_register_outside_the_map_is_illegal_address(clock):
    async def main():
        units, _ = _fleet(clock)
        async with ModbusTcpGateway(units, time_ms=clock) as gw:
            async with ModbusMeter(load_register_map("eastron_sdm630"),
                                   TcpTransport("127.0.0.1", gw.port), 1, retries=0) as m:
                await m.read_registers(4, 0x1000, 2)

    with pytest.raises(ModbusExceptionError) as err:
        run(main())
    assert err.value.name == "ILLEGAL_DATA_ADDRESS" and err.value.code == 2


def test_rtu_line_is_never_faster_than_the_wire():
    """Line time is behaviour, not performance: 9600 baud 8E1 must not exceed the theoretical
    transaction rate (36.4/s for a 2-register read: 11-bit RTU characters and 3.5-character
    silences, MODBUS over Serial Line Specification and Implementation Guide V1.02)."""
    async def main():
        clock = VirtualClock()
        units = {1: ServedMeter(distinct_meter(), load_register_map("eastron_sdm630"))}
        async with RtuLine(units, baud=9600, parity="E", time_ms=clock) as line:
            async with ModbusMeter(load_register_map("eastron_sdm630"),
                                   SerialTransport(line.device_path, 9600, "E"), 1) as m:
                await m.read_registers(4, 0x48, 2)
                n = 12
                t0 = time.perf_counter()
                for _ in range(n):
                    await m.read_registers(4, 0x48, 2)
                return n, time.perf_counter() - t0

    n, elapsed = run(main())
    per_tx = rtu.transaction_time_s(8, 9, 9600, "E", 1)
    assert abs(1 / per_tx - 36.36) < 0.05
    assert elapsed >= n * per_tx * 0.97, f"{n / elapsed:.1f} tx/s is faster than the wire"


def test_epoch_and_virtual_clock_stamp_readings():
    async def main():
        clock = VirtualClock(T0)
        units = {7: ServedMeter(distinct_meter(), load_register_map("abb_b23"))}
        async with ModbusTcpGateway(units, time_ms=clock) as gw:
            async with ModbusMeter(load_register_map("abb_b23"),
                                   TcpTransport("127.0.0.1", gw.port), 7, time_ms=clock) as m:
                clock.advance(90_000)
                r = await m.read(["energy.import"])
                return r, clock.now_ms

    reading, now = run(main())
    assert reading.request_ms == now == T0 + 90_000


def test_a_meter_outlives_one_event_loop(clock):
    """The bench polls in one asyncio.run and checks live in another: the same driver must
    reconnect in the new loop instead of using a dead connection."""
    import asyncio
    import threading

    units = {1: ServedMeter(distinct_meter(), load_register_map("eastron_sdm630"))}
    server_loop = asyncio.new_event_loop()
    gw = ModbusTcpGateway(units, time_ms=clock)
    threading.Thread(target=server_loop.run_forever, daemon=True).start()
    try:
        asyncio.run_coroutine_threadsafe(gw.start(), server_loop).result(5)
        meter = ModbusMeter(load_register_map("eastron_sdm630"),
                            TcpTransport("127.0.0.1", gw.port), 1, time_ms=clock)

        async def once():
            if not meter.link.connected:
                await meter.connect()
            return await meter.read(["energy.import"])

        first = run(once())
        second = run(once())  # a new loop; the first loop's connection is gone
        assert first.values == second.values
        run(meter.close())
    finally:
        asyncio.run_coroutine_threadsafe(gw.stop(), server_loop).result(5)
        server_loop.call_soon_threadsafe(server_loop.stop)
