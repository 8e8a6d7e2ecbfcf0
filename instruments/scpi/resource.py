"""VISA resource strings: which kind an address is, and what that kind needs to work.

PyVISA parses every kind (``pyvisa.rname``); what differs is what the *session* needs:

* ``TCPIP::host::port::SOCKET`` (raw socket, e.g. port 5025) and ``ASRL`` (serial) have no
  end-of-message signal, so a read only ends at the read termination character. Without one set,
  every query waits for the timeout (PyVISA documentation on termination characters).
* ``TCPIP::host::inst0::INSTR`` (VXI-11), ``TCPIP::host::hislip0::INSTR`` (HiSLIP),
  ``GPIB0::addr::INSTR`` and ``USB0::vid::pid::serial::INSTR`` (USBTMC) carry END with the
  message; a termination character is harmless there and keeps one code path.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from pyvisa import rname

from meterbench.instruments.scpi.errors import ResourceStringError


class ResourceKind(Enum):
    TCPIP_SOCKET = "TCPIP SOCKET"
    TCPIP_INSTR = "TCPIP INSTR"  # VXI-11 or HiSLIP
    ASRL = "ASRL INSTR"
    GPIB = "GPIB INSTR"
    USB = "USB INSTR"

    @property
    def needs_termination(self) -> bool:
        """True where a read can only end on a termination character (no END signal)."""
        return self in (ResourceKind.TCPIP_SOCKET, ResourceKind.ASRL)


_KINDS = {(k.value.split()[0], k.value.split()[1]): k for k in ResourceKind}


@dataclass(frozen=True)
class ParsedResource:
    text: str
    canonical: str
    kind: ResourceKind


def parse_resource(text: str) -> ParsedResource:
    """Parse ``text`` with PyVISA's own grammar; raise :class:`ResourceStringError` if unusable."""
    try:
        parsed = rname.parse_resource_name(text.strip())
    except rname.InvalidResourceName as exc:
        raise ResourceStringError(
            f"not a VISA resource string: {text!r} ({exc}); expected e.g. "
            "TCPIP::192.168.0.10::5025::SOCKET, TCPIP::host::inst0::INSTR, ASRL/dev/ttyUSB0::INSTR, "
            "GPIB0::17::INSTR or USB0::0x0B21::0x0025::SERIAL::INSTR") from None
    kind = _KINDS.get((parsed.interface_type, parsed.resource_class))
    if kind is None:
        raise ResourceStringError(
            f"{text!r} is a {parsed.interface_type} {parsed.resource_class} resource; "
            f"SCPI drivers use one of: {', '.join(k.value for k in ResourceKind)}")
    return ParsedResource(text=text, canonical=str(parsed), kind=kind)


def socket_resource(host: str, port: int) -> str:
    """The resource string of a raw SCPI socket (how the simulated lab is reached)."""
    return f"TCPIP::{host}::{int(port)}::SOCKET"
