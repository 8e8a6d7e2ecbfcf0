"""The two time forms of the message.

Period ``start``/``end`` are ``YYYY-MM-DDTHH:MMZ`` (UTC, no seconds: the schemas' ``YMDHM_DateTime``
pattern and RSM-012). ``createdDateTime`` and ``registration_DateAndOrTime.dateTime`` are
``xs:dateTime`` written as UTC with seconds (``2026-03-29T05:00:00Z``), milliseconds when present.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from meterbench.core.errors import UserError
from meterbench.core.timeutil import MS_PER_MIN, format_iso_utc, format_minute_utc, parse_iso, to_ms
from meterbench.datahub.errors import MalformedMessage

_PERIOD_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})Z$")


def format_period_time(ms: int) -> str:
    if ms % MS_PER_MIN:
        raise ValueError(f"period time {ms} ms is not on a whole minute")
    return format_minute_utc(ms)


def parse_period_time(text: str, *, source: str | None = None, field: str | None = None) -> int:
    match = _PERIOD_TIME.match(text)
    if not match:
        raise MalformedMessage(f"bad period time {text!r}", source=source, field=field,
                               expected="YYYY-MM-DDTHH:MMZ in UTC")
    try:
        dt = datetime(*(int(g) for g in match.groups()), tzinfo=UTC)  # type: ignore[misc]
    except ValueError as exc:
        raise MalformedMessage(f"bad period time {text!r}: {exc}", source=source, field=field,
                               expected="YYYY-MM-DDTHH:MMZ in UTC") from None
    return to_ms(dt)


def format_created(ms: int) -> str:
    return format_iso_utc(ms)


def parse_created(text: str, *, source: str | None = None, field: str | None = None) -> int:
    try:
        return parse_iso(text, source=source, field=field)
    except UserError as exc:
        raise MalformedMessage(exc.message, source=source, field=field,
                               expected=exc.expected) from None
