"""Build RSM-012 messages from interval energies: the operator's daily delivery, as a pure function.

One message per metering point and **local day** (Europe/Copenhagen by default): that is what an
operator delivers every day (15-min or 60-min energies per metering point, submitted under
Energinet BRS-021), and DataHub's missing-data monitoring counts values per local day
(Energinet's DataHub 3 source, opengeh-measurements). A day's period runs from local midnight to local midnight, expressed in UTC
(23:00Z-23:00Z in winter, 22:00Z-22:00Z in summer), so it has 92, 96 or 100 quarter-hours.

Intervals the run did not produce are sent as A02 (not available) without quantity, never
invented. With ``whole_days=False`` a period covers only the span the intervals cover within the
day (useful for short bench runs; DataHub still requires at least 4 hours).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from meterbench.core.errors import UserError
from meterbench.core.quality import Quality
from meterbench.core.timeutil import RESOLUTIONS_MS, to_ms
from meterbench.datahub import codes
from meterbench.datahub.identifiers import require_gln, require_gsrn
from meterbench.datahub.model import Message, MeteringPoint, Period, Point, Series
from meterbench.datahub.quantity import kwh_to_quantity

#: The local day of Danish settlement (DataHub 3 days are Europe/Copenhagen days; opengeh-wholesale).
DEFAULT_DAY_ZONE = "Europe/Copenhagen"
#: Fixed namespace for the deterministic message and series mRIDs (uuid5).
MRID_NAMESPACE = uuid.UUID("6f1c3f52-4a7e-5d36-9a77-3c9d2b1e8a40")


@dataclass(frozen=True)
class Intervals:
    """One interval series of a meter channel, as the pipeline makes it.

    ``start_ms`` are interval starts (epoch ms UTC), ``kwh`` the energies (NaN when missing),
    ``quality`` :class:`meterbench.core.quality.Quality` values; all three the same length.
    """

    meter: str
    channel: str
    resolution: str
    start_ms: Sequence[int]
    kwh: Sequence[float]
    quality: Sequence[int]


def local_day_bounds(day: date, zone: str = DEFAULT_DAY_ZONE) -> tuple[int, int]:
    """``[start, end)`` of a local calendar day, in epoch ms UTC."""
    tz = ZoneInfo(zone)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end_day = day + timedelta(days=1)
    end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=tz)
    return to_ms(start), to_ms(end)


def local_day_of(ms: int, zone: str = DEFAULT_DAY_ZONE) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(zone)).date()


def build_messages(intervals: Iterable[Intervals], metering_points: Sequence[MeteringPoint],
                   sender_gln: str, receiver_gln: str, created_ms: int, *,
                   days: Sequence[date] | None = None, day_zone: str = DEFAULT_DAY_ZONE,
                   whole_days: bool = True,
                   calculated_as: str = codes.QUALITY_ESTIMATED) -> list[Message]:
    """One RSM-012 message per metering point and local day, in metering point then day order.

    ``days``: the local days to deliver (the daily job passes ``[D]``; a day without any interval
    becomes all A02). Default: every day the metering point's intervals touch. Raises
    :class:`UserError` for bad identifiers, a resolution the message cannot carry, intervals not on
    the resolution grid or duplicated.
    """
    sender = require_gln(sender_gln, field="sender_gln")
    receiver = require_gln(receiver_gln, field="receiver_gln")
    by_channel: dict[tuple[str, str], Intervals] = {}
    for series in intervals:
        key = (series.meter, series.channel)
        if key in by_channel:
            raise UserError(f"two interval series for meter {series.meter!r} channel "
                            f"{series.channel!r}", field="intervals", expected="one per channel")
        by_channel[key] = series
    messages: list[Message] = []
    for mp in metering_points:
        gsrn = require_gsrn(mp.gsrn, field=f"metering point {mp.meter!r}.gsrn")
        if mp.resolution not in codes.BUILD_RESOLUTIONS:
            raise UserError(f"resolution {mp.resolution!r} of metering point {gsrn}",
                            field="resolution", expected=" or ".join(codes.BUILD_RESOLUTIONS))
        values = _values_by_start(by_channel.get((mp.meter, mp.channel)), mp, calculated_as)
        step = RESOLUTIONS_MS[mp.resolution]
        wanted_days = sorted(set(days) if days is not None
                             else {local_day_of(t, day_zone) for t in values})
        for day in wanted_days:
            start, end = local_day_bounds(day, day_zone)
            if not whole_days:
                inside = [t for t in values if start <= t < end]
                if not inside:
                    continue
                start, end = min(inside), max(inside) + step
            points = tuple(_point(position, values.get(start + (position - 1) * step))
                           for position in range(1, (end - start) // step + 1))
            period = Period(resolution=mp.resolution, start_ms=start, end_ms=end, points=points)
            doc_id = _mrid("message", sender, gsrn, start, end, created_ms)
            series = Series(mrid=_mrid("series", sender, gsrn, start, end, created_ms),
                            metering_point_id=gsrn, metering_point_type=mp.type,
                            registration_ms=created_ms, period=period, unit=mp.unit)
            messages.append(Message(mrid=doc_id, sender_id=sender, receiver_id=receiver,
                                    created_ms=created_ms, series=(series,)))
    return messages


def _values_by_start(series: Intervals | None, mp: MeteringPoint,
                     calculated_as: str) -> dict[int, Point]:
    """Interval start -> a point template (position 0) with the wire quantity and quality."""
    if series is None:
        return {}
    where = f"intervals {mp.meter}/{mp.channel}"
    if series.resolution != mp.resolution:
        raise UserError(f"intervals are {series.resolution} but metering point {mp.gsrn} is "
                        f"{mp.resolution}", field=where, expected=mp.resolution)
    if not len(series.start_ms) == len(series.kwh) == len(series.quality):
        raise UserError("start_ms, kwh and quality differ in length", field=where)
    step = RESOLUTIONS_MS[mp.resolution]
    out: dict[int, Point] = {}
    for start, kwh, quality_value in zip(series.start_ms, series.kwh, series.quality, strict=True):
        start = int(start)
        if start % step:
            raise UserError(f"interval start {start} ms is not on the {mp.resolution} grid",
                            field=where, expected=f"a multiple of {step} ms (UTC)")
        if start in out:
            raise UserError(f"duplicate interval start {start} ms", field=where)
        quality = Quality(int(quality_value))
        quantity = None if quality is Quality.MISSING else kwh_to_quantity(kwh)
        if quantity is None:  # no number: not available, whatever the label said
            out[start] = Point(position=0, quantity=None, quality=codes.QUALITY_NOT_AVAILABLE)
        else:
            out[start] = Point(position=0, quantity=quantity,
                               quality=codes.quality_code(quality, calculated_as=calculated_as))
    return out


def _point(position: int, template: Point | None) -> Point:
    if template is None:
        return Point(position=position, quantity=None, quality=codes.QUALITY_NOT_AVAILABLE)
    return Point(position=position, quantity=template.quantity, quality=template.quality)


def _mrid(kind: str, sender: str, gsrn: str, start: int, end: int, created_ms: int) -> str:
    """Deterministic UUID: the same inputs give the same id (re-runs are reproducible); a new
    ``created_ms`` gives a new id, as a corrected re-delivery needs."""
    return str(uuid.uuid5(MRID_NAMESPACE, f"{kind}|{sender}|{gsrn}|{start}|{end}|{created_ms}"))
