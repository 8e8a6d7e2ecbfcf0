"""Ground truth is recovered for meters of every register encoding, within that encoding's step."""

from pathlib import Path

import pytest

from meterbench.config.bench_file import load_bench
from meterbench.run.session import BenchRun
from meterbench.verdicts.checks import truth_record

TINY = Path(__file__).resolve().parents[1] / "plugin" / "tiny.toml"


@pytest.mark.parametrize("model", ["abb_b23", "carlo_gavazzi_em340", "orno_we517", "eastron_sdm72"])
def test_truth_with_scaled_integer_and_float_registers(tmp_path, model):
    bench = tmp_path / "b.toml"
    bench.write_text(TINY.read_text().replace('id = "ev"\nrole = "operator"\nmodel = "eastron_sdm630"',
                                              f'id = "ev"\nrole = "operator"\nmodel = "{model}"'))
    cfg = load_bench(str(bench))
    assert cfg.meter("ev").model == model
    run = BenchRun(cfg, tmp_path / "run")
    try:
        run.start()
        run.acquire()
        check = run.truth("ev")
    finally:
        run.close()
    rec = truth_record(check, "B")
    assert rec.verdict == "pass", rec.detail
    assert check.checked.sum() == 96
    # the day's total telescopes to two boundary values: its error is bounded by the two end bounds
    total_dev = abs(check.recovered_kwh.sum() - check.expected_kwh.sum())
    assert total_dev <= check.allowed_kwh[0] + check.allowed_kwh[-1]
