"""In-service error limits per accuracy class and test point.

* ``2xMPE``: twice the MID maximum permissible error at first verification (Denmark BEK 582/2018
  §11, Germany MessEV §22). MPE from Directive 2014/32/EU Annex V (MI-003) Table 2, temperature
  +5…+30 °C (lab conditions): Imin <= I < Itr: A 3.5, B 2, C 1 %; Itr <= I <= Imax: A 3.5, B 2,
  C 0.7 %.
* ``fr-in-service``: France: A 8.0, B 4.5, C 2.5 % over 0.1·Iref … Imax (French arrêté of 1 August 2013 on active-energy meters, Art. 18).

Test points are named by current and power factor, e.g. ``Imin PF1``, ``0.1Iref PF1``,
``Iref PF0.5i``, ``2Iref PF1``, ``Imax PF0.8c``. Meters are taken as direct-connected
(Iref = 10·Itr, EN 50470-1), so a current below 0.1·Iref lies in the Imin…Itr range.
"""

from __future__ import annotations

import re
from functools import lru_cache

from meterbench.accuracy.limits import IN_SERVICE_FACTOR as IN_SERVICE_FACTORS
from meterbench.accuracy.limits import mpe_pct
from meterbench.core.errors import UserError

#: The in-service factor on the MID MPE behind the "2xMPE" rule: Denmark and Germany both use 2
#: (their country presets in :data:`meterbench.accuracy.limits.IN_SERVICE_FACTOR`).
IN_SERVICE_FACTOR = IN_SERVICE_FACTORS["DK"]
#: France, in-service MPE (%), 0.1·Iref…Imax (French arrêté of 1 August 2013 on active-energy meters, Art. 18).
FR_IN_SERVICE_PCT: dict[str, float] = {"A": 8.0, "B": 4.5, "C": 2.5}
#: Direct-connected meters: Iref = 10·Itr (EN 50470-1), so Itr = 0.1·Iref.
ITR_OVER_IREF = 0.1

_POINT = re.compile(r"^\s*(?P<mult>\d+(?:\.\d+)?)?\s*\*?\s*(?P<base>Imin|Itr|Iref|Imax)\b(?P<rest>.*)$",
                    re.IGNORECASE)

LIMIT_RULES = {
    "2xMPE": "in-service limit 2 x MID MPE (2014/32/EU Annex V Table 2; BEK 582/2018 §11, MessEV §22)",
    "fr-in-service": "France in-service MPE A 8.0 / B 4.5 / C 2.5 % (arrêté of 1 August 2013, Art. 18)",
}


def current_range(test_point: str, *, source: str | None = None) -> str:
    """``low`` (Imin <= I < Itr) or ``high`` (Itr <= I <= Imax) for a test point name."""
    rng = _current_range(test_point)
    if rng is None:
        raise UserError(f"test point {test_point!r} not understood", source=source,
                        field="test_point", expected="a current like Imin, 0.1Iref, Iref, "
                        "2Iref, Imax, then the power factor, e.g. 'Iref PF0.5i'")
    return rng


@lru_cache(maxsize=1024)
def _current_range(test_point: str) -> str | None:
    m = _POINT.match(test_point)
    if not m:
        return None
    mult = float(m.group("mult") or 1)
    base = m.group("base").lower()
    if base == "imin":
        return "low" if mult <= 1 else "high"
    if base == "itr":
        return "low" if mult < 1 else "high"
    if base == "iref":
        return "low" if mult < ITR_OVER_IREF - 1e-12 else "high"
    return "high"


def in_service_limit(accuracy_class: str, test_point: str, rule: str = "2xMPE", *,
                     source: str | None = None) -> float:
    """The in-service error limit in percent (symmetric: ±limit)."""
    cls = accuracy_class.upper()
    if cls not in ("A", "B", "C"):
        raise UserError(f"class {accuracy_class!r}", source=source, field="class",
                        expected="A, B or C")
    rng = current_range(test_point, source=source)
    if rule == "2xMPE":
        return IN_SERVICE_FACTOR * mpe_pct(cls, below_itr=rng == "low")
    if rule == "fr-in-service":
        if rng == "low":
            raise UserError(f"test point {test_point!r} is below 0.1·Iref, outside the French "
                            "in-service range", source=source, field="test_point",
                            expected="a current from 0.1·Iref to Imax")
        return FR_IN_SERVICE_PCT[cls]
    raise UserError(f"limit rule {rule!r}", field="limit", expected=" or ".join(LIMIT_RULES))
