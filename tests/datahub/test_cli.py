"""``meterbench datahub export|validate`` end to end on a run folder in tmp_path."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

import meterbench.cli
import meterbench.cli.datahub as datahub_cli
from meterbench.core.errors import UserError
from meterbench.core.names import safe_component
from meterbench.datahub.files import message_filename, read_message_file
from meterbench.datahub.run_export import load_delivery_config, load_intervals

from .conftest import GSRN, RECEIVER, SCHEMA_DIR, SENDER, day_message

PV_GSRN = "571313180000000012"


@pytest.fixture(autouse=True)
def only_datahub_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test this area's CLI module without depending on other areas' subcommands."""
    monkeypatch.setattr(meterbench.cli, "COMMAND_MODULES", ("meterbench.cli.datahub",))


def _run(*argv: str) -> int:
    return meterbench.cli.main(["datahub", *argv])


def _results(run: Path, **overrides) -> None:
    datahub = {"sender_gln": SENDER, "receiver_gln": RECEIVER, "metering_points": [
        {"meter": "ev", "gsrn": GSRN, "type": "E17", "subtype": "physical",
         "resolution": "PT15M", "channel": "energy.import"},
        {"meter": "pv", "gsrn": PV_GSRN, "type": "E18", "subtype": "physical",
         "resolution": "PT1H", "channel": "energy.export"},
    ]}
    datahub.update(overrides)
    (run / "results.json").write_text(json.dumps({"version": 1, "datahub": datahub}))


def _intervals(run: Path, rows: list[str]) -> None:
    (run / "series").mkdir(exist_ok=True)
    (run / "series" / "intervals.csv").write_text(
        "meter,channel,start,resolution,quantity,quality\n" + "\n".join(rows) + "\n")


@pytest.fixture
def run(tmp_path: Path) -> Path:
    folder = tmp_path / "run-1"
    folder.mkdir()
    _results(folder)
    rows = []
    for i in range(24):  # 2026-06-15 06:00Z-12:00Z, quarter-hours
        quality = ["measured", "estimated", "calculated", "missing"][i % 4]
        quantity = "" if quality == "missing" else f"{0.25 * i:.3f}"
        rows.append(f"ev,energy.import,2026-06-15T{6 + i // 4:02d}:{15 * (i % 4):02d}Z,PT15M,"
                    f"{quantity},{quality}")
    rows += [f"pv,energy.export,2026-06-15T{h:02d}:00Z,PT1H,1.500,measured" for h in range(8, 14)]
    _intervals(folder, rows)
    return folder


def test_export_writes_one_valid_file_per_metering_point_and_day(run: Path, capsys) -> None:
    assert _run("export", str(run), "--created", "2026-06-16T05:00:00Z") == 0
    files = sorted((run / "datahub").iterdir())
    assert [f.name for f in files] == [f"{GSRN}_2026-06-15.json", f"{PV_GSRN}_2026-06-15.json"]
    ev = read_message_file(files[0]).message
    points = ev.series[0].period.points
    assert len(points) == 96  # whole local day by default
    # 06:00Z is 08:00 local: position 4*8+1 = 33
    assert [(p.position, str(p.quantity), p.quality) for p in points[32:36]] == [
        (33, "0.000", "A04"), (34, "0.250", "A03"), (35, "0.500", "A03"), (36, "None", "A02")]
    assert all(p.quality == "A02" for p in points[:32] + points[56:])
    out = capsys.readouterr().out
    assert "2 message(s) written" in out and "0 rejected" in out
    # 24 quarter-hours: 6 measured, 6 estimated + 6 calculated (sent as A03), 6 missing; the
    # other 72 quarter-hours of the local day were not in the run
    assert f"{GSRN} 2026-06-15: 96 values, 6 measured, 12 estimated, 78 missing" in out
    assert f"{PV_GSRN} 2026-06-15: 24 values, 6 measured, 0 estimated, 18 missing" in out


def test_export_xml_and_covered_span_then_validate(run: Path, capsys) -> None:
    out_dir = run.parent / "outbox"
    assert _run("export", str(run), "--format", "xml", "--out", str(out_dir),
                "--period", "covered") == 0
    files = sorted(out_dir.glob("*.xml"))
    assert len(files) == 2
    assert len(read_message_file(files[0]).message.series[0].period.points) == 24
    assert _run("validate", *map(str, files), "--run", str(run)) == 0
    out = capsys.readouterr().out
    checked = "schema and business rules" if SCHEMA_DIR.is_dir() else "business rules only"
    assert out.count(f"accepted (xml, {checked})") == 2


