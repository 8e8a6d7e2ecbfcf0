"""A third-party distribution adds a meter model and an instrument driver (with its simulator)
through meterbench's registries, without touching meterbench; a bench file uses both, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .acme import install

LAB_BENCH = '''
[bench]
name = "acme-lab"
seed = 5
simulate = true

[run]
date = "2026-06-01"

[[instrument]]
role = "source"
driver = "fluke6105a"

[[instrument]]
role = "reference"
driver = "acme_rs1"
accuracy_pct = 0.05
sim = { error_pct = 0.01 }

[lab.plan]
kind = "periodic"
starting = false
creep = false
summation = false

[[meter]]
id = "em1"
role = "mut"
model = "acme_em1"
class = "B"
rating = { i_min = 0.25, i_tr = 0.5, i_ref = 5.0, i_max = 20.0, u_n = 230.0, f_n = 50.0 }

[[lab.sim]]
meter = "em1"
error_pct = 0.4
import_kwh = 100.0
'''


def _env(site: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [
        str(site), os.environ.get("PYTHONPATH")])))


def test_registries_list_the_third_party_entries(tmp_path):
    site = install(tmp_path / "site")
    code = ("from meterbench import registry as r; import json; print(json.dumps("
            "[r.names(r.METER_MODELS), r.names(r.INSTRUMENTS), "
            "r.entries(r.INSTRUMENTS)['acme_rs1'].distribution]))")
    out = subprocess.run([sys.executable, "-c", code], env=_env(site), cwd=tmp_path,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    models, instruments, dist = json.loads(out)
    assert "acme_em1" in models and "eastron_sdm630" in models
    assert {"acme_rs1", "fluke6105a", "yokogawa_wt1800"} <= set(instruments)
    assert dist == "acme-meterbench 0.1"


def test_a_bench_using_the_third_party_model_and_driver_runs_end_to_end(tmp_path):
    site = install(tmp_path / "site")
    bench = tmp_path / "acme-lab.toml"
    bench.write_text(LAB_BENCH)
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "meterbench", "run", str(bench), "--out", str(out),
                           "-q"], env=_env(site), cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads((out / "results.json").read_text())
    devices = {d["id"]: d for d in doc["devices"]}
    assert devices["reference"]["identity"] == "ACME,RS1,42,1.0"  # its own *IDN?, over SCPI
    assert devices["em1"]["model"] == "acme_em1"
    points = [r for r in doc["records"] if r["check"] == "lab.point"]
    assert points, "the plan measured no points"
    for r in points:  # the third-party reference (true error +0.01 %) recovers the meter's +0.4 %
        assert abs(r["value"] - (0.4 - 0.01)) <= r["uncertainty"] + 0.01, r
        assert r["verdict"] == "pass"


def test_without_the_distribution_the_names_are_unknown(tmp_path):
    bench = tmp_path / "acme-lab.toml"
    bench.write_text(LAB_BENCH)
    proc = subprocess.run([sys.executable, "-m", "meterbench", "run", str(bench), "--out",
                           str(tmp_path / "run")], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert "unknown instrument driver 'acme_rs1'" in proc.stderr or \
        "unknown meter model 'acme_em1'" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()
