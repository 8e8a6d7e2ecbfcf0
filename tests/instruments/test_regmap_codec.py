"""Codec: every type, word order and scale round-trips; sentinels and NaN are flagged; the
request coalescing never breaks the protocol's limits and covers every channel exactly once."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterbench.instruments.errors import CodecError
from meterbench.instruments.regmap import (
    DATA_TYPES,
    FC_HOLDING,
    FC_INPUT,
    MAX_REGISTERS_PER_READ,
    Channel,
    coalesce,
    decode_raw,
    encode_raw,
)

INT_TYPES = [t for t in DATA_TYPES.values() if not t.is_float]
ORDERS = ["big", "little"]
SCALES = [1.0, 0.1, 0.01, 0.001, 10.0, 1000.0, 0.25]


@pytest.mark.parametrize("dtype", INT_TYPES, ids=lambda t: t.name)
@settings(max_examples=100, deadline=None)
@given(data=st.data(), order=st.sampled_from(ORDERS))
def test_integer_raw_round_trip(dtype, order, data):
    lo, hi = dtype.int_range()
    raw = data.draw(st.integers(lo, hi))
    regs = encode_raw(raw, dtype, order)
    assert len(regs) == dtype.registers and all(0 <= r <= 0xFFFF for r in regs)
    assert decode_raw(regs, dtype, order) == raw


@pytest.mark.parametrize("dtype", INT_TYPES, ids=lambda t: t.name)
def test_integer_out_of_range_is_refused(dtype):
    lo, hi = dtype.int_range()
    for bad in (lo - 1, hi + 1):
        with pytest.raises(CodecError):
            encode_raw(bad, dtype, "big")


@settings(max_examples=200, deadline=None)
@given(bits=st.integers(0, 2**32 - 1), order=st.sampled_from(ORDERS))
def test_float32_bit_patterns_round_trip(order, bits):
    value = struct.unpack(">f", bits.to_bytes(4, "big"))[0]
    regs = encode_raw(value, DATA_TYPES["float32"], order)
    back = decode_raw(regs, DATA_TYPES["float32"], order)
    assert (math.isnan(back) and math.isnan(value)) or back == value


def test_word_orders_match_known_wire_bytes():
    """Hand-computed from IEEE 754 and two's complement, not from the codec."""
    f32 = DATA_TYPES["float32"]
    assert encode_raw(230.0, f32, "big") == [0x4366, 0x0000]
    assert encode_raw(230.0, f32, "little") == [0x0000, 0x4366]
    i32 = DATA_TYPES["int32"]
    assert encode_raw(2301, i32, "little") == [2301, 0]  # EM340 voltage 230.1 V, low word first
    assert encode_raw(-2, i32, "big") == [0xFFFF, 0xFFFE]
    u64 = DATA_TYPES["uint64"]
    assert encode_raw(0x0001_0002_0003_0004, u64, "big") == [1, 2, 3, 4]
    assert encode_raw(0x0001_0002_0003_0004, u64, "little") == [4, 3, 2, 1]
    assert decode_raw([0x8000], DATA_TYPES["int16"], "big") == -32768


@pytest.mark.parametrize("type_name", ["int16", "uint16", "int32", "uint32", "int64", "uint64"])
@settings(max_examples=150, deadline=None)
@given(data=st.data(), scale=st.sampled_from(SCALES), order=st.sampled_from(ORDERS))
def test_scaled_integer_value_round_trip(type_name, scale, order, data):
    dtype = DATA_TYPES[type_name]
    ch = Channel("energy.import", 0, FC_INPUT, dtype, order, scale, "kWh")
    lo, hi = dtype.int_range()
    raw = data.draw(st.integers(max(lo, -(2**50)), min(hi, 2**50)))
    regs = encode_raw(raw, dtype, order)
    value, flag = ch.decode(regs)
    assert flag is None
    assert math.isclose(value, raw * scale, rel_tol=1e-12, abs_tol=1e-12)
    assert ch.encode(value) == regs  # raw -> value -> the same registers
    # and an arbitrary value lands within half a step
    v = data.draw(st.floats(lo * scale / 2, hi * scale / 2, allow_nan=False) if hi * scale < 2**50
                  else st.floats(-1e9, 1e9) if dtype.signed else st.floats(0, 1e9))
    back, _ = ch.decode(ch.encode(v))
    assert abs(back - v) <= scale / 2 * (1 + 1e-9) + abs(v) * 1e-15


@settings(max_examples=200, deadline=None)
@given(v=st.floats(-1e30, 1e30, allow_nan=False), scale=st.sampled_from([1.0, 1000.0, 0.1]),
       order=st.sampled_from(ORDERS))
def test_float32_value_round_trip_within_half_ulp(order, scale, v):
    ch = Channel("power.total", 0, FC_HOLDING, DATA_TYPES["float32"], order, scale, "W")
    back, flag = ch.decode(ch.encode(v))
    assert flag is None
    # below float32's normal range the absolute step is the smallest subnormal, 2**-149
    assert abs(back - v) <= abs(v) * 2.0 ** -24 * (1 + 1e-6) + 2.0 ** -149 * scale