def test_export_reports_a_rejected_delivery_with_exit_1(run: Path, capsys) -> None:
    _results(run, metering_points=[{"meter": "ev", "gsrn": GSRN, "type": "E17",
                                    "subtype": "calculated", "resolution": "PT15M",
                                    "channel": "energy.import"}])
    assert _run("export", str(run)) == 1
    out = capsys.readouterr().out
    assert "REJECTED" in out and "[subtype]" in out and "1 rejected" in out


def test_export_notes_what_it_cannot_deliver(run: Path, capsys) -> None:
    _results(run, metering_points=[{"meter": "hp", "gsrn": GSRN, "type": "E17",
                                    "subtype": "physical", "resolution": "PT15M",
                                    "channel": "energy.import"}])
    assert _run("export", str(run)) == 0
    captured = capsys.readouterr()
    assert f"metering point {GSRN} (hp/energy.import) has no intervals" in captured.err
    assert "not delivered (no metering point in results.json): ev/energy.import" in captured.err
    assert "no messages" in captured.err and "0 message(s) written" in captured.out


def test_validate_rejects_with_reasons_and_exit_1(run: Path, tmp_path: Path, capsys) -> None:
    assert _run("export", str(run)) == 0
    good = run / "datahub" / f"{GSRN}_2026-06-15.json"
    tree = json.loads(good.read_text())
    points = tree["NotifyValidatedMeasureData_MarketDocument"]["Series"][0]["Period"]["Point"]
    points[40]["quantity"] = -1
    points.pop()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(tree))
    capsys.readouterr()
    assert _run("validate", str(good), str(bad)) == 1
    out = capsys.readouterr().out
    assert f"{good}: accepted" in out
    assert f"{bad}: REJECTED" in out
    assert "[quantity]" in out and "position 41" in out and "[positions]" in out


