"""The RSM-012 message as plain typed values, independent of CIM JSON or CIM XML.

A :class:`Message` is one ``NotifyValidatedMeasureData_MarketDocument``; it holds one or more
:class:`Series` (one metering point each), and each series has exactly one :class:`Period` (the
schemas allow one) with its :class:`Point` values. Times are epoch milliseconds UTC like everywhere
in the bench; quantities are :class:`decimal.Decimal` kWh so that "3 decimals" is exact, not a
float's approximation. The model carries what the wire carries, including invalid values, so that
the business-rule validator can judge a parsed message; the builder is what guarantees validity.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from meterbench.datahub import codes


@dataclass(frozen=True)
class Point:
    """Position n covers ``[start + (n-1)*resolution, start + n*resolution)`` (RSM-012)."""

    position: int
    quantity: Decimal | None = None
    quality: str | None = None


@dataclass(frozen=True)
class Period:
    resolution: str
    start_ms: int
    end_ms: int
    points: tuple[Point, ...] = ()


@dataclass(frozen=True)
class Series:
    mrid: str
    metering_point_id: str
    metering_point_type: str
    registration_ms: int
    period: Period
    product: str | None = codes.PRODUCT_ACTIVE_ENERGY
    unit: str = codes.UNIT_KWH
    original_transaction_id: str | None = None
    metering_point_scheme: str = codes.CODING_SCHEME_GS1


@dataclass(frozen=True)
class Message:
    mrid: str
    sender_id: str
    receiver_id: str
    created_ms: int
    series: tuple[Series, ...] = ()
    type: str = codes.DOCUMENT_TYPE
    process_type: str = codes.PROCESS_TYPE
    business_sector: str | None = codes.BUSINESS_SECTOR
    sender_role: str = codes.SENDER_ROLE
    receiver_role: str = codes.RECEIVER_ROLE
    sender_scheme: str = codes.CODING_SCHEME_GS1
    receiver_scheme: str = codes.CODING_SCHEME_GS1


@dataclass(frozen=True)
class MeteringPoint:
    """Master data of one metering point, as the bench file declares it (``results.json``)."""

    gsrn: str
    type: str
    subtype: str
    resolution: str
    meter: str
    channel: str
    unit: str = codes.UNIT_KWH
