"""The starting and register (dial) tests are planned like the points: within the plan's longest
gate, and saying beforehand when the meter's register is too coarse for them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from meterbench.accuracy.planner import STARTING_MIN_STEPS, plan_dial, plan_starting
from meterbench.config.bench_file import resolve
from meterbench.units import MS_PER_HOUR

HOUR = MS_PER_HOUR


def test_the_starting_gate_never_exceeds_the_longest_gate() -> None:
    # a 0.01 kWh register at 27.6 W (3 × 230 V × 0.04 A) needs 7.2 h for 20 steps
    gate, warning = plan_starting(27.6, step_kwh=0.01, min_gate_ms=30_000, max_gate_ms=4 * HOUR)
    assert gate == 4 * HOUR and warning == ""  # 11 steps in 4 h: still enough to tell
    gate, warning = plan_starting(2.76, step_kwh=0.01, min_gate_ms=30_000, max_gate_ms=4 * HOUR)
    assert gate == 4 * HOUR and "too coarse" in warning  # 1.1 steps: cannot tell
    gate, warning = plan_starting(27.6, step_kwh=1e-5, min_gate_ms=30_000, max_gate_ms=4 * HOUR)
    assert gate == 30_000 and warning == ""  # fine register: the minimum gate is enough
    assert 27.6 * gate / HOUR / 1000 / 1e-5 >= STARTING_MIN_STEPS


@pytest.mark.parametrize(("step", "ok"), [(0.01, False), (1e-4, True)])
def test_the_dial_test_says_when_its_u_misses_the_target(step: float, ok: bool) -> None:
    d = plan_dial(3 * 230 * 5.0, 0.7, dial_kwh=0.5, step_kwh=step, reference_accuracy_pct=0.02,
                  window_ms=5.0)
    assert d.reachable is ok and (d.expected_u_pct <= d.target_pct) is ok
    assert ("coarse" in d.warning) is not ok


def _bench(tmp_path: Path, model: str, dial_kwh: float) -> Path:
    text = resolve("sim-lab")[1].replace('model = "eastron_sdm630"', f'model = "{model}"')
    text = text.replace("dial_kwh = 1.0", f"dial_kwh = {dial_kwh}")
    path = tmp_path / "bench.toml"
    path.write_text(text)
    return path


def _plan(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meterbench", "accuracy", "plan", str(path),
                           "--json"], capture_output=True, text=True, timeout=120, check=False)


def test_accuracy_plan_lists_the_register_tests_and_warns_before_the_run(tmp_path: Path) -> None:
    fine = _plan(_bench(tmp_path, "eastron_sdm630", 1.0))
    assert fine.returncode == 0, fine.stderr
    rows = {(r["meter"], r["point"]): r for r in json.loads(fine.stdout)}
    assert rows[("mut_good", "starting (Ist)")]["gate_s"] <= 4 * 3600
    assert rows[("mut_good", "register (dial) test")]["reachable"]
    coarse = _plan(_bench(tmp_path, "abb_b23", 0.5))  # a 0.01 kWh register over 0.5 kWh
    assert coarse.returncode == 1, coarse.stderr
    dial = [r for r in json.loads(coarse.stdout) if r["point"] == "register (dial) test"]
    assert dial and all(not r["reachable"] and "coarse" in r["warning"] for r in dial)


def test_a_dial_test_longer_than_max_gate_is_flagged_not_planned_as_reachable():
    """dial_kwh = 100 at 3,450 W is 29 h; the plan said nothing against a 4 h max_gate."""
    from meterbench.accuracy.planner import plan_dial

    kw = dict(step_kwh=0.01, reference_accuracy_pct=0.02, window_ms=50.0)
    long = plan_dial(3450.0, 2.0, dial_kwh=100.0, max_gate_ms=4 * 3_600_000, **kw)
    assert not long.reachable and "beyond max_gate (4 h)" in long.warning
    short = plan_dial(3450.0, 2.0, dial_kwh=10.0, max_gate_ms=4 * 3_600_000, **kw)
    assert short.reachable, short.warning
