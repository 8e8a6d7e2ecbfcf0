"""Fuzzing every parser of user input: whatever the bytes, only the typed error escapes.

Typed errors: :class:`meterbench.core.errors.UserError` (and its DataHub subclass ``MalformedMessage``) in
``bench``, the ``ConfigError`` family and ``CodecError`` in ``instruments``, ``ValueError`` from the
SCPI number parsers (which the instrument properties turn into ``ResponseError``, also fuzzed).
Anything else (``KeyError``, ``TypeError``, ``UnicodeDecodeError``...) is a bug these tests find.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterbench.cli.pipeline_csv import read_intervals, read_readings
from meterbench.config.bench_file import parse_bench
from meterbench.core.errors import UserError
from meterbench.core.timeutil import parse_iso
from meterbench.datahub.build import Intervals, build_messages
from meterbench.datahub.cim_json import to_json
from meterbench.datahub.cim_xml import to_xml
from meterbench.datahub.errors import MalformedMessage
from meterbench.datahub.files import parse_message
from meterbench.datahub.model import MeteringPoint
from meterbench.instruments.errors import CodecError, FaultSpecError, RegisterMapError
from meterbench.instruments.registers import model_files, parse_register_map
from meterbench.instruments.regmap import DATA_TYPES, FC_INPUT, WORD_ORDERS, Channel
from meterbench.instruments.scpi.base import Identity, parse_error_entry
from meterbench.instruments.scpi.errors import ResponseError
from meterbench.instruments.scpi.properties import (
    Measurement,
    parse_bool,
    parse_float,
    parse_floats,
)
from meterbench.instruments.sim.faults import fault_from_dict
from meterbench.sampling.inventory import read_inventory_text

from .helpers import TINY_BENCH
from .strategies import TOML_VALUES, mutated

#: Examples per parser: 80 in the default run; METERBENCH_FUZZ_EXAMPLES=2000 for a deep search.
FUZZ = settings(max_examples=int(os.environ.get("METERBENCH_FUZZ_EXAMPLES", "80")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TINY = tomllib.loads(TINY_BENCH.read_text(encoding="utf-8"))
SDM630 = tomllib.loads(model_files()["eastron_sdm630"].read_text(encoding="utf-8"))
CSV_TOKENS = st.lists(st.sampled_from(list("m1,\"\n\r\t ;:.-+eE0123456789TZxé\x00")
                                      + ["energy.import", "2026-06-01T00:00:00Z", "nan", "inf"]),
                      max_size=30).map("".join)


# ---- bench files --------------------------------------------------------------------------------
@FUZZ
@given(mutated(TINY))
def test_parse_bench_on_mutated_bench_files(data: Any) -> None:
    try:
        parse_bench(data, source="fuzz.toml")
    except UserError as exc:
        assert exc.source == "fuzz.toml"


@FUZZ
@given(st.dictionaries(st.sampled_from(["bench", "run", "meter", "load", "datahub", "x"]),
                       TOML_VALUES, max_size=5))
def test_parse_bench_on_arbitrary_toml_shaped_data(data: dict[str, Any]) -> None:
    try:
        parse_bench(data, source="fuzz.toml")
    except UserError:
        pass


# ---- register maps and the codec ----------------------------------------------------------------
@FUZZ
@given(mutated(SDM630))
def test_register_map_loader_on_mutated_maps(data: Any) -> None:
    try:
        regmap = parse_register_map(data, source="fuzz.toml", default_model="eastron_sdm630")
    except RegisterMapError:
        return
    assert regmap.channels  # a map that loads has something to read


@st.composite
def channels(draw: st.DrawFn) -> Channel:
    """Any channel the register-map loader accepts (a sentinel always fits its type)."""
    dtype = draw(st.sampled_from(list(DATA_TYPES.values())))
    all_ones = (1 << dtype.bits) - 1
    sentinel = draw(st.one_of(st.none(), st.just(all_ones), st.just(1 << (dtype.bits - 1)),
                              st.integers(0, all_ones)))
    return Channel(name="energy.import", address=draw(st.integers(0, 65000)), function=FC_INPUT,
                   dtype=dtype, word_order=draw(st.sampled_from(WORD_ORDERS)),
                   scale=draw(st.sampled_from([1.0, 0.1, 0.01, 0.001, 10.0, 0.5, 1e-6])),
                   sentinel=sentinel)


CHANNELS = channels()


@FUZZ
@given(CHANNELS, st.data())
def test_decode_any_registers(channel: Channel, data: st.DataObject) -> None:
    """Any register content decodes to a finite number or to no number with a flag; never raises."""
    n = data.draw(st.integers(0, 5))
    registers = data.draw(st.lists(st.integers(0, 0xFFFF), min_size=n, max_size=n))
    if n != channel.dtype.registers:
        with pytest.raises(CodecError):
            channel.decode(registers)
        return
    value, flag = channel.decode(registers)
    assert (value is None) == (flag is not None)
    assert value is None or math.isfinite(value)


@FUZZ
@given(CHANNELS, st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)))
def test_encode_any_value(channel: Channel, value: float | None) -> None:
    """Encoding refuses with CodecError only, and what it encodes decodes back to the value."""
    try:
        registers = channel.encode(value)
    except CodecError:
        return
    assert len(registers) == channel.dtype.registers
    assert all(0 <= r <= 0xFFFF for r in registers)
    back, flag = channel.decode(registers)
    if value is None or (channel.sentinel is not None and back is None and flag == "not_available"):
        assert flag == "not_available"
    elif not math.isfinite(value):
        assert back is None and flag in ("nan", "inf")
    elif back is not None:
        if channel.dtype.is_float:  # relative precision, plus the smallest subnormal (scaled)
            eps, tiny = (2**-23, 2**-149) if channel.dtype.name == "float32" else (2**-52, 2**-1074)
            tol = 2 * abs(value) * eps + 2 * tiny * channel.scale
        else:  # half a step, or float64 round-off of the engineering value when that is larger
            tol = max(channel.resolution / 2, 4 * abs(value) * 2**-52)
        assert abs(back - value) <= tol * (1 + 1e-9)


# ---- fault descriptions -------------------------------------------------------------------------
FAULT_KEYS = st.sampled_from(["kind", "start", "end", "code", "channels", "count", "colour"])
FAULT_KINDS = st.sampled_from(["exception", "no_answer", "corrupt", "drop", "frozen", "reset",
                               "not_available", "nan", "timeout", "bad_crc", "gremlins"])


@FUZZ
@given(st.dictionaries(FAULT_KEYS, st.one_of(TOML_VALUES, FAULT_KINDS), max_size=5))
def test_fault_descriptions(data: dict[str, Any]) -> None:
    try:
        fault_from_dict(data, source="fuzz.toml", field="faults[0]")
    except FaultSpecError:
        pass


# ---- readings, intervals and inventory CSVs -----------------------------------------------------
@pytest.fixture(scope="module")
def scratch() -> Any:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


@FUZZ
@given(CSV_TOKENS.map(lambda s: "meter,time,channel,value\n" + s)
       | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_readings_csv_reader(scratch: Path, text: str) -> None:
    path = scratch / "readings.csv"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        table = read_readings(path)
    except UserError:
        return
    for key in table.series:
        t, v = table.arrays(key)
        assert len(t) == len(v) and all(math.isfinite(x) for x in v)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["m", "x"]), st.sampled_from(["energy.import", ""]),
                          st.sampled_from(["2026-06-01T00:00Z", "2026-06-01T00:15Z", "bad", ""]),
                          st.sampled_from(["PT15M", "PT1H", "P1D", ""]),
                          st.sampled_from(["1.000", "", "x", "nan", "-0"]),
                          st.sampled_from(["measured", "missing", "estimated", "?"])),
                max_size=6))
def test_intervals_csv_reader(scratch: Path, rows: list[tuple[str, ...]]) -> None:
    path = scratch / "intervals.csv"
    path.write_text("meter,channel,start,resolution,quantity,quality\n"
                    + "".join(",".join(r) + "\n" for r in rows))
    try:
        read_intervals(path)
    except UserError:
        pass


INVENTORY_HEADER = "meter_id,model,class,rating,production_year,installation_date,location"


@FUZZ
@given(st.lists(st.lists(st.sampled_from(["A1", "B", "C", "Q", "2020", "²⁰²⁰", "2019-02-29",
                                          "2020-05-01", "", "x", "yes", '"', ",", "\n"]),
                         min_size=5, max_size=9), max_size=5),
       st.sampled_from([INVENTORY_HEADER, INVENTORY_HEADER + ",mid,technology,lot_id",
                        "meter_id,model"]))
def test_inventory_reader(rows: list[list[str]], header: str) -> None:
    text = header + "\n" + "".join(",".join(r) + "\n" for r in rows)
    try:
        meters = read_inventory_text(text, source="fuzz.csv")
    except UserError:
        return
    assert len({m.meter_id for m in meters}) == len(meters)


# ---- DataHub messages ---------------------------------------------------------------------------
def _valid_message() -> Any:
    start = parse_iso("2026-06-14T22:00Z")
    intervals = Intervals("ev", "energy.import", "PT15M", [start + i * 900_000 for i in range(4)],
                          [0.125] * 4, [1, 2, 3, 0])
    point = MeteringPoint(gsrn="571313180000000005", type="E17", subtype="physical",
                          resolution="PT15M", meter="ev", channel="energy.import")
    (message,) = build_messages([intervals], [point], "5790000000005", "5790001330583",
                                start + 30 * 3_600_000)
    return message


MESSAGE = _valid_message()
MESSAGE_JSON = json.loads(to_json(MESSAGE))
MESSAGE_XML = to_xml(MESSAGE)


@FUZZ
@given(mutated(MESSAGE_JSON, max_edits=2))
def test_datahub_json_parser_on_mutated_messages(doc: Any) -> None:
    try:
        data = json.dumps(doc, default=str).encode()
    except (ValueError, TypeError):
        return
    try:
        parse_message(data, source="fuzz.json")
    except MalformedMessage:
        pass


@FUZZ
@given(st.integers(0, len(MESSAGE_XML) - 1), st.binary(min_size=0, max_size=8),
       st.integers(0, 8))
def test_datahub_xml_parser_on_corrupted_messages(at: int, insert: bytes, cut: int) -> None:
    data = MESSAGE_XML[:at] + insert + MESSAGE_XML[at + cut:]
    try:
        parse_message(data, source="fuzz.xml")
    except MalformedMessage:
        pass


def test_an_unknown_encoding_in_the_xml_declaration_is_a_malformed_message() -> None:
    """Found by the fuzz above (a byte cut from "utf-8"): Python's LookupError escaped."""
    data = MESSAGE_XML.replace(b"utf-8", b"tf-8", 1).replace(b"UTF-8", b"TF-8", 1)
    assert data != MESSAGE_XML
    with pytest.raises(MalformedMessage, match="unknown encoding"):
        parse_message(data, source="fuzz.xml")


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=100).map(lambda s: ("<" + s).encode())
       | st.text(max_size=100).map(lambda s: ("{" + s).encode()))
