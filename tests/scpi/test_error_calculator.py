"""The error calculator: the Keysight 53230A driver over its simulator, counting a simulated
meter's test output against the reference standard's pulses, and the driver's exact bytes."""

from __future__ import annotations

import socket

import pytest

from meterbench.instruments.registers import load_register_map
from meterbench.instruments.scpi.errors import InstrumentError
from meterbench.instruments.scpi.fluke6105a import Fluke6105A
from meterbench.instruments.scpi.keysight_53230a import Keysight53230A
from meterbench.instruments.scpi.transport import ConnectionSettings
from meterbench.instruments.sim.lab import (
    LabSpec,
    MeterSpec,
    SimInstrument,
    power_source,
    reference_standard,
    start_lab,
)
from meterbench.instruments.sim.meter import ErrorCurve

from .replay import expected_protocol
from .vclock import VirtualClock

SDM630 = load_register_map("eastron_sdm630").test_output  # 400 imp/kWh (its manual)
C_REF = 1_000_000.0


def _lab(clock: VirtualClock, error_pct: float, jitter_ms: float = 0.0):
    counter = SimInstrument("keysight_53230a", {"reference_constant": C_REF,
                                                "input_level_v": 2.5}, meter="mut")
    spec = LabSpec(meters=(MeterSpec("mut", ErrorCurve.constant(error_pct), test_output=SDM630,
                                     pulse_jitter_ms=jitter_ms),),
                   instruments={"source": power_source(),
                                "reference": reference_standard(0.01, 0.02),
                                "error_calculator:mut": counter})
    return start_lab(spec, clock)


def test_counter_recovers_the_meter_error_from_its_pulses(clock: VirtualClock) -> None:
    with _lab(clock, 0.3, jitter_ms=0.5) as lab, \
            Fluke6105A.open(lab.source_resource) as source, \
            Keysight53230A.open(lab.resources()["error_calculator:mut"], reference_constant=C_REF,
                                input_level_v=2.5) as counter:
        source.apply(voltage_v=(230.0,) * 3, current_a=(5.0,) * 3, phi_deg=(0.0,) * 3)
        source.output_on()
        clock.advance(10_000)
        counter.start(40, SDM630.constant_imp_per_kwh)
        assert not counter.done()
        period_ms = 3.6e9 / (400 * 3 * 230 * 5.0)  # one pulse at 3450 W: 2.6 s
        clock.advance(int(38 * period_ms))
        assert not counter.done()  # 40 pulses (plus the wait for the first) take longer
        clock.advance(int(4 * period_ms))
        assert counter.done()
        r = counter.result()
    assert r.meter_pulses == 40
    # E_meter/E_ref = (1 + 0.3 %)/(1 + 0.01 %): error 0.29 %, to ±1 of ~100 000 reference pulses
    error = (r.meter_pulses / 400) / (r.reference_pulses / C_REF) * 100 - 100
    assert error == pytest.approx((1.003 / 1.0001 - 1) * 100, abs=0.003)


def test_opc_query_is_answered_when_the_count_completes(clock: VirtualClock) -> None:
    """*OPC? holds its answer while the measurement runs (IEEE 488.2 §12.5.3)."""
    with _lab(clock, 0.0) as lab, Fluke6105A.open(lab.source_resource) as source, \
            Keysight53230A.open(lab.resources()["error_calculator:mut"], reference_constant=C_REF,
                                input_level_v=2.5) as counter:
        source.apply(voltage_v=(230.0,) * 3, current_a=(20.0,) * 3, phi_deg=(0.0,) * 3)
        source.output_on()
        counter.start(3, 400.0)
        _, host, port, _ = lab.resources()["error_calculator:mut"].split("::")
        with socket.create_connection((host, int(port)), timeout=2.0) as raw:
            raw.sendall(b"*OPC?\n")
            raw.settimeout(0.2)
            with pytest.raises(TimeoutError):
                raw.recv(16)  # not yet: no virtual time has passed
            clock.advance(5_000)  # 3 pulses at 13.8 kW take < 2.5 s (+ the first one's wait)
            raw.settimeout(2.0)
            assert raw.recv(16) == b"1\n"
        assert counter.done()


def test_fetch_without_a_measurement_is_an_instrument_error(clock: VirtualClock) -> None:
    # a rejected query is not answered: a short timeout, then the driver reads the queue
    with _lab(clock, 0.0) as lab, Keysight53230A.open(
            lab.resources()["error_calculator:mut"], ConnectionSettings(timeout_ms=300),
            reference_constant=C_REF, input_level_v=2.5) as counter:
        with pytest.raises(InstrumentError) as info:
            _ = counter.reading
        assert info.value.code == -230


def test_driver_sends_the_manuals_commands() -> None:
    ok = (b"SYST:ERR?\n", b'+0,"No error"\n')
    pairs = [(b"CONF:FREQ:RAT 2500,DEF,(@1),(@2)\n", None), ok,
             (b"INP1:LEV 2.5\n", None), ok, (b"INP2:LEV 2.5\n", None), ok,
             (b"FREQ:GATE:SOUR ADV\n", None), ok, (b"GATE:STAR:SOUR IMM\n", None), ok,
             (b"GATE:STOP:HOLD:SOUR EVEN\n", None), ok, (b"GATE:STOP:SOUR IMM\n", None), ok,
             (b"ABOR\n", None), ok,
             (b"GATE:STOP:HOLD:EVEN 25\n", None), ok, (b"INIT\n", None), ok,
             (b"*OPC\n", None), ok, (b"*ESR?\n", b"0\n"), (b"*ESR?\n", b"1\n"),
             (b"*OPC?\n", b"1\n"), (b"FETC?\n", b"+2.50012000000000E+003\n")]
    with expected_protocol(Keysight53230A, pairs, reference_constant=1e6,
                           input_level_v=2.5) as counter:
        counter.start(25, 400.0)
        assert not counter.done()
        assert counter.done()
        r = counter.result()
    assert (r.meter_pulses, r.reference_pulses) == (25, 62503)


def test_driver_refuses_constants_outside_the_counters_ratio_range() -> None:
    with expected_protocol(Keysight53230A, [], reference_constant=1e12, input_level_v=2.5) as c:
        with pytest.raises(ValueError, match="outside the counter's range"):
            c.start(25, 1e-3)
