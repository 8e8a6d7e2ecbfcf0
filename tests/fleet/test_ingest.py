"""``meterbench fleet ingest``: what operators delivered, as RSM-012 messages or interval CSVs,
becomes a dataset that screens exactly like the fleet it came from; every delivery is kept."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from meterbench.core.gs1 import gs1_check_digit
from meterbench.core.quality import Quality
from meterbench.core.timeutil import format_minute_utc
from meterbench.datahub import build_messages, to_json, to_xml
from meterbench.datahub.build import Intervals
from meterbench.datahub.model import MeteringPoint
from meterbench.fleet import layout as L
from meterbench.fleet.engine import run_blocks
from meterbench.fleet.ingest import ingest
from meterbench.fleet.output import combine, report_data, summary
from meterbench.fleet.screen import ScreenSettings
from meterbench.fleet.synth import SynthSettings, synth
from meterbench.reports.fleet import render_fleet_html

from .tables import assert_same_table

DSO, RECEIVER = "5790000000005", "5790001330583"


def export_gsrn(gsrn: str) -> str:
    """The production metering point of the same meter (made up, with a valid check digit)."""
    body = "9" + gsrn[1:17]
    return body + gs1_check_digit(body)


def write_topology(dataset: Path, path: Path) -> None:
    rows = pq.read_table(dataset / L.TOPOLOGY).to_pylist()
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["site", "gsrn", "role", "operator", "accuracy_class", "appliance",
                    "export_gsrn"])
        for r in rows:
            w.writerow([r["site"], r["gsrn"], r["role"], r["operator"], r["accuracy_class"],
                        r["appliance"], export_gsrn(r["gsrn"])])


def deliveries(dataset: Path):
    for f in sorted((dataset / L.POINTS_DIR).iterdir()):
        yield from pq.read_table(f).to_pylist()


def write_messages(dataset: Path, outbox: Path, fmt: str) -> int:
    """Every delivery of the dataset as the operator's DataHub messages, one per point and day."""
    outbox.mkdir()
    n = 0
    for r in deliveries(dataset):
        start = int(r["start"].timestamp() * 1000)
        starts = [start + 900_000 * k for k in range(len(r["import"]))]
        created = int(r["delivered"].timestamp() * 1000)
        for channel, gsrn, values, quality, kind in (
                ("energy.import", r["gsrn"], r["import"], r["import_quality"], "E17"),
                ("energy.export", export_gsrn(r["gsrn"]), r["export"], r["export_quality"],
                 "E18")):
            series = Intervals(meter=gsrn, channel=channel, resolution="PT15M", start_ms=starts,
                               kwh=[0.0 if v != v else v for v in values], quality=quality)
            point = MeteringPoint(gsrn=gsrn, type=kind, subtype="physical", resolution="PT15M",
                                  meter=gsrn, channel=channel)
            for message in build_messages([series], [point], DSO, RECEIVER, created,
                                          days=[r["day"]]):
                n += 1
                data = to_json(message).encode() if fmt == "json" else to_xml(message)
                (outbox / f"{n:05d}.{fmt}").write_bytes(data)
    return n


def screen(dataset: Path):
    m = L.read_manifest(dataset)
    return combine(m, run_blocks(dataset, ScreenSettings(), list(range(m.blocks))))


