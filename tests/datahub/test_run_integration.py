"""The real chain: ``meterbench run sim`` (simulated Modbus meters) -> ``datahub export`` ->
``datahub validate``. Slow-marked (about 10 s): it acquires a whole simulated day."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from meterbench.core.timeutil import format_minute_utc
from meterbench.datahub.files import read_message_file

from .conftest import QUARTER_MS, REPO_ROOT


def _meterbench(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "meterbench", *args], capture_output=True, text=True,
                          env=env, cwd=REPO_ROOT, timeout=240, check=False)


@pytest.mark.slow
def test_a_simulated_run_exports_valid_messages_carrying_its_intervals(tmp_path: Path) -> None:
    run = tmp_path / "run"
    done = _meterbench("run", "sim", "--out", str(run), "-q")
    assert done.returncode in (0, 1), done.stderr[-2000:]  # 1 = a verdict failed: still a run
    exported = _meterbench("datahub", "export", str(run), "--format", "xml")
    assert exported.returncode == 0, exported.stdout + exported.stderr
    files = sorted((run / "datahub").glob("*.xml"))
    validated = _meterbench("datahub", "validate", *map(str, files), "--run", str(run))
    assert validated.returncode == 0, validated.stdout + validated.stderr

    points = json.loads((run / "results.json").read_text())["datahub"]["metering_points"]
    assert len(files) == len(points) > 0  # one local day, one file per metering point
    source = {p["gsrn"]: (p["meter"], p["channel"]) for p in points}
    with (run / "series" / "intervals.csv").open(newline="") as handle:
        rows = {(r["meter"], r["channel"], r["start"]): r for r in csv.DictReader(handle)}
    for path in files:
        series = read_message_file(path).message.series[0]
        meter, channel = source[series.metering_point_id]
        period = series.period
        for point in period.points:
            start = format_minute_utc(period.start_ms + (point.position - 1) * QUARTER_MS)
            row = rows.get((meter, channel, start))
            expected = (None if row is None or not row["quantity"] or row["quality"] == "missing"
                        else Decimal(row["quantity"]).quantize(Decimal("0.001"), ROUND_HALF_UP))
            assert point.quantity == expected, (path.name, point.position)
