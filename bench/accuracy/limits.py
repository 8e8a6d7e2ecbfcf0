"""Maximum permissible errors of active-energy meters (MID classes A, B, C) and test constants.

The MPE table is data with its sources (:mod:`meterbench.accuracy.limit_table`, built in from
``mid_limits.toml``): Directive 2014/32/EU (MID) Annex V (MI-003), point 3, Table 2, by load
(single-phase or balanced polyphase load; polyphase meter with a single-phase load), current
range and temperature band. The in-service limit is a multiple of the MPE at first verification
per country (Denmark: BEK nr. 582 of 28 May 2018 §11; Germany: MessEV §22): presets in the same
file, not constants (``IN_SERVICE_FACTOR``). This module keeps the balanced-load view the field
checks and the sampling code use; the lab looks points up in the table itself.
"""

from __future__ import annotations

from functools import lru_cache

from meterbench.accuracy.limit_table import LimitTable, builtin_mid_table


@lru_cache(maxsize=1)
def mid_table() -> LimitTable:
    """Directive 2014/32/EU Annex V Table 2 (the one MPE table)."""
    return builtin_mid_table()


#: Temperature bands (°C) in the order of the MID table's columns.
TEMPERATURE_BANDS: tuple[str, ...] = tuple(b.name for b in mid_table().bands)

#: In-service tolerance as a multiple of the first-verification MPE, per country preset
#: (Denmark BEK 582/2018 §11, Germany MessEV §22; sources in the table file).
IN_SERVICE_FACTOR: dict[str, float] = {c: s.factor for c, s in mid_table().in_service.items()}

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


#: Rated currents of a meter whose Itr is 1 A: the balanced rows' ranges depend only on I vs Itr.
_UNIT_RATING = {"Ist": 0.0, "Imin": 0.0, "Itr": 1.0, "Iref": 10.0, "Imax": 1e12}


def mpe_pct(accuracy_class: str, *, below_itr: bool = False, band: int = 0) -> float:
    """MPE in percent for a class, current range and temperature band index (0 = +5…+30 °C),
    balanced load (Directive 2014/32/EU Annex V Table 2)."""
    if accuracy_class not in ("A", "B", "C"):
        raise ValueError(f"unknown MID class {accuracy_class!r}")
    if not 0 <= band < len(TEMPERATURE_BANDS):
        raise ValueError(f"temperature band index {band} out of range")
    current = 0.5 if below_itr else 1.0
    return mid_table().mpe(accuracy_class, current, _UNIT_RATING, band=band).pct


def in_service_limit_pct(accuracy_class: str, *, country: str = "DK", below_itr: bool = False,
                         band: int = 0) -> float:
    return IN_SERVICE_FACTOR[country] * mpe_pct(accuracy_class, below_itr=below_itr, band=band)


def temperature_band(temperature_c: float) -> int:
    """Index of the MID temperature band (0 = +5…+30 °C) that contains ``temperature_c``."""
    try:
        return mid_table().band_index(temperature_c)
    except ValueError:
        raise ValueError(f"{temperature_c} °C is outside the MID table (-40…+70 °C)") from None


def starting_current_a(accuracy_class: str, i_ref: float, *, transformer: bool = False) -> float:
    """The starting current the meter must register at (fraction of Iref, French arrêté 2013)."""
    return STARTING_CURRENT_FACTOR["transformer" if transformer else "direct"][accuracy_class] * i_ref
