"""Lots: groups of uniform meters that are sampled and decided together.

Two ways to form lots. If the inventory names a ``lot_id`` for a meter, that lot is used (and
must be uniform: one model, rating, class). Meters without a lot id are grouped by a rule: same
model, rating, class, MID status and technology, with production (or last-verification) years at
most ``max_year_span`` apart (greedy from the oldest year). Which years and which span a country
uses is part of its scheme preset (``meterbench.sampling.schemes``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from meterbench.core.errors import UserError
from meterbench.sampling.inventory import Meter


@dataclass(frozen=True)
class Lot:
    lot_id: str
    meters: tuple[Meter, ...]
    formed_by: str          # "explicit lot_id" or the rule that made it

    @property
    def size(self) -> int:
        return len(self.meters)

    @property
    def model(self) -> str:
        return self.meters[0].model

    @property
    def rating(self) -> str:
        return self.meters[0].rating

    @property
    def accuracy_class(self) -> str:
        return self.meters[0].accuracy_class

    @property
    def production_years(self) -> tuple[int, int]:
        ys = [m.production_year for m in self.meters]
        return min(ys), max(ys)

    @property
    def earliest_installation(self) -> date:
        return min(m.installation_date for m in self.meters)

    @property
    def verified_on(self) -> date | None:
        """The last passed verification/sampling recorded for the whole lot, if every meter has one.

        A lot counts as verified on a date only when every meter carries a verification on or
        after it; we use the earliest of the meters' dates so that no meter is overdue.
        """
        dates = [m.last_verification for m in self.meters]
        if any(d is None for d in dates):
            return None
        return min(d for d in dates if d is not None)

    def summary(self) -> dict[str, object]:
        y0, y1 = self.production_years
        return {"lot_id": self.lot_id, "size": self.size, "model": self.model,
                "rating": self.rating, "class": self.accuracy_class,
                "production_years": [y0, y1], "formed_by": self.formed_by,
                "earliest_installation": self.earliest_installation.isoformat(),
                "last_verification": (self.verified_on.isoformat()
                                      if self.verified_on else None)}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").upper()


def _uniform_key(m: Meter) -> tuple[str, str, str, bool, str]:
    return (m.model, m.rating, m.accuracy_class, m.mid, m.technology)


def year_window(span: int, basis: str = "production") -> str:
    """The year window of a lot in words: ``one production year`` for 0, else ``production years
    at most 2 years apart``."""
    if span == 0:
        return f"one {basis} year"
    return f"{basis} years at most {span} year{'s' if span != 1 else ''} apart"


def form_lots(meters: Sequence[Meter], *, max_year_span: int = 0,
              year_basis: str = "production") -> list[Lot]:
    """Lots from an inventory: explicit lot ids first, the formation rule for the rest."""
    if max_year_span < 0:
        raise UserError(f"year span {max_year_span} is negative", field="max-year-span",
                        expected=">= 0")
    if year_basis not in ("production", "verification"):
        raise UserError(f"year basis {year_basis!r}", field="year-basis",
                        expected="production or verification")
    explicit: dict[str, list[Meter]] = defaultdict(list)
    free: dict[tuple, list[Meter]] = defaultdict(list)
    for m in meters:
        if m.lot_id:
            explicit[m.lot_id].append(m)
        else:
            free[_uniform_key(m)].append(m)
    lots: list[Lot] = []
    for lot_id, members in explicit.items():
        keys = {_uniform_key(m) for m in members}
        if len(keys) > 1:
            kinds = "; ".join(sorted(f"{k[0]} {k[1]} class {k[2]}" for k in keys))
            raise UserError(f"lot {lot_id!r} mixes meters that are not uniform: {kinds}",
                            field="lot_id", expected="one model, rating and class per lot")
        lots.append(Lot(lot_id, tuple(sorted(members, key=lambda m: m.meter_id)),
                        "explicit lot_id"))

    def year_of(m: Meter) -> int:
        if year_basis == "verification":
            return (m.last_verification or m.installation_date).year
        return m.production_year

    rule = (f"same model, rating, class, MID status and technology; "
            f"{year_window(max_year_span, year_basis)}")
    for key, members in sorted(free.items(), key=lambda kv: kv[0]):
        members = sorted(members, key=lambda m: (year_of(m), m.meter_id))
        group: list[Meter] = []
        for m in members + [None]:  # type: ignore[list-item]
            if group and (m is None or year_of(m) - year_of(group[0]) > max_year_span):
                y0, y1 = year_of(group[0]), year_of(group[-1])
                span = f"{y0}" if y0 == y1 else f"{y0}-{y1}"
                lot_id = _slug(f"{key[0]} {key[1]} {key[2]}") + f"-{span}"
                lots.append(Lot(lot_id, tuple(sorted(group, key=lambda x: x.meter_id)), rule))
                group = []
            if m is not None:
                group.append(m)
    ids = [lot.lot_id for lot in lots]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise UserError(f"lot id(s) {', '.join(dup)} formed twice", field="lot_id",
                        expected="explicit lot ids that differ from rule-formed ones")
    return sorted(lots, key=lambda lot: lot.lot_id)


def find_lot(lots: Sequence[Lot], lot_id: str) -> Lot:
    for lot in lots:
        if lot.lot_id == lot_id:
            return lot
    known = ", ".join(lot.lot_id for lot in lots[:20])
    raise UserError(f"no lot {lot_id!r}", field="lot", expected=f"one of: {known}")
