"""The simulated instruments' command interpreter (no sockets: the device object directly)."""

from __future__ import annotations

import pytest

from meterbench.instruments.sim.scpi_server import ScpiDevice, header_regex
from meterbench.instruments.sim.sim_power_standard import SimPowerStandard
from meterbench.instruments.sim.source_circuit import SourceCircuit

from .vclock import VirtualClock


@pytest.fixture
def device(clock: VirtualClock) -> SimPowerStandard:
    return SimPowerStandard(SourceCircuit(clock))


@pytest.mark.parametrize("header", [
    ":SOUR:PHAS2:VOLT:MHAR:HARM1", "SOUR:PHAS2:VOLT:MHAR:HARM1",
    ":SOURCE:PHASE2:VOLTAGE:MHARMONICS:HARMONIC1", ":source:phase2:voltage:mharm:harm1",
    ":PHAS2:VOLT:MHAR:HARM1"])
def test_short_long_any_case_and_optional_root(header: str) -> None:
    spec = "[SOURce]:PHASe#:VOLTage:MHARmonics:HARMonic#"
    if header == ":source:phase2:voltage:mharm:harm1":  # "MHARM" is neither form: rejected
        assert not header_regex(spec).match(header)
        return
    bare = header if header.startswith(":") else ":" + header
    m = header_regex(spec).match(bare)
    assert m and m.groups() == ("2", "1")


def test_setting_then_reading_back(device: SimPowerStandard) -> None:
    assert device.handle("source:phase1:current:mharmonics:harmonic1 5,-60") is None
    assert device.handle("SOUR:PHAS1:CURR:MHAR:HARM1?") == "5.000000E+00,-6.000000E+01"
    assert device.circuit.state.phi_deg[0] == 60.0
    assert device.handle("SYST:ERR?") == '0,"No error"'


def test_compound_message_answers_each_query(device: SimPowerStandard) -> None:
    assert device.handle("SOUR:FREQ 60;:SOUR:FREQ?;*OPC?") == "6.000000E+01;1"


@pytest.mark.parametrize(("message", "entry"), [
    ("SOUR:FREQ 900", '-222,"Data out of range;900 outside [16, 850]"'),
    ("SOUR:PHAS4:VOLT:MHAR:HARM1 230,0", '-114,"Header suffix out of range;PHASe4"'),
    ("SOUR:PHAS1:VOLT:MHAR:HARM1 230", '-109,"Missing parameter"'),
    ("SOUR:PHAS1:VOLT:MHAR:HARM3 23,0", '-221,"Settings conflict;harmonics not simulated"'),
    ("SOUR:FREQ fifty", "-104,\"Data type error;frequency 'fifty' is not a number\""),
    ("OUTP MAYBE", "-224,\"Illegal parameter value;'MAYBE' is not ON|OFF|1|0\""),
    ("SOUR:VOLTS 3", '-113,"Undefined header"'),
])
def test_bad_commands_queue_scpi_errors_and_change_nothing(device: SimPowerStandard, message: str,
                                                           entry: str) -> None:
    before = device.circuit.state
    assert device.handle(message) is None
    assert device.handle("SYST:ERR?") == entry
    assert device.handle("SYST:ERR?") == '0,"No error"'
    assert device.circuit.state == before


def test_a_rejected_query_gets_no_answer(device: SimPowerStandard) -> None:
    assert device.handle("SOUR:PHAS9:POW:WATT?") is None
    assert device.handle("SYST:ERR?").startswith("-114,")


def test_queue_overflow_replaces_the_last_entry() -> None:
    dev = ScpiDevice()
    for _ in range(ScpiDevice.QUEUE_DEPTH + 5):
        dev.handle("NOPE")
    entries = [dev.handle("SYST:ERR?") for _ in range(ScpiDevice.QUEUE_DEPTH + 1)]
    assert entries[: ScpiDevice.QUEUE_DEPTH - 1] == ['-113,"Undefined header"'] * (
        ScpiDevice.QUEUE_DEPTH - 1)
    assert entries[ScpiDevice.QUEUE_DEPTH - 1] == '-350,"Queue overflow"'
    assert entries[-1] == '0,"No error"'


def test_cls_clears_and_rst_turns_the_output_off(device: SimPowerStandard) -> None:
    device.handle("BOGUS")
    device.handle("*CLS")
    assert device.handle("SYST:ERR?") == '0,"No error"'
    device.handle("OUTP ON")
    assert device.handle("OUTP?") == "1"
    device.handle("*RST")
    assert device.handle("OUTP:STAT?") == "0"


def test_a_simulator_fault_becomes_a_device_specific_error(device: SimPowerStandard,
                                                           clock: VirtualClock) -> None:
    clock.advance(1000)
    device.handle("OUTP ON")
    clock.now_ms -= 500  # a time function that runs backwards is a fault of the simulation
    assert device.handle("OUTP OFF") is None
    entry = device.handle("SYST:ERR?")
    assert entry.startswith('-300,"Device-specific error;ValueError: time went backwards')
    assert device.handle("OUTP?") == "1"
