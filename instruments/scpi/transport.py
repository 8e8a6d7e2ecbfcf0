"""Moving SCPI messages over PyVISA.

A :class:`Transport` sends and receives whole messages (strings without terminations). Drivers
only see this protocol, which is what lets the replay tests feed them exact bytes, while the
:class:`VisaTransport` is what runs against real and simulated instruments.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Protocol

import pyvisa
from pyvisa import constants, errors

from meterbench.instruments.scpi.errors import ResourceStringError, ScpiError
from meterbench.instruments.scpi.resource import ParsedResource, ResourceKind, parse_resource


class Transport(Protocol):
    resource: str
    timeout_ms: int

    def write(self, message: str) -> None: ...

    def read(self) -> str: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ConnectionSettings:
    """How to open a resource. ``backend`` is a PyVISA backend: ``"@py"`` (pyvisa-py),
    ``"path/devices.yaml@sim"`` (pyvisa-sim) or ``""`` (the installed VISA library)."""

    timeout_ms: int = 5000
    read_termination: str = "\n"
    write_termination: str = "\n"
    backend: str = "@py"
    baud_rate: int | None = None  # serial only; None keeps the VISA default (9600)


class TransportTimeout(ScpiError):
    """Raised by a transport when a read times out; the instrument layer adds the command."""


class VisaTransport:
    """A PyVISA message-based session with terminations and timeout applied."""

    def __init__(self, resource: str, settings: ConnectionSettings | None = None, *,
                 resource_manager: pyvisa.ResourceManager | None = None) -> None:
        self.settings = settings or ConnectionSettings()
        self.parsed: ParsedResource = parse_resource(resource)
        if self.parsed.kind.needs_termination and not self.settings.read_termination:
            raise ResourceStringError(
                f"{resource}: a {self.parsed.kind.value} resource needs a read termination "
                "(no end-of-message signal on this kind)")
        self.resource = resource
        self.timeout_ms = self.settings.timeout_ms
        self._owns_rm = resource_manager is None
        self._rm = resource_manager or pyvisa.ResourceManager(self.settings.backend)
        try:
            self._session = self._rm.open_resource(resource)
        except errors.VisaIOError as exc:
            if self._owns_rm:
                self._rm.close()
            raise ScpiError(f"{resource}: cannot open: {exc.description}") from exc
        self._session.timeout = self.settings.timeout_ms
        self._session.read_termination = self.settings.read_termination
        self._session.write_termination = self.settings.write_termination
        if self.settings.baud_rate is not None:
            self._session.baud_rate = self.settings.baud_rate
        if self.parsed.kind is ResourceKind.TCPIP_SOCKET:
            self._disable_nagle()

    def _disable_nagle(self) -> None:
        """Send each message at once. A command then the error query are two small writes; with
        Nagle's algorithm the second waits for the delayed ACK of the first (~40 ms each time)."""
        try:
            self._session.set_visa_attribute(constants.ResourceAttribute.tcpip_nodelay,
                                             constants.VI_TRUE)
            return
        except Exception:  # noqa: BLE001 - pyvisa-py 0.8 lists the attribute but has no setter
            pass
        sessions = getattr(self._session.visalib, "sessions", {})
        sock = getattr(sessions.get(self._session.session), "interface", None)
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def write(self, message: str) -> None:
        try:
            self._session.write(message)
        except errors.VisaIOError as exc:
            raise ScpiError(f"{self.resource}: write failed: {exc.description}") from exc
        except OSError as exc:  # pyvisa-py lets socket errors through (peer closed, reset)
            raise socket_failure(self.resource, exc) from exc

    def read(self) -> str:
        try:
            return self._session.read()
        except errors.VisaIOError as exc:
            if exc.error_code == constants.StatusCode.error_timeout:
                raise TransportTimeout(self.resource) from exc
            raise ScpiError(f"{self.resource}: read failed: {exc.description}") from exc
        except OSError as exc:
            raise socket_failure(self.resource, exc) from exc

    def close(self) -> None:
        try:
            self._session.close()
        finally:
            if self._owns_rm:
                self._rm.close()


def socket_failure(resource: str, exc: OSError) -> ScpiError:
    """A socket error as what happened: pyvisa-py connects on the first write, so a refused
    connection arrives there, and "connection lost" would say it had been connected."""
    if isinstance(exc, ConnectionRefusedError):
        return ScpiError(f"{resource}: connection refused (nothing accepts connections there: "
                         "check the address, the port and that the instrument is on)")
    return ScpiError(f"{resource}: connection lost: {exc}")
