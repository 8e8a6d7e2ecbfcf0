"""IEEE 488.2 as an independent client sees it: a plain TCP socket, no PyVISA, no driver.

Every registered instrument's simulator (source, reference, error calculator) is served on
127.0.0.1 and asked every mandatory common query (IEEE Std 488.2-1992 §4.1.1 and §10: *IDN?,
*ESR?, *ESE?, *SRE?, *STB?, *OPC?, *TST?) plus the commands they pair with; a command error must
show in *ESR? (bit 5, CME) and, enabled by *ESE, as ESB in the status byte.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest

from meterbench import registry
from meterbench.instruments.kinds import InstrumentKind
from meterbench.instruments.registers import load_register_map
from meterbench.instruments.sim.lab import (
    LabSpec,
    MeterSpec,
    SimInstrument,
    SimLab,
    power_source,
    reference_standard,
    start_lab,
)
from meterbench.instruments.sim.meter import ErrorCurve
from meterbench.instruments.sim.scpi_server import ScpiDevice

from .vclock import VirtualClock

COMMON_QUERIES = ("*IDN?", "*ESR?", "*ESE?", "*SRE?", "*STB?", "*OPC?", "*TST?")
CME, ESB, MAV, EAV, OPC, PON = 32, 32, 16, 4, 1, 128

#: Options a bench file would give each registered kind's simulator (required ones only).
OPTIONS = {"yokogawa_wt1800": {"accuracy_pct": 0.02},
           "keysight_53230a": {"reference_constant": 1e6, "input_level_v": 2.5}}


class RawClient:
    """Newline-terminated SCPI over a socket, nothing more."""

    def __init__(self, resource: str) -> None:
        _, host, port, _ = resource.split("::")
        self.sock = socket.create_connection((host, int(port)), timeout=2.0)
        self.buffer = b""

    def send(self, message: str) -> None:
        self.sock.sendall(message.encode("ascii") + b"\n")

    def ask(self, message: str) -> str:
        self.send(message)
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            assert chunk, f"connection closed while waiting for {message!r}"
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode("ascii")

    def close(self) -> None:
        self.sock.close()


def _kinds() -> list[str]:
    out = []
    for name in registry.names(registry.INSTRUMENTS):
        kind = registry.load_object(registry.INSTRUMENTS, name, what="instrument driver")
        if isinstance(kind, InstrumentKind) and kind.simulate is not None:
            out.append(name)
    return out


@pytest.fixture(scope="module")
def lab() -> Iterator[SimLab]:
    instruments = {"source": power_source(), "reference": reference_standard()}
    for name in _kinds():
        instruments[f"under_test:{name}"] = SimInstrument(name, OPTIONS.get(name, {}),
                                                          meter="mut")
    out = load_register_map("eastron_sdm630").test_output
    spec = LabSpec(meters=(MeterSpec("mut", ErrorCurve.constant(0.1), test_output=out),),
                   instruments=instruments)
    with start_lab(spec, VirtualClock()) as running:
        yield running


@pytest.fixture
def client(lab: SimLab, request: pytest.FixtureRequest) -> Iterator[RawClient]:
    c = RawClient(lab.resources()[f"under_test:{request.param}"])
    c.send("*CLS")
    yield c
    c.close()


@pytest.mark.parametrize("client", _kinds(), indirect=True)
def test_every_common_query_is_answered(client: RawClient) -> None:
    answers = {q: client.ask(q) for q in COMMON_QUERIES}
    assert len(answers["*IDN?"].split(",")) == 4  # manufacturer, model, serial, firmware
    for q in ("*ESR?", "*ESE?", "*SRE?", "*STB?", "*TST?"):
        assert 0 <= int(answers[q]) <= 255, (q, answers[q])
    assert answers["*OPC?"] == "1" and answers["*TST?"] == "0"


@pytest.mark.parametrize("client", _kinds(), indirect=True)
def test_a_command_error_shows_in_esr_and_as_esb(client: RawClient) -> None:
    assert client.ask("*ESR?") == "0"  # *CLS cleared it
    client.send("*ESE 32")
    assert client.ask("*ESE?") == "32"
    client.send("NOT:A:COMMand 1")
    assert int(client.ask("*STB?")) & (ESB | EAV) == ESB | EAV  # enabled event; error queued
    assert int(client.ask("*ESR?")) & CME == CME
    assert client.ask("*ESR?") == "0"  # reading cleared the register
    assert int(client.ask("*STB?")) & ESB == 0


@pytest.mark.parametrize("client", _kinds(), indirect=True)
def test_mav_opc_and_service_request_summary(client: RawClient) -> None:
    # a response already in the output queue when *STB? runs sets MAV (IEEE 488.2 §11.2.1.2)
    idn, stb = client.ask("*IDN?;*STB?").split(";")
    assert int(stb) & MAV and idn
    assert int(client.ask("*STB?")) & MAV == 0
    client.send("*OPC")
    assert int(client.ask("*ESR?")) & OPC == OPC  # nothing pending: complete at once
    client.send("*SRE 36")
    assert client.ask("*SRE?") == "36"
    client.send("*ESE 1")
    client.send("*OPC")
    assert int(client.ask("*STB?")) & 64 == 64  # MSS: ESB is enabled by *SRE
    client.send("*SRE 0")
    client.send("*ESE 0")


def test_power_on_sets_pon_once_and_cls_and_rst_keep_their_roles(clock: VirtualClock) -> None:
    from meterbench.instruments.sim.sim_power_standard import SimPowerStandard
    from meterbench.instruments.sim.source_circuit import SourceCircuit

    device = SimPowerStandard(SourceCircuit(clock))
    assert device.handle("*ESR?") == str(PON)  # IEEE 488.2 §11.5.1.1.1
    assert device.handle("*ESR?") == "0"
    device.handle("*ESE 255;BOGUS")
    device.handle("*RST")  # *RST leaves the status registers alone (§10.32)
    assert device.handle("*ESE?") == "255" and int(device.handle("*STB?")) & ESB
    device.handle("*CLS")  # *CLS clears the event register and the error queue (§10.3)
    assert device.handle("*ESR?") == "0" and device.handle("SYST:ERR?") == '0,"No error"'
    assert device.handle("*ESE 256") is None  # a mask is 0..255
    assert device.handle("SYST:ERR?").startswith("-222,")


class _Busy(ScpiDevice):
    """A device with one overlapped operation that runs until the test ends it."""

    def __init__(self) -> None:
        super().__init__()
        self.busy = True
        self.aborted = False
        self.register("*IDN?", True, lambda s, a: "test,busy,0,0")
        self.register(":FETCh", True, lambda s, a: "42" if not self.busy else "stale")

    def pending(self) -> bool:
        return self.busy

    def abort(self) -> None:
        self.aborted = True
        self.busy = False


@pytest.mark.parametrize("wait", ["*WAI", "*OPC?"])
def test_a_held_wait_holds_every_unit_after_it_until_the_operation_completes(wait: str) -> None:
    from meterbench.instruments.sim.scpi_server import DEFERRED

    device = _Busy()
    assert device.handle(f"{wait};FETC?") is DEFERRED
    for _ in range(3):  # asked again while still pending: still held, FETC? not yet run
        assert device.resume() is DEFERRED
    device.busy = False
    assert device.resume() == ("1;42" if wait == "*OPC?" else "42")
    assert device.resume() is None  # nothing held any more


def test_cls_clears_status_but_leaves_the_operation_running() -> None:
    from meterbench.instruments.sim.scpi_server import DEFERRED

    device = _Busy()
    device.handle("BOGUS")
    device.handle("*CLS")  # IEEE 488.2 §10.3: status data cleared, operation not aborted
    assert not device.aborted and device.pending()
    assert device.handle("*ESR?") == "0" and device.handle("SYST:ERR?") == '0,"No error"'
    assert device.handle("*OPC?") is DEFERRED
    device.handle("*RST")  # §10.32: *RST does stop it
    assert device.aborted


#: Common commands and queries that take no parameter (IEEE 488.2 §10): one given is -108.
BARE_COMMON = ("*IDN? 1", "*CLS 1", "*RST 1", "*OPC 1", "*OPC? 1", "*WAI 1", "*TST? 1",
               "*ESR? 1", "*ESE? 1", "*SRE? 1", "*STB? 1")


def _error_query(lab: SimLab, name: str) -> str:
    """The simulator's own error query (the WT1800's is :STATus:ERRor?)."""
    return ":" + re.sub(r"\[.*?\]", "", lab.devices[f"under_test:{name}"].ERROR_QUERY_SPEC) + "?"


@pytest.mark.parametrize("name", _kinds())
@pytest.mark.parametrize("command", BARE_COMMON)
def test_a_parameter_to_a_bare_common_command_is_refused(lab: SimLab, name: str,
                                                         command: str) -> None:
    """``*IDN? 1`` and its kind were accepted with ESR 0; like ``*ESE 1,2`` they are -108
    "Parameter not allowed", a command error (ESR bit 5), on every simulator."""
    client = RawClient(lab.resources()[f"under_test:{name}"])
    try:
        client.send("*CLS")
        reply = client.ask(f"{command};*ESR?") if command.split(" ")[0].endswith("?") else None
        if reply is None:
            client.send(command)
            esr = int(client.ask("*ESR?"))
        else:
            esr = int(reply.split(";")[-1])
            assert ";" not in reply, (command, reply)  # the refused query gave no answer
        assert esr & CME == CME, (name, command, esr)
        error = client.ask(_error_query(lab, name))
        assert error.split(",")[0].split()[-1] == "-108", (name, command, error)
    finally:
        client.close()
