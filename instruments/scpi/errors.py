"""Typed errors of the SCPI layer (``instruments`` never raises the bench's ``UserError``).

The bench wraps these where they reach the user. :class:`InstrumentError` carries the instrument's
own error code and message, exactly as its error queue reported them, plus the command that was
being executed, so a rejected command can be diagnosed without a bus analyser.
"""

from __future__ import annotations

from dataclasses import dataclass


class ScpiError(Exception):
    """Base of every error raised by :mod:`meterbench.instruments.scpi`."""


@dataclass(frozen=True)
class QueuedError:
    """One entry of an instrument's error queue: ``-222,"Data out of range"``."""

    code: int
    message: str

    def __str__(self) -> str:
        return f'{self.code},"{self.message}"'


class InstrumentError(ScpiError):
    """The instrument rejected a command: its error queue was not empty after it.

    ``errors`` holds every queued entry in the order the instrument reported them; ``code`` and
    ``instrument_message`` are those of the first one (the one the command caused).
    """

    def __init__(self, errors: list[QueuedError], *, command: str, resource: str) -> None:
        if not errors:
            raise ValueError("InstrumentError needs at least one queued error")
        self.errors = list(errors)
        self.code = errors[0].code
        self.instrument_message = errors[0].message
        self.command = command
        self.resource = resource
        listed = "; ".join(str(e) for e in errors)
        super().__init__(f"{resource}: instrument rejected {command!r}: {listed}")


class ScpiTimeout(ScpiError):
    """No answer within the timeout (wrong terminations, wrong address, or a rejected query)."""

    def __init__(self, *, command: str, resource: str, timeout_ms: int) -> None:
        self.command = command
        self.resource = resource
        self.timeout_ms = timeout_ms
        super().__init__(f"{resource}: no answer to {command!r} within {timeout_ms} ms "
                         "(check address and read/write terminations)")


class SettingRangeError(ScpiError, ValueError):
    """A value outside a setting's declared range, refused before anything is sent."""

    def __init__(self, setting: str, parameter: str, value: object, expected: str) -> None:
        self.setting = setting
        self.parameter = parameter
        self.value = value
        self.expected = expected
        super().__init__(f"{setting}: {parameter}={value!r} is outside {expected}")


class ResourceStringError(ScpiError, ValueError):
    """A VISA resource string PyVISA cannot parse, or one of a kind a driver cannot use."""


class ResponseError(ScpiError, ValueError):
    """The instrument answered something the driver cannot parse."""

    def __init__(self, *, command: str, response: str, expected: str) -> None:
        self.command = command
        self.response = response
        super().__init__(f"answer {response!r} to {command!r} is not {expected}")