def test_validate_malformed_and_unsafe_files_exit_2_with_one_line(tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    evil = tmp_path / "evil.xml"
    evil.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    assert _run("validate", str(broken), str(evil), str(tmp_path / "absent.xml")) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    # one error line per file; besides them at most the note that schemas were not given
    err = [line for line in lines if "schema validation skipped" not in line]
    assert len(err) == 3 and len(lines) <= 4
    assert err[0].startswith(f"meterbench: error: {broken}: not valid JSON")
    assert err[1].startswith(f"meterbench: error: {evil}: unsafe XML refused")
    assert "cannot read" in err[2]


def test_validate_says_when_schema_validation_is_skipped(run: Path, monkeypatch, capsys) -> None:
    assert _run("export", str(run)) == 0
    monkeypatch.setattr(datahub_cli, "find_schema_dir", lambda: None)
    capsys.readouterr()
    assert _run("validate", *map(str, sorted((run / "datahub").iterdir()))) == 0
    captured = capsys.readouterr()
    assert "schema validation skipped" in captured.err
    assert "accepted (json, business rules only)" in captured.out


def test_validate_with_a_schema_folder_that_is_not_one(tmp_path: Path, capsys) -> None:
    (tmp_path / "m.json").write_text("{}")
    assert _run("validate", str(tmp_path / "m.json"), "--schemas", str(tmp_path)) == 2
    assert "not a schema folder" in capsys.readouterr().err


@pytest.mark.parametrize(("datahub", "message"), [
    ({"sender_gln": "123"}, "datahub.sender_gln: bad GLN '123'"),
    ({"metering_points": []}, "no metering points"),
    ({"metering_points": [{"meter": "ev", "gsrn": "../../x", "type": "E17", "subtype": "physical",
                           "resolution": "PT15M", "channel": "energy.import"}]},
     r"metering_points\[0\].gsrn: bad GSRN"),
    ({"metering_points": [{"meter": "ev", "gsrn": GSRN, "type": "E17", "subtype": "physical",
                           "resolution": "PT5M", "channel": "energy.import"}]},
     r"metering_points\[0\].resolution: unknown value 'PT5M'"),
])
def test_bad_results_json_names_file_and_field(tmp_path: Path, datahub: dict,
                                               message: str) -> None:
    _results(tmp_path, **datahub)
    with pytest.raises(UserError, match=message) as caught:
        load_delivery_config(tmp_path / "results.json")
    assert caught.value.source == str(tmp_path / "results.json")


@pytest.mark.parametrize(("row", "message"), [
    ("ev,energy.import,2026-06-15T06:00:00Z,PT15M,1.000,measured", "line 2 start: bad period time"),
    ("ev,energy.import,2026-06-15T06:00Z,PT15M,lots,measured", "line 2 quantity: not a number"),
    ("ev,energy.import,2026-06-15T06:00Z,PT15M,nan,measured", "line 2 quantity: not a number"),
    ("ev,energy.import,2026-06-15T06:00Z,PT15M,1.000,good", "line 2 quality: unknown quality"),
])
def test_bad_interval_rows_name_the_line(tmp_path: Path, row: str, message: str) -> None:
    _intervals(tmp_path, [row])
    with pytest.raises(UserError, match=message):
        load_intervals(tmp_path / "series" / "intervals.csv")


def test_intervals_off_the_grid_name_the_csv(run: Path, capsys) -> None:
    _intervals(run, ["ev,energy.import,2026-06-15T06:05Z,PT15M,1.000,measured"])
    assert _run("export", str(run)) == 2
    err = capsys.readouterr().err
    assert f"{run / 'series' / 'intervals.csv'}: intervals ev/energy.import: " in err
    assert "not on the PT15M grid" in err


def test_missing_columns_and_missing_run_are_exit_2(tmp_path: Path, capsys) -> None:
    assert _run("export", str(tmp_path / "nope")) == 2
    assert "not a run folder" in capsys.readouterr().err
    _results(tmp_path)
    (tmp_path / "series").mkdir()
    (tmp_path / "series" / "intervals.csv").write_text("meter,start\nev,x\n")
    assert _run("export", str(tmp_path)) == 2
    assert "missing columns channel, resolution, quantity, quality" in capsys.readouterr().err


def test_validate_without_the_schema_libraries_says_so(run: Path, monkeypatch, capsys) -> None:
    assert _run("export", str(run)) == 0
    monkeypatch.setattr(datahub_cli, "missing_validator_modules", lambda: ["xmlschema"])
    capsys.readouterr()
    assert _run("validate", *map(str, sorted((run / "datahub").iterdir()))) == 0
    captured = capsys.readouterr()
    assert "schema validation skipped: xmlschema not installed" in captured.err
    assert "business rules only" in captured.out


def test_same_inputs_and_created_time_give_identical_files(run: Path) -> None:
    for out in ("a", "b"):
        assert _run("export", str(run), "--format", "xml", "--out", str(run / out),
                    "--created", "2026-06-16T05:00:00Z") == 0
    names = sorted(p.name for p in (run / "a").iterdir())
    assert names == sorted(p.name for p in (run / "b").iterdir()) and names
    assert all((run / "a" / n).read_bytes() == (run / "b" / n).read_bytes() for n in names)


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "..", "/abs", "a\\b", "x\x00y", ""])
def test_message_file_names_cannot_escape_the_folder(hostile: str) -> None:
    message = day_message()
    message = replace(message, series=(replace(message.series[0], metering_point_id=hostile),))
    name = message_filename(message, "json")
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert not name.startswith(".") and name.endswith("_2026-06-15.json")
    assert safe_component(hostile) not in ("", ".", "..")


def test_validate_uses_master_data_and_now_when_given(run: Path, tmp_path: Path, capsys) -> None:
    assert _run("export", str(run), "--created", "2026-06-16T05:00:00Z") == 0
    pv_file = str(run / "datahub" / f"{PV_GSRN}_2026-06-15.json")
    other = tmp_path / "other-run"
    other.mkdir()
    _results(other, metering_points=[{"meter": "pv", "gsrn": PV_GSRN, "type": "E18",
                                      "subtype": "calculated", "resolution": "PT15M",
                                      "channel": "energy.export"}])
    assert _run("validate", pv_file) == 0  # no master data: nothing to hold it against
    capsys.readouterr()
    assert _run("validate", pv_file, "--run", str(other)) == 1
    out = capsys.readouterr().out
    assert "[resolution]" in out and "is not the metering point's resolution PT15M" in out
    assert "[subtype]" in out
    assert _run("validate", pv_file, "--now", "2029-06-15T00:00Z") == 1
    assert "older than 3 years" in capsys.readouterr().out
    assert _run("validate", pv_file, "--now", "soon") == 2
    assert "--now: not an ISO 8601 time" in capsys.readouterr().err
