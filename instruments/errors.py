"""Typed errors of the instruments layer.

``instruments`` never imports ``bench``: the bench catches :class:`RegisterMapError` (bad user
input: a broken register map or fault description) and wraps it into its ``UserError``. The
``ModbusError`` family is what a read can fail with; callers decide per type whether to mark a
poll missing, retry later or stop.
"""

from __future__ import annotations


class InstrumentsError(Exception):
    """Base class of every error raised by ``instruments``."""


class ConfigError(InstrumentsError):
    """A user-supplied description (register map, fault, endpoint spec) is wrong.

    Carries the same three facts as the bench's ``UserError`` so it can be wrapped 1:1.
    """

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None,
                 expected: str | None = None) -> None:
        self.message = message
        self.source = source
        self.field = field
        self.expected = expected
        super().__init__(self.format())

    def format(self) -> str:
        where = ": ".join(str(p) for p in (self.source, self.field) if p)
        text = f"{where}: {self.message}" if where else self.message
        if self.expected:
            text += f" (expected {self.expected})"
        return text


class RegisterMapError(ConfigError):
    """A register map file is missing, unreadable or has a wrong field."""


class FaultSpecError(ConfigError):
    """A fault description (plain data from a bench file) is wrong."""


class CodecError(InstrumentsError, ValueError):
    """A value cannot be encoded in (or decoded from) a register type."""


class ModbusError(InstrumentsError):
    """A Modbus transaction failed; subclasses say how."""

    def __init__(self, message: str, *, unit_id: int | None = None, address: int | None = None,
                 function: int | None = None) -> None:
        self.unit_id = unit_id
        self.address = address
        self.function = function
        super().__init__(message)


class ModbusTimeoutError(ModbusError):
    """No (valid) answer within the timeout, after all retries."""


class ModbusConnectionError(ModbusError):
    """The connection could not be opened or was lost and could not be re-opened."""


class ModbusFrameError(ModbusError):
    """An answer arrived but was corrupted (bad CRC on RTU, malformed MBAP/PDU)."""


#: Exception codes and their names, Modbus Application Protocol Specification V1.1b3, section 7.
EXCEPTION_NAMES: dict[int, str] = {
    0x01: "ILLEGAL_FUNCTION",
    0x02: "ILLEGAL_DATA_ADDRESS",
    0x03: "ILLEGAL_DATA_VALUE",
    0x04: "SLAVE_DEVICE_FAILURE",
    0x05: "ACKNOWLEDGE",
    0x06: "SLAVE_DEVICE_BUSY",
    0x08: "MEMORY_PARITY_ERROR",
    0x0A: "GATEWAY_PATH_UNAVAILABLE",
    0x0B: "GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND",
}


class ModbusExceptionError(ModbusError):
    """The device answered with a Modbus exception response."""

    def __init__(self, code: int, *, unit_id: int | None = None, address: int | None = None,
                 function: int | None = None) -> None:
        self.code = code
        self.name = EXCEPTION_NAMES.get(code, f"EXCEPTION_{code:#04x}")
        super().__init__(f"unit {unit_id}: Modbus exception {code} {self.name} "
                         f"(function {function}, address {address})",
                         unit_id=unit_id, address=address, function=function)
