"""What a message's positions hold, counted against the period it declares.

A series declares a period and a resolution, so it declares how many positions it must carry
((end - start) / resolution). Counting only the points present would call a day of 90 points out
of 96 "complete"; here every declared position is one of measured, estimated, incomplete,
calculated, not available (A02) or absent (no point at all), and missing = not available + absent.

How each quality code is *read* back into the bench's qualities (:data:`READ_QUALITY`):

* A04 measured, A03 estimated, A06 calculated, A02 missing (:mod:`meterbench.core.quality`);
* **A05 "incomplete" is read as estimated, with its value kept.** DataHub 3 sends A05 in its
  outgoing energy results for a value aggregated from inputs of which at least one was missing
  (Energinet opengeh-edi: ``CalculatedQuantityQuality.Incomplete`` "at least one quality is
  missing", written as A05 by ``CimCode.ForEnergyResultOf``). The value is real but not complete,
  so it is neither measured nor missing; the bench has no fifth quality, and estimated is the
  one DataHub itself uses for it where a format has no "incomplete" (opengeh-edi
  ``EbixCode.ForEnergyResultOf``: Incomplete -> ebIX 56 "estimated"). The count of such values is
  kept separately (:attr:`PositionCounts.incomplete`) so a report can say how many there were.
* A point without a quantity is missing whatever its code (DataHub's CIM writer also sends an
  all-missing energy result as A05, ``CimCode.ForEnergyResultOf``: Missing -> A05).
* Any other code (A01 adjusted, or not a code) cannot be read: the reader refuses the file
  rather than guess (:func:`read_quality` returns None).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from meterbench.core.quality import FROM_CIM, Quality
from meterbench.datahub import codes
from meterbench.datahub.model import Series
from meterbench.datahub.rules import expected_position_count

QUALITY_INCOMPLETE = "A05"
#: Every code the reader understands, and the bench quality it becomes (see the module docstring).
READ_QUALITY: dict[str, Quality] = {**FROM_CIM, QUALITY_INCOMPLETE: Quality.ESTIMATED}
READABLE_CODES = "A02, A03, A04, A05 or A06"


def read_quality(code: str | None, has_quantity: bool) -> Quality | None:
    """The bench quality of a point, or None when the code cannot be read."""
    quality = READ_QUALITY.get(codes.DEFAULT_QUALITY if code is None else code)
    if quality is None:
        return None
    return quality if has_quantity else Quality.MISSING


@dataclass(frozen=True)
class PositionCounts:
    """Declared positions by what they hold; ``declared`` = the sum of the other fields."""

    declared: int = 0
    measured: int = 0
    estimated: int = 0
    incomplete: int = 0
    calculated: int = 0
    not_available: int = 0
    absent: int = 0
    unreadable: int = 0

    @property
    def missing(self) -> int:
        return self.not_available + self.absent

    def __add__(self, other: PositionCounts) -> PositionCounts:
        return PositionCounts(*(getattr(self, f.name) + getattr(other, f.name)
                                for f in fields(self)))

    def describe(self) -> str:
        """``96 positions declared: 90 measured, 6 missing (6 absent)``, zero counts left out."""
        parts = [f"{n} {what}" for n, what in (
            (self.measured, "measured"), (self.estimated, "estimated"),
            (self.incomplete, "incomplete (A05, read as estimated)"),
            (self.calculated, "calculated"), (self.unreadable, "with an unreadable quality"))
            if n]
        if self.missing:
            why = [f"{n} {what}" for n, what in ((self.not_available, "not available"),
                                                  (self.absent, "absent")) if n]
            parts.append(f"{self.missing} missing ({', '.join(why)})")
        return f"{self.declared} positions declared: " + (", ".join(parts) or "none")


def count_positions(series: Series) -> PositionCounts:
    """Count a series' declared positions (``(end - start) / resolution``; the points present when
    the period is not a whole number of resolutions). Positions outside ``1..declared`` and
    repeated positions are not counted twice: the rules reject them (``positions``)."""
    period = series.period
    declared = expected_position_count(period.resolution, period.start_ms, period.end_ms)
    if declared is None:
        declared = len({p.position for p in period.points})
    seen: set[int] = set()
    tally = dict(measured=0, estimated=0, incomplete=0, calculated=0, not_available=0,
                 unreadable=0)
    for p in period.points:
        if not 1 <= p.position <= declared or p.position in seen:
            continue
        seen.add(p.position)
        quality = read_quality(p.quality, p.quantity is not None)
        if quality is None:
            key = "unreadable"
        elif quality is Quality.MISSING:
            key = "not_available"
        elif p.quality == QUALITY_INCOMPLETE:
            key = "incomplete"
        else:
            key = quality.label
        tally[key] += 1
    return PositionCounts(declared=declared, absent=declared - len(seen), **tally)
