"""Verdicts that can fail: each check compares with something independent of what produced the
value, counts what it expected, and fails on a real defect (issue 15's checklist, "verdicts")."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from meterbench.config.bench_file import load_bench
from meterbench.core.checks import check
from meterbench.run.analysis import analyse
from meterbench.run.session import BenchRun
from meterbench.verdicts.checks import conservation_record, truth_record, virtual_truth_record
from meterbench.verdicts.truth import TruthCheck, check_virtual_point

TINY = Path(__file__).resolve().parents[1] / "plugin" / "tiny.toml"


def _run(tmp_path: Path, ev_error_pct: float):
    bench = tmp_path / f"ev{ev_error_pct}.toml"
    bench.write_text(TINY.read_text().replace("sim = { error_pct = 0.5 }",
                                              f"sim = {{ error_pct = {ev_error_pct} }}"))
    run = BenchRun(load_bench(str(bench)), tmp_path / f"run{ev_error_pct}")
    run.start()
    run.acquire()
    return run


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    run = _run(tmp_path_factory.mktemp("good"), 0.5)
    yield run
    run.close()


def test_virtual_point_matches_the_truth_for_meters_within_class(good):
    rec = virtual_truth_record(check_virtual_point(good.world, good.analyse()))
    assert rec.verdict == "pass", rec.detail
    assert rec.high > 0 and abs(rec.value) <= rec.high
    assert rec.data["recovered"] == rec.data["expected"] == 96


def test_virtual_point_fails_when_a_serial_meter_reads_beyond_its_class(tmp_path):
    """ev (class B, MPE 2 %) reading 8 % high: the virtual main point no longer matches the house."""
    run = _run(tmp_path, 8.0)
    try:
        truth = check_virtual_point(run.world, run.analyse())
    finally:
        run.close()
    rec = virtual_truth_record(truth)
    assert rec.verdict == "fail", rec.detail
    assert rec.value < -rec.high  # the serial meter over-reads, so main − serial under-reads


def test_truth_check_counts_expected_intervals_and_fails_on_missing(good):
    t = good.truth("ev")
    assert truth_record(t, "B").verdict == "pass"
    lost = t.recovered_kwh.copy()
    lost[[10, 11, 50]] = np.nan  # intervals the bench failed to recover
    broken = dataclasses.replace(t, recovered_kwh=lost)
    rec = truth_record(broken, "B")
    assert rec.verdict == "fail"
    assert "93 of 96 intervals recovered (3 missing)" in rec.detail
    nothing = dataclasses.replace(t, recovered_kwh=np.full_like(t.recovered_kwh, np.nan))
    assert truth_record(nothing, "B").verdict == "fail"  # not "pass, 0 intervals"


def test_conservation_fails_on_a_missing_interval_and_on_clamped_residuals(good):
    a = good.analyse()
    assert conservation_record(a).verdict == "pass"
    holed = dataclasses.replace(a.netting.subs, import_kwh=a.netting.subs.import_kwh.copy())
    holed.import_kwh[0, int(np.nanargmax(holed.import_kwh[0]))] = np.nan  # an EV charging quarter
    broken = dataclasses.replace(a, netting=dataclasses.replace(a.netting, subs=holed))
    rec = conservation_record(broken)
    assert rec.verdict == "fail" and rec.data["missing_intervals"] == 1
    # an interval's energy lost: the points no longer add up to the main meter's register
    assert rec.value < 0


def test_conservation_sees_what_the_clamp_policy_adds(tmp_path):
    """PV behind the main meter makes negative residuals; clamping them to zero creates energy
    that the main meter never registered, and the conservation check says so."""
    from .test_negative_residuals import PV

    bench = tmp_path / "pv.toml"
    text = TINY.read_text().replace('sessions = [["08:00", "09:30"]]', 'sessions = [["11:00", "12:30"]]')
    bench.write_text(text.replace("[[meter]]", PV + "\n[[meter]]", 1))
    cfg = load_bench(str(bench))
    run = BenchRun(cfg, tmp_path / "run")
    try:
        run.start()
        run.acquire()
        run.store.commit()
        reported = analyse(cfg, run.store, policy="report")
        clamped = analyse(cfg, run.store, policy="clamp")
    finally:
        run.close()
    assert reported.netting.virtual.negative_import.any()
    assert conservation_record(reported).verdict == "pass"
    rec = conservation_record(clamped)
    assert rec.verdict == "fail"
    added = float(-np.sum(reported.netting.virtual.import_kwh[clamped.netting.virtual.clamped_import]))
    assert rec.data["gaps_kwh"][0] == pytest.approx(added, rel=1e-6)


def test_truth_table_reports_the_bound_where_it_matters(good):
    t: TruthCheck = good.truth("ev")
    w = t.worst_index
    assert w is not None and t.allowed_kwh[w] > 0
    assert abs(t.deviation_kwh[w]) <= t.allowed_kwh[w]


def test_interval_limit_check_is_named_for_what_it_counts():
    assert "outside" in check("field.interval_limits").title


def test_conservation_judges_each_direction_by_its_own_register_step(good):
    """Half a step of the import register off passes; a whole kWh off fails (the export
    register, at zero, has a step of almost nothing and must not set the import's bound)."""
    a = good.analyse()

    def shifted(kwh: float):
        v = dataclasses.replace(a.netting.virtual, import_kwh=a.netting.virtual.import_kwh.copy())
        v.import_kwh[40] += kwh
        return dataclasses.replace(a, netting=dataclasses.replace(a.netting, virtual=v))

    rec = conservation_record(a)
    step = rec.data["bounds_kwh"][0]
    assert rec.data["bounds_kwh"][1] < step  # the export register sits at 0
    assert conservation_record(shifted(0.5 * step)).verdict == "pass"
    assert conservation_record(shifted(1.0)).verdict == "fail"