@pytest.fixture(scope="module")
def delivered(small_fleet: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The small fleet's deliveries as JSON messages in an outbox, and its topology CSV."""
    folder = tmp_path_factory.mktemp("delivered")
    write_messages(small_fleet, folder / "outbox", "json")
    write_topology(small_fleet, folder / "topology.csv")
    return {"outbox": folder / "outbox", "topology": folder / "topology.csv"}


def test_messages_ingest_to_a_dataset_that_screens_identically(
        small_fleet: Path, delivered: dict[str, Path], tmp_path: Path) -> None:
    n = len(list(delivered["outbox"].iterdir()))
    m, info = ingest([delivered["outbox"]], delivered["topology"], tmp_path / "ds",
                     sites_per_block=8)
    assert info["deliveries"] == n and info["files"] == n
    assert (m.first_day, m.days) == (L.read_manifest(small_fleet).first_day, 10)
    a, b = screen(small_fleet), screen(tmp_path / "ds")
    kinds = set(a.findings.column("kind").to_pylist())
    assert {"conflicting_delivery", "missing_delivery", "duplicate_delivery"} <= kinds
    assert_same_table(a.findings.drop_columns(["detail"]), b.findings.drop_columns(["detail"]))
    assert_same_table(a.errors, b.errors)


def test_xml_messages_ingest_like_json(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet"
    synth(SynthSettings(sites=6, days=3, first_day=date(2026, 5, 4), seed=2), fleet)
    write_topology(fleet, tmp_path / "topology.csv")
    for fmt in ("xml", "json"):
        write_messages(fleet, tmp_path / fmt, fmt)
        ingest([tmp_path / fmt], tmp_path / "topology.csv", tmp_path / f"ds-{fmt}")
    a, b = screen(tmp_path / "ds-xml"), screen(tmp_path / "ds-json")
    assert_same_table(a.errors, b.errors)
    assert_same_table(a.findings, b.findings)
    for name in ("import", "export"):  # the values themselves, bit for bit
        x = pq.read_table(L.block_path(tmp_path / "ds-xml", 0)).column(name)
        y = pq.read_table(L.block_path(tmp_path / "ds-json", 0)).column(name)
        assert x.to_pylist() == y.to_pylist()


def test_an_outbox_with_day_folders_ingests_like_a_flat_one(delivered: dict[str, Path],
                                                           tmp_path: Path) -> None:
    """A bench's outbox keeps one folder per day: naming the outbox is enough. Hidden files
    and folders (an editor's, a VCS's) are not read as messages."""
    import shutil

    nested = tmp_path / "outbox"
    files = sorted(delivered["outbox"].iterdir())
    for k, f in enumerate(files):
        day = nested / f"day-{k % 3}"
        day.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, day / f.name)
    (nested / ".trash").mkdir()
    (nested / ".trash" / "broken.json").write_text("{not a message")
    (nested / "day-0" / ".draft.json").write_text("{not a message")
    _, flat = ingest([delivered["outbox"]], delivered["topology"], tmp_path / "flat")
    _, deep = ingest([nested], delivered["topology"], tmp_path / "deep")
    assert deep["files"] == flat["files"] == len(files)
    assert deep["deliveries"] == flat["deliveries"]
    for block in range(L.read_manifest(tmp_path / "flat").blocks):
        # the same rows in the same order: a dataset's rows are sorted, not in file order
        assert_same_table(pq.read_table(L.block_path(tmp_path / "flat", block)),
                          pq.read_table(L.block_path(tmp_path / "deep", block)))


def test_repeated_deliveries_stay_separate_rows(small_fleet: Path, delivered: dict[str, Path],
                                                tmp_path: Path) -> None:
    ingest([delivered["outbox"]], delivered["topology"], tmp_path / "ds")
    truth = pq.read_table(small_fleet / L.TRUTH).to_pylist()
    twice = {(r["gsrn"], r["day"]) for r in truth
             if r["kind"] in ("conflicting_duplicate", "identical_duplicate")}
    assert len(twice) >= 3
    rows = list(deliveries(tmp_path / "ds"))
    for gsrn, day in twice:
        mine = [r for r in rows if r["gsrn"] == gsrn and r["day"] == day]
        # import and export are separate metering points, so separate messages: 2 × 2 rows
        assert len(mine) == 4
        assert len({r["delivered"] for r in mine}) == 2


def test_interval_csv_is_a_delivery_stamped_with_the_file_time(tmp_path: Path) -> None:
    main, serial = "571313000000000011", "571313000000000028"
    gln_op = "5790000010011"
    (tmp_path / "topology.csv").write_text(
        "site,gsrn,role,operator,accuracy_class\n"
        f"S1,{main},main,{DSO},\nS1,{serial},serial,{gln_op},B\n")
    start = 1_774_994_400_000  # 2026-03-31T22:00Z = local midnight of 1 April (summer time)
    lines = ["meter,channel,start,resolution,quantity,quality"]
    for k in range(96):
        t = format_minute_utc(start + 900_000 * k)
        lines.append(f"{main},energy.import,{t},PT15M,{0.5 + (k % 8) * 0.1:.3f},measured")
        lines.append(f"{serial},energy.import,{t},PT15M,{(k % 8) * 0.1:.3f},measured")
    path = tmp_path / "day.csv"
    path.write_text("\n".join(lines) + "\n")
    os.utime(path, (1_775_030_400, 1_775_030_400))  # 2026-04-01T08:00Z
    m, info = ingest([path], tmp_path / "topology.csv", tmp_path / "ds")
    assert (m.first_day.isoformat(), m.days, info["deliveries"]) == ("2026-04-01", 1, 2)
    rows = list(deliveries(tmp_path / "ds"))
    assert {int(r["delivered"].timestamp()) for r in rows} == {1_775_030_400}
    assert all(r["export"] is None for r in rows)  # no export metering point: nothing delivered
    s = screen(tmp_path / "ds")
    assert s.findings.num_rows == 0  # one clean day: nothing to report
    assert int(Quality.MEASURED) in rows[0]["import_quality"]
    # and a report with nothing in it still renders
    doc = summary(s, tmp_path / "ds", ScreenSettings(), {"scheduler": "local cluster",
                                                         "workers": 1, "seconds": 1.0,
                                                         "site_days_per_s": 1.0}, None)
    html = render_fleet_html(report_data(s, tmp_path / "ds", doc))
    assert ">0 findings<" in html and "The worst sites" in html


def test_a_delivered_gsrn_missing_from_the_topology_is_one_line(delivered: dict[str, Path],
                                                                tmp_path: Path,
                                                                cli_env: dict[str, str]) -> None:
    lines = delivered["topology"].read_text().splitlines()
    # forget the first metering point: the first message names it
    (tmp_path / "topology.csv").write_text("\n".join(lines[:1] + lines[2:]) + "\n")
    proc = subprocess.run([sys.executable, "-m", "meterbench", "fleet", "ingest",
                           str(delivered["outbox"]), "--topology", str(tmp_path / "topology.csv"),
                           "--out", str(tmp_path / "ds")], capture_output=True, text=True,
                          env=cli_env, timeout=120)
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "is not in the topology" in err[0], proc.stderr
    assert "marketEvaluationPoint.mRID" in err[0]
    assert not (tmp_path / "ds").exists() and not (tmp_path / "ds.partial").exists()


def test_a05_incomplete_is_read_as_estimated_with_its_value(delivered: dict[str, Path],
                                                            tmp_path: Path) -> None:
    """As everywhere in the bench (DataHub's A05 "incomplete": a real value, not complete)."""
    import json

    first = sorted(delivered["outbox"].iterdir())[0]
    doc = json.loads(first.read_text())
    points = [p for s in _walk(doc, "Point") for p in s]
    changed = next(p for p in points if p.get("quantity") is not None
                   and p["quality"]["value"] == "A04")
    changed["quality"]["value"] = "A05"
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    (outbox / first.name).write_text(json.dumps(doc))
    ingest([outbox], delivered["topology"], tmp_path / "ds")
    (row,) = [r for r in deliveries(tmp_path / "ds") if r["import_quality"] or r["export_quality"]]
    column = "import" if row["import_quality"] else "export"
    k = changed["position"]["value"] - 1
    assert row[f"{column}_quality"][k] == Quality.ESTIMATED
    assert row[column][k] == pytest.approx(float(changed["quantity"]["value"]
                                                  if isinstance(changed["quantity"], dict)
                                                  else changed["quantity"]))


def _walk(node, key):
    """Every list under ``key`` anywhere in a JSON document."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and isinstance(v, list):
                yield v
            else:
                yield from _walk(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v, key)