def test_datahub_parser_on_arbitrary_bytes(data: bytes) -> None:
    try:
        parse_message(data, source="fuzz")
    except MalformedMessage:
        pass


# ---- SCPI responses -----------------------------------------------------------------------------
SCPI_TEXT = st.text(max_size=30) | st.sampled_from(
    ["9.91E37", "-9.9E37", "+1.234E+02", "1,2,3", "ON", "off", '-222,"Data out of range"',
     "0,\"No error\"", "YOKOGAWA,WT1800,91K123456,F1.01", "1e999", ""])


@FUZZ
@given(SCPI_TEXT)
def test_scpi_number_and_bool_parsers(text: str) -> None:
    for parse in (parse_float, parse_floats, parse_bool, parse_error_entry):
        try:
            parse(text)
        except ValueError:
            pass


class _Answers:
    """A host answering every query with one fixed text: the parse boundary of a property."""

    placeholders: dict[str, Any] = {}
    reading = Measurement(":MEASure:VOLTage?", "V")

    def __init__(self, reply: str) -> None:
        self.reply = reply

    def query(self, command: str) -> str:
        return self.reply


@FUZZ
@given(SCPI_TEXT)
def test_scpi_measurement_and_identity_raise_only_response_error(text: str) -> None:
    try:
        value = _Answers(text).reading
    except ResponseError as exc:
        assert exc.response == text
    else:
        assert isinstance(value, float)
    try:
        Identity.parse(text)
    except ResponseError:
        pass
