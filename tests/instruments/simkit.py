"""Shared pieces of the instruments tests (imported as ``simkit``): a virtual clock, a meter with distinct per-phase values
(so a swapped address shows), and the tolerance a register encoding allows."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine
from typing import Any

from meterbench.instruments.registers import available_models, load_register_map
from meterbench.instruments.regmap import Channel
from meterbench.instruments.sim.constant import ConstantCircuit
from meterbench.instruments.sim.meter import SimMeter

T0 = 1_780_000_000_000  # 2026-05-28T20:26:40Z, an arbitrary epoch-ms start
MODELS = available_models()


class VirtualClock:
    """A time function the test moves by hand."""

    def __init__(self, now_ms: int = T0) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        self.now_ms += ms


def distinct_meter(start_ms: int = T0) -> SimMeter:
    """Every phase different, one phase exporting, phase-by-phase registration: import, export,
    each voltage, current and power have their own value."""
    circuit = ConstantCircuit(voltage_v=(229.1, 230.2, 231.3), current_a=(5.1, 7.2, 9.3),
                              phi_deg=(10.0, 20.0, 170.0), frequency_hz=49.97)
    return SimMeter(circuit, start_ms=start_ms, summation=False, import_kwh=12345.67,
                    export_kwh=321.5)


def tolerance(channel: Channel, truth: float) -> float:
    """The largest difference the model's encoding can cause (float32: half an ulp, relative
    2**-24; scaled integer: half a step) plus a hair for float64 arithmetic."""
    if channel.dtype.name == "float32":
        return abs(truth) * 2.0 ** -24 * 1.0001 + 1e-12
    if channel.dtype.is_float:
        return abs(truth) * 2.0 ** -53 * 2 + 1e-12
    return channel.resolution / 2 * 1.0001 + 1e-9


def assert_recovers(regmap_name: str, values: dict[str, float | None], truth: dict[str, float]
                    ) -> None:
    regmap = load_register_map(regmap_name)
    assert set(values) == set(regmap.channels)
    for name, value in values.items():
        ch = regmap.channels[name]
        assert value is not None, f"{regmap_name} {name} unexpectedly flagged"
        assert math.isfinite(value)
        assert abs(value - truth[name]) <= tolerance(ch, truth[name]), (
            f"{regmap_name} {name}: read {value!r}, truth {truth[name]!r}")


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)
