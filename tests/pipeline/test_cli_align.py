"""``meterbench align`` on readings and on interval files."""

from __future__ import annotations

import json

import numpy as np
import pytest

import meterbench.cli
from meterbench.cli.pipeline_csv import IntervalRow, write_intervals
from meterbench.core.timeutil import format_iso_utc, parse_iso

from .synth import MIN, daily_reference, operator_and_reference, relabel, utc_offset_ms

Q = 15 * MIN


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setattr(meterbench.cli, "COMMAND_MODULES", ("meterbench.cli.intervals", "meterbench.cli.align"))
    return meterbench.cli.main


def _readings_csv(path, meter, t, v):
    lines = ["meter,time,channel,value"]
    lines += [f"{meter},{format_iso_utc(int(a))},energy.import,{b:.3f}" for a, b in
              zip(t.tolist(), v.tolist(), strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_align_readings_json(tmp_path, cli, capsys):
    _, (ot, ov), (rt, rv), _, t_mid = operator_and_reference(4, 40_000, 30.0)
    op = _readings_csv(tmp_path / "op.csv", "charger", ot, ov)
    ref = _readings_csv(tmp_path / "ref.csv", "dso", rt, rv)
    assert cli(["align", str(op), str(ref), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    t_ref = parse_iso(out["reference_time"])
    true_offset_s = (40_000 + 30e-6 * (t_ref - t_mid)) / 1000
    assert abs(out["offset_s"] - true_offset_s) <= 2 * out["offset_uncertainty_s"]
    assert abs(out["drift_ppm"] - 30.0) <= 2 * out["drift_uncertainty_ppm"]
    assert out["coverage"] == 0.95
    assert out["labelling"]["kind"] == "none"  # 40 s is a clock error, not a labelling error


def test_align_interval_files_local_time(tmp_path, cli, capsys):
    ref = daily_reference(5, Q)
    op = relabel(ref, ref.start_ms + utc_offset_ms(ref.start_ms), 5)
    for name, s in (("op.csv", op), ("ref.csv", ref)):
        with (tmp_path / name).open("w") as fh:
            write_intervals([IntervalRow(name[:-4], "energy.import", s)], fh)
    assert cli(["align", str(tmp_path / "op.csv"), str(tmp_path / "ref.csv")]) == 0
    text = capsys.readouterr().out
    assert "offset and drift need readings" in text
    assert "Copenhagen local time as if it were UTC" in text
    assert "correction: read the labels as local time" in text


def test_align_user_errors(tmp_path, cli, capsys):
    t = np.arange(0, 10) * MIN + 1_780_000_000_000
    a = _readings_csv(tmp_path / "a.csv", "m1", t, np.arange(10.0))
    b = tmp_path / "b.csv"
    b.write_text(a.read_text() + "m2,2026-01-01T00:00:00Z,energy.import,1\n")
    assert cli(["align", str(a), str(b)]) == 2
    assert "2 meters in the file" in capsys.readouterr().err
    c = tmp_path / "c.csv"
    c.write_text("x,y\n1,2\n")
    assert cli(["align", str(a), str(c)]) == 2
    assert "neither a readings nor an intervals file" in capsys.readouterr().err
