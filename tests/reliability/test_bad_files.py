"""Bad data files: readings and interval CSVs, inventories, register maps and DataHub messages.

Each is refused by the command a user would run, with one line naming the file (and the row and
field where there is one), exit status 2 and no traceback. A DataHub message that parses but
breaks the schema is not a user error: it is *rejected* (exit 1) with its reasons.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import meterbench.cli
from meterbench.core.timeutil import parse_iso
from meterbench.datahub.build import Intervals, build_messages
from meterbench.datahub.cim_json import to_json
from meterbench.datahub.model import MeteringPoint
from meterbench.datahub.schema import is_schema_dir

from .helpers import REPO_ROOT, assert_one_line_error, edit, run_cli, tiny_bench_text

SCHEMA_DIR = REPO_ROOT.parent / "shared" / "datahub" / "schemas"
READINGS_HEADER = "meter,time,channel,value\n"
GOOD_ROW = "m1,2026-06-01T00:00:00Z,energy.import,1.5\n"
INVENTORY_HEADER = ("meter_id,model,class,rating,production_year,installation_date,location\n")
INVENTORY_ROW = "A1,Eastron SDM630,B,0.25-5(80)A,2020,2020-05-01,site 1\n"
HUGE_FIELD = '"' + "x" * 200_000 + '"'  # over the csv module's 131072-character field limit


def _main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = meterbench.cli.main(list(argv))
    return code, capsys.readouterr().err


# ---- readings CSVs: meterbench intervals, meterbench align ----------------------------------
READINGS: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "missing_columns": (b"meter,time\nm1,2026-06-01T00:00:00Z\n", ("header (row 1)", "channel")),
    "not_a_number": ((READINGS_HEADER + "m1,2026-06-01T00:00:00Z,energy.import,lots\n").encode(),
                     ("row 2", "value", "not a number")),
    "nan_value": ((READINGS_HEADER + "m1,2026-06-01T00:00:00Z,energy.import,nan\n").encode(),
                  ("row 2", "value", "not a finite number")),
    "bad_time": ((READINGS_HEADER + GOOD_ROW + "m1,yesterday,energy.import,2\n").encode(),
                 ("row 3", "time")),
    "empty_meter": ((READINGS_HEADER + ",2026-06-01T00:00:00Z,energy.import,1\n").encode(),
                    ("row 2", "meter", "empty")),
    "no_rows": (READINGS_HEADER.encode(), ("no readings",)),
    "empty_file": (b"", ("missing column",)),
    "utf16_export": ((READINGS_HEADER + GOOD_ROW).encode("utf-16"), ("not UTF-8",)),
    "binary": (bytes(range(256)), ("not UTF-8",)),
    "field_over_csv_limit": ((READINGS_HEADER + f"m1,2026-06-01T00:00:00Z,energy.import,"
                              f"{HUGE_FIELD}\n").encode(), ("not valid CSV",)),
}


@pytest.mark.parametrize("case", sorted(READINGS))
def test_bad_readings_csv_for_intervals(case: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    content, needles = READINGS[case]
    path = tmp_path / f"{case}.csv"
    path.write_bytes(content)
    code, err = _main(capsys, "intervals", str(path))
    assert code == 2
    assert_one_line_error(err, str(path), *needles)


@pytest.mark.parametrize("case", ["not_a_number", "utf16_export", "field_over_csv_limit"])
def test_bad_readings_csv_for_align(case: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    content, needles = READINGS[case]
    good = tmp_path / "good.csv"
    good.write_text(READINGS_HEADER + GOOD_ROW + "m1,2026-06-01T00:15:00Z,energy.import,2\n")
    bad = tmp_path / f"{case}.csv"
    bad.write_bytes(content)
    code, err = _main(capsys, "align", str(good), str(bad))
    assert code == 2
    assert_one_line_error(err, str(bad), *needles)


def test_bad_intervals_csv_for_align(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    header = "meter,channel,start,resolution,quantity,quality\n"
    good = tmp_path / "op.csv"
    good.write_text(header + "m,energy.import,2026-06-01T00:00Z,PT15M,1.000,measured\n")
    bad = tmp_path / "ref.csv"
    bad.write_text(header + "m,energy.import,2026-06-01T00:00Z,PT15M,1.000,splendid\n")
    code, err = _main(capsys, "align", str(good), str(bad))
    assert code == 2
    assert_one_line_error(err, str(bad), "row 2", "quality", "splendid")


def test_missing_readings_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _main(capsys, "intervals", str(tmp_path / "absent.csv"))
    assert code == 2
    assert_one_line_error(err, "absent.csv", "cannot read")


# ---- inventory CSVs: meterbench sampling ------------------------------------------------------
INVENTORIES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "missing_column": (b"meter_id,model\nA1,x\n", ("header", "missing column")),
    "bad_class": ((INVENTORY_HEADER + INVENTORY_ROW.replace(",B,", ",Q,")).encode(),
                  ("class", "row 2")),
    "bad_date": ((INVENTORY_HEADER + INVENTORY_ROW.replace("2020-05-01", "1 May")).encode(),
                 ("installation_date", "row 2")),
    "superscript_year": ((INVENTORY_HEADER + INVENTORY_ROW.replace(",2020,", ",²⁰²⁰,")).encode(),
                         ("production_year", "row 2")),
    "duplicate_id": ((INVENTORY_HEADER + INVENTORY_ROW + INVENTORY_ROW).encode(),
                     ("meter_id", "row 3", "already in row 2")),
    "extra_fields": ((INVENTORY_HEADER + INVENTORY_ROW.strip() + ",surplus\n").encode(),
                     ("row 2", "more fields than the header")),
    "utf16_export": ((INVENTORY_HEADER + INVENTORY_ROW).encode("utf-16"), ("not UTF-8",)),
    "field_over_csv_limit": ((INVENTORY_HEADER + INVENTORY_ROW.replace("site 1", HUGE_FIELD))
                             .encode(), ("not valid CSV",)),
    "no_rows": (INVENTORY_HEADER.encode(), ("no meters",)),
}


@pytest.mark.parametrize("case", sorted(INVENTORIES))
def test_bad_inventory_csv(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content, needles = INVENTORIES[case]
    path = tmp_path / f"{case}.csv"
    path.write_bytes(content)
    code, err = _main(capsys, "sampling", "due", str(path), "--on", "2026-06-01")
    assert code == 2
    assert_one_line_error(err, str(path), *needles)


# ---- register-map files (a bench file's model may be a path to one) --------------------------
MAP_OK = ('model = "{stem}"\n[defaults]\nfunction = "input"\ntype = "float32"\n'
          'word_order = "big"\n[channels]\n"energy.import" = { address = 0x48 }\n'
          '"energy.export" = { address = 0x4A }\n')
REGISTER_MAPS: dict[str, tuple[str | bytes, tuple[str, ...]]] = {
    "syntax": ("model = \n", ("not valid TOML",)),
    "unknown_top_key": ("colour = 'red'\n" + MAP_OK, ("colour", "unknown key")),
    "unknown_channel": (MAP_OK + '"energy.sideways" = { address = 0x50 }\n',
                        ("channels.energy.sideways", "unknown channel name")),
    "overlap": (MAP_OK.replace("0x4A", "0x49"), ("overlap",)),
    "bad_type": (MAP_OK.replace('"float32"', '"float33"'), ("type",)),
    "wrong_model_name": (MAP_OK.replace('model = "{stem}"', 'model = "other"'),
                         ("model", "differs from the file name")),
    "not_utf8": (b"model = \"\xff\"\n", ("not UTF-8",)),
}


@pytest.mark.parametrize("case", sorted(REGISTER_MAPS))
def test_bad_register_map_named_by_a_bench_file(case: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    content, needles = REGISTER_MAPS[case]
    map_path = tmp_path / f"{case}.toml"
    map_path.write_bytes(content if isinstance(content, bytes)
                         else content.replace("{stem}", case).encode())
    bench_path = tmp_path / "bench.toml"
    bench_path.write_text(edit(tiny_bench_text(), 'model = "eastron_sdm630"',
                               f'model = "{map_path}"'))
    code, err = _main(capsys, "run", str(bench_path), "--out", str(tmp_path / "run"))
    assert code == 2
    line = assert_one_line_error(err, str(bench_path), "meter[0].model", *needles)
    assert str(map_path) in line
    assert not (tmp_path / "run").exists()


# ---- DataHub messages: meterbench datahub validate --------------------------------------------
XXE = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       '<NotifyValidatedMeasureData_MarketDocument>&x;</NotifyValidatedMeasureData_MarketDocument>')
LAUGHS = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
          '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
          '<r>&c;</r>')
EXTERNAL_DTD = ('<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd">'
                '<r>x</r>')
DATAHUB: dict[str, tuple[str, bytes, tuple[str, ...]]] = {
    "truncated_json": ("json", b'{"NotifyValidatedMeasureData_MarketDocument": {', ("not valid JSON",)),
    "json_wrong_root": ("json", b'{"Something_Else": {}}',
                        ("NotifyValidatedMeasureData_MarketDocument", "missing")),
    "json_array": ("json", b"[1, 2, 3]", ()),
    "json_nan_constant": ("json", b'{"NotifyValidatedMeasureData_MarketDocument": NaN}', ()),
    "malformed_xml": ("xml", b"<a><b></a>", ("not well-formed XML",)),
    "xml_external_entity": ("xml", XXE.encode(), ("unsafe XML refused",)),
    "xml_entity_expansion": ("xml", LAUGHS.encode(), ("unsafe XML refused",)),
    "xml_external_dtd": ("xml", EXTERNAL_DTD.encode(), ("unsafe XML refused",)),
    "binary": ("json", bytes(range(256)), ()),
    "empty": ("json", b"", ()),
}


@pytest.mark.parametrize("case", sorted(DATAHUB))
def test_bad_datahub_message(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suffix, content, needles = DATAHUB[case]
    path = tmp_path / f"{case}.{suffix}"
    path.write_bytes(content)
    code, err = _main(capsys, "datahub", "validate", str(path))
    assert code == 2
    line = assert_one_line_error(err, str(path), *needles)
    assert "root:" not in line and "passwd" not in line  # nothing was fetched or expanded


def _valid_message_json() -> str:
    start = parse_iso("2026-06-14T22:00Z")
    intervals = Intervals("ev", "energy.import", "PT15M", [start + i * 900_000 for i in range(96)],
                          [0.125] * 96, [1] * 96)
    point = MeteringPoint(gsrn="571313180000000005", type="E17", subtype="physical",
                          resolution="PT15M", meter="ev", channel="energy.import")
    (message,) = build_messages([intervals], [point], "5790000000005", "5790001330583",
                                start + 30 * 3_600_000)
    return to_json(message)


def test_message_breaking_the_schema_is_rejected_not_crashed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not is_schema_dir(SCHEMA_DIR):
        pytest.skip("official DataHub schemas not found at <repo>/../shared/datahub/schemas; "
                    "schema rejection not checked")
    doc = json.loads(_valid_message_json())
    root = doc["NotifyValidatedMeasureData_MarketDocument"]
    root["type"] = {"value": "Z99"}  # a document type code the schema does not allow
    path = tmp_path / "wrong-schema.json"
    path.write_text(json.dumps(doc))
    code = meterbench.cli.main(["datahub", "validate", "--schemas", str(SCHEMA_DIR), str(path)])
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.err
    assert "Z99" in captured.out + captured.err


def test_unsafe_xml_through_the_real_command(tmp_path: Path) -> None:
    path = tmp_path / "xxe.xml"
    path.write_text(XXE)
    proc = run_cli("datahub", "validate", str(path), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert_one_line_error(proc.stderr, str(path), "unsafe XML refused")
    assert "root:" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("command", [("sampling", "example"),
                                     ("intervals", "--out")])
def test_output_into_a_missing_folder_is_one_line(command: tuple[str, str], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "no" / "such" / "folder" / "out.csv"
    if command[0] == "sampling":
        argv = ["sampling", "example", str(target)]
    else:
        readings = tmp_path / "r.csv"
        readings.write_text(READINGS_HEADER + GOOD_ROW + "m1,2026-06-01T00:15:00Z,energy.import,2\n")
        argv = ["intervals", str(readings), "--out", str(target)]
    code, err = _main(capsys, *argv)
    assert code == 2
    # every output is checked before anything is written (check_output_path names the folder)
    assert_one_line_error(err, str(target), "does not exist")
    assert not target.parent.exists()
