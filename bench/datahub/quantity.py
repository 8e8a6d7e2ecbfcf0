"""Float kWh to the message's 3-decimal quantity.

DataHub keeps quantities as decimals with 3 decimals (BRS-021 rejects more; opengeh-wholesale). The
bench computes energies as float64, so each value is rounded once, here, at the edge:

* the float is first read as its shortest decimal repr (``repr(0.0005)`` is ``'0.0005'``), so
  that a value the user sees as ``...5`` in the 4th decimal is not silently rounded down because
  its binary approximation lies just below;
* then rounded to 3 decimals **half away from zero** (``ROUND_HALF_UP``), the commercial rounding a
  person would apply to the printed value.

Non-finite floats (NaN, inf) have no quantity: they are missing values, never numbers.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

#: 3 decimals of kWh (BRS-021: more than 3 decimals is rejected).
QUANTUM = Decimal("0.001")


def kwh_to_quantity(kwh: float) -> Decimal | None:
    """A float kWh as a 3-decimal Decimal, or None when the float is NaN or infinite."""
    value = float(kwh)
    if not math.isfinite(value):
        return None
    quantity = Decimal(repr(value)).quantize(QUANTUM, rounding=ROUND_HALF_UP)
    return quantity.copy_abs() if quantity == 0 else quantity  # no "-0.000" on the wire


def format_quantity(quantity: Decimal) -> str:
    """Plain decimal text (never exponent notation, which xs:decimal forbids)."""
    return format(quantity, "f")


def decimal_places(quantity: Decimal) -> int:
    """Decimals the *value* needs: ``1.5000`` has 1 (trailing zeros carry no information).

    Works on the digit tuple, without a decimal context (no rounding) and without formatting
    (a hostile ``1E+999999999`` must not become a billion-character string).
    """
    _, digits, exponent = quantity.as_tuple()
    if not isinstance(exponent, int):  # NaN / Infinity have no decimals
        return 0
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing_zeros))


def integer_digits(quantity: Decimal) -> int:
    """Digits before the decimal point (0 counts as one digit, like ``0.5``), computed from the
    exponent, never by formatting the number."""
    if not quantity.is_finite() or quantity == 0:
        return 1
    return max(1, quantity.adjusted() + 1)
