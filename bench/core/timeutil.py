"""Time conventions shared by every stage.

Inside the bench a time is an ``int`` (or an ``int64`` numpy array) of **milliseconds since the
Unix epoch, UTC**. Milliseconds keep jittered poll times exact while staying far inside float64's
exact-integer range (2**53 ms is ~285,000 years), so interpolation in float64 loses nothing.
Intervals are labelled by their **start** (DataHub's convention).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from meterbench.core.errors import UserError
from meterbench.units import MS_PER_HOUR, MS_PER_MIN, MS_PER_S  # noqa: F401 - re-exported

#: The times meterbench accepts from its input (bench dates, readings, options): 1970-01-01 to
#: 2100-01-01 UTC, both included. A design limit (docs/bench-file.md "Limits"): every date a meter, DataHub or a
#: report will see lies inside it, and every interval computed from it (rounded to whole hours,
#: shifted by a time zone or a day of margin) stays a time Python can format.
SUPPORTED_START_MS = 0
SUPPORTED_END_MS = 4_102_444_800_000
SUPPORTED_RANGE_TEXT = "between 1970-01-01 and 2100-01-01 UTC"

RESOLUTIONS_MS: dict[str, int] = {"PT1M": MS_PER_MIN, "PT5M": 5 * MS_PER_MIN,
                                  "PT15M": 15 * MS_PER_MIN, "PT1H": MS_PER_HOUR}

_DURATION = re.compile(r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$")
_SHORT = re.compile(r"^(?P<n>\d+(?:\.\d+)?)\s*(?P<u>ms|s|min|m|h|d)$")
_SHORT_UNIT_MS = {"ms": 1, "s": MS_PER_S, "min": MS_PER_MIN, "m": MS_PER_MIN, "h": MS_PER_HOUR,
                  "d": 24 * MS_PER_HOUR}


def to_ms(dt: datetime) -> int:
    """A timezone-aware datetime as epoch milliseconds (naive datetimes are refused, not guessed)."""
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt!r}: a time zone is required")
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return delta // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(ms))


def parse_iso(text: str, *, source: str | None = None, field: str | None = None) -> int:
    """Parse an ISO 8601 time with an explicit offset or ``Z`` into epoch ms."""
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"not an ISO 8601 time: {text!r}", source=source, field=field,
                        expected="e.g. 2026-03-29T01:00:00Z") from None
    if dt.tzinfo is None:
        raise UserError(f"time {text!r} has no UTC offset", source=source, field=field,
                        expected="a trailing Z or +HH:MM")
    try:
        ms = to_ms(dt)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        ms = SUPPORTED_START_MS - 1
    return check_supported(ms, text.strip(), source=source, field=field)


def check_supported(ms: int, shown: str, *, source: str | None = None,
                    field: str | None = None) -> int:
    """``ms`` if inside the supported range, else a user error showing ``shown``."""
    if not SUPPORTED_START_MS <= ms <= SUPPORTED_END_MS:
        raise UserError(f"time {shown} is outside the supported range", source=source,
                        field=field, expected=f"a time {SUPPORTED_RANGE_TEXT}")
    return ms


def format_minute_utc(ms: int) -> str:
    """``YYYY-MM-DDTHH:MMZ``, the CIM/DataHub form (no seconds)."""
    return from_ms(ms).strftime("%Y-%m-%dT%H:%MZ")


def format_iso_utc(ms: int, *, always_ms: bool = False) -> str:
    """ISO 8601 UTC, with milliseconds when there are any (or always, with ``always_ms``: a
    column of times a reader parses with one fixed format)."""
    dt = from_ms(ms)
    if ms % MS_PER_S or always_ms:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % MS_PER_S:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_wall_duration_s(text: str, *, field: str) -> float:
    """A positive stop-after duration in seconds, as the long-running commands take it.

    Every form :func:`parse_duration` reads (``90s``, ``30min``, ``12h``, ``7d``, ``PT1H``) and a
    bare number of seconds (``90``), so ``acquire`` and ``sim`` read ``--duration`` alike.
    """
    t = text.strip()
    try:
        seconds = float(t) if re.fullmatch(r"\d+(?:\.\d+)?", t) else \
            parse_duration(t, field=field) / 1000.0
    except UserError:
        raise UserError(f"not a duration: {text!r}", field=field,
                        expected="90s, 30min, 12h, 7d, PT1H or a number of seconds") from None
    if not seconds > 0:
        raise UserError(f"not a positive duration: {text!r}", field=field,
                        expected="more than 0 s, e.g. 90s or 30min")
    return seconds


def parse_duration(text: str, *, source: str | None = None, field: str | None = None) -> int:
    """A duration as ms, from ISO 8601 (``PT15M``) or short form (``90s``, ``5min``, ``2h``, ``1d``)."""
    t = text.strip()
    m = _DURATION.match(t)
    if m and any(m.groupdict().values()):
        d, h, mi, s = (m.group(k) for k in "dhms")
        total = (int(d or 0) * 24 * MS_PER_HOUR + int(h or 0) * MS_PER_HOUR
                 + int(mi or 0) * MS_PER_MIN + round(float(s or 0) * MS_PER_S))
        return total
    m = _SHORT.match(t)
    if m:
        return round(float(m.group("n")) * _SHORT_UNIT_MS[m.group("u")])
    raise UserError(f"not a duration: {text!r}", source=source, field=field,
                    expected="ISO 8601 like PT15M or short like 90s, 5min, 2h, 1d")
