"""The meter's clock against the bench's: offset, jumps, and the conformance clock record."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from meterbench.config.bench_file import MeterSpec, SimMeterSpec, TransportSpec
from meterbench.pipeline.meter_clock import track_clock
from meterbench.run.analysis import MeterAnalysis
from meterbench.verdicts.checks import clock_record

T = 1_780_000_000_000 + 60_000 * np.arange(200, dtype=np.int64)
RTT = np.full(len(T), 40.0)


@settings(max_examples=50, deadline=None)
@given(offset_ms=st.integers(-600_000, 600_000), jump_ms=st.integers(1_200, 7_200_000),
       sign=st.sampled_from([-1, 1]), at=st.integers(1, 198))
def test_offset_recovered_and_jump_found(offset_ms, jump_ms, sign, at):
    meter = T + offset_ms + np.where(np.arange(len(T)) >= at, sign * jump_ms, 0)
    track = track_clock(T, meter, RTT, meter="m")
    assert track.offset_ms[0] == offset_ms
    assert len(track.events) == 1
    assert track.events[0].start_ms == T[at - 1] and track.events[0].kind == "clock_jump"


def test_drift_alone_is_not_a_jump():
    meter = T + 1_500 + (T - T[0]) * 50e-6  # 50 ppm: 0.6 s over 200 minutes
    assert not track_clock(T, meter, RTT).events


def _analysis(track):
    spec = MeterSpec("m", "operator", "eastron_sdm630", "B", TransportSpec(), (), SimMeterSpec())
    return MeterAnalysis(spec, {}, {}, {}, track)


def test_clock_record_verdicts():
    ok = clock_record(_analysis(track_clock(T, T + 2_500, RTT)), 10_000)
    assert ok.verdict == "pass" and ok.value == 2.5 and ok.uncertainty == 0.02
    bad = clock_record(_analysis(track_clock(T, T - 12_000, RTT)), 10_000)
    assert bad.verdict == "fail"
    none = clock_record(_analysis(None), 10_000)
    assert none.verdict == "info" and "no clock register" in none.detail
