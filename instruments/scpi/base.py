"""The SCPI instrument base: IEEE 488.2 common commands and the error queue.

Every write is followed by a read of the instrument's error queue (``SYST:ERR?`` by default; a
driver names its own, e.g. Yokogawa's ``:STATus:ERRor?``) until it answers code 0, and anything
queued is raised as :class:`InstrumentError` carrying the instrument's own code and message.
Reading the queue after each command also makes each write synchronous: the instrument has
processed the command once the error query is answered, so a caller's next step (e.g. starting a
gate) happens after the setting took effect.

A query the instrument rejects gets no answer; on a timeout the queue is read too, so the caller
sees the instrument's reason rather than a bare timeout.

The IEEE 488.2 common commands are methods here (IEEE Std 488.2-1992 §10): identity, reset, clear
status, the Standard Event Status Register and its enable mask, the Status Byte and the Service
Request Enable mask, self-test, and operation complete. A short operation (a setting, a reset) is
synchronised with ``*OPC?`` (:meth:`wait_complete`); a long one (a gate of minutes) with ``*OPC``
and polling ``*ESR?`` between the caller's own waits (:meth:`arm_operation_complete`,
:meth:`operation_complete`), so a virtual clock can advance while the instrument works.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Self

from meterbench.instruments.scpi.errors import (
    InstrumentError,
    QueuedError,
    ResponseError,
    ScpiError,
    ScpiTimeout,
)
from meterbench.instruments.scpi.transport import (
    ConnectionSettings,
    Transport,
    TransportTimeout,
    VisaTransport,
)

_ERROR_ENTRY = re.compile(r'^\s*([+-]?\d+)\s*,\s*"?(.*?)"?\s*$')


#: IEEE 488.2 §11.5.1.1: Standard Event Status Register bits.
ESR_OPC, ESR_QYE, ESR_DDE, ESR_EXE, ESR_CME, ESR_PON = 1, 4, 8, 16, 32, 128
#: IEEE 488.2 §11.2 Status Byte bits (EAV: SCPI-99 Vol. 1 error/event queue summary).
STB_EAV, STB_MAV, STB_ESB, STB_MSS = 4, 16, 32, 64


def parse_error_entry(text: str) -> QueuedError:
    """``-222,"Data out of range"`` -> ``QueuedError(-222, "Data out of range")``."""
    m = _ERROR_ENTRY.match(text)
    if not m:
        raise ValueError(f"not an error queue entry: {text!r}")
    return QueuedError(int(m.group(1)), m.group(2))


@dataclass(frozen=True)
class Identity:
    """The four fields of an IEEE 488.2 ``*IDN?`` answer."""

    manufacturer: str
    model: str
    serial: str
    firmware: str

    @classmethod
    def parse(cls, text: str) -> Identity:
        fields = [f.strip() for f in text.split(",")]
        if len(fields) != 4:
            raise ResponseError(command="*IDN?", response=text,
                                expected="four comma-separated fields (IEEE 488.2 §10.14)")
        return cls(*fields)


class ScpiInstrument:
    """An instrument spoken to in SCPI over any :class:`Transport`."""

    #: The query that pops one entry off the error queue.
    ERROR_QUERY = "SYST:ERR?"
    #: Stop draining after this many entries (a queue that never empties is a fault of its own).
    MAX_QUEUED_ERRORS = 64
    #: Default terminations/timeout for :meth:`open`; a driver overrides what its manual says.
    CONNECTION = ConnectionSettings()

    def __init__(self, transport: Transport, *, check_errors: bool = True) -> None:
        self.transport = transport
        self.check_errors = check_errors

    @classmethod
    def open(cls, resource: str, settings: ConnectionSettings | None = None, **kwargs: object
             ) -> Self:
        """Open ``resource`` (any VISA resource string) with this driver's connection defaults."""
        return cls(VisaTransport(resource, settings or cls.CONNECTION), **kwargs)  # type: ignore[arg-type]

    @property
    def resource(self) -> str:
        return self.transport.resource

    @property
    def placeholders(self) -> dict[str, object]:
        return {}

    # -- messages -------------------------------------------------------------------------------
    def write(self, command: str) -> None:
        """Send ``command``; with ``check_errors``, raise what the instrument queued for it."""
        self.transport.write(command)
        if self.check_errors:
            self.raise_queued_errors(command)

    def query(self, command: str) -> str:
        """Send ``command`` and return the answer (without termination)."""
        self.transport.write(command)
        try:
            return self.transport.read().strip()
        except TransportTimeout:
            queued = self.read_error_queue()
            if queued:
                raise InstrumentError(queued, command=command, resource=self.resource) from None
            raise ScpiTimeout(command=command, resource=self.resource,
                              timeout_ms=self.transport.timeout_ms) from None

    def read_error_queue(self) -> list[QueuedError]:
        """Pop every queued error (oldest first) until the instrument answers code 0."""
        found: list[QueuedError] = []
        for _ in range(self.MAX_QUEUED_ERRORS):
            self.transport.write(self.ERROR_QUERY)
            try:
                reply = self.transport.read()
            except TransportTimeout:
                raise ScpiTimeout(command=self.ERROR_QUERY, resource=self.resource,
                                  timeout_ms=self.transport.timeout_ms) from None
            try:
                entry = parse_error_entry(reply)
            except ValueError:
                raise ResponseError(command=self.ERROR_QUERY, response=reply,
                                    expected='an error entry like 0,"No error"') from None
            if entry.code == 0:
                return found
            found.append(entry)
        raise ScpiError(f"{self.resource}: error queue not empty after "
                        f"{self.MAX_QUEUED_ERRORS} reads")

    def raise_queued_errors(self, command: str) -> None:
        queued = self.read_error_queue()
        if queued:
            raise InstrumentError(queued, command=command, resource=self.resource)

    # -- IEEE 488.2 common commands --------------------------------------------------------------
    def identify(self) -> Identity:
        """``*IDN?``: manufacturer, model, serial number, firmware."""
        return Identity.parse(self.query("*IDN?"))

    def reset(self) -> None:
        """``*RST`` then ``*OPC?``: the instrument's reset state, and wait until it is reached."""
        self.write("*RST")
        self.wait_complete()

    def clear_status(self) -> None:
        """``*CLS``: clear the status registers and the error queue."""
        self.transport.write("*CLS")

    def wait_complete(self) -> None:
        """``*OPC?``: block until every pending operation is complete (answer ``1``)."""
        reply = self.query("*OPC?")
        if reply.strip() != "1":
            raise ResponseError(command="*OPC?", response=reply, expected="1")

    def _register(self, command: str) -> int:
        reply = self.query(command)
        try:
            value = int(float(reply))
        except ValueError:
            raise ResponseError(command=command, response=reply,
                                expected="an NR1 register value 0..255") from None
        if not 0 <= value <= 255:
            raise ResponseError(command=command, response=reply, expected="a value 0..255")
        return value

    def event_status(self) -> int:
        """``*ESR?``: the Standard Event Status Register (reading clears it)."""
        return self._register("*ESR?")

    def status_byte(self) -> int:
        """``*STB?``: the Status Byte with its summary bit (reading does not clear it)."""
        return self._register("*STB?")

    def set_event_status_enable(self, mask: int) -> None:
        """``*ESE``: which ESR bits set the Status Byte's ESB bit."""
        self.write(f"*ESE {int(mask)}")

    def event_status_enable(self) -> int:
        return self._register("*ESE?")

    def set_service_request_enable(self, mask: int) -> None:
        """``*SRE``: which Status Byte bits request service."""
        self.write(f"*SRE {int(mask)}")

    def service_request_enable(self) -> int:
        return self._register("*SRE?")

    def self_test(self) -> int:
        """``*TST?``: 0 when the self-test passed, else the instrument's failure code."""
        reply = self.query("*TST?")
        try:
            return int(float(reply))
        except ValueError:
            raise ResponseError(command="*TST?", response=reply, expected="an NR1 result") from None

    def arm_operation_complete(self) -> None:
        """``*OPC``: the instrument sets ESR bit 0 once its pending operations are complete."""
        self.write("*OPC")

    def operation_complete(self) -> bool:
        """Whether the operation armed by :meth:`arm_operation_complete` has completed (reads, and
        so clears, the ESR)."""
        return bool(self.event_status() & ESR_OPC)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
