"""Numbers as a report prints them: fixed decimals per quantity, never scientific notation.

A lab engineer compares numbers down a column, so a quantity always gets the same number of
decimals (set by its unit), and a value is never printed as ``6.104e-05``. The unit's first word
picks the precision, so ``kWh over bound`` is printed like ``kWh``; a unit that counts things
(``intervals``, ``readings``, ``days left``) gets no decimals.
"""

from __future__ import annotations

import math
from typing import Any

#: Decimals per physical unit. kWh: 6 (the series files' resolution; register steps of a float32
#: register are about 1e-4 kWh at a few hundred kWh); %: 3 (a reference standard's accuracy is a
#: few hundredths of a percent); s: 3 (clock offsets in ms).
UNIT_DECIMALS = {"%": 3, "kWh": 6, "Wh": 3, "kW": 3, "W": 1, "s": 3, "ms": 1, "ppm": 2, "A": 3,
                 "V": 1, "Hz": 2, "°C": 1}
#: Units that count things: printed as whole numbers when the value is whole.
COUNT_UNITS = {"readings", "intervals", "decreases", "rejected", "missing", "days", "polls",
               "messages", "values", "meters", "tests", "records"}
#: Significant digits of a number whose unit says nothing about its precision.
FALLBACK_SIGNIFICANT = 4
MAX_DECIMALS = 6


def unit_key(unit: str | None) -> str:
    """The unit's first word (``kWh over bound`` → ``kWh``)."""
    return (unit or "").split(" ")[0]


def decimals_for(unit: str | None, value: float | None = None) -> int:
    """How many decimals a value of this unit is printed with."""
    key = unit_key(unit)
    if key in UNIT_DECIMALS:
        return UNIT_DECIMALS[key]
    if key in COUNT_UNITS and (value is None or float(value).is_integer()):
        return 0
    if value is None or value == 0 or not math.isfinite(value):
        return 3
    # enough decimals for FALLBACK_SIGNIFICANT significant digits, within 0…MAX_DECIMALS
    magnitude = math.floor(math.log10(abs(value)))
    return max(0, min(MAX_DECIMALS, FALLBACK_SIGNIFICANT - 1 - magnitude))


def fixed(value: Any, decimals: int, *, signed: bool = False) -> str | None:
    """``value`` with ``decimals`` decimals (``None`` when there is no value, ``n/a`` for NaN).

    A value that rounds to zero is printed as an unsigned zero (never ``-0.000``).
    """
    if value is None:
        return None
    if isinstance(value, str):
        return "∞" if value == "inf" else value
    if isinstance(value, bool):
        return "yes" if value else "no"
    v = float(value)
    if math.isnan(v):
        return "n/a"
    if math.isinf(v):
        return ("+∞" if signed else "∞") if v > 0 else "−∞"
    if round(v, decimals) == 0:
        v = 0.0
    group = "," if decimals == 0 else ""  # counts: 2,330 as in every title and badge
    text = f"{v:+{group}.{decimals}f}" if signed and v != 0 else f"{v:{group}.{decimals}f}"
    return text


#: Above this many effective degrees of freedom, Student's t at 95.45 % is 2.000 to three
#: decimals (GUM Table G.2 tends to k = 2): a larger ν_eff is printed as a bound, not as digits.
DOF_SHOWN_UP_TO = 10_000


def dof(value: Any) -> str | None:
    """Effective degrees of freedom as a reader wants them: an integer, ``> 10,000`` or ``∞``."""
    if value is None:
        return None
    v = math.inf if value == "inf" else float(value)
    if math.isnan(v):
        return "n/a"
    if math.isinf(v):
        return "∞"
    if v > DOF_SHOWN_UP_TO:
        return f"> {DOF_SHOWN_UP_TO:,}"
    return f"{math.floor(v):,}"


def dof_phrase(value: Any) -> str | None:
    """``ν_eff = 12``, ``ν_eff = ∞`` or ``ν_eff > 10,000`` (a bound reads without "=")."""
    text = dof(value)
    if text is None:
        return None
    return f"ν_eff {text}" if text.startswith(">") else f"ν_eff = {text}"


def quantity(value: Any, unit: str | None, *, signed: bool = False) -> str | None:
    """A value in its unit's precision (without the unit)."""
    if value is None or isinstance(value, str):
        return fixed(value, 0)
    return fixed(value, decimals_for(unit, float(value)), signed=signed)


def limit(low: float | None, high: float | None, unit: str | None) -> str | None:
    """A record's acceptance interval: ``±2.000``, ``≤ 0.000122``, ``≥ 95.000``, ``a … b``."""
    bound = high if high is not None else low
    if bound is None:
        return None
    d = decimals_for(unit, abs(float(bound)) if bound else None)
    if low is not None and high is not None:
        if low == -high:
            return f"±{fixed(high, d)}"
        if low == high:
            return f"= {fixed(high, d)}"
        return f"{fixed(low, d)} … {fixed(high, d)}"
    if high is not None:
        return f"≤ {fixed(high, d)}"
    return f"≥ {fixed(low, d)}"
