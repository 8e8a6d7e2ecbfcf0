"""Production behind the main meter: the virtual point goes negative, and the bench says why."""

from pathlib import Path

import numpy as np

from meterbench.config.bench_file import load_bench
from meterbench.run.session import BenchRun
from meterbench.verdicts.checks import conservation_record, negative_residuals_record

TINY = Path(__file__).resolve().parents[1] / "plugin" / "tiny.toml"
PV = '''
[[load]]
id = "pv"
kind = "sessions"
power_w = 12000
phases = "3"
producing = true
sessions = [["10:00", "14:00"]]
'''


def test_pv_behind_the_main_meter_is_diagnosed(tmp_path):
    bench = tmp_path / "pv.toml"
    text = TINY.read_text().replace('sessions = [["08:00", "09:30"]]', 'sessions = [["11:00", "12:30"]]')
    bench.write_text(text.replace("[[meter]]", PV + "\n[[meter]]", 1))
    cfg = load_bench(str(bench))
    assert cfg.load("pv").producing
    run = BenchRun(cfg, tmp_path / "run")
    try:
        run.start()
        run.acquire()
        a = run.analyse()
        run.write()
    finally:
        run.close()
    n = a.netting
    negative = n.virtual.negative_import
    # the EV (a serial meter) charged from the PV while the main meter exported
    assert negative.any()
    assert (n.main.export_kwh[negative] > 0).all()
    assert set(c for c in np.array(n.diagnosis.codes, dtype=object)[negative]) == {"production_behind_main"}
    record = negative_residuals_record(a)
    assert record.verdict == "fail" and "production behind main" in record.detail
    import json
    doc = json.loads((tmp_path / "run" / "results.json").read_text())
    assert doc["netting"]["negative_count"] == int(negative.sum())
    assert "production behind the main meter" in doc["netting"]["diagnoses"][0]
    # conservation still holds against the main meter's own register: nothing hidden by the
    # report-only policy (the negative residuals are kept, not clamped away)
    conservation = conservation_record(a)
    assert conservation.verdict == "pass", conservation.detail
