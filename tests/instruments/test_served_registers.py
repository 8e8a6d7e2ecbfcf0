"""What a served meter puts in its registers decodes back to the simulated truth within the
model's resolution, for arbitrary circuits and counter values (hypothesis), and the register
layout obeys the protocol's limits."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import MODELS, T0, tolerance

from meterbench.instruments.registers import load_register_map
from meterbench.instruments.regmap import coalesce
from meterbench.instruments.sim.constant import ConstantCircuit
from meterbench.instruments.sim.meter import SimMeter
from meterbench.instruments.sim.served import ServedMeter

phase = st.tuples(st.floats(0, 300), st.floats(0, 80), st.floats(-180, 180))


@pytest.mark.parametrize("model", MODELS)
@settings(max_examples=30, deadline=None)
@given(phases=st.tuples(phase, phase, phase), imp=st.floats(0, 9_999_999), exp=st.floats(0, 999_999),
       hz=st.floats(45, 65), hours=st.integers(0, 48))
def test_served_registers_decode_to_truth(model, phases, imp, exp, hz, hours):
    regmap = load_register_map(model)
    circuit = ConstantCircuit(voltage_v=tuple(p[0] for p in phases),
                              current_a=tuple(p[1] for p in phases),
                              phi_deg=tuple(p[2] for p in phases), frequency_hz=hz)
    served = ServedMeter(SimMeter(circuit, start_ms=T0, summation=False, import_kwh=imp,
                                  export_kwh=exp), regmap)
    now = T0 + hours * 3_600_000
    truth = SimMeter(circuit, start_ms=T0, summation=False, import_kwh=imp,
                     export_kwh=exp).read_channels(list(regmap.channels), now)
    for req in coalesce(regmap.channels.values(), max_gap=125):
        regs = served.read_registers(req.function, req.address, req.count, now)
        for ch in req.channels:
            value, flag = ch.decode(req.slice_for(ch, regs))
            assert flag is None
            assert abs(value - truth[ch.name]) <= tolerance(ch, truth[ch.name]), ch.name


@pytest.mark.parametrize("model", MODELS)
def test_protocol_errors_of_the_served_device(model):
    regmap = load_register_map(model)
    served = ServedMeter(SimMeter(ConstantCircuit(), start_ms=T0), regmap)
    ch = next(iter(regmap.channels.values()))
    fc = ch.function
    other = 3 if fc == 4 else 4
    ok = served.handle_pdu(struct.pack(">BHH", fc, ch.address, ch.count), T0)
    assert ok[:2] == bytes((fc, 2 * ch.count)) and len(ok) == 2 + 2 * ch.count
    assert served.handle_pdu(struct.pack(">BHH", other, ch.address, ch.count), T0) == bytes((other | 0x80, 2))
    assert served.handle_pdu(struct.pack(">BHH", fc, ch.address, 126), T0) == bytes((fc | 0x80, 3))
    assert served.handle_pdu(struct.pack(">BHH", fc, ch.address, 0), T0) == bytes((fc | 0x80, 3))
    assert served.handle_pdu(struct.pack(">BHH", 6, ch.address, 1), T0) == bytes((0x86, 1))
    top = max(c.end for c in regmap.channels.values() if c.function == fc)
    assert served.handle_pdu(struct.pack(">BHH", fc, top, 1), T0) == bytes((fc | 0x80, 2))
