"""Pulse lines of the simulated lab: a meter's test output follows what the meter registers (its
own error, across source changes), with bounded jitter; the reference counts whole pulses."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import T0, VirtualClock

from meterbench.instruments.sim.meter import ErrorCurve, SimMeter
from meterbench.instruments.sim.pulses import MeterPulses, ReferenceEnergy
from meterbench.instruments.sim.source_circuit import SourceCircuit


def _setup(error_pct: float, jitter_ms: float = 0.0):
    clock = VirtualClock(T0)
    circuit = SourceCircuit(clock)
    meter = SimMeter(circuit, start_ms=T0, error=ErrorCurve.constant(error_pct))
    pulses = MeterPulses(meter, 400.0, now=clock, jitter_ms=jitter_ms, seed=7)
    circuit.update(voltage_v=(230.0,) * 3, current_a=(5.0,) * 3, output_on=True)
    return clock, circuit, meter, pulses


@settings(max_examples=40, deadline=None)
@given(error=st.floats(-5.0, 5.0), jitter=st.floats(0.0, 2.0), n=st.integers(1, 60))
def test_n_pulses_span_the_registered_energy_of_n_over_c(error, jitter, n):
    clock, _, meter, pulses = _setup(error, jitter)
    clock.advance(3_600_000)
    k0 = pulses.first_after(float(T0 + 1000))
    t0, t1 = pulses.edge_ms(k0), pulses.edge_ms(k0 + n)
    assert t0 is not None and t1 is not None and t0 >= T0 + 1000
    # n/C kWh at the registered power 3450 W · (1 + error)
    span = n / 400.0 / (3 * 230 * 5.0 * (1 + error / 100)) * 3.6e9
    assert abs((t1 - t0) - span) <= 2 * jitter + 1e-3  # epoch ms as float64: ~0.2 µs
    # the registers and the pulses integrate the same registered energy
    assert pulses.line.energy_kwh(float(clock())) == pytest.approx(
        meter.read_channels(["energy.import"], clock())["energy.import"], rel=1e-12)


def test_pulses_follow_a_source_change_and_never_come_from_the_future():
    clock, circuit, _, pulses = _setup(0.0)
    clock.advance(60_000)
    k = pulses.first_after(float(clock()))
    assert pulses.edge_ms(k) is None  # not yet happened
    circuit.update(current_a=(10.0,) * 3)  # power doubles from now on
    clock.advance(60_000)
    t_a, t_b = pulses.edge_ms(k + 1), pulses.edge_ms(k + 2)
    assert t_b - t_a == pytest.approx(3.6e9 / (400 * 3 * 230 * 10.0))
    circuit.update(output_on=False)
    clock.advance(600_000)
    last = pulses.first_after(float(clock()))
    assert pulses.edge_ms(last) is None  # no power, no pulse


def test_reference_counts_whole_pulses_of_the_true_energy_times_its_gain():
    clock, circuit, _, _ = _setup(0.0)
    ref = ReferenceEnergy(circuit, now=clock, start_ms=T0, error_pct=0.01)
    clock.advance(100_000)
    n = ref.pulses_between(1e6, T0 + 10_000.0, T0 + 70_000.0)
    exact = 3 * 230 * 5.0 * 60 / 3.6e6 * 1e6 * 1.0001  # 57 505.75 pulses
    assert abs(n - exact) < 1 and isinstance(n, int)
