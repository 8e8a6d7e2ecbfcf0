"""Conformance with Energinet's official RSM-012 schemas (skipped with a reason when absent)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterbench.core.quality import Quality
from meterbench.core.timeutil import parse_iso
from meterbench.datahub.build import Intervals, build_messages
from meterbench.datahub.cim_json import to_json
from meterbench.datahub.cim_xml import parse_xml_safely, to_xml
from meterbench.datahub.model import Message, Point
from meterbench.datahub.schema import SchemaValidator, find_schema_dir

from .conftest import GSRN, QUARTER_MS, RECEIVER, SCHEMA_DIR, SENDER, day_message, metering_point


def _both_errors(schemas: SchemaValidator, message: Message) -> tuple[list[str], list[str]]:
    return (schemas.json_errors(to_json(message)),
            schemas.xml_errors(parse_xml_safely(to_xml(message))))


def test_the_default_lookup_reads_the_environment(schemas: SchemaValidator, monkeypatch,
                                                 tmp_path) -> None:
    monkeypatch.setenv("METERBENCH_DATAHUB_SCHEMAS", str(SCHEMA_DIR))
    assert find_schema_dir() == SCHEMA_DIR.resolve()
    monkeypatch.setenv("METERBENCH_DATAHUB_SCHEMAS", str(tmp_path))  # not a schema folder
    assert find_schema_dir() is None
    monkeypatch.delenv("METERBENCH_DATAHUB_SCHEMAS")
    monkeypatch.chdir(SCHEMA_DIR.parent.parent.parent)  # no guessing from the current folder
    assert find_schema_dir() is None


@pytest.mark.parametrize("build", [
    lambda: day_message(),
    lambda: day_message("2026-03-28T23:00Z", 92),
    lambda: day_message("2026-10-24T22:00Z", 100),
    lambda: day_message("2026-06-14T22:00Z", 24, "PT1H"),
    lambda: build_messages([], [metering_point(type="E18")], SENDER, RECEIVER,
                           parse_iso("2026-06-16T05:00:00.250Z"), days=[date(2026, 6, 15)])[0],
])
def test_built_messages_validate_in_json_and_xml(schemas: SchemaValidator, build) -> None:
    assert _both_errors(schemas, build()) == ([], [])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(st.tuples(st.one_of(st.none(), st.floats(0, 1e9)),
                                 st.sampled_from(list(Quality))), min_size=1, max_size=96),
       mp_type=st.sampled_from(["E17", "E18", "E20", "D01", "D06", "D07", "D14", "D15", "D99"]))
def test_any_built_message_validates(schemas: SchemaValidator, values, mp_type: str) -> None:
    t0 = parse_iso("2026-06-14T22:00Z")
    iv = Intervals("ev", "energy.import", "PT15M", [t0 + i * QUARTER_MS for i in range(len(values))],
                   [float("nan") if v is None else v for v, _ in values], [q for _, q in values])
    (message,) = build_messages([iv], [metering_point(type=mp_type)], SENDER, RECEIVER,
                                t0 + 86_400_000)
    assert _both_errors(schemas, message) == ([], [])


@pytest.mark.parametrize(("change", "json_field"), [
    (lambda m: replace(m, type="E99"), "type/value"),
    (lambda m: replace(m, sender_role="XYZ"), "sender_MarketParticipant.marketRole.type/value"),
    (lambda m: replace(m, sender_id="57900000000050000"), "sender_MarketParticipant.mRID/value"),
    (lambda m: replace(m, series=(replace(m.series[0], unit="KWHH"),)),
     "quantity_Measure_Unit.name/value"),
    (lambda m: replace(m, series=(replace(m.series[0], period=replace(
        m.series[0].period, points=(Point(1, Decimal("1.000"), "A99"),))),)),
     "Point/0/quality/value"),
    (lambda m: replace(m, series=(replace(m.series[0], period=replace(
        m.series[0].period, points=())),)), "Series/0/Period/Point"),
])
def test_schema_catches_what_the_model_lets_through(schemas: SchemaValidator, change,
                                                    json_field: str) -> None:
    json_errors, xml_errors = _both_errors(schemas, change(day_message()))
    assert any(json_field in e for e in json_errors), json_errors
    assert xml_errors


def test_json_schema_reads_the_document_the_way_we_write_it(schemas: SchemaValidator) -> None:
    tree = json.loads(to_json(day_message()))
    del tree["NotifyValidatedMeasureData_MarketDocument"]["Series"][0]["marketEvaluationPoint.mRID"]
    errors = schemas.json_errors(json.dumps(tree))
    assert any("marketEvaluationPoint.mRID" in e and "required" in e for e in errors)


def test_schema_validation_reports_a_gsrn_longer_than_35(schemas: SchemaValidator) -> None:
    message = day_message()
    long_id = replace(message, series=(replace(message.series[0], metering_point_id="5" * 36),))
    json_errors, xml_errors = _both_errors(schemas, long_id)
    assert json_errors and xml_errors
    assert GSRN not in " ".join(json_errors)
