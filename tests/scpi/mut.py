"""Reading the meter under test in the lab tests.

``read_mut_energy`` is isolated on purpose: it reads :meth:`SimMeter.read_channels` directly
because the Modbus driver and server are being written on another branch. When they are merged,
this becomes a Modbus read of the same meter served by the Modbus simulator; nothing else in the lab
test changes.
"""

from __future__ import annotations

from collections.abc import Callable

from meterbench.instruments.sim.meter import SimMeter


def read_mut_energy(meter: SimMeter, time_fn: Callable[[], int]) -> float:
    """The meter's import register (kWh) at the time function's now."""
    return meter.read_channels(["energy.import"], time_fn())["energy.import"]
