"""Shared pieces of the lab tests: a class B rating and simulated meters under test."""

from __future__ import annotations

from meterbench.accuracy.rating import MeterRating
from meterbench.clocks.lab_clock import LabClock
from meterbench.instruments.sim.lab import SimInstrument, power_source, reference_standard, slot
from meterbench.instruments.sim.meter import ErrorCurve
from meterbench.run.lab_devices import SimMut, start_sim_lab

T0_MS = 1_780_000_000_000
# A direct-connected class B three-phase meter: Iref = 10·Itr (EN 50470-1), Imin < Itr.
RATING_B = MeterRating(accuracy_class="B", i_min=0.25, i_tr=0.5, i_ref=5.0, i_max=20.0)  # Imax within the 6105A's 21 A
REFERENCE = reference_standard(error_pct=0.012, accuracy_pct=0.02)


def mut(id: str, curve: ErrorCurve, **kw) -> SimMut:
    kw.setdefault("import_kwh", 1234.5)
    return SimMut(id=id, model=kw.pop("model", "eastron_sdm630"), rating=kw.pop("rating", RATING_B),
                  error=curve, **kw)


def error_calculator(meter: str, reference_constant: float = 1e6) -> SimInstrument:
    """A simulated Keysight 53230A at ``meter``'s position."""
    return SimInstrument("keysight_53230a", {"reference_constant": reference_constant,
                                             "input_level_v": 2.5}, meter=meter)


def lab(*muts: SimMut, reference: SimInstrument = REFERENCE, pulses: bool = False,
        reference_constant: float = 1e6):
    """A simulated lab; ``pulses`` puts an error calculator at every meter's position."""
    instruments = {"source": power_source(), "reference": reference}
    if pulses:
        instruments.update({slot("error_calculator", m.id): error_calculator(m.id,
                                                                             reference_constant)
                            for m in muts})
    return start_sim_lab(list(muts), LabClock(T0_MS), instruments=instruments)
