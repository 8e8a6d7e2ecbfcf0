"""End to end against a simulated meter: the delivered quarter-hours are the true energies.

A :class:`SimMeter` on a load that changes every 20 minutes is read at every quarter-hour of the
25-hour autumn day; register differences are the interval energies (what the pipeline makes).
After building, writing as XML and JSON and parsing back, every position must hold the exact
energy of its UTC interval within the 3-decimal rounding (0.0005 kWh), and the day's sum must
match the true energy within n x 0.0005 kWh.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest

from meterbench.core.quality import Quality
from meterbench.datahub import (
    build_messages,
    from_json,
    from_xml,
    to_json,
    to_xml,
    validate_message,
)
from meterbench.datahub.build import Intervals, local_day_bounds
from meterbench.instruments.sim.circuit import Segment
from meterbench.instruments.sim.meter import SimMeter, true_energy

from .conftest import GSRN, QUARTER_MS, RECEIVER, SENDER, metering_point

STEP_MS = 20 * 60_000  # load changes off the quarter-hour grid, so intervals mix two loads


@dataclass(frozen=True)
class SteppedLoad:
    """Per-phase current cycling 0, 3, 6, ... 27 A every 20 minutes at 230 V, PF 0.9."""

    def _segment(self, start: int, end: int) -> Segment:
        amps = 3.0 * ((start // STEP_MS) % 10)
        return Segment(start, end, (230.0,) * 3, (amps, amps, amps), (25.84,) * 3)

    def at(self, t_ms: int) -> Segment:
        return self._segment(t_ms, t_ms + 1)

    def segments(self, start_ms: int, end_ms: int) -> Iterator[Segment]:
        t = start_ms
        while t < end_ms:
            boundary = min(end_ms, (t // STEP_MS + 1) * STEP_MS)
            yield self._segment(t, boundary)
            t = boundary


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_autumn_day_quarter_hours_recover_the_true_energy(fmt: str) -> None:
    day_start, day_end = local_day_bounds(date(2026, 10, 25))
    load = SteppedLoad()
    meter = SimMeter(circuit=load, start_ms=day_start)
    times = list(range(day_start, day_end + 1, QUARTER_MS))
    registers = [meter.read_channels(["energy.import"], t)["energy.import"] for t in times]
    starts = times[:-1]
    kwh = [b - a for a, b in zip(registers, registers[1:], strict=False)]
    intervals = Intervals("ev", "energy.import", "PT15M", starts, kwh,
                          [Quality.MEASURED] * len(kwh))

    (message,) = build_messages([intervals], [metering_point()], SENDER, RECEIVER, day_end)
    wire = to_json(message) if fmt == "json" else to_xml(message)
    parsed = from_json(wire) if fmt == "json" else from_xml(wire)

    period = parsed.series[0].period
    assert len(period.points) == 100
    assert validate_message(parsed, {GSRN: metering_point()}) == []
    for point in period.points:
        t = period.start_ms + (point.position - 1) * QUARTER_MS
        truth, _ = true_energy(load, t, t + QUARTER_MS)
        assert abs(float(point.quantity) - truth) <= 0.0005 + 1e-9, point.position
    delivered = sum(float(p.quantity) for p in period.points)
    truth_day, _ = true_energy(load, day_start, day_end)
    assert abs(delivered - truth_day) <= 100 * 0.0005
    assert truth_day > 100  # about 210 kWh: a real load, not zeros that pass any tolerance
