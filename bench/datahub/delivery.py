"""Write a day's messages into an outbox and account for them: the operator's daily report.

:func:`deliver` is what ``meterbench datahub export`` runs and what the daily job (``meterbench
daily``) can call after :func:`meterbench.datahub.build_messages`: it writes each message, reads the
file back, judges it (schema when available, BRS-021 always) and counts what was delivered and
what was missing, per metering point and local day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from meterbench.datahub.build import DEFAULT_DAY_ZONE, local_day_of
from meterbench.datahub.check import CheckResult, check_message_file
from meterbench.datahub.counts import PositionCounts, count_positions
from meterbench.datahub.files import read_message_file
from meterbench.datahub.model import Message, MeteringPoint
from meterbench.datahub.run_export import write_messages
from meterbench.datahub.schema import SchemaValidator


@dataclass(frozen=True)
class DeliveryItem:
    """One written message file and what it carries."""

    path: Path
    gsrn: str
    day: date
    positions: int
    measured: int
    estimated: int
    missing: int
    check: CheckResult
    absent: int = 0  # declared positions the message carries no point for (part of ``missing``)

    @property
    def rejected(self) -> bool:
        return self.check.rejected

    def summary(self) -> str:
        status = "REJECTED" if self.rejected else "ok"
        return (f"{self.path}: {status} - {self.gsrn} {self.day}: {self.positions} values, "
                f"{self.measured} measured, {self.estimated} estimated, {self.missing} missing"
                + (f" ({self.absent} positions absent)" if self.absent else ""))


def message_counts(message: Message) -> PositionCounts:
    """Declared positions of all series of a message, by what they hold."""
    return sum((count_positions(s) for s in message.series), PositionCounts())


def count_qualities(message: Message) -> tuple[int, int, int, int]:
    """(declared positions, measured A04, estimated A03/A05, missing A02 or absent) over all
    series of a message. Declared: (end - start) / resolution, so a position the message does
    not carry is counted as missing rather than not at all."""
    c = message_counts(message)
    return c.declared, c.measured, c.estimated + c.incomplete, c.missing


def deliver(messages: Sequence[Message], fmt: str, out_dir: Path,
            metering_points: Mapping[str, MeteringPoint] | None = None,
            schemas: SchemaValidator | None = None, *,
            day_zone: str = DEFAULT_DAY_ZONE) -> list[DeliveryItem]:
    """Write ``messages`` as ``fmt`` files into ``out_dir`` and judge each written file."""
    items = []
    for path, message in zip(write_messages(list(messages), fmt, out_dir), messages, strict=True):
        written = read_message_file(path)  # count and judge what was delivered, as read back
        check = check_message_file(written, schemas, metering_points)
        c = message_counts(written.message)
        series = message.series[0]
        items.append(DeliveryItem(path=path, gsrn=series.metering_point_id,
                                  day=local_day_of(series.period.start_ms, day_zone),
                                  positions=c.declared, measured=c.measured,
                                  estimated=c.estimated + c.incomplete, missing=c.missing,
                                  check=check, absent=c.absent))
    return items
