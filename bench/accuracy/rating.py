"""A meter's rating (Ist, Imin, Itr, Iref, Imax, Un, f, class, connection), checked for consistency.

The rating decides which MPE applies at a test current (below or above Itr), which starting
current the meter must register at, and which currents the MID test points use. A rating that
contradicts itself (Iref ≠ 10·Itr on a direct-connected meter, Imin above Itr, ...) would make
every verdict built on it wrong, so it is refused with the field named rather than guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from meterbench.accuracy.limits import (
    IREF_PER_ITR,
    STARTING_CURRENT_FACTOR,
    in_service_limit_pct,
    mpe_pct,
    starting_current_a,
)
from meterbench.config.strict_toml import Table
from meterbench.core.errors import UserError

CONNECTIONS = ("direct", "transformer")
REGISTRATIONS = ("summation", "phase_by_phase")
#: Relative tolerance when checking Iref = k·Itr (ratings are written with a few digits).
_RATIO_REL_TOL = 1e-6


@dataclass(frozen=True)
class MeterRating:
    """Rated currents in A, voltage in V (phase to neutral), frequency in Hz."""

    accuracy_class: str
    i_min: float
    i_tr: float
    i_ref: float
    i_max: float
    u_n: float = 230.0
    f_n: float = 50.0
    connection: str = "direct"
    i_st: float | None = None
    #: Test output constant (impulses per kWh) if the meter has one: sets the creep limit.
    meter_constant_imp_per_kwh: float | None = None
    #: How a polyphase meter books opposite flows on different phases, as its datasheet declares:
    #: "summation" (nets the phases first) or "phase_by_phase"; checked by the summation test.
    registration: str | None = None

    @property
    def transformer(self) -> bool:
        return self.connection == "transformer"

    @property
    def starting_current(self) -> float:
        """Declared Ist, else the largest Ist the French arrêté of 1 August 2013 allows for the
        class and connection (MID classes only: :func:`rating_problems` asks others for Ist)."""
        if self.i_st is not None:
            return self.i_st
        return starting_current_a(self.accuracy_class, self.i_ref, transformer=self.transformer)

    @property
    def rated(self) -> dict[str, float]:
        """The rated currents by name, as limits tables and plans write them (Imin, Itr, ...)."""
        return {"Ist": self.starting_current, "Imin": self.i_min, "Itr": self.i_tr,
                "Iref": self.i_ref, "Imax": self.i_max}

    def mpe_pct(self, current_a: float, *, band: int = 0) -> float:
        """MID MPE at ``current_a`` (2014/32/EU Annex V Table 2); undefined below Imin."""
        if current_a < self.i_min * (1 - 1e-9):
            raise ValueError(f"{current_a} A is below Imin {self.i_min} A: no MPE is defined there")
        return mpe_pct(self.accuracy_class, below_itr=current_a < self.i_tr, band=band)

    def in_service_pct(self, current_a: float, *, country: str, band: int = 0) -> float:
        return in_service_limit_pct(self.accuracy_class, country=country,
                                    below_itr=current_a < self.i_tr, band=band)

    def as_dict(self) -> dict[str, object]:
        return dict(accuracy_class=self.accuracy_class, i_st=self.starting_current,
                    i_min=self.i_min, i_tr=self.i_tr, i_ref=self.i_ref, i_max=self.i_max,
                    u_n=self.u_n, f_n=self.f_n, connection=self.connection,
                    meter_constant_imp_per_kwh=self.meter_constant_imp_per_kwh,
                    registration=self.registration)


def rating_problems(r: MeterRating) -> list[tuple[str, str, str]]:
    """Every inconsistency as (field, what is wrong, what was expected); empty when consistent."""
    out: list[tuple[str, str, str]] = []
    for name in ("i_min", "i_tr", "i_ref", "i_max", "u_n", "f_n"):
        v = getattr(r, name)
        if not (math.isfinite(v) and v > 0):
            out.append((name, f"{v!r} is not a positive number", "a positive number"))
    if out:
        return out
    if r.connection not in CONNECTIONS:
        out.append(("connection", f"unknown connection {r.connection!r}", "direct or transformer"))
        return out
    k = IREF_PER_ITR[r.connection]
    if not math.isclose(r.i_ref, k * r.i_tr, rel_tol=_RATIO_REL_TOL):
        out.append(("i_ref", f"Iref {r.i_ref} A is not {k:g}·Itr = {k * r.i_tr:g} A",
                    f"Iref = {k:g}·Itr for a {r.connection}-connected meter "
                    "(EN 50470-1; MID Annex V Table 1)"))
    if not r.i_min < r.i_tr:
        out.append(("i_min", f"Imin {r.i_min} A is not below Itr {r.i_tr} A", "Imin < Itr"))
    if not r.i_tr < r.i_ref:
        out.append(("i_tr", f"Itr {r.i_tr} A is not below Iref {r.i_ref} A", "Itr < Iref"))
    if not r.i_ref <= r.i_max:
        out.append(("i_max", f"Imax {r.i_max} A is below Iref {r.i_ref} A", "Iref ≤ Imax"))
    factor = STARTING_CURRENT_FACTOR[r.connection].get(r.accuracy_class)
    if r.i_st is None:
        if factor is None:
            out.append(("i_st", f"class {r.accuracy_class!r} is not a MID class: its starting "
                        "current is not known here", "i_st, the starting current from the "
                        "meter's standard or datasheet"))
    elif not (math.isfinite(r.i_st) and 0 < r.i_st < r.i_min):
        out.append(("i_st", f"Ist {r.i_st} A is not between 0 and Imin {r.i_min} A",
                    "0 < Ist < Imin"))
    elif factor is not None and r.i_st > factor * r.i_ref * (1 + _RATIO_REL_TOL):
        out.append(("i_st", f"Ist {r.i_st} A is above {factor * r.i_ref:g} A",
                    f"at most {factor:g}·Iref for class {r.accuracy_class} {r.connection} "
                    "(French arrêté of 1 Aug 2013)"))
    if r.meter_constant_imp_per_kwh is not None and not r.meter_constant_imp_per_kwh > 0:
        out.append(("meter_constant", "must be positive", "impulses per kWh > 0"))
    return out


def check_rating(r: MeterRating, *, source: str | None = None, where: str = "rating") -> MeterRating:
    """``r`` if consistent, else a :class:`UserError` naming the first inconsistent field."""
    problems = rating_problems(r)
    if problems:
        fld, message, expected = problems[0]
        raise UserError(message, source=source, field=f"{where}.{fld}", expected=expected)
    return r


def parse_rating(tab: Table, accuracy_class: str) -> MeterRating:
    """The ``rating`` table of a ``[[meter]]`` (class comes from the meter's ``class``)."""
    rating = MeterRating(
        accuracy_class=accuracy_class,
        i_min=tab.get("i_min", float),
        i_tr=tab.get("i_tr", float),
        i_ref=tab.get("i_ref", float),
        i_max=tab.get("i_max", float),
        u_n=tab.get("u_n", float, 230.0),
        f_n=tab.get("f_n", float, 50.0),
        connection=tab.get("connection", str, "direct", choices=CONNECTIONS),
        i_st=tab.get("i_st", float, None),
        meter_constant_imp_per_kwh=tab.get("meter_constant", float, None),
        registration=tab.get("registration", str, None, choices=REGISTRATIONS),
    )
    tab.finish()
    return check_rating(rating, source=tab.source, where=tab.path)
