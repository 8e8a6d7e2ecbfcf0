"""Lab test plans: which currents, power factors and phases to test, in which order.

Built-in plans (verification practice; no regulatory document is confirmed for these exact lists,
so they are editable defaults, and ``custom`` takes any points):

* ``initial`` (MID initial verification): Imin at PF 1; 0.1·Iref, Iref and Imax each at PF 0.5 ind,
  1 and 0.8 cap; single-phase load at Iref at PF 0.5 ind and 1 (on L1).
* ``periodic`` (periodic verification, direct-connected): 0.1·Iref, Iref, 2·Iref at PF 1, plus Iref
  at PF 0.5 ind.
* ``custom``: points from the bench file, currents as amperes or multiples of a rated current
  (``"0.1 Iref"``, ``"Imax"``, ``"2 Itr"``).

"Currents run rising then falling" (lab practice): :func:`rising_then_falling` orders the points so.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from meterbench.accuracy.rating import MeterRating

#: Power factor labels and the current's lag angle (°). PF 0.5 inductive: current lags by 60°;
#: PF 0.8 capacitive: current leads by acos(0.8) = 36.87°.
PF_ANGLE_DEG: dict[str, float] = {
    "1": 0.0,
    "0.5 ind": 60.0,
    "0.8 cap": -math.degrees(math.acos(0.8)),
}
PLAN_KINDS = ("initial", "periodic", "custom")
PHASE_SETS = {"L1L2L3": (0, 1, 2), "L1": (0,), "L2": (1,), "L3": (2,)}
_CURRENT = re.compile(r"^\s*(?P<k>\d+(?:\.\d+)?)?\s*(?P<name>Ist|Imin|Itr|Iref|Imax)\s*$")


@dataclass(frozen=True)
class TestPoint:
    """One load point: ``current_a`` on each phase in ``phases`` (0-based), at a power factor."""

    __test__ = False  # not a pytest test class

    name: str
    current_a: float
    pf: str = "1"
    phases: tuple[int, ...] = (0, 1, 2)

    @property
    def phi_deg(self) -> float:
        return PF_ANGLE_DEG[self.pf]

    @property
    def power_factor(self) -> float:
        return math.cos(math.radians(self.phi_deg))

    def power_w(self, voltage_v: float) -> float:
        return len(self.phases) * voltage_v * self.current_a * self.power_factor

    @property
    def load(self) -> str:
        return "balanced" if len(self.phases) == 3 else "single-phase L" + str(self.phases[0] + 1)


def _label(k: float, name: str) -> str:
    return name if k == 1 else f"{k:g} {name}"


def rated_current(text: str, rating: MeterRating) -> float:
    """``"0.1 Iref"`` → 0.1 × Iref; a bare ``"Imax"`` → Imax."""
    m = _CURRENT.match(text)
    if not m:
        raise ValueError(f"not a rated current: {text!r}")  # callers say what is expected
    k = float(m.group("k") or 1.0)
    base = {"Ist": rating.starting_current, "Imin": rating.i_min, "Itr": rating.i_tr,
            "Iref": rating.i_ref, "Imax": rating.i_max}[m.group("name")]
    return k * base


def initial_points(rating: MeterRating) -> list[TestPoint]:
    """Initial-verification points of MID meters (verification practice, see module doc)."""
    pts = [TestPoint("Imin PF 1", rating.i_min, "1")]
    for k, name in ((0.1, "Iref"), (1.0, "Iref"), (1.0, "Imax")):
        current = k * (rating.i_ref if name == "Iref" else rating.i_max)
        for pf in ("0.5 ind", "1", "0.8 cap"):
            pts.append(TestPoint(f"{_label(k, name)} PF {pf}", current, pf))
    for pf in ("0.5 ind", "1"):
        pts.append(TestPoint(f"Iref PF {pf} L1 only", rating.i_ref, pf, (0,)))
    return pts


def periodic_points(rating: MeterRating) -> list[TestPoint]:
    """Periodic verification of a direct-connected meter (verification practice, see module doc)."""
    pts = [TestPoint(f"{_label(k, 'Iref')} PF 1", k * rating.i_ref, "1") for k in (0.1, 1.0, 2.0)]
    pts.append(TestPoint("Iref PF 0.5 ind", rating.i_ref, "0.5 ind"))
    return [p for p in pts if p.current_a <= rating.i_max]


def custom_points(items: list[dict[str, Any]], rating: MeterRating) -> list[TestPoint]:
    """Points from plain data: ``{"current": "0.1 Iref" | 2.5, "pf": "1", "phases": "L1L2L3"}``."""
    out = []
    for item in items:
        cur = item["current"]
        current = rated_current(cur, rating) if isinstance(cur, str) else float(cur)
        pf = item.get("pf", "1")
        phases = PHASE_SETS[item.get("phases", "L1L2L3")]
        cur_label = cur if isinstance(cur, str) else f"{current:g} A"
        suffix = "" if len(phases) == 3 else f" {item.get('phases')} only"
        out.append(TestPoint(item.get("name") or f"{cur_label} PF {pf}{suffix}", current, pf, phases))
    return out


def plan_points(kind: str, rating: MeterRating, custom: list[dict[str, Any]] | None = None
                ) -> list[TestPoint]:
    """The plan's points; their names are unique (a point's runs are paired by its name, and its
    record is named by it), else ValueError (the bench file refuses such a plan when loaded)."""
    if kind == "initial":
        points = initial_points(rating)
    elif kind == "periodic":
        points = periodic_points(rating)
    elif kind == "custom":
        points = custom_points(custom or [], rating)
    else:
        raise ValueError(f"unknown plan kind {kind!r}")
    names = [p.name for p in points]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"two points are named {duplicates[0]!r}: point names must be unique")
    return points


def rising_then_falling(points: list[TestPoint]) -> list[tuple[TestPoint, str]]:
    """Each point twice: by rising current, then by falling current (lab practice)."""
    rising = sorted(points, key=lambda p: (p.current_a, len(p.phases)))
    return [(p, "rising") for p in rising] + [(p, "falling") for p in reversed(rising)]
