"""What a simulated meter is connected to.

A :class:`Circuit` tells a meter the per-phase voltage, current and phase angle over time as
piecewise-constant :class:`Segment` s. Piecewise-constant is what makes the ground truth exact:
true energy is a finite sum, and a meter's error (which depends on current and power factor) applies
segment by segment. Household loads (``meterbench.instruments.sim.world``) and a lab power source
(``meterbench.instruments.sim`` SCPI source) are both circuits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Segment:
    """Constant conditions from ``start_ms`` to ``end_ms`` (exclusive), per phase L1..L3.

    ``phi_deg`` is the angle by which current lags voltage: 0 = PF 1, +60 = PF 0.5 inductive,
    -36.87 = PF 0.8 capacitive. Active power per phase is ``u·i·cos(phi)``; a negative power
    (|phi| > 90°) is export.
    """

    start_ms: int
    end_ms: int
    voltage_v: tuple[float, float, float]
    current_a: tuple[float, float, float]
    phi_deg: tuple[float, float, float]
    frequency_hz: float = 50.0

    @property
    def power_w(self) -> np.ndarray:
        return (np.asarray(self.voltage_v) * np.asarray(self.current_a)
                * np.cos(np.radians(self.phi_deg)))


class Circuit(Protocol):
    def segments(self, start_ms: int, end_ms: int) -> Iterator[Segment]:
        """Segments covering ``[start_ms, end_ms)`` exactly, clipped to that span, in order."""
        ...

    def at(self, t_ms: int) -> Segment:
        """The conditions in force at ``t_ms``."""
        ...
