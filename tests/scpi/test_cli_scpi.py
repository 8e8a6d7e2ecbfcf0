"""``meterbench scpi`` against the simulated lab source and the pyvisa-sim devices."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from meterbench.cli import scpi
from meterbench.core.errors import UserError
from meterbench.instruments.sim.lab import SimLab

YAML = Path(__file__).with_name("sim_devices.yaml")


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="meterbench")
    scpi.register(parser.add_subparsers())
    args = parser.parse_args(["scpi", *argv])
    return args.func(args)


def test_identify_over_the_simulated_socket(empty_lab: SimLab, capsys) -> None:
    assert _run(["identify", empty_lab.source_resource]) == 0
    assert capsys.readouterr().out.strip() == "FLUKE,6105A,SIM0001,SIM"


def test_write_then_query(empty_lab: SimLab, capsys) -> None:
    assert _run(["write", empty_lab.source_resource, "SOUR:FREQ 60"]) == 0
    assert _run(["query", empty_lab.source_resource, "SOUR:FREQ?"]) == 0
    assert capsys.readouterr().out.strip() == "6.000000E+01"


def test_rejected_write_prints_the_instruments_message_and_exits_1(empty_lab: SimLab,
                                                                   capsys) -> None:
    assert _run(["write", empty_lab.source_resource, "SOUR:FREQ 5000"]) == 1
    assert '-222,"Data out of range;5000 outside [16, 850]"' in capsys.readouterr().err


def test_errors_left_by_another_client_are_not_this_write_s(empty_lab: SimLab, capsys) -> None:
    import socket

    port = int(empty_lab.source_resource.split("::")[2])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(b"NOT:A:COMMand 1\n*OPC?\n")  # another client leaves -113 in the queue
        assert raw.recv(16).strip() == b"1"
    assert _run(["write", empty_lab.source_resource, "SOUR:FREQ 50"]) == 0  # this one is fine
    err = capsys.readouterr().err
    assert "already in the error queue before this command" in err and "-113" in err
    assert _run(["errors", empty_lab.source_resource]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "the error queue is empty" in captured.err


def test_other_error_query_and_backend(capsys) -> None:
    assert _run(["query", "GPIB0::1::INSTR", "*IDN?", "--backend", f"{YAML}@sim",
                 "--error-query", ":STATus:ERRor?", "--timeout", "200ms"]) == 0
    assert capsys.readouterr().out.strip() == "YOKOGAWA,WT1806,91K000001,F1.01"


@pytest.mark.parametrize(("argv", "field"), [
    (["identify", "not-a-resource"], "resource"),
    (["query", "TCPIP::127.0.0.1::5025::SOCKET"], "command"),
    (["identify", "TCPIP::127.0.0.1::5025::SOCKET", "--timeout", "soon"], "--timeout"),
])
def test_bad_input_is_a_user_error(argv: list[str], field: str) -> None:
    with pytest.raises(UserError) as info:
        _run(argv)
    assert info.value.field == field


def test_write_to_a_wt1800_uses_its_own_error_query(empty_lab: SimLab, capsys) -> None:
    """The WT1800 does not know SYST:ERR? (its error query is :STATus:ERRor?): its *IDN? names a
    registered driver, so that driver's error query is used, the instrument's own message is
    printed, and no -113 is left behind."""
    resource = empty_lab.reference_resource
    assert _run(["write", resource, ":INTEG:STOP"]) == 1  # not running: the WT1800 says so
    err = capsys.readouterr().err
    assert '-200,"Execution error;integration not running"' in err, err
    assert "no answer" not in err
    assert _run(["errors", resource]) == 0  # nothing left behind (no -113 per attempt)
    assert "the error queue is empty" in capsys.readouterr().err
    assert _run(["write", resource, ":INTEG:RESET"]) == 0


def test_the_error_query_follows_the_identified_driver() -> None:
    from meterbench.instruments.scpi.base import Identity

    assert scpi.error_query_for(Identity("YOKOGAWA", "WT1806", "1", "F1")) == (
        ":STATus:ERRor?", "yokogawa_wt1800")
    assert scpi.error_query_for(Identity("FLUKE", "6105A", "1", "1"))[1] == "fluke6105a"
    assert scpi.error_query_for(Identity("ACME", "X1", "1", "1")) == ("SYST:ERR?", None)
    assert scpi.error_query_for(None) == ("SYST:ERR?", None)


def test_an_unknown_instrument_that_ignores_the_error_query_is_told_to_give_one(
        monkeypatch, capsys) -> None:
    """No driver knows its *IDN?, and SYST:ERR? goes unanswered: the timeout says the error
    query may be the wrong one and how to give the right one."""
    class Silent:
        resource = "TCPIP::192.0.2.1::5025::SOCKET"
        timeout_ms = 100

        def __init__(self, *a, **k) -> None:
            self.sent: list[str] = []

        def write(self, message: str) -> None:
            self.sent.append(message)

        def read(self) -> str:
            if self.sent[-1] == "*IDN?":
                return "ACME,X1,1,1"
            from meterbench.instruments.scpi.transport import TransportTimeout
            raise TransportTimeout(self.resource)

        def close(self) -> None:
            pass

    monkeypatch.setattr("meterbench.instruments.scpi.base.VisaTransport", Silent)
    assert _run(["errors", Silent.resource]) == 1
    err = capsys.readouterr().err
    assert "no answer to 'SYST:ERR?'" in err and "--error-query" in err, err


def test_a_refused_connection_is_not_called_lost(capsys) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert _run(["identify", f"TCPIP::127.0.0.1::{port}::SOCKET", "--timeout", "1s"]) == 1
    err = capsys.readouterr().err
    assert "connection refused" in err and "connection lost" not in err, err


@pytest.mark.parametrize("action", ["identify", "query", "write", "errors"])
def test_each_action_has_its_own_help(action: str, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        _run([action, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: meterbench scpi {action}") and "resource" in out
