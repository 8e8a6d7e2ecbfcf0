"""Reading the meter under test's energy registers over Modbus from synchronous lab code.

The lab instruments (PyVISA) are synchronous and the Modbus driver is asyncio; a
:class:`RegisterReader` owns one event loop in the calling thread and runs each read to
completion on it, so a point's gate sequence stays a plain, ordered script. The register step
(resolution) follows from the model's encoding: ``scale`` for integer registers, the float spacing
at the current value for float registers (a float32 register has a step of 1.2e-4 kWh near
1,234 kWh; :meth:`meterbench.instruments.regmap.Channel.step_at`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from meterbench.instruments.modbus import ModbusMeter
from meterbench.instruments.registers import load_register_map
from meterbench.instruments.regmap import Channel

ENERGY = ("energy.import", "energy.export")


def register_step_kwh(channel: Channel, value_kwh: float) -> float:
    """The smallest change the register can show near ``value_kwh``."""
    return channel.step_at(value_kwh)


def reading_step_kwh(model: str, values_kwh: np.ndarray, channel: str = "energy.import") -> float:
    """The register's step at the largest of a meter's readings: the register value at the end of
    the intervals a run compares, where a float register is coarsest. From the model's register
    map (data type and scale): the scale for integer registers (0.01 kWh on an ABB B23), the
    float32 spacing for float registers (Eastron). 0 readings: the step at 0."""
    finite = np.abs(np.asarray(values_kwh, dtype=np.float64))
    finite = finite[np.isfinite(finite)]
    top = float(finite.max()) if finite.size else 0.0
    return register_step_kwh(load_register_map(model).channel(channel), top)


@dataclass(frozen=True)
class RegisterRead:
    values: dict[str, float]
    request_ms: int
    response_ms: int


class RegisterReadError(RuntimeError):
    """A register read returned no usable number (flagged not available, NaN, ...)."""


class RegisterReader:
    """Synchronous reads of a :class:`ModbusMeter`'s energy registers."""

    def __init__(self, driver: ModbusMeter, channels: Sequence[str] = ENERGY) -> None:
        self.driver = driver
        self.channels = tuple(c for c in channels if c in driver.regmap.channels)
        if "energy.import" not in self.channels:
            raise ValueError(f"model {driver.regmap.model} has no energy.import register")
        self._loop = asyncio.new_event_loop()

    def read(self) -> RegisterRead:
        reading = self._loop.run_until_complete(self.driver.read(self.channels))
        bad = {c: reading.flags.get(c, "no value") for c in self.channels
               if reading.values.get(c) is None}
        if bad:
            raise RegisterReadError(f"unusable register values: {bad}")
        return RegisterRead({c: float(reading.values[c]) for c in self.channels},  # type: ignore[arg-type]
                            reading.request_ms, reading.response_ms)

    def step_kwh(self, channel: str, value_kwh: float) -> float:
        return register_step_kwh(self.driver.regmap.channels[channel], value_kwh)

    def close(self) -> None:
        """Close the driver's connection and the loop; a second call does nothing."""
        if self._loop.is_closed():
            return
        try:
            self._loop.run_until_complete(self.driver.close())
        finally:
            self._loop.close()

    def __enter__(self) -> RegisterReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
