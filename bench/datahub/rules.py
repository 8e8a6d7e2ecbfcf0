"""BRS-021 business validation of incoming metered data, as DataHub applies it.

Each BRS-021 business check on incoming metered data that the bench implements is one function
here, and each rejection carries a rule id and a text. The rule ids (``unit``, ``quantity``, ...)
are the bench's own, named after what is checked: DataHub's official reason codes are not
encoded here, so none are invented.

One more check is not in that table: ``identifier`` rejects a sender/receiver that is not a
13-digit GLN and a metering point that is not an 18-digit GSRN (empty, a placeholder, not digits,
wrong length; :mod:`meterbench.datahub.identifiers` says where DataHub refuses them). A wrong GS1
check digit is only a warning (:func:`meterbench.datahub.check.identifier_warnings`).

Checks that need master data (the metering point's unit, resolution and subtype) run only for
metering points the caller knows; the others always run. Quantities are checked on their decimal
value (``1.5000`` has one decimal).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from zoneinfo import ZoneInfo

from meterbench.core.timeutil import (
    MS_PER_HOUR,
    MS_PER_MIN,
    RESOLUTIONS_MS,
    format_minute_utc,
    from_ms,
    to_ms,
)
from meterbench.datahub import codes
from meterbench.datahub.identifiers import identifier_problem
from meterbench.datahub.model import Message, MeteringPoint, Series
from meterbench.datahub.quantity import decimal_places, integer_digits

#: BRS-021 limits (Energinet, Fremsendelse af måledata).
MAX_DECIMALS = 3
MAX_INTEGER_DIGITS = 10
MIN_PERIOD_MS = 4 * MS_PER_HOUR
MAX_AGE_YEARS = 3
QUARTER_HOUR_MS = 15 * MS_PER_MIN
#: P1M positions count local months (DataHub 3 days are Europe/Copenhagen days).
MONTH_ZONE = "Europe/Copenhagen"


@dataclass(frozen=True)
class Rejection:
    """Why DataHub would reject (part of) a message."""

    rule: str
    text: str
    series_mrid: str | None = None
    metering_point_id: str | None = None
    position: int | None = None

    def format(self) -> str:
        where = []
        if self.metering_point_id:
            where.append(f"metering point {self.metering_point_id}")
        if self.series_mrid:
            where.append(f"series {self.series_mrid}")
        if self.position is not None:
            where.append(f"position {self.position}")
        prefix = f"[{self.rule}] " + (", ".join(where) + ": " if where else "")
        return prefix + self.text


def validate_message(msg: Message, metering_points: Mapping[str, MeteringPoint] | None = None,
                     *, now_ms: int | None = None) -> list[Rejection]:
    """Every BRS-021 rejection of ``msg`` (empty list: DataHub would accept it).

    ``metering_points`` maps GSRN to master data; without it the master-data parts of the unit,
    resolution and subtype checks are skipped. ``now_ms`` is "today" for the 3-year age limit
    (default: the message's ``createdDateTime``, so a saved message judges the same way forever).
    """
    now = msg.created_ms if now_ms is None else now_ms
    known = metering_points or {}
    rejections = check_parties(msg)
    for series in msg.series:
        mp = known.get(series.metering_point_id)
        for check in SERIES_CHECKS:
            rejections.extend(check(series, mp, now))
    return rejections


def _reject(series: Series, rule: str, text: str, position: int | None = None) -> Rejection:
    return Rejection(rule=rule, text=text, series_mrid=series.mrid,
                     metering_point_id=series.metering_point_id, position=position)


def check_parties(msg: Message) -> list[Rejection]:
    """Sender and receiver must be GLNs when their coding scheme says GS1 (A10)."""
    out = []
    for role, value, scheme in (("sender", msg.sender_id, msg.sender_scheme),
                                ("receiver", msg.receiver_id, msg.receiver_scheme)):
        problem = identifier_problem(value, "GLN") if scheme == codes.CODING_SCHEME_GS1 else None
        if problem:
            out.append(Rejection(rule="identifier", text=f"{role} {problem}"))
    return out


def check_metering_point_id(series: Series, mp: MeteringPoint | None,
                            now_ms: int) -> list[Rejection]:
    """The metering point must be a GSRN (18 digits) when its coding scheme says GS1 (A10)."""
    if series.metering_point_scheme != codes.CODING_SCHEME_GS1:
        return []
    problem = identifier_problem(series.metering_point_id, "GSRN")
    return [_reject(series, "identifier", problem)] if problem else []


def check_unit(series: Series, mp: MeteringPoint | None, now_ms: int) -> list[Rejection]:
    if series.unit not in codes.ACCEPTED_UNITS:
        return [_reject(series, "unit", f"unit {series.unit!r} is not KWH or K3 (kVArh)")]
    if mp is not None and series.unit != mp.unit:
        return [_reject(series, "unit", f"unit {series.unit} is not the metering point's "
                                        f"unit {mp.unit}")]
    return []


def check_quantities(series: Series, mp: MeteringPoint | None, now_ms: int) -> list[Rejection]:
    out = []
    for point in series.period.points:
        q = point.quantity
        if q is None:
            continue
        if q < 0:
            out.append(_reject(series, "quantity", f"negative quantity {q}", point.position))
        if decimal_places(q) > MAX_DECIMALS:
            out.append(_reject(series, "quantity", f"quantity {q} has more than {MAX_DECIMALS} "
                                                   "decimals", point.position))
        if integer_digits(q) > MAX_INTEGER_DIGITS:
            out.append(_reject(series, "quantity", f"quantity {q} has more than "
                                                   f"{MAX_INTEGER_DIGITS} integer digits",
                               point.position))
    return out


def check_qualities(series: Series, mp: MeteringPoint | None, now_ms: int) -> list[Rejection]:
    out = []
    for p in series.period.points:
        quality = codes.DEFAULT_QUALITY if p.quality is None else p.quality
        if quality not in codes.ACCEPTED_QUALITIES:
            out.append(_reject(series, "quality", f"quality {p.quality!r} is not A02, A03 or A04",
                               p.position))
    return out


def check_resolution(series: Series, mp: MeteringPoint | None, now_ms: int) -> list[Rejection]:
    resolution = series.period.resolution
    if resolution not in codes.ACCEPTED_RESOLUTIONS:
        return [_reject(series, "resolution", f"resolution {resolution!r} is not PT15M, PT1H "
                                              "or P1M")]
    if mp is not None and resolution != mp.resolution:
        return [_reject(series, "resolution", f"resolution {resolution} is not the metering "
                                              f"point's resolution {mp.resolution}")]
    return []


def check_period(series: Series, mp: MeteringPoint | None, now_ms: int) -> list[Rejection]:
    period = series.period
    start, end = period.start_ms, period.end_ms
    out = []
    grid = {"PT15M": (QUARTER_HOUR_MS, "a quarter-hour"), "PT1H": (MS_PER_HOUR, "a whole hour")}
    if period.resolution in grid:
        step, name = grid[period.resolution]
        for label, t in (("start", start), ("end", end)):
            if t % step:
                out.append(_reject(series, "period", f"{label} {format_minute_utc(t)} is not on "
                                                     f"{name} ({period.resolution})"))
    if start >= end:
        out.append(_reject(series, "period", f"start {format_minute_utc(start)} is not before "
                                             f"end {format_minute_utc(end)}"))
    elif end - start < MIN_PERIOD_MS:
        out.append(_reject(series, "period", f"period of {(end - start) / MS_PER_HOUR:g} h is "
                                             "under 4 hours"))
    oldest = _years_before(now_ms, MAX_AGE_YEARS)
    if start < oldest:
        out.append(_reject(series, "period", f"start {format_minute_utc(start)} is older than "
                                             f"{MAX_AGE_YEARS} years (before "
                                             f"{format_minute_utc(oldest)})"))
    return out


def check_positions(series: Series, mp: MeteringPoint | None, now_ms: int) -> list[Rejection]:
    period = series.period
    positions = [p.position for p in period.points]
    out = []
    expected = expected_position_count(period.resolution, period.start_ms, period.end_ms)
    if expected is not None and len(positions) != expected:
        out.append(_reject(series, "positions", f"{len(positions)} positions, but "
                                                f"{period.resolution} from "
                                                f"{format_minute_utc(period.start_ms)} to "
                                                f"{format_minute_utc(period.end_ms)} needs {expected}"))
    duplicates = sorted(p for p, n in Counter(positions).items() if n > 1)
    if duplicates:
        out.append(_reject(series, "positions", f"duplicate positions {_short(duplicates)}"))
    if positions != list(range(1, len(positions) + 1)) and not duplicates:
        first_bad = next(i + 1 for i, p in enumerate(positions) if p != i + 1)
        out.append(_reject(series, "positions", "positions are not consecutive from 1 (first "
                                                f"break at point {first_bad}: position "
                                                f"{positions[first_bad - 1]})"))
    return out


def check_subtype(series: Series, mp: MeteringPoint | None, now_ms: int) -> list[Rejection]:
    if mp is not None and mp.subtype not in codes.SUBTYPES_RECEIVING_DATA:
        return [_reject(series, "subtype", f"metering point subtype {mp.subtype!r} cannot receive "
                                           "data (only physical or virtual)")]
    return []


SERIES_CHECKS: tuple[Callable[[Series, MeteringPoint | None, int], list[Rejection]], ...] = (
    check_metering_point_id, check_unit, check_quantities, check_qualities, check_resolution, check_period,
    check_positions, check_subtype,
)


def expected_position_count(resolution: str, start_ms: int, end_ms: int) -> int | None:
    """(end - start) / resolution in UTC; local months for P1M; None when it is not whole."""
    if end_ms <= start_ms:
        return None
    if resolution == "P1M":
        return _whole_local_months(start_ms, end_ms)
    step = RESOLUTIONS_MS.get(resolution)
    if step is None or (end_ms - start_ms) % step:
        return None
    return (end_ms - start_ms) // step


def _whole_local_months(start_ms: int, end_ms: int) -> int | None:
    tz = ZoneInfo(MONTH_ZONE)
    start = from_ms(start_ms).astimezone(tz)
    end = from_ms(end_ms).astimezone(tz)
    months = (end.year - start.year) * 12 + end.month - start.month
    year, month = divmod(start.month - 1 + months, 12)
    try:
        stepped = start.replace(year=start.year + year, month=month + 1)
    except ValueError:  # e.g. the 31st in a 30-day month: not a whole number of months
        return None
    return months if to_ms(stepped) == end_ms else None


def _years_before(ms: int, years: int) -> int:
    dt = from_ms(ms)
    try:
        earlier = dt.replace(year=dt.year - years)
    except ValueError:  # 29 February -> 28 February
        earlier = dt.replace(year=dt.year - years, day=28)
    return to_ms(earlier.astimezone(UTC))


def _short(values: list[int], limit: int = 5) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


