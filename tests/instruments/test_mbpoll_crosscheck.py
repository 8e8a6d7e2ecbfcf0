"""An independent Modbus client (Debian's ``mbpoll``, libmodbus) reads every simulated model and
gets what our driver reads: the same raw registers, and the same numbers when mbpoll itself
decodes them with the model's type and word order.

``mbpoll`` is installed by ``.ci/system-deps``; without it these tests skip and say so.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import struct

import pytest
from simkit import MODELS, VirtualClock, distinct_meter, run

from meterbench.instruments.modbus import ModbusMeter, SerialTransport, TcpTransport
from meterbench.instruments.registers import load_register_map
from meterbench.instruments.sim.rtu_line import RtuLine
from meterbench.instruments.sim.served import ServedMeter
from meterbench.instruments.sim.tcp_gateway import ModbusTcpGateway

pytestmark = pytest.mark.skipif(shutil.which("mbpoll") is None,
                                reason="mbpoll not installed (apt-get install mbpoll; .ci/system-deps)")
# mbpoll prints a 16-bit register as unsigned, and when its top bit is set also signed: "64551 (-985)"
_LINE = re.compile(r"^\[(\d+)\]:\s+(\S+)(?:\s+\((-?\d+)\))?\s*$", re.MULTILINE)


async def mbpoll(target: list[str], unit: int, function: int, address: int, count: int,
                 kind: str = "hex", big_endian: bool = False) -> dict[int, str]:
    table = "3" if function == 4 else "4"
    dtype = table if kind == "" else f"{table}:{kind}"
    args = ["mbpoll", *target[:-1], "-a", str(unit), "-0", "-1", "-o", "2", "-t", dtype,
            "-r", str(address), "-c", str(count)]
    if big_endian:
        args.append("-B")
    proc = await asyncio.create_subprocess_exec(*args, target[-1], stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, f"{' '.join(args)}: {err.decode()}"
    return {int(a): v for a, v, _signed in _LINE.findall(out.decode())}


def _independent_value(ch, words_hex: list[str], typed: str | None) -> float:
    """The channel's value from mbpoll's own output, decoded without our codec."""
    if ch.dtype.name == "uint64":  # mbpoll has no 64-bit type: join the hex words (high first)
        words = words_hex if ch.word_order == "big" else list(reversed(words_hex))
        return int("".join(w[2:].rjust(4, "0") for w in words), 16) * ch.scale
    assert typed is not None
    if ch.dtype.name == "int16":  # mbpoll's decimal output is the unsigned register
        raw = int(typed)
        return (raw - 0x10000 if raw >= 0x8000 else raw) * ch.scale
    return float(typed) * ch.scale


async def _crosscheck(model: str, unit: int, target: list[str], driver_transport) -> None:
    regmap = load_register_map(model)
    async with ModbusMeter(regmap, driver_transport, unit) as meter:
        reading = await meter.read(list(regmap.channels))
        plan = meter.plan(list(regmap.channels))
    # 1. identical raw registers for every request the driver made
    for req in plan:
        words = await mbpoll(target, unit, req.function, req.address, req.count)
        for ch in req.channels:
            theirs = [int(words[ch.address + k], 16) for k in range(ch.count)]
            assert theirs == reading.registers[ch.name], f"{model} {ch.name}"
    # 2. mbpoll's own decoding (type + word order flags) gives the driver's number
    for ch in regmap.channels.values():
        typed = None
        if ch.dtype.name != "uint64":
            kind = {"float32": "float", "int32": "int", "uint32": "int"}.get(ch.dtype.name, "")
            out = await mbpoll(target, unit, ch.function, ch.address, 1, kind,
                               big_endian=ch.word_order == "big")
            typed = out[ch.address]
        words_hex = [f"0x{w:04X}" for w in reading.registers[ch.name]]
        theirs = _independent_value(ch, words_hex, typed)
        ours = reading.values[ch.name]
        # mbpoll prints floats with 6 significant digits
        tol = abs(ours) * 5e-6 + 1e-9 if ch.dtype.is_float else ch.resolution * 1e-6
        assert abs(theirs - ours) <= tol, f"{model} {ch.name}: mbpoll {theirs}, driver {ours}"


def test_mbpoll_reads_every_model_over_tcp():
    async def main():
        clock = VirtualClock()
        units = {u: ServedMeter(distinct_meter(), load_register_map(m))
                 for u, m in enumerate(MODELS, start=1)}
        clock.advance(3_600_000)
        async with ModbusTcpGateway(units, time_ms=clock) as gw:
            for unit, model in enumerate(MODELS, start=1):
                await _crosscheck(model, unit, ["-m", "tcp", "-p", str(gw.port), "127.0.0.1"],
                                  TcpTransport("127.0.0.1", gw.port))

    run(main())


def test_mbpoll_reads_every_model_over_rtu_pty():
    async def main():
        clock = VirtualClock()
        units = {u: ServedMeter(distinct_meter(), load_register_map(m))
                 for u, m in enumerate(MODELS, start=1)}
        clock.advance(3_600_000)
        async with RtuLine(units, baud=115200, parity="N", time_ms=clock) as line:
            for unit, model in enumerate(MODELS, start=1):
                await _crosscheck(model, unit,
                                  ["-m", "rtu", "-b", "115200", "-P", "none", line.device_path],
                                  SerialTransport(line.device_path, 115200, "N"))

    run(main())


def test_mbpoll_reads_consistent_power_factor_va_and_var_from_a_simulated_sdm630():
    """The registers evcc or mbmd read beside power (power factor 0x1E..0x22 and 0x3E, VA, var)
    come from the same physics: |P| = |S|·|PF| per phase and in total, S² = P² + Q² per phase and
    the totals the sums of the phases (arithmetic VA: PF total = P/S), to the
    float32 rounding of each register (2**-24 relative). mbpoll's raw words are decoded with the
    standard library's IEEE 754 unpacking (mbpoll's own float print keeps only 6 digits)."""
    regmap = load_register_map("eastron_sdm630")

    async def main():
        clock = VirtualClock()
        meter = distinct_meter()  # PF 0.985 lagging, 0.940 lagging, one phase exporting
        clock.advance(3_600_000)
        async with ModbusTcpGateway({1: ServedMeter(meter, regmap)}, time_ms=clock) as gw:
            target = ["-m", "tcp", "-p", str(gw.port), "127.0.0.1"]
            read = {}
            for start, count in ((0x0C, 30), (0x34, 16)):  # per phase P..angle; totals
                words = await mbpoll(target, 1, 4, start, count)
                for a in range(start, start + count, 2):
                    raw = bytes.fromhex(words[a][2:].rjust(4, "0") + words[a + 1][2:].rjust(4, "0"))
                    read[a] = struct.unpack(">f", raw)[0]
            return read

    read = run(main())
    eps = 2.0 ** -24
    for suffix in ("l1", "l2", "l3", "total"):
        p, s_va, q, pf = (read[regmap.channels[f"{name}.{suffix}"].address] for name in
                          ("power", "apparent_power", "reactive_power", "power_factor"))
        assert s_va > 0 and pf != 0.0, suffix  # a reader no longer sees 0.0 beside real power
        assert abs(abs(p) - s_va * abs(pf)) <= 3 * eps * s_va, (suffix, p, s_va, pf)
        if suffix != "total":
            assert abs(s_va ** 2 - p ** 2 - q ** 2) <= 6 * eps * s_va ** 2, suffix
    for name in ("power", "apparent_power", "reactive_power"):
        phases = sum(read[regmap.channels[f"{name}.l{k}"].address] for k in (1, 2, 3))
        total = read[regmap.channels[f"{name}.total"].address]
        assert abs(total - phases) <= 4 * eps * read[regmap.channels["apparent_power.total"].address]
    exporting = read[regmap.channels["power_factor.l3"].address]
    assert exporting < 0  # the sign gives the current's direction (Eastron's note)
