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
