"""Maximum permissible errors of active-energy meters (MID classes A, B, C).

Source: Directive 2014/32/EU (MID) Annex V (MI-003), point 3, Table 2 (MPEs for a single-phase or
balanced polyphase load, by current range and temperature band). The in-service limit is 2 × the
MPE at first verification (Denmark: BEK nr. 582 of 28 May 2018 §11; Germany: MessEV §22); other
factors are presets, not constants (``IN_SERVICE_FACTOR``).
"""

from __future__ import annotations

#: Temperature bands (°C) in the order of the MID table's columns.
TEMPERATURE_BANDS: tuple[str, ...] = ("+5..+30", "-10..+5|+30..+40", "-25..-10|+40..+55",
                                      "-40..-25|+55..+70")

#: MPE % per (current range, band index) and class: Directive 2014/32/EU Annex V (MI-003) point 3 Table 2.
_MPE_PCT: dict[str, tuple[dict[str, float], ...]] = {
    "Imin..Itr": ({"A": 3.5, "B": 2.0, "C": 1.0}, {"A": 5.0, "B": 2.5, "C": 1.3},
                  {"A": 7.0, "B": 3.5, "C": 1.7}, {"A": 9.0, "B": 4.0, "C": 2.0}),
    "Itr..Imax": ({"A": 3.5, "B": 2.0, "C": 0.7}, {"A": 4.5, "B": 2.5, "C": 1.0},
                  {"A": 7.0, "B": 3.5, "C": 1.3}, {"A": 9.0, "B": 4.0, "C": 1.5}),
}

#: In-service tolerance as a multiple of the first-verification MPE, per country preset
#: (Denmark BEK 582/2018 §11, Germany MessEV §22).
IN_SERVICE_FACTOR: dict[str, float] = {"DK": 2.0, "DE": 2.0}

#: Upper edges (°C) of the bands after the reference band, and the band's outer limits, as in the
#: column headers of MID Annex V Table 2. A temperature belongs to the first band containing it.
_BAND_RANGES: tuple[tuple[tuple[float, float], ...], ...] = (
    ((5.0, 30.0),),
    ((-10.0, 5.0), (30.0, 40.0)),
    ((-25.0, -10.0), (40.0, 55.0)),
    ((-40.0, -25.0), (55.0, 70.0)),
)

#: Starting current as a fraction of Iref (initial-verification practice, French arrêté of
#: 1 August 2013 on active-energy meters; the declared Ist is bounded by MID Annex V Table 1),
#: per connection and class.
STARTING_CURRENT_FACTOR: dict[str, dict[str, float]] = {
    "direct": {"A": 0.005, "B": 0.004, "C": 0.004},
    "transformer": {"A": 0.003, "B": 0.002, "C": 0.001},
}

#: No-load (creep) test voltage as a multiple of Un; at most one pulse equivalent may register
#: (no-load test of IEC 62053-21 / EN 50470-3; clause not confirmed here).
CREEP_VOLTAGE_FACTOR = 1.15
CREEP_MAX_PULSES = 1

#: Iref / Itr: direct-connected Iref = 10·Itr (EN 50470-1's Iref); transformer-operated
#: In = 20·Itr (MID Annex V Table 1).
IREF_PER_ITR: dict[str, float] = {"direct": 10.0, "transformer": 20.0}

#: The test's expanded uncertainty should be at most this fraction of the MPE (French arrêté of
#: 1 August 2013 on active-energy meters: uncertainties at most a third of the MPE).
UNCERTAINTY_FRACTION_OF_MPE = 1.0 / 3.0


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


def temperature_band(temperature_c: float) -> int:
    """Index of the MID temperature band (0 = +5…+30 °C) that contains ``temperature_c``."""
    for index, ranges in enumerate(_BAND_RANGES):
        if any(lo <= temperature_c <= hi for lo, hi in ranges):
            return index
    raise ValueError(f"{temperature_c} °C is outside the MID table (-40…+70 °C)")


def starting_current_a(accuracy_class: str, i_ref: float, *, transformer: bool = False) -> float:
    """The starting current the meter must register at (fraction of Iref, French arrêté 2013)."""
    return STARTING_CURRENT_FACTOR["transformer" if transformer else "direct"][accuracy_class] * i_ref