def test_sentinel_decodes_as_not_available_and_encodes_back():
    ch = Channel("energy.import", 0x5000, FC_HOLDING, DATA_TYPES["uint64"], "big", 0.01, "kWh",
                 sentinel=2**64 - 1)
    regs = ch.encode(None)
    assert regs == [0xFFFF] * 4
    assert ch.decode(regs) == (None, "not_available")
    assert ch.decode([0, 0, 0, 1234]) == (12.34, None)
    no_sentinel = Channel("energy.import", 0, FC_INPUT, DATA_TYPES["float32"])
    with pytest.raises(CodecError):
        no_sentinel.encode(None)


def test_nan_and_inf_are_flagged_and_refused_by_integers():
    f = Channel("power.total", 0, FC_INPUT, DATA_TYPES["float32"])
    assert f.decode(f.encode(math.nan)) == (None, "nan")
    assert f.decode(f.encode(math.inf)) == (None, "inf")
    i = Channel("power.total", 0, FC_INPUT, DATA_TYPES["int32"], scale=0.1)
    with pytest.raises(CodecError):
        i.encode(math.nan)


def _channels(draw_list):
    """Channels laid out like a real map: per function code, each starts after the previous one
    ends plus a drawn gap (the loader refuses overlapping channels)."""
    next_free = {FC_HOLDING: 0, FC_INPUT: 0}
    out = []
    for i, (gap, fc, t) in enumerate(draw_list):
        ch = Channel(f"voltage.l{i}", next_free[fc] + gap, fc, DATA_TYPES[t])
        next_free[fc] = ch.end
        out.append(ch)
    return out


@settings(max_examples=200, deadline=None)
@given(specs=st.lists(st.tuples(st.integers(0, 60), st.sampled_from([FC_HOLDING, FC_INPUT]),
                                st.sampled_from(["uint16", "float32", "uint64"])),
                      min_size=1, max_size=40),
       max_gap=st.integers(0, 40), max_registers=st.integers(4, 125))
def test_coalesce_covers_each_channel_once_within_limits(specs, max_gap, max_registers):
    channels = _channels(specs)
    requests = coalesce(channels, max_registers=max_registers, max_gap=max_gap)
    seen = []
    for req in requests:
        assert 1 <= req.count <= min(max_registers, MAX_REGISTERS_PER_READ)
        for ch in req.channels:
            assert ch.function == req.function
            assert req.address <= ch.address and ch.end <= req.address + req.count
            seen.append(ch)
    assert sorted(seen, key=id) == sorted(channels, key=id)
    for a in requests:
        for b in requests:
            if a is not b and a.function == b.function:
                # requests of one function code do not overlap ...
                assert a.address + a.count <= b.address or b.address + b.count <= a.address
                # ... and are separate only for a reason: too big a gap or too long a read
                if a.address < b.address and not [r for r in requests if r.function == a.function
                                                  and a.address < r.address < b.address]:
                    gap = b.address - (a.address + a.count)
                    assert gap > max_gap or b.address + b.count - a.address > max_registers


def test_coalesce_merges_small_gaps_and_splits_large_ones():
    f32 = DATA_TYPES["float32"]
    chans = [Channel("power.total", 0x34, FC_INPUT, f32), Channel("energy.import", 0x48, FC_INPUT, f32),
             Channel("energy.export", 0x4A, FC_INPUT, f32), Channel("voltage.l1", 0x00, FC_INPUT, f32)]
    assert [(r.address, r.count) for r in coalesce(chans, max_gap=32)] == [(0x00, 2), (0x34, 24)]
    # 0x02..0x33 is a gap of 50 registers
    assert [(r.address, r.count) for r in coalesce(chans, max_gap=50)] == [(0x00, 0x4C)]
    assert len(coalesce(chans, max_gap=49)) == 2
    split = coalesce(chans, max_gap=10)
    assert [(r.address, r.count) for r in split] == [(0x00, 2), (0x34, 2), (0x48, 4)]
    far = coalesce([Channel("voltage.l1", 0, FC_INPUT, f32), Channel("voltage.l2", 200, FC_INPUT, f32)],
                   max_gap=1000)
    assert len(far) == 2  # 202 registers would exceed 125


def test_step_at_is_the_encoding_step():
    f32 = Channel("energy.import", 0, FC_INPUT, DATA_TYPES["float32"], unit="kWh")
    assert f32.step_at(100_000.0) == 2.0 ** -7  # float32 has 24 significant bits: 2**16 <= x < 2**17
    assert f32.step_at(1.0) == 2.0 ** -23
    kw = Channel("power.total", 0, FC_HOLDING, DATA_TYPES["float32"], scale=1000.0, unit="W")
    assert kw.step_at(2048.0) == 1000.0 * 2.0 ** -22  # 2.048 kW: 2**1 <= x < 2**2
    i32 = Channel("energy.import", 0, FC_INPUT, DATA_TYPES["int32"], "little", 0.1, "kWh")
    assert i32.step_at(12345.6) == pytest.approx(0.1)


@settings(max_examples=200, deadline=None)
@given(v=st.floats(1e-30, 1e30), scale=st.sampled_from([1.0, 1000.0, 0.1]))
def test_half_step_bounds_the_float32_encoding_error(v, scale):
    ch = Channel("power.total", 0, FC_INPUT, DATA_TYPES["float32"], scale=scale)
    back, _ = ch.decode(ch.encode(v))
    assert abs(back - v) <= ch.step_at(v) / 2 * (1 + 1e-9) + 2.0 ** -149 * scale
