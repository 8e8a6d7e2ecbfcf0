"""What a highlighted value or U means in a report, and the dial test's U against its target."""

from __future__ import annotations

import pytest

from meterbench.accuracy.evaluate import Limit, dial_record
from meterbench.accuracy.executor import RegisterDelta
from meterbench.reports.records_table import outside_limit, u_above_target


@pytest.mark.parametrize(("value", "low", "high", "outside"), [
    (0.367, -0.7, 0.7, False),   # inside, even if a guarded verdict fails it for its U
    (2.287, -2.0, 2.0, True),
    (-2.5, -2.0, 2.0, True),
    (2.0, -2.0, 2.0, False),     # on the limit is inside
    (5.0, None, 4.0, True),
    (None, -2.0, 2.0, False),
    (float("nan"), -2.0, 2.0, False),
])
def test_a_value_is_highlighted_only_outside_its_limit(value, low, high, outside) -> None:
    assert outside_limit({"value": value, "low": low, "high": high, "verdict": "fail"}) is outside


def _dial(step_kwh: float) -> dict:
    delta = RegisterDelta(meter="m", import_kwh=0.5 * 0.9995, export_kwh=0.0, step_kwh=step_kwh,
                          gate_ms=300_000, reference_kwh={"SIGMA": 0.5}, window_ms=5.0)
    return dial_record(delta, Limit(0.7, "MPE class C"), reference_accuracy_pct=0.02,
                       rule="guarded", uncertainty_fraction=1 / 3).as_dict()


def test_a_dial_test_on_a_coarse_register_says_its_u_is_above_the_target() -> None:
    coarse = _dial(0.01)  # a 0.01 kWh register step over a 0.5 kWh dial test
    assert coarse["uncertainty"] > coarse["data"]["target_pct"] == pytest.approx(0.7 / 3)
    assert u_above_target(coarse) and not outside_limit(coarse)
    assert coarse["verdict"] == "fail" and "WARNING U" in coarse["detail"]
    fine = _dial(1e-6)
    assert not u_above_target(fine) and fine["verdict"] == "pass"
    assert "WARNING" not in fine["detail"]


def test_a_point_whose_meter_stops_pulsing_fails_without_a_value(tmp_path) -> None:
    """A meter that does not start at Imin gives no pulses there: the point is a failure with
    no value and no U (never "nan"), and says why; the report says the runs did not complete."""
    import json
    import subprocess
    import sys

    from meterbench.config.bench_file import resolve

    text = resolve("sim-lab")[1]
    assert "starting_current_a = 0.01" in text
    bench = tmp_path / "dead.toml"
    bench.write_text(text.replace("starting_current_a = 0.01", "starting_current_a = 0.3", 1))
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "meterbench", "run", str(bench), "--out",
                           str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          check=False)  # a child process: the suites load as a user's run does
    assert proc.returncode == 1, proc.stderr
    doc = json.loads((out / "results.json").read_text())
    good = next(m for m in doc["accuracy"]["lab"]["meters"] if m["meter"] == "mut_good")
    imin = next(r for r in good["records"] if r["name"] == "Imin PF 1")
    assert imin["value"] is None and imin["uncertainty"] is None and imin["verdict"] == "fail"
    assert "not evaluated" in imin["detail"] and "does not register" in imin["detail"]
    others = [r for r in good["records"] if r["data"].get("kind") == "point" and r is not imin]
    assert others and all(r["value"] is not None for r in others)  # only Imin stopped
    import re

    html = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", (out / "report.html").read_text())
    assert not re.search(r"\bnan\b", html, re.IGNORECASE)
    assert "not completed" in html
