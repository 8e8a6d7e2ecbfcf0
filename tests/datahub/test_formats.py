"""CIM JSON and CIM XML: round trips, exact quantities, malformed and hostile input."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings

from meterbench.datahub.cim_json import from_json, to_json
from meterbench.datahub.cim_xml import from_xml, to_xml
from meterbench.datahub.errors import MalformedMessage, UnsafeXml
from meterbench.datahub.files import detect_format, parse_message
from meterbench.datahub.model import Message

from . import strategies
from .conftest import day_message


@settings(max_examples=150, deadline=None)
@given(strategies.message)
def test_json_round_trip(message: Message) -> None:
    assert from_json(to_json(message)) == message


@settings(max_examples=150, deadline=None)
@given(strategies.message)
def test_xml_round_trip(message: Message) -> None:
    assert from_xml(to_xml(message)) == message


@settings(max_examples=50, deadline=None)
@given(strategies.message)
def test_json_and_xml_carry_the_same_message(message: Message) -> None:
    assert from_json(to_json(message)) == from_xml(to_xml(message))


def test_quantities_are_written_with_three_decimals_and_read_exactly() -> None:
    message = day_message()
    text = to_json(message)
    assert '"quantity": 0.125,' in text and '"quantity": 1.000,' in text
    xml = to_xml(message).decode()
    assert "<cim:quantity>1.000</cim:quantity>" in xml
    assert "E" not in "".join(line for line in xml.splitlines() if "quantity>" in line)
    parsed = from_json(text).series[0].period.points[8].quantity
    assert str(parsed) == "1.000"  # Decimal, not float


def test_json_with_bom_and_xml_from_text_are_read() -> None:
    message = day_message()
    assert from_json(b"\xef\xbb\xbf" + to_json(message).encode()) == message
    assert from_xml(to_xml(message).decode()) == message
    assert detect_format(b"\xef\xbb\xbf  {") == "json"
    assert parse_message(to_xml(message))[0] == "xml"


@pytest.mark.parametrize(("text", "where"), [
    ("{", "not valid JSON"),
    ("[]", "not a JSON object"),
    ('{"other": {}}', "NotifyValidatedMeasureData_MarketDocument: missing"),
    ("NaN", "not valid JSON"),
])
def test_malformed_json_names_the_problem(text: str, where: str) -> None:
    with pytest.raises(MalformedMessage, match=where):
        from_json(text, source="in.json")


def _tree() -> dict:
    return json.loads(to_json(day_message()))


@pytest.mark.parametrize(("edit", "where"), [
    (lambda d: d.pop("mRID"), r"NotifyValidatedMeasureData_MarketDocument\.mRID: missing"),
    (lambda d: d["Series"][0]["Period"]["timeInterval"]["start"].update(value="2026-06-14T22:00:00Z"),
     "timeInterval.start: bad period time"),
    (lambda d: d["Series"][0]["Period"]["timeInterval"]["end"].update(value="2026-02-30T22:00Z"),
     "bad period time"),
    (lambda d: d["Series"][0]["Period"]["Point"][0]["position"].update(value="1"),
     r"Point\[0\]\.position\.value: not an integer"),
    (lambda d: d["Series"][0]["Period"]["Point"][0].update(quantity="1.0"),
     r"Point\[0\]\.quantity: not a number"),
    (lambda d: d.update(createdDateTime="yesterday"), "createdDateTime: not an ISO 8601 time"),
    (lambda d: d.update(Series={}), "Series: not an array"),
])
def test_malformed_json_fields_are_named(edit, where: str) -> None:
    tree = _tree()
    edit(tree["NotifyValidatedMeasureData_MarketDocument"])
    with pytest.raises(MalformedMessage, match=where) as caught:
        from_json(json.dumps(tree), source="msg.json")
    assert caught.value.format().startswith("msg.json: ")


@pytest.mark.parametrize(("edit", "where"), [
    (lambda x: x.replace(b"<cim:mRID>", b"<cim:mrid>", 1).replace(b"</cim:mRID>", b"</cim:mrid>", 1),
     "NotifyValidatedMeasureData_MarketDocument/mRID: missing"),
    (lambda x: x.replace(b"urn:ediel.org:measure:notifyvalidatedmeasuredata:0:1", b"urn:other"),
     "root element"),
    (lambda x: x.replace(b"<cim:quantity>1.000<", b"<cim:quantity>1e3<"), "not a decimal"),
    (lambda x: x.replace(b"<cim:position>3<", b"<cim:position>three<"), "not an integer"),
    (lambda x: x.replace(b' codingScheme="A10"', b"", 1), "missing attribute codingScheme"),
    (lambda x: x[:-40], "not well-formed XML"),
])
def test_malformed_xml_is_named(edit, where: str) -> None:
    with pytest.raises(MalformedMessage, match=where):
        from_xml(edit(to_xml(day_message())), source="msg.xml")


def test_xxe_external_entity_is_refused_without_reading_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    payload = to_xml(day_message()).replace(
        b"<cim:NotifyValidatedMeasureData_MarketDocument",
        f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        "<cim:NotifyValidatedMeasureData_MarketDocument".encode(), 1,
    ).replace(b"<cim:mRID>", b"<cim:mRID>&xxe;", 1)
    with pytest.raises(UnsafeXml) as caught:
        from_xml(payload, source="evil.xml")
    assert "TOP-SECRET" not in caught.value.format()
    assert caught.value.format().startswith("evil.xml: unsafe XML refused")


def test_billion_laughs_is_refused() -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">' for i in range(1, 10))
    payload = (f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]>'
               '<cim:NotifyValidatedMeasureData_MarketDocument '
               'xmlns:cim="urn:ediel.org:measure:notifyvalidatedmeasuredata:0:1">'
               "<cim:mRID>&lol9;</cim:mRID></cim:NotifyValidatedMeasureData_MarketDocument>")
    with pytest.raises(UnsafeXml):
        from_xml(payload.encode())


def test_external_dtd_is_refused() -> None:
    payload = (b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/x.dtd">'
               b"<r/>")
    with pytest.raises(UnsafeXml):
        from_xml(payload)


HAND_WRITTEN = """{"NotifyValidatedMeasureData_MarketDocument": {
  "type": {"value": "E66"}, "mRID": "msg-1", "createdDateTime": "2026-06-16T07:30:54Z",
  "process.processType": {"value": "E23"},
  "sender_MarketParticipant.marketRole.type": {"value": "MDR"},
  "sender_MarketParticipant.mRID": {"value": "5790000000005", "codingScheme": "A10"},
  "receiver_MarketParticipant.mRID": {"codingScheme": "A10", "value": "5790001330583"},
  "receiver_MarketParticipant.marketRole.type": {"value": "DGL"},
  "Series": [{"Period": {"Point": [
      {"quantity": 242, "position": {"value": 1}},
      {"position": {"value": 2}, "quality": {"value": "A02"}},
      {"position": {"value": 3}, "quantity": 1.5, "quality": {"value": "A03"}}],
    "timeInterval": {"end": {"value": "2026-06-15T01:00Z"}, "start": {"value": "2026-06-14T22:00Z"}},
    "resolution": "PT1H"},
    "quantity_Measure_Unit.name": {"value": "KWH"}, "mRID": "s-1",
    "registration_DateAndOrTime.dateTime": "2026-06-16T07:30:00Z",
    "marketEvaluationPoint.type": {"value": "E18"},
    "marketEvaluationPoint.mRID": {"codingScheme": "A10", "value": "571313180000000005"}}]}}"""


def test_hand_written_json_in_any_key_order_is_read() -> None:
    message = from_json(HAND_WRITTEN)
    series = message.series[0]
    assert (message.mrid, message.business_sector, series.product) == ("msg-1", None, None)
    assert [(p.position, p.quantity, p.quality) for p in series.period.points] == [
        (1, Decimal("242"), None), (2, None, "A02"), (3, Decimal("1.5"), "A03")]
    assert from_json(to_json(message)) == message
