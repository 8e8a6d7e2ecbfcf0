"""The simulated WT1800: integration state machine and energies from the circuit's truth."""

from __future__ import annotations

import math

import pytest

from meterbench.instruments.sim.meter import true_energy
from meterbench.instruments.sim.sim_power_analyzer import SimPowerAnalyzer
from meterbench.instruments.sim.source_circuit import SourceCircuit, SourceState

from .vclock import VirtualClock


@pytest.fixture
def setup(clock: VirtualClock) -> tuple[SourceCircuit, SimPowerAnalyzer]:
    circuit = SourceCircuit(clock, SourceState(voltage_v=(230.0,) * 3, current_a=(5.0, 5.0, 2.0),
                                               phi_deg=(0.0, 60.0, 180.0), output_on=True))
    analyzer = SimPowerAnalyzer(circuit, clock, error_pct=0.01)
    analyzer.handle(":COMM:HEAD OFF")
    return circuit, analyzer


def _values(analyzer: SimPowerAnalyzer, items: list[str]) -> list[float]:
    for n, item in enumerate(items, start=1):
        analyzer.handle(f":NUM:NORM:ITEM{n} {item}")
    analyzer.handle(f":NUM:NORM:NUMB {len(items)}")
    return [float(v) for v in analyzer.handle(":NUM:NORM:VAL?").split(",")]


def test_integration_uses_true_energy_with_the_declared_error(
        setup: tuple[SourceCircuit, SimPowerAnalyzer], clock: VirtualClock) -> None:
    circuit, analyzer = setup
    analyzer.handle(":INTEG:RES;:INTEG:STAR")
    start = clock.now_ms
    clock.advance(90_000)
    analyzer.handle(":INTEG:STOP")
    clock.advance(90_000)  # stopped: nothing more is integrated
    wp, wp1, wp2, wp3, wpm3 = _values(analyzer, ["WP,SIGMA", "WP,1", "WP,2", "WP,3", "WPM,3"])
    imp, exp = true_energy(circuit, start, start + 90_000)
    assert wp == pytest.approx((imp - exp) * 1000 * 1.0001, rel=1e-6)
    assert wp1 + wp2 + wp3 == pytest.approx(wp, rel=1e-6)
    assert wp3 < 0 and wpm3 == pytest.approx(wp3, rel=1e-6)  # L3 exports (phi 180°)


def test_stop_then_start_resumes_and_reset_zeroes(
        setup: tuple[SourceCircuit, SimPowerAnalyzer], clock: VirtualClock) -> None:
    _, analyzer = setup
    analyzer.handle(":INTEG:STAR")
    clock.advance(60_000)
    analyzer.handle(":INTEG:STOP")
    once = _values(analyzer, ["WP,1"])[0]
    clock.advance(60_000)
    analyzer.handle(":INTEG:STAR")
    clock.advance(60_000)
    analyzer.handle(":INTEG:STOP")
    assert _values(analyzer, ["WP,1"])[0] == pytest.approx(2 * once, rel=1e-6)
    analyzer.handle(":INTEG:RES")
    assert _values(analyzer, ["WP,1"])[0] == 0.0
    assert analyzer.handle(":INTEG:STAT?") == "RES"


@pytest.mark.parametrize(("sequence", "message"), [
    ([":INTEG:STAR", ":INTEG:STAR"], "integration already running"),
    ([":INTEG:STOP"], "integration not running"),
    ([":INTEG:STAR", ":INTEG:RES"], "integration running, stop it first"),
])
def test_state_machine_rejections(setup: tuple[SourceCircuit, SimPowerAnalyzer],
                                  sequence: list[str], message: str) -> None:
    _, analyzer = setup
    for command in sequence:
        analyzer.handle(command)
    assert analyzer.handle(":STAT:ERR?") == f'-200,"Execution error;{message}"'


def test_instantaneous_values_and_unwired_elements(
        setup: tuple[SourceCircuit, SimPowerAnalyzer]) -> None:
    _, analyzer = setup
    p1, lam2, fu, p4 = _values(analyzer, ["P,1", "LAMBDA,2", "FU,1", "P,4"])
    assert p1 == pytest.approx(230 * 5 * 1.0001)
    assert lam2 == pytest.approx(0.5)
    assert fu == 50.0
    assert analyzer.handle(":NUM:NORM:VAL?").split(",")[3] == "9.91E+37"
    assert p4 > 1e37 and not math.isnan(p4)  # raw text; the driver maps it to NaN


def test_headers_and_verbose_shape_answers(setup: tuple[SourceCircuit, SimPowerAnalyzer]) -> None:
    _, analyzer = setup
    analyzer.handle(":COMM:HEAD ON;:COMM:VERB ON")
    assert analyzer.handle(":INTEGRATE:STATE?") == ":INTEGRATE:STATE RESET"
    assert analyzer.handle(":STAT:ERR?") == '0,"No error"'  # no header on the error query


def test_item_query_and_short_headers_with_verbose_off(
        setup: tuple[SourceCircuit, SimPowerAnalyzer]) -> None:
    """:NUMeric:NORMal:ITEM<n>? answers the item; with HEADer ON the answer's header is the short
    form while VERBose is OFF and the long form when it is ON, whatever form the query used."""
    _, analyzer = setup
    analyzer.handle(":NUM:NORM:ITEM2 WP,SIGMA")
    assert analyzer.handle(":NUMERIC:NORMAL:ITEM2?") == "WP,SIGMA"
    analyzer.handle(":COMM:HEAD ON;:COMM:VERB OFF")
    assert analyzer.handle(":COMMUNICATE:HEADER?") == ":COMM:HEAD 1"
    assert analyzer.handle(":numeric:item2?") == ":NUM:NORM:ITEM2 WP,SIGMA"
    analyzer.handle(":COMM:VERB ON")
    assert analyzer.handle(":COMM:HEAD?") == ":COMMUNICATE:HEADER 1"
    assert analyzer.handle(":NUM:ITEM300?") is None  # items are 1..255
    assert analyzer.handle(":STAT:ERR?").startswith("-222,")
