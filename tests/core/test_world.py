"""The simulated world's ground truth is exact: energy adds up across loads and segments."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from meterbench.instruments.sim.constant import ConstantCircuit
from meterbench.instruments.sim.meter import ErrorCurve, SimMeter, true_energy
from meterbench.instruments.sim.world import (
    ScheduleCircuit,
    base_load,
    combine,
    cycling_sessions,
    on_off_load,
)

H = 3_600_000


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), a=st.integers(-H, 30 * H), span=st.integers(1, 30 * H))
def test_energy_of_combined_loads_is_sum_of_loads(seed, a, span):
    rng = np.random.default_rng(seed)
    loads = [base_load(0, 24 * H, rng, mean_w=400, peak_w=2000, phases="L2"),
             on_off_load(0, 24 * H, [(7 * H + 17_000, 9 * H - 3_000)], power_w=11_000),
             on_off_load(0, 24 * H, cycling_sessions(0, 24 * H, rng, on_ms=18 * 60_000,
                                                     off_ms=31 * 60_000), power_w=2400,
                         power_factor=0.92)]
    parts = sum(true_energy(ScheduleCircuit(x), a, a + span)[0] for x in loads)
    whole = true_energy(ScheduleCircuit(combine(loads)), a, a + span)[0]
    assert abs(whole - parts) <= 1e-9 * max(1.0, parts)


@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.integers(1, 24 * H - 1), max_size=20, unique=True))
def test_energy_is_additive_over_any_split(cuts):
    c = ScheduleCircuit(on_off_load(0, 24 * H, [(H, 5 * H + 123), (6 * H, 7 * H)], power_w=7000))
    edges = [0, *sorted(cuts), 24 * H]
    pieces = sum(true_energy(c, x, y)[0] for x, y in zip(edges, edges[1:], strict=False))
    assert abs(pieces - true_energy(c, 0, 24 * H)[0]) < 1e-9
    assert abs(true_energy(c, 0, 24 * H)[0] - 7.0 * (4 + 123 / H + 1)) < 1e-9


def test_meter_registers_true_energy_times_its_error():
    c = ConstantCircuit(current_a=(10.0, 10.0, 10.0))
    m = SimMeter(c, 0, error=ErrorCurve.constant(-0.6), import_kwh=100.0)
    v = m.read_channels(["energy.import", "power.total"], H)
    assert abs(v["energy.import"] - (100.0 + 6.9 * 0.994)) < 1e-12
    assert abs(v["power.total"] - 6900 * 0.994) < 1e-9


def test_summation_meter_nets_phases_and_phase_by_phase_does_not():
    # +P on L1 and −P on L2 (BEK 75/2019 § 1, stk. 3, nr. 2: a summation meter nets them to zero)
    c = ConstantCircuit(current_a=(10.0, 10.0, 0.0), phi_deg=(0.0, 180.0, 0.0))
    summing = SimMeter(c, 0, summation=True)
    separate = SimMeter(c, 0, summation=False)
    s = summing.read_channels(["energy.import", "energy.export"], H)
    p = separate.read_channels(["energy.import", "energy.export"], H)
    assert abs(s["energy.import"]) < 1e-12 and abs(s["energy.export"]) < 1e-12
    assert abs(p["energy.import"] - 2.3) < 1e-12 and abs(p["energy.export"] - 2.3) < 1e-12


def test_starting_current_and_rollover():
    c = ConstantCircuit(current_a=(0.01, 0.0, 0.0))
    assert SimMeter(c, 0, starting_current_a=0.02).read_channels(["energy.import"], H)["energy.import"] == 0
    r = SimMeter(ConstantCircuit(), 0, import_kwh=99_999.0, rollover_kwh=100_000.0)
    assert abs(r.read_channels(["energy.import"], H)["energy.import"] - 5.9) < 1e-6  # 99,999 + 6.9 kWh wraps at 100,000
