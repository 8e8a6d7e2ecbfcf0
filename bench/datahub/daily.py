"""The operator's daily job: day D's intervals of every operator meter, as DataHub messages.

Takes the readings from a run store, makes the PT15M intervals of the local day (Europe/
Copenhagen: 92, 96 or 100 quarter-hours), builds one RSM-012 message per metering point, writes
them to an outbox, reads each back and validates it (schema when available, business rules
always), and says what was delivered and what was missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from meterbench.config.bench_file import BenchConfig
from meterbench.core.timeutil import to_ms
from meterbench.datahub import Intervals, MeteringPoint, build_messages
from meterbench.datahub.delivery import DeliveryItem, deliver
from meterbench.datahub.schema import SchemaValidator
from meterbench.run.analysis import CHANNELS, analyse_meter
from meterbench.store.run_store import Store


def metering_points(config: BenchConfig) -> list[MeteringPoint]:
    """Master data of the operator's metering points, from the bench file."""
    out = []
    for m in config.by_role("operator"):
        if not m.gsrn:
            continue
        channel = "energy.export" if m.mp_type in ("E18", "D01", "D06") else "energy.import"
        out.append(MeteringPoint(gsrn=m.gsrn, type=m.mp_type, subtype="physical", resolution="PT15M",
                                 meter=m.id, channel=channel))
    return out


def local_day_ms(config: BenchConfig, day: date) -> tuple[int, int]:
    start = datetime.combine(day, time(0), tzinfo=config.tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=config.tz)
    return to_ms(start), to_ms(end)


def day_intervals(config: BenchConfig, store: Store, day: date) -> list[Intervals]:
    start, end = local_day_ms(config, day)
    out = []
    for spec in config.by_role("operator"):
        readings = {ch: store.series(spec.id, ch) for ch in CHANNELS}
        outages = {ch: store.outage_times(spec.id, ch) for ch in CHANNELS}
        ma = analyse_meter(spec, readings, start, end, config.run.poll_ms, outages=outages)
        for ch, mi in ma.quarter.items():
            s = mi.series
            out.append(Intervals(spec.id, ch, "PT15M", s.start_ms.tolist(), s.quantity.tolist(),
                                 s.quality.tolist()))
    return out


@dataclass(frozen=True)
class DailyDelivery:
    day: date
    items: list[DeliveryItem]

    @property
    def rejected(self) -> list[DeliveryItem]:
        return [i for i in self.items if i.rejected]

    @property
    def missing(self) -> int:
        return sum(i.missing for i in self.items)


def run_daily(config: BenchConfig, store: Store, day: date, outbox: Path, *, fmt: str = "json",
              created_ms: int, schemas: SchemaValidator | None = None,
              points: Sequence[MeteringPoint] | None = None) -> DailyDelivery:
    points = list(points) if points is not None else metering_points(config)
    messages = build_messages(day_intervals(config, store, day), points, config.datahub.sender_gln,
                              config.datahub.receiver_gln, created_ms, days=[day],
                              day_zone=config.timezone)
    items = deliver(messages, fmt, outbox, {p.gsrn: p for p in points}, schemas,
                    day_zone=config.timezone)
    return DailyDelivery(day, items)
