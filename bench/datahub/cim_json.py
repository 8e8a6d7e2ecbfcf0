"""RSM-012 in CIM JSON: write and read.

Shape follows Energinet's schema ``Notify-Validated-measure-data-assembly-model.schema.json``: the
root object has one key ``NotifyValidatedMeasureData_MarketDocument``; coded values are objects
``{"value": ...}``, identifiers ``{"codingScheme": ..., "value": ...}``; ``Series`` is an array, its
``Period`` an object whose ``Point`` is an array. Quantities are JSON numbers written with exactly
the decimals the model holds (3 from the builder): Python's ``json`` cannot emit a Decimal, so the
writer is a tiny emitter of its own, and the reader parses numbers as Decimal, never float.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from meterbench.datahub.errors import MalformedMessage
from meterbench.datahub.model import Message, Period, Point, Series
from meterbench.datahub.quantity import format_quantity
from meterbench.datahub.times import (
    format_created,
    format_period_time,
    parse_created,
    parse_period_time,
)

ROOT = "NotifyValidatedMeasureData_MarketDocument"


def _coded(value: str) -> dict[str, str]:
    return {"value": value}


def _ident(scheme: str, value: str) -> dict[str, str]:
    return {"codingScheme": scheme, "value": value}


def message_to_dict(msg: Message) -> dict[str, Any]:
    """The message as the JSON tree (quantities stay Decimal)."""
    doc: dict[str, Any] = {
        "mRID": msg.mrid,
        "businessSector.type": _coded(msg.business_sector) if msg.business_sector else None,
        "createdDateTime": format_created(msg.created_ms),
        "process.processType": _coded(msg.process_type),
        "receiver_MarketParticipant.mRID": _ident(msg.receiver_scheme, msg.receiver_id),
        "receiver_MarketParticipant.marketRole.type": _coded(msg.receiver_role),
        "sender_MarketParticipant.mRID": _ident(msg.sender_scheme, msg.sender_id),
        "sender_MarketParticipant.marketRole.type": _coded(msg.sender_role),
        "type": _coded(msg.type),
        "Series": [_series_to_dict(s) for s in msg.series],
    }
    return {ROOT: {k: v for k, v in doc.items() if v is not None}}


def _series_to_dict(series: Series) -> dict[str, Any]:
    out: dict[str, Any] = {"mRID": series.mrid}
    if series.original_transaction_id is not None:
        out["originalTransactionIDReference_Series.mRID"] = series.original_transaction_id
    out["marketEvaluationPoint.mRID"] = _ident(series.metering_point_scheme,
                                               series.metering_point_id)
    out["marketEvaluationPoint.type"] = _coded(series.metering_point_type)
    out["registration_DateAndOrTime.dateTime"] = format_created(series.registration_ms)
    if series.product is not None:
        out["product"] = series.product
    out["quantity_Measure_Unit.name"] = _coded(series.unit)
    period = series.period
    out["Period"] = {
        "resolution": period.resolution,
        "timeInterval": {"start": _coded(format_period_time(period.start_ms)),
                         "end": _coded(format_period_time(period.end_ms))},
        "Point": [_point_to_dict(p) for p in period.points],
    }
    return out


def _point_to_dict(point: Point) -> dict[str, Any]:
    out: dict[str, Any] = {"position": {"value": point.position}}
    if point.quantity is not None:
        out["quantity"] = point.quantity
    if point.quality is not None:
        out["quality"] = _coded(point.quality)
    return out


def to_json(msg: Message, *, indent: int = 2) -> str:
    """CIM JSON text (UTF-8 without BOM when written)."""
    return _emit(message_to_dict(msg), indent, 0) + "\n"


def _emit(value: Any, indent: int, level: int) -> str:
    pad, inner = " " * (indent * level), " " * (indent * (level + 1))
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(str(k))}: {_emit(v, indent, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [inner + _emit(v, indent, level + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"quantity {value} is not a finite number")
        return format_quantity(value)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | str):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {type(value).__name__} into CIM JSON")


# ---------------------------------------------------------------------------------------- reading

def _int_or_decimal(text: str) -> int | Decimal:
    try:
        return int(text)
    except ValueError:  # beyond Python's int-string digit limit
        return Decimal(text)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def from_json(text: str | bytes, *, source: str | None = None) -> Message:
    """Parse CIM JSON into a :class:`Message`; :class:`MalformedMessage` when it is not one."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise MalformedMessage(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                                   source=source) from None
    text = text.removeprefix("\ufeff")
    try:
        tree = json.loads(text, parse_float=Decimal, parse_int=_int_or_decimal,
                          parse_constant=_refuse_constant)
    except (ValueError, InvalidOperation, RecursionError) as exc:
        raise MalformedMessage(f"not valid JSON: {exc}", source=source) from None
    reader = _Reader(source)
    doc = reader.obj(tree, ROOT, "")
    return reader.message(doc)


