"""The field verdict's quantization term is the *register's* step, from the register map's data
type and scale, at the register value where the compared intervals end (issue 15)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from meterbench.accuracy.limits import mpe_pct
from meterbench.accuracy.register import reading_step_kwh
from meterbench.config.bench_file import load_bench
from meterbench.core.quality import Quality
from meterbench.pipeline.compare import compare_intervals
from meterbench.pipeline.series import IntervalSeries
from meterbench.run.analysis import FieldPair
from meterbench.verdicts.checks import field_record

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
    rec = field_record(_pair(model, register_kwh))
    u_ref = mpe_pct("C") / math.sqrt(3)
    u_q = 100.0 * (step + step) / 4.0 / math.sqrt(3)  # both registers, over 4 kWh compared
    assert rec.uncertainty == pytest.approx(2.0 * math.hypot(u_ref, u_q))
    # the interval values' own float32 spacing (1.2e-7 kWh at 1 kWh) would be 80,000× smaller
    tiny = 100.0 * 2 * float(np.spacing(np.float32(1.0))) / 4.0 / math.sqrt(3)
    assert rec.uncertainty > 2.0 * math.hypot(u_ref, tiny) * (1 + 1e-6)
