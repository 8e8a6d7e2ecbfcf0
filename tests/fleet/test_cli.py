"""``meterbench fleet synth`` and ``screen`` end to end, and the missing extra."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from meterbench.fleet import layout as L
from meterbench.fleet.synth import SynthSettings, synth


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meterbench", "fleet", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_without_the_extra_every_action_is_one_line_naming_it(tmp_path: Path,
                                                              cli_env: dict[str, str]) -> None:
    # a child process in which dask cannot be imported, as after a plain `pip install .`
    code = ("import sys; sys.modules['dask'] = None; sys.modules['distributed'] = None; "
            "from meterbench.cli import main; sys.exit(main(sys.argv[1:]))")
    for args in (["synth", "--sites", "2", "--days", "1", "--start", "2026-01-01", "--out",
                  str(tmp_path / "d")], ["screen", str(tmp_path), "--out", str(tmp_path / "r")]):
        proc = subprocess.run([sys.executable, "-c", code, "fleet", *args], capture_output=True,
                              text=True, env=cli_env, timeout=60)
        assert proc.returncode == 2
        assert proc.stderr.strip().splitlines() == [
            "meterbench: error: meterbench fleet needs dask, distributed, which are not "
            "installed: pip install 'meterbench[fleet]'"]
    assert not (tmp_path / "d").exists()


def test_synth_is_seeded_and_deterministic(tmp_path: Path, cli_env: dict[str, str]) -> None:
    args = ["--sites", "30", "--days", "3", "--start", "2026-10-24", "--sites-per-block", "10"]
    proc = _cli("synth", *args, "--seed", "4", "--workers", "2", "--out", str(tmp_path / "a"),
                env=cli_env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path / "a")
    for name, seed in (("b", 4), ("c", 5)):  # in this process, not on 2 workers: same files
        synth(SynthSettings(sites=30, days=3, first_day=date(2026, 10, 24), seed=seed,
                            sites_per_block=10), tmp_path / name)
    for f in ["fleet.json", "topology.parquet", "truth.parquet",
              *(f"points/{L.block_name(b)}" for b in range(3))]:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert ((tmp_path / "a" / "points" / L.block_name(0)).read_bytes()
            != (tmp_path / "c" / "points" / L.block_name(0)).read_bytes())
    manifest = json.loads((tmp_path / "a" / "fleet.json").read_text())
    assert manifest["format"] == "meterbench.fleet/1" and manifest["blocks"] == 3
    # partitioned by site block: every block file holds its own sites only
    topo = pq.read_table(tmp_path / "a" / "topology.parquet").to_pylist()
    for b in range(3):
        sites = set(pq.read_table(tmp_path / "a" / "points" / L.block_name(b)
                                  ).column("site").to_pylist())
        assert sites == {r["site"] for r in topo if r["block"] == b}
    # 25 October 2026 is the autumn change: that local day has 100 quarter-hours
    rows = pq.read_table(tmp_path / "a" / "points" / L.block_name(0)).to_pylist()
    lengths = {r["day"].isoformat(): len(r["import"]) for r in rows}
    assert lengths == {"2026-10-24": 96, "2026-10-25": 100, "2026-10-26": 96}


def test_screen_writes_findings_summary_and_report(small_fleet: Path, tmp_path: Path,
                                                   cli_env: dict[str, str]) -> None:
    out = tmp_path / "run"
    proc = _cli("screen", str(small_fleet), "--out", str(out), "--workers", "1", "--json",
                "--deadline", "NO", env=cli_env)
    assert proc.returncode == 1, proc.stderr  # the synthetic fleet has findings
    doc = json.loads(proc.stdout)
    assert doc == json.loads((out / "summary.json").read_text())
    assert sorted(p.name for p in out.iterdir()) == ["findings.parquet", "meter_errors.parquet",
                                                      "report.html", "summary.json"]
    findings = pq.read_table(out / "findings.parquet")
    assert sum(doc["findings"].values()) == findings.num_rows
    assert doc["site_days"] == 48 * 10 and doc["engine"]["workers"] == 1
    assert doc["deadline"] == "07:00" and doc["findings"]["late_delivery"] > 0
    assert doc["ground_truth"]["kinds"]["missing_day"]["recall"] == 1.0
    html = (out / "report.html").read_text()
    assert "Findings by operator" in html and "The worst sites" in html
    assert not re.search(r'(src|href)="(?!data:|#)', html)  # self-contained: figures inline
    assert html.count("data:image/png;base64,") >= 3 + 2 * 4
    line = proc.stderr.strip().splitlines()[-1]
    assert re.match(r"meterbench: 480 site-days screened in [\d.]+ s \([\d,]+ site-days/s, "
                    r"1 worker\(s\)\): [\d,]+ findings", line), line
