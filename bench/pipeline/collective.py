"""The local collective ("lokal sammenslutning af netkunder"): a virtual point summing members.

Rules from the Danish guide on local collectives (title and edition not confirmed here: check the
preset against the guide your grid company applies): at least 2 members, each with its own metering point; at least 25 kW of installed
production, batteries not counted; all members behind the same 10/0.4 kV substation (or the
nearest transformer polygon in meshed city grids); joining or leaving takes effect within "the
running month + one month". These are a Danish preset (:data:`DK_LOCAL_COLLECTIVE`), not
constants: another market passes its own :class:`CollectiveRules`.

The collective's virtual point is Σ members' consumption − Σ members' production per interval,
over the members whose membership is in force in that interval (members' own points keep their
individual settlement; that is outside this module).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from meterbench.core.quality import Quality
from meterbench.pipeline.localday import DEFAULT_ZONE, local_day_bounds_ms
from meterbench.pipeline.netting import PointFlows
from meterbench.pipeline.quality_rules import combine_strict


@dataclass(frozen=True)
class CollectiveRules:
    min_members: int
    min_production_kw: float
    batteries_count: bool
    same_substation: bool
    notice_months: int  # "running month + N months"
    zone: str = DEFAULT_ZONE


#: Danish local collective (the guide: >= 2 members, >= 25 kW production excluding batteries,
#: same 10/0.4 kV substation, running month + one month).
DK_LOCAL_COLLECTIVE = CollectiveRules(min_members=2, min_production_kw=25.0,
                                      batteries_count=False, same_substation=True,
                                      notice_months=1)


@dataclass(frozen=True)
class CollectiveMember:
    """One member: its own metering point, where it is connected, what it can produce, and the
    local dates its membership is in force (``left`` exclusive; ``None`` = open)."""

    metering_point: str
    substation: str
    production_kw: float = 0.0
    battery_kw: float = 0.0
    joined: date | None = None
    left: date | None = None

    def active_on(self, day: date) -> bool:
        return ((self.joined is None or self.joined <= day)
                and (self.left is None or day < self.left))


@dataclass(frozen=True)
class EligibilityCheck:
    name: str
    passed: bool
    text: str


@dataclass(frozen=True)
class Eligibility:
    checks: list[EligibilityCheck]

    @property
    def eligible(self) -> bool:
        return all(c.passed for c in self.checks)

    def failures(self) -> list[str]:
        return [c.text for c in self.checks if not c.passed]


def check_eligibility(members: Sequence[CollectiveMember], *, on: date | None = None,
                      rules: CollectiveRules = DK_LOCAL_COLLECTIVE) -> Eligibility:
    """The guide's eligibility checks for the members in force ``on`` a day (default: all)."""
    active = [m for m in members if on is None or m.active_on(on)]
    checks: list[EligibilityCheck] = []
    counts = Counter(m.metering_point for m in active)
    shared = sorted(mp for mp, c in counts.items() if c > 1)
    n = len(counts)
    ok = n >= rules.min_members and not shared
    text = f"{n} member(s) with their own metering point (at least {rules.min_members} required)"
    if shared:
        text += f"; metering point(s) used by more than one member: {', '.join(shared)}"
    checks.append(EligibilityCheck("members", ok, text))

    production = sum(m.production_kw + (m.battery_kw if rules.batteries_count else 0.0)
                     for m in active)
    batteries = sum(m.battery_kw for m in active)
    text = (f"{production:g} kW installed production (at least {rules.min_production_kw:g} kW "
            "required")
    text += ", batteries not counted" if not rules.batteries_count else ""
    text += f"; {batteries:g} kW of batteries left out)" if batteries and not \
        rules.batteries_count else ")"
    checks.append(EligibilityCheck("production", production >= rules.min_production_kw, text))

    if rules.same_substation:
        stations = sorted({m.substation for m in active})
        ok = len(stations) == 1 and bool(stations[0].strip())
        text = ("all members behind substation " + stations[0] if ok else
                "members are behind different or unnamed substations: "
                + ", ".join(s or "(none)" for s in stations))
        checks.append(EligibilityCheck("substation", ok, text))
    return Eligibility(checks)


def membership_effective_date(request: date, rules: CollectiveRules = DK_LOCAL_COLLECTIVE
                              ) -> date:
    """Latest date a join/leave requested on ``request`` takes effect: the first day after the
    running month plus ``notice_months`` (requested 10 March -> 1 May for one month)."""
    month_index = request.year * 12 + (request.month - 1) + 1 + rules.notice_months
    return date(month_index // 12, month_index % 12 + 1, 1)


def membership_mask(members: Sequence[CollectiveMember], start_ms: np.ndarray,
                    zone: str = DEFAULT_ZONE) -> np.ndarray:
    """``(n_members, n_intervals)`` True where the member is in the collective; membership
    changes at local midnight of the effective date."""
    mask = np.ones((len(members), len(start_ms)), dtype=bool)
    for i, m in enumerate(members):
        if m.joined is not None:
            mask[i] &= start_ms >= local_day_bounds_ms(m.joined, zone)[0]
        if m.left is not None:
            mask[i] &= start_ms < local_day_bounds_ms(m.left, zone)[0]
    return mask


@dataclass(frozen=True)
class CollectivePoint:
    consumption_kwh: np.ndarray
    production_kwh: np.ndarray
    net_kwh: np.ndarray
    quality: np.ndarray
    members_in_force: np.ndarray


def collective_point(flows: PointFlows, mask: np.ndarray) -> CollectivePoint:
    """Σ consumption − Σ production over members in force, per interval.

    ``flows`` hold the members' import (consumption) and export (production) as
    ``(n_members, n)``. A member in force with a missing value makes the interval missing (its
    energy is unknown); members not in force are ignored, whatever their data.
    """
    imp = np.asarray(flows.import_kwh, dtype=np.float64)
    exp = np.asarray(flows.export_kwh, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    cons = np.where(mask, imp, 0.0).sum(axis=0)
    prod = np.where(mask, exp, 0.0).sum(axis=0)
    measured = np.uint8(Quality.MEASURED)
    qi = np.where(mask, flows.import_quality, measured)
    qe = np.where(mask, flows.export_quality, measured)
    quality = combine_strict(*qi, *qe) if len(imp) else np.zeros(imp.shape[-1], np.uint8)
    in_force = mask.sum(axis=0)
    quality[in_force == 0] = Quality.MISSING
    missing = quality == Quality.MISSING
    cons[missing] = np.nan
    prod[missing] = np.nan
    return CollectivePoint(cons, prod, cons - prod, quality, in_force)
