"""The source's settings history is an exact piecewise-constant circuit."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from meterbench.instruments.sim.meter import SimMeter, true_energy
from meterbench.instruments.sim.source_circuit import SourceCircuit, SourceState

from .vclock import VirtualClock

steps = st.lists(st.tuples(st.integers(0, 120_000),           # ms until this change
                           st.floats(0, 21, allow_nan=False),  # current
                           st.sampled_from([0.0, 60.0, -36.87, 180.0]),
                           st.booleans()),                    # output on
                 min_size=1, max_size=12)


@given(steps, st.integers(0, 60_000))
def test_segments_tile_the_span_and_energy_is_the_hand_sum(changes: list, tail_ms: int) -> None:
    clock = VirtualClock()
    circuit = SourceCircuit(clock, SourceState(voltage_v=(230.0, 230.0, 230.0)))
    start = clock.now_ms
    expected_wh = 0.0
    state = circuit.state
    for wait_ms, current, phi, on in changes:
        p = 3 * 230.0 * state.current_a[0] * math.cos(math.radians(state.phi_deg[0]))
        expected_wh += (p if state.output_on else 0.0) * wait_ms / 3_600_000
        clock.advance(wait_ms)
        state = circuit.update(current_a=(current,) * 3, phi_deg=(phi,) * 3, output_on=on)
    p = 3 * 230.0 * state.current_a[0] * math.cos(math.radians(state.phi_deg[0]))
    expected_wh += (p if state.output_on else 0.0) * tail_ms / 3_600_000
    end = clock.now_ms + tail_ms

    segments = list(circuit.segments(start, end))
    if end > start:
        assert segments[0].start_ms == start and segments[-1].end_ms == end
        assert all(a.end_ms == b.start_ms for a, b in zip(segments, segments[1:], strict=False))
    imp, exp = true_energy(circuit, start, end)
    assert math.isclose((imp - exp) * 1000, expected_wh, rel_tol=1e-9, abs_tol=1e-9)


def test_output_off_means_no_current_and_no_voltage() -> None:
    clock = VirtualClock()
    circuit = SourceCircuit(clock, SourceState(voltage_v=(230.0,) * 3, current_a=(5.0,) * 3))
    seg = circuit.at(clock.now_ms)
    assert seg.current_a == (0.0, 0.0, 0.0) and seg.voltage_v == (0.0, 0.0, 0.0)
    circuit.update(output_on=True)
    assert circuit.at(clock.now_ms).current_a == (5.0, 5.0, 5.0)


def test_disabled_current_channel_zeroes_only_that_phase() -> None:
    clock = VirtualClock()
    circuit = SourceCircuit(clock, SourceState(voltage_v=(230.0,) * 3, current_a=(5.0,) * 3,
                                               output_on=True))
    circuit.update(current_on=(True, False, True))
    assert circuit.at(clock.now_ms).current_a == (5.0, 0.0, 5.0)


def test_meter_on_the_source_registers_true_energy_times_its_error() -> None:
    clock = VirtualClock()
    circuit = SourceCircuit(clock, SourceState(voltage_v=(230.0,) * 3, current_a=(10.0,) * 3,
                                               output_on=True))
    from meterbench.instruments.sim.meter import ErrorCurve
    meter = SimMeter(circuit=circuit, start_ms=clock.now_ms, error=ErrorCurve.constant(1.0))
    start = clock.now_ms
    clock.advance(3_600_000)
    circuit.update(current_a=(0.0,) * 3)
    clock.advance(3_600_000)
    registered = meter.read_channels(["energy.import"], clock.now_ms)["energy.import"]
    assert math.isclose(registered, true_energy(circuit, start, clock.now_ms)[0] * 1.01)
    assert math.isclose(registered, 6.9 * 1.01)


def test_two_changes_in_one_millisecond_keep_the_last() -> None:
    clock = VirtualClock()
    circuit = SourceCircuit(clock, SourceState(voltage_v=(230.0,) * 3, output_on=True))
    clock.advance(10)
    circuit.update(current_a=(1.0,) * 3)
    circuit.update(current_a=(2.0,) * 3)
    assert [s.current_a[0] for s in circuit.segments(clock.now_ms - 10, clock.now_ms + 10)] == [
        0.0, 2.0]
