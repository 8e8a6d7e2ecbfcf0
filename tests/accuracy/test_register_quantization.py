"""The field verdict's quantization term is the *register's* step, from the register map's data
type and scale, at the register value where the compared intervals end (issue 15)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from meterbench.accuracy.register import reading_step_kwh
from meterbench.config.bench_file import load_bench
from meterbench.core.quality import Quality
from meterbench.pipeline.compare import compare_intervals
from meterbench.pipeline.series import IntervalSeries
from meterbench.run.analysis import FieldPair
from meterbench.run.field_acceptance import field_result_for_pair

TINY = Path(__file__).resolve().parents[1] / "plugin" / "tiny.toml"


@pytest.mark.parametrize(("model", "register_kwh", "step"), [
    ("eastron_sdm630", 5000.0, 2.0**-11),       # float32: spacing 4.9e-4 kWh at 4096…8192 kWh
    ("eastron_sdm630", 100_000.0, 2.0**-7),      # 7.8e-3 kWh at 65,536…131,072 kWh
    ("abb_b23", 5000.0, 0.01),                   # uint64 with scale 0.01 kWh
    ("abb_b23", 100_000.0, 0.01),
    ("carlo_gavazzi_em340", 5000.0, 0.1),        # integer with scale 0.1 kWh
])
def test_register_step_comes_from_data_type_and_scale(model, register_kwh, step):
    readings = np.array([register_kwh - 20.0, np.nan, register_kwh])
    assert reading_step_kwh(model, readings) == pytest.approx(step, rel=1e-12)


def _pair(model: str, register_kwh: float) -> FieldPair:
    """Four quarter-hours of 1 kWh on an operator (class B) and its reference (class C) whose
    registers stand at ``register_kwh``."""
    cfg = load_bench(str(TINY))
    op = replace(cfg.meter("ev"), model=model)
    ref = replace(cfg.meter("ev_ref"), model=model)
    start = 1_780_264_800_000 + 900_000 * np.arange(4, dtype=np.int64)
    q = np.full(4, Quality.MEASURED, dtype=np.uint8)
    c = compare_intervals(IntervalSeries(start, np.full(4, 1.004), q, 900_000),
                          IntervalSeries(start, np.full(4, 1.0), q.copy(), 900_000))
    step = reading_step_kwh(model, np.array([register_kwh]))
    return FieldPair(op, ref, c, step, step)


@pytest.mark.parametrize(("model", "register_kwh", "step"), [
    ("abb_b23", 5000.0, 0.01), ("eastron_sdm630", 5000.0, 2.0**-11)])
def test_field_verdict_uses_the_register_step_not_the_interval_values(model, register_kwh, step):
    """The field bias's quantization term from the pair's register steps (two per interval)."""
    pair = _pair(model, register_kwh)
    cfg = load_bench(str(TINY))
    analysis = SimpleNamespace(
        config=cfg, meters={m: SimpleNamespace(
            readings={"energy.import": SimpleNamespace(times_ms=np.array([0, 1]),
                                                       values=np.array([0.0, 1.0]))},
            quarter={"energy.import": SimpleNamespace(series=s)})
            for m, s in (("ev", _series(1.004)), ("ev_ref", _series(1.0)))})
    res = field_result_for_pair(analysis, pair)
    bias = next(r for r in res.records if r.check == "field.bias")
    n, total = 4, 4.0
    expected = 100.0 * math.sqrt(n) * math.hypot(2 * step, 2 * step) / math.sqrt(3) / total
    assert bias.data["u_quantization_pct"] == pytest.approx(expected)
    # the interval values' own float32 spacing (1.2e-7 kWh at 1 kWh) would be 80,000× smaller
    tiny = float(np.spacing(np.float32(1.0)))
    assert bias.data["u_quantization_pct"] > 1000 * 100.0 * math.hypot(tiny, tiny) / total


def _series(kwh: float) -> IntervalSeries:
    start = 1_780_264_800_000 + 900_000 * np.arange(4, dtype=np.int64)
    return IntervalSeries(start, np.full(4, kwh), np.full(4, Quality.MEASURED, dtype=np.uint8),
                          900_000)