class _Reader:
    """Walks the JSON tree; every missing or mistyped field names its JSON path."""

    def __init__(self, source: str | None) -> None:
        self.source = source

    def fail(self, path: str, message: str, expected: str | None = None) -> MalformedMessage:
        return MalformedMessage(message, source=self.source, field=path or "(root)",
                                expected=expected)

    def obj(self, parent: Any, key: str, path: str, *, required: bool = True) -> Any:
        where = f"{path}.{key}" if path else key
        if not isinstance(parent, dict):
            raise self.fail(path, "not a JSON object", "an object")
        if key not in parent:
            if required:
                raise self.fail(where, "missing")
            return None
        return parent[key]

    def string(self, parent: Any, key: str, path: str, *, required: bool = True) -> str | None:
        value = self.obj(parent, key, path, required=required)
        if value is None and not required:
            return None
        if not isinstance(value, str):
            raise self.fail(f"{path}.{key}", f"not a string: {value!r}", "a string")
        return value

    def coded(self, parent: Any, key: str, path: str, *, required: bool = True) -> str | None:
        node = self.obj(parent, key, path, required=required)
        if node is None and not required:
            return None
        return self.string(node, "value", f"{path}.{key}")

    def ident(self, parent: Any, key: str, path: str) -> tuple[str, str]:
        node = self.obj(parent, key, path)
        where = f"{path}.{key}"
        scheme = self.string(node, "codingScheme", where)
        value = self.string(node, "value", where)
        assert scheme is not None and value is not None
        return scheme, value

    def message(self, doc: Any) -> Message:
        path = ROOT
        sender_scheme, sender = self.ident(doc, "sender_MarketParticipant.mRID", path)
        receiver_scheme, receiver = self.ident(doc, "receiver_MarketParticipant.mRID", path)
        series_nodes = self.obj(doc, "Series", path, required=False)
        series_nodes = [] if series_nodes is None else series_nodes
        if not isinstance(series_nodes, list):
            raise self.fail(f"{path}.Series", "not an array", "an array of series")
        created = self.string(doc, "createdDateTime", path)
        assert created is not None
        return Message(
            mrid=str(self.string(doc, "mRID", path)),
            type=str(self.coded(doc, "type", path)),
            process_type=str(self.coded(doc, "process.processType", path)),
            business_sector=self.coded(doc, "businessSector.type", path, required=False),
            sender_scheme=sender_scheme, sender_id=sender,
            sender_role=str(self.coded(doc, "sender_MarketParticipant.marketRole.type", path)),
            receiver_scheme=receiver_scheme, receiver_id=receiver,
            receiver_role=str(self.coded(doc, "receiver_MarketParticipant.marketRole.type", path)),
            created_ms=parse_created(created, source=self.source, field=f"{path}.createdDateTime"),
            series=tuple(self.series(s, f"{path}.Series[{i}]") for i, s in enumerate(series_nodes)),
        )

    def series(self, node: Any, path: str) -> Series:
        scheme, mp_id = self.ident(node, "marketEvaluationPoint.mRID", path)
        registration = self.string(node, "registration_DateAndOrTime.dateTime", path)
        assert registration is not None
        return Series(
            mrid=str(self.string(node, "mRID", path)),
            original_transaction_id=self.string(
                node, "originalTransactionIDReference_Series.mRID", path, required=False),
            metering_point_scheme=scheme, metering_point_id=mp_id,
            metering_point_type=str(self.coded(node, "marketEvaluationPoint.type", path)),
            registration_ms=parse_created(registration, source=self.source,
                                          field=f"{path}.registration_DateAndOrTime.dateTime"),
            product=self.string(node, "product", path, required=False),
            unit=str(self.coded(node, "quantity_Measure_Unit.name", path)),
            period=self.period(self.obj(node, "Period", path), f"{path}.Period"),
        )

    def period(self, node: Any, path: str) -> Period:
        interval = self.obj(node, "timeInterval", path)
        where = f"{path}.timeInterval"
        start = self.coded(interval, "start", where)
        end = self.coded(interval, "end", where)
        assert start is not None and end is not None
        points = self.obj(node, "Point", path)
        if not isinstance(points, list):
            raise self.fail(f"{path}.Point", "not an array", "an array of points")
        return Period(
            resolution=str(self.string(node, "resolution", path)),
            start_ms=parse_period_time(start, source=self.source, field=f"{where}.start"),
            end_ms=parse_period_time(end, source=self.source, field=f"{where}.end"),
            points=tuple(self.point(p, f"{path}.Point[{i}]") for i, p in enumerate(points)),
        )

    def point(self, node: Any, path: str) -> Point:
        position_node = self.obj(node, "position", path)
        position = self.obj(position_node, "value", f"{path}.position")
        if not isinstance(position, int) or isinstance(position, bool):
            raise self.fail(f"{path}.position.value", f"not an integer: {position!r}", "an integer")
        quantity = self.obj(node, "quantity", path, required=False)
        if quantity is not None:
            if isinstance(quantity, bool) or not isinstance(quantity, int | Decimal):
                raise self.fail(f"{path}.quantity", f"not a number: {quantity!r}", "a decimal number")
            quantity = Decimal(quantity)
        return Point(position=position, quantity=quantity,
                     quality=self.coded(node, "quality", path, required=False))
