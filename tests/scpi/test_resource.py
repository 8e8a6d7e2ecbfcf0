"""Resource strings of every kind PyVISA takes, and what each kind needs."""

from __future__ import annotations

import pytest

from meterbench.instruments.scpi.errors import ResourceStringError
from meterbench.instruments.scpi.resource import ResourceKind, parse_resource, socket_resource
from meterbench.instruments.scpi.transport import ConnectionSettings, VisaTransport


@pytest.mark.parametrize(("text", "kind"), [
    ("TCPIP::192.168.0.10::5025::SOCKET", ResourceKind.TCPIP_SOCKET),
    ("TCPIP0::192.168.0.10::inst0::INSTR", ResourceKind.TCPIP_INSTR),
    ("TCPIP::wt1800.lab::hislip0::INSTR", ResourceKind.TCPIP_INSTR),
    ("ASRL/dev/ttyUSB0::INSTR", ResourceKind.ASRL),
    ("ASRL3::INSTR", ResourceKind.ASRL),
    ("GPIB0::17::INSTR", ResourceKind.GPIB),
    ("USB0::0x0B21::0x0025::91K000001::INSTR", ResourceKind.USB),
])
def test_every_kind_parses(text: str, kind: ResourceKind) -> None:
    assert parse_resource(text).kind is kind


def test_only_socket_and_serial_need_a_termination_character() -> None:
    assert {k for k in ResourceKind if k.needs_termination} == {ResourceKind.TCPIP_SOCKET,
                                                                ResourceKind.ASRL}


@pytest.mark.parametrize("text", ["", "192.168.0.10:5025", "TCPIP::host::5025::BOGUS", "GPIB0::INTFC"])
def test_unusable_strings_are_refused_with_examples(text: str) -> None:
    with pytest.raises(ResourceStringError) as info:
        parse_resource(text)
    assert "expected" in str(info.value) or "SCPI drivers use" in str(info.value)


def test_socket_resource_form() -> None:
    assert socket_resource("127.0.0.1", 5025) == "TCPIP::127.0.0.1::5025::SOCKET"
    assert parse_resource(socket_resource("127.0.0.1", 5025)).kind is ResourceKind.TCPIP_SOCKET


def test_socket_without_read_termination_is_refused_before_opening() -> None:
    with pytest.raises(ResourceStringError, match="read termination"):
        VisaTransport("TCPIP::127.0.0.1::5025::SOCKET", ConnectionSettings(read_termination=""))
