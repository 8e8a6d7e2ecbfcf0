"""A simulated meter under test that can creep: it registers energy with voltage and no load.

No-load (creep) testing needs a meter that fails it. :class:`CreepingSimMeter` is a
:class:`~meterbench.instruments.sim.meter.SimMeter` that adds ``creep_w`` watts per phase as import whenever a
phase has voltage but its current is zero or below the meter's starting current (the state in
which a good meter must stand still). With ``creep_w = 0`` it is exactly a SimMeter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meterbench.instruments.sim.circuit import Segment
from meterbench.instruments.sim.meter import SimMeter, _phase_errors, _split_import_export


@dataclass
class CreepingSimMeter(SimMeter):
    creep_w: float = 0.0

    def _idle(self, voltage_v: tuple[float, ...], current_a: tuple[float, ...]) -> np.ndarray:
        u = np.asarray(voltage_v)
        i = np.asarray(current_a)
        return (u > 0) & ((i == 0) | (i < self.starting_current_a))

    def registered_power_w(self, seg: Segment) -> tuple[float, float]:
        if self.creep_w == 0:
            return super().registered_power_w(seg)
        factors = _phase_errors(self.error, seg, self.starting_current_a)
        power = seg.power_w * factors + np.where(
            self._idle(seg.voltage_v, seg.current_a), self.creep_w, 0.0)
        return _split_import_export(power, self.summation)
