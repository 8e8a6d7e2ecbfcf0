"""README's first command, end to end: the built-in simulated bench through the real CLI.

Runs ``meterbench run`` once in a subprocess (real Modbus TCP servers on 127.0.0.1, the real
driver, pytest with the plugin) and checks what it left behind against the simulator's truth.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from meterbench.config.bench_file import load_bench
from meterbench.core.quality import Quality
from meterbench.store.run_store import Store


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("main") / "run"
    proc = subprocess.run([sys.executable, "-m", "meterbench", "run", "--out", str(out), "-q"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"report: {out / 'report.html'}" in proc.stdout
    assert "verdict: PASS (" in proc.stdout
    assert "acquiring" in proc.stderr  # progress was shown
    return out


@pytest.fixture(scope="module")
def results(run_dir):
    return json.loads((run_dir / "results.json").read_text())


def test_run_folder_has_results_store_series_and_report(run_dir, results):
    assert results["schema"] == "meterbench.results/2"
    assert results["verdict"] == "pass"
    for name in ("store.sqlite", "report.html", "series/intervals.csv", "series/netting.csv",
                 "series/comparison.csv"):
        assert (run_dir / name).is_file(), name
    assert results["run"]["bench_sha256"] == load_bench("sim").sha256


def test_report_embeds_the_figures(run_dir):
    html = (run_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3  # quality, virtual point, operator vs reference
    assert 'alt="operator vs reference per interval"' in html
    assert 'alt="virtual main point"' in html


def test_every_record_and_test_of_the_suites_is_in_the_results(results):
    stages = {r["stage"] for r in results["records"]}
    assert {"conformance", "field", "netting", "delivery", "truth"} <= stages
    # every test passed, except the lab suite, which skips on a field bench (no [lab] section), and
    # the clock check, which skips for models without a clock register (no shipped model has one)
    assert all(t["outcome"] == "passed" or (t["outcome"] == "skipped" and (
        t["nodeid"].startswith("test_lab.py")
        or t["nodeid"].startswith("test_conformance.py::test_clock_within_tolerance")))
               for t in results["tests"])
    assert sum(t["outcome"] == "passed" for t in results["tests"]) >= 20


def test_recovered_intervals_match_ground_truth(results):
    truth = {t["meter"]: t for t in results["truth"]}
    assert set(truth) == {"main", "ev", "heat_pump", "ev_ref"}
    for t in truth.values():
        # the total recovered error equals the meter's true error to a few thousandths of a percent
        assert abs(t["recovered_error_pct"] - t["true_error_pct"]) < 0.01, t
    truth_records = [r for r in results["records"] if r["stage"] == "truth"]
    assert all(r["verdict"] == "pass" for r in truth_records)


def test_interval_sum_equals_register_difference(run_dir):
    cfg = load_bench("sim")
    store = Store(run_dir / "store.sqlite")
    from meterbench.run.analysis import analyse
    a = analyse(cfg, store)
    for mid, ma in a.meters.items():
        s = ma.quarter["energy.import"].series
        assert s.count(Quality.MEASURED) == len(s) == 96
        r = ma.readings["energy.import"]
        diff = np.interp(cfg.run.end_ms, r.times_ms, r.values) - np.interp(cfg.run.start_ms, r.times_ms, r.values)
        assert abs(s.quantity.sum() - diff) < 1e-9 * max(1.0, diff), mid
    store.close()


def test_field_acceptance_recovers_the_relative_error(results):
    ev = next(f for f in results["field"] if f["operator"] == "ev")
    cfg = load_bench("sim")
    expected = ((1 + cfg.meter("ev").sim.error_pct / 100) / (1 + cfg.meter("ev_ref").sim.error_pct / 100) - 1) * 100
    assert abs(ev["bias_pct"] - expected) < ev["bias_u_pct"]
    assert abs(ev["bias_pct"] - expected) < 0.01
    assert ev["verdict"] == "pass"
    # one set of counts: what the section says is what the completeness record says
    assert ev["expected"] == 96 and ev["measured_both"] == 96 and ev["completeness_pct"] == 100.0
    completeness = next(r for r in ev["records"] if r["check"] == "field.completeness")
    assert completeness["value"] == ev["completeness_pct"]
    assert f"{ev['measured_both']} of {ev['expected']}" in completeness["detail"]


def test_netting_virtual_point_is_main_minus_serial(results):
    n = results["netting"]
    assert abs(n["main_kwh"] - n["serial_kwh"] - n["virtual_kwh"]) < 1e-6
    assert n["conservation_verdict"] == "pass" and abs(n["conservation_gap_kwh"]) < 1e-3
    assert n["negative_count"] == 0
    # the virtual point against the world's true house consumption, within the classes' bound
    truth = n["truth"]
    assert truth["verdict"] == "pass"
    assert abs(truth["deviation_kwh"]) <= truth["bound_kwh"]
    assert abs(truth["virtual_kwh"] - truth["true_kwh"] - truth["deviation_kwh"]) < 1e-9


def test_one_summary_counts_every_test_and_record(results):
    s = results["summary"]
    assert s["records"]["total"] == len(results["records"])
    assert sum(s["records"]["by_verdict"].values()) == len(results["records"])
    assert s["tests"]["total"] == len(results["tests"])
    assert sum(s["tests"]["by_outcome"].values()) == len(results["tests"])
    skipped = [t for t in results["tests"] if t["outcome"] == "skipped"]
    assert len(s["tests"]["skipped"]) == len(skipped)
    assert all(t["reason"] and t["reason"] != "no reason given" for t in s["tests"]["skipped"])


def test_bad_bench_file_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[bench\nname = 1\n")
    proc = subprocess.run([sys.executable, "-m", "meterbench", "run", str(bad), "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and str(bad) in lines[0] and "TOML syntax error" in lines[0]
    assert not (tmp_path / "r").exists()  # nothing created for a run that never started


def test_refuses_to_overwrite_a_finished_run(run_dir):
    proc = subprocess.run([sys.executable, "-m", "meterbench", "run", "--out", str(run_dir)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "already holds a finished run" in proc.stderr
