"""RSM-012 in CIM XML: write and read, safely.

Element names and order follow Energinet's ``urn-ediel-org-measure-notifyvalidatedmeasuredata-0-1.xsd``
(namespace ``urn:ediel.org:measure:notifyvalidatedmeasuredata:0:1``, elements qualified).

Reading goes through :mod:`defusedxml` with DTDs forbidden outright: a message never needs a
DOCTYPE, so any DTD, entity declaration or external reference is refused with :class:`UnsafeXml`
before a single entity is expanded (no XXE, no billion laughs).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # writing only; reading uses defusedxml
from decimal import Decimal, InvalidOperation

import defusedxml
import defusedxml.ElementTree as SafeET

from meterbench.datahub.errors import MalformedMessage, UnsafeXml
from meterbench.datahub.model import Message, Period, Point, Series
from meterbench.datahub.quantity import format_quantity
from meterbench.datahub.times import (
    format_created,
    format_period_time,
    parse_created,
    parse_period_time,
)

NAMESPACE = "urn:ediel.org:measure:notifyvalidatedmeasuredata:0:1"
ROOT = "NotifyValidatedMeasureData_MarketDocument"
_NS = "{" + NAMESPACE + "}"
_INTEGER = re.compile(r"[+-]?[0-9]+")


def _sub(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, _NS + name, attrs)
    if text is not None:
        element.text = text
    return element


def message_to_element(msg: Message) -> ET.Element:
    root = ET.Element(_NS + ROOT)
    _sub(root, "mRID", msg.mrid)
    _sub(root, "type", msg.type)
    _sub(root, "process.processType", msg.process_type)
    if msg.business_sector is not None:
        _sub(root, "businessSector.type", msg.business_sector)
    _sub(root, "sender_MarketParticipant.mRID", msg.sender_id, codingScheme=msg.sender_scheme)
    _sub(root, "sender_MarketParticipant.marketRole.type", msg.sender_role)
    _sub(root, "receiver_MarketParticipant.mRID", msg.receiver_id, codingScheme=msg.receiver_scheme)
    _sub(root, "receiver_MarketParticipant.marketRole.type", msg.receiver_role)
    _sub(root, "createdDateTime", format_created(msg.created_ms))
    for series in msg.series:
        _series_element(root, series)
    return root


def _series_element(root: ET.Element, series: Series) -> None:
    node = _sub(root, "Series")
    _sub(node, "mRID", series.mrid)
    if series.original_transaction_id is not None:
        _sub(node, "originalTransactionIDReference_Series.mRID", series.original_transaction_id)
    _sub(node, "marketEvaluationPoint.mRID", series.metering_point_id,
         codingScheme=series.metering_point_scheme)
    _sub(node, "marketEvaluationPoint.type", series.metering_point_type)
    _sub(node, "registration_DateAndOrTime.dateTime", format_created(series.registration_ms))
    if series.product is not None:
        _sub(node, "product", series.product)
    _sub(node, "quantity_Measure_Unit.name", series.unit)
    period = series.period
    period_node = _sub(node, "Period")
    _sub(period_node, "resolution", period.resolution)
    interval = _sub(period_node, "timeInterval")
    _sub(interval, "start", format_period_time(period.start_ms))
    _sub(interval, "end", format_period_time(period.end_ms))
    for point in period.points:
        point_node = _sub(period_node, "Point")
        _sub(point_node, "position", str(point.position))
        if point.quantity is not None:
            _sub(point_node, "quantity", format_quantity(point.quantity))
        if point.quality is not None:
            _sub(point_node, "quality", point.quality)


def to_xml(msg: Message) -> bytes:
    """UTF-8 XML with declaration, ``cim`` namespace prefix, indented for people."""
    ET.register_namespace("cim", NAMESPACE)
    root = message_to_element(msg)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


# ---------------------------------------------------------------------------------------- reading

def parse_xml_safely(data: bytes | str, *, source: str | None = None) -> ET.Element:
    """The root element, refusing DTDs/entities/external references with :class:`UnsafeXml`."""
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True,
                                 forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise UnsafeXml(f"unsafe XML refused ({type(exc).__name__}: {exc})", source=source,
                        expected="a plain XML message without DOCTYPE or entities") from None
    except ET.ParseError as exc:
        raise MalformedMessage(f"not well-formed XML: {exc}", source=source) from None
    except LookupError as exc:  # the XML declaration names an encoding Python does not know
        raise MalformedMessage(f"not well-formed XML: {exc}", source=source,
                               expected='encoding="UTF-8" in the XML declaration') from None


def from_xml(data: bytes | str, *, source: str | None = None) -> Message:
    """Parse CIM XML into a :class:`Message`; :class:`MalformedMessage` when it is not one."""
    root = parse_xml_safely(data, source=source)
    return element_to_message(root, source=source)


def element_to_message(root: ET.Element, *, source: str | None = None) -> Message:
    if root.tag != _NS + ROOT:
        raise MalformedMessage(f"root element is {root.tag!r}", source=source,
                               expected=f"{{{NAMESPACE}}}{ROOT}")
    reader = _Reader(source)
    sender_scheme, sender = reader.ident(root, "sender_MarketParticipant.mRID", ROOT)
    receiver_scheme, receiver = reader.ident(root, "receiver_MarketParticipant.mRID", ROOT)
    return Message(
        mrid=reader.text(root, "mRID", ROOT),
        type=reader.text(root, "type", ROOT),
        process_type=reader.text(root, "process.processType", ROOT),
        business_sector=reader.optional(root, "businessSector.type"),
        sender_scheme=sender_scheme, sender_id=sender,
        sender_role=reader.text(root, "sender_MarketParticipant.marketRole.type", ROOT),
        receiver_scheme=receiver_scheme, receiver_id=receiver,
        receiver_role=reader.text(root, "receiver_MarketParticipant.marketRole.type", ROOT),
        created_ms=parse_created(reader.text(root, "createdDateTime", ROOT), source=source,
                                 field=f"{ROOT}/createdDateTime"),
        series=tuple(reader.series(node, f"{ROOT}/Series[{i + 1}]")
                     for i, node in enumerate(root.findall(_NS + "Series"))),
    )


class _Reader:
    def __init__(self, source: str | None) -> None:
        self.source = source

    def element(self, parent: ET.Element, name: str, path: str) -> ET.Element:
        found = parent.find(_NS + name)
        if found is None:
            raise MalformedMessage("missing", source=self.source, field=f"{path}/{name}")
        return found

    def text(self, parent: ET.Element, name: str, path: str) -> str:
        return (self.element(parent, name, path).text or "").strip()

    def optional(self, parent: ET.Element, name: str) -> str | None:
        found = parent.find(_NS + name)
        return None if found is None else (found.text or "").strip()

    def ident(self, parent: ET.Element, name: str, path: str) -> tuple[str, str]:
        node = self.element(parent, name, path)
        scheme = node.get("codingScheme")
        if scheme is None:
            raise MalformedMessage("missing attribute codingScheme", source=self.source,
                                   field=f"{path}/{name}")
        return scheme, (node.text or "").strip()

    def series(self, node: ET.Element, path: str) -> Series:
        scheme, mp_id = self.ident(node, "marketEvaluationPoint.mRID", path)
        return Series(
            mrid=self.text(node, "mRID", path),
            original_transaction_id=self.optional(node, "originalTransactionIDReference_Series.mRID"),
            metering_point_scheme=scheme, metering_point_id=mp_id,
            metering_point_type=self.text(node, "marketEvaluationPoint.type", path),
            registration_ms=parse_created(
                self.text(node, "registration_DateAndOrTime.dateTime", path), source=self.source,
                field=f"{path}/registration_DateAndOrTime.dateTime"),
            product=self.optional(node, "product"),
            unit=self.text(node, "quantity_Measure_Unit.name", path),
            period=self.period(self.element(node, "Period", path), f"{path}/Period"),
        )

    def period(self, node: ET.Element, path: str) -> Period:
        interval = self.element(node, "timeInterval", path)
        where = f"{path}/timeInterval"
        return Period(
            resolution=self.text(node, "resolution", path),
            start_ms=parse_period_time(self.text(interval, "start", where), source=self.source,
                                       field=f"{where}/start"),
            end_ms=parse_period_time(self.text(interval, "end", where), source=self.source,
                                     field=f"{where}/end"),
            points=tuple(self.point(p, f"{path}/Point[{i + 1}]")
                         for i, p in enumerate(node.findall(_NS + "Point"))),
        )

    def point(self, node: ET.Element, path: str) -> Point:
        position_text = self.text(node, "position", path)
        if not _INTEGER.fullmatch(position_text):
            raise MalformedMessage(f"not an integer: {position_text!r}", source=self.source,
                                   field=f"{path}/position", expected="an integer")
        position = int(position_text)
        quantity_text = self.optional(node, "quantity")
        quantity = None
        if quantity_text is not None:
            try:
                quantity = Decimal(quantity_text)
            except InvalidOperation:
                quantity = None
            if quantity is None or not quantity.is_finite() or "e" in quantity_text.lower():
                raise MalformedMessage(f"not a decimal: {quantity_text!r}", source=self.source,
                                       field=f"{path}/quantity", expected="xs:decimal like 1.250")
        return Point(position=position, quantity=quantity, quality=self.optional(node, "quality"))
