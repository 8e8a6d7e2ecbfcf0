"""Maximum permissible errors of active-energy meters (MID classes A, B, C).

Source: the shared domain notes (metrology.md), which give MID 2014/32/EU Annex V (MI-003) MPEs for
a single-phase or balanced polyphase load, by current range and temperature band. The in-service
limit is 2 × the MPE at first verification (Denmark BEK 582/2018 §11, Germany MessEV §22, same
notes); other factors are presets, not constants (``IN_SERVICE_FACTOR``).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Temperature bands (°C) in the order of the MID table's columns.
TEMPERATURE_BANDS: tuple[str, ...] = ("+5..+30", "-10..+5|+30..+40", "-25..-10|+40..+55",
                                      "-40..-25|+55..+70")

#: MPE % per (current range, band index) and class, as given in metrology.md.
_MPE_PCT: dict[str, tuple[dict[str, float], ...]] = {
    "Imin..Itr": ({"A": 3.5, "B": 2.0, "C": 1.0}, {"A": 5.0, "B": 2.5, "C": 1.3},
                  {"A": 7.0, "B": 3.5, "C": 1.7}, {"A": 9.0, "B": 4.0, "C": 2.0}),
    "Itr..Imax": ({"A": 3.5, "B": 2.0, "C": 0.7}, {"A": 4.5, "B": 2.5, "C": 1.0},
                  {"A": 7.0, "B": 3.5, "C": 1.3}, {"A": 9.0, "B": 4.0, "C": 1.5}),
}

#: In-service tolerance as a multiple of the first-verification MPE, per country preset.
IN_SERVICE_FACTOR: dict[str, float] = {"DK": 2.0, "DE": 2.0}


@dataclass(frozen=True)
class Rating:
    """A meter's rated currents and class (direct-connected unless ``transformer``)."""

    accuracy_class: str
    i_ref: float
    i_max: float
    i_min: float | None = None
    i_tr: float | None = None
    transformer: bool = False

    @property
    def transition_current(self) -> float:
        # metrology.md: direct-connected Iref = 10·Itr; transformer-operated Iref = 20·Itr.
        return self.i_tr if self.i_tr is not None else self.i_ref / (20.0 if self.transformer else 10.0)


def mpe_pct(accuracy_class: str, *, below_itr: bool = False, band: int = 0) -> float:
    """MPE in percent for a class, current range and temperature band index (0 = +5…+30 °C)."""
    if accuracy_class not in ("A", "B", "C"):
        raise ValueError(f"unknown MID class {accuracy_class!r}")
    if not 0 <= band < len(TEMPERATURE_BANDS):
        raise ValueError(f"temperature band index {band} out of range")
    return _MPE_PCT["Imin..Itr" if below_itr else "Itr..Imax"][band][accuracy_class]


def in_service_limit_pct(accuracy_class: str, *, country: str = "DK", below_itr: bool = False,
                         band: int = 0) -> float:
    return IN_SERVICE_FACTOR[country] * mpe_pct(accuracy_class, below_itr=below_itr, band=band)
