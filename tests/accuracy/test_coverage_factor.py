"""Coverage factor from the effective degrees of freedom (GUM JCGM 100:2008 G.3, G.4), on the
lab point records and the field bias (issue 15, uncertainty)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterbench.accuracy.evaluate import Limit, point_records
from meterbench.accuracy.executor import Measurement
from meterbench.accuracy.planner import DurationPlan
from meterbench.accuracy.plans import TestPoint
from meterbench.accuracy.uncertainty import budget, coverage_factor, effective_dof

#: GUM JCGM 100:2008 Table G.2, column p = 95.45 %: t_p(ν).
TABLE_G2_9545 = {1: 13.97, 2: 4.53, 3: 3.31, 4: 2.87, 5: 2.65, 6: 2.52, 7: 2.43, 8: 2.37,
                 9: 2.32, 10: 2.28, 20: 2.13, 50: 2.05, math.inf: 2.00}


@pytest.mark.parametrize(("nu", "t"), TABLE_G2_9545.items())
def test_coverage_factor_is_student_t_of_gum_table_g2(nu: float, t: float) -> None:
    assert coverage_factor(nu) == pytest.approx(t, abs=0.005)


def test_a_fractional_dof_is_truncated_to_the_next_lower_integer() -> None:
    assert coverage_factor(1.9) == coverage_factor(1)  # GUM G.4.1
    assert coverage_factor(0.4) == coverage_factor(1)


def test_welch_satterthwaite_special_cases() -> None:
    assert effective_dof([(0.3, 4.0)]) == pytest.approx(4.0)  # one Type A term: its own ν
    assert effective_dof([(0.3, 4.0), (0.3, 4.0)]) == pytest.approx(8.0)  # equal terms add
    assert effective_dof([(0.3, math.inf), (0.1, math.inf)]) == math.inf  # all Type B
    assert effective_dof([(0.0, 1.0), (0.2, math.inf)]) == math.inf  # a zero Type A term


@given(st.lists(st.tuples(st.floats(1e-3, 10), st.integers(1, 200)), min_size=1, max_size=5),
       st.lists(st.floats(0, 10), max_size=3))
def test_effective_dof_lies_between_the_smallest_and_the_sum(type_a, type_b) -> None:
    nu = effective_dof([(u, float(n)) for u, n in type_a] + [(u, math.inf) for u in type_b])
    assert min(n for _, n in type_a) * (1 - 1e-9) <= nu
    if not any(type_b):
        assert nu <= sum(n for _, n in type_a) * (1 + 1e-9)


def _run(direction: str, error_pct: float) -> Measurement:
    point = TestPoint("Iref PF1", 5.0)
    plan = DurationPlan(60_000, 0.69, 0.333, 0.05, True)
    reference_kwh = 0.69
    return Measurement("mut", point, direction, reference_kwh * (1 + error_pct / 100),
                       reference_kwh, 60_000, 1.0, 1e-5, plan)


def test_two_runs_that_disagree_get_k_of_one_degree_of_freedom() -> None:
    """Rising +0.30 %, falling −0.30 %: the repeatability s/√2 = 0.3 % dwarfs the Type B terms,
    so ν_eff ≈ 1 and k ≈ 13.97, not 2; ν and k are on the record and in its budget."""
    (rec,) = point_records([_run("rising", 0.30), _run("falling", -0.30)],
                           limit=lambda meter, p: Limit(1.0, "MPE class B"),
                           reference_accuracy_pct=0.02, rule="simple")
    b = rec.data["budget"]
    u_c = math.sqrt(b["u_reference_pct"]**2 + b["u_resolution_pct"]**2 + b["u_timing_pct"]**2
                    + b["u_repeatability_pct"]**2)
    assert b["u_repeatability_pct"] == pytest.approx(0.3, rel=1e-6)
    assert b["repeatability_dof"] == 1.0
    assert rec.data["dof_eff"] == pytest.approx(u_c**4 / b["u_repeatability_pct"]**4)
    assert 1.0 <= rec.data["dof_eff"] < 1.01
    assert rec.data["k"] == pytest.approx(13.97, abs=0.005)
    assert rec.uncertainty == pytest.approx(rec.data["k"] * u_c)
    assert b["k"] == rec.data["k"] and b["expanded_pct"] == pytest.approx(rec.uncertainty)


def test_a_single_run_has_infinite_dof_and_k_2() -> None:
    b = budget(reference_accuracy_pct=0.02, step_kwh=1e-5, reference_kwh=0.69, window_ms=1.0,
               gate_ms=60_000)
    assert b.dof_eff == math.inf and b.k == pytest.approx(2.0)
    assert b.as_dict()["dof_eff"] == "inf"


def test_field_bias_from_a_few_scattered_intervals_gets_k_of_its_dof() -> None:
    """Six intervals, operator alternately +1 % and −1 %: the scatter term (ν = 5) dominates, so
    ν_eff is about 16 and k = t_95.45(16) ≈ 2.17 (GUM Table G.2), not 2."""
    import numpy as np

    from meterbench.accuracy.field import FieldSettings, field_acceptance
    from meterbench.core.quality import Quality
    from meterbench.pipeline.series import IntervalSeries

    start = 1_780_185_600_000 + 900_000 * np.arange(6, dtype=np.int64)
    measured = np.full(6, Quality.MEASURED, dtype=np.uint8)
    ref = IntervalSeries(start, np.ones(6), measured, 900_000)
    op = IntervalSeries(start, 1.0 + 0.01 * np.array([1, -1, 1, -1, 1, -1]), measured.copy(),
                        900_000)
    res = field_acceptance(op, ref, operator_id="op", reference_id="ref",
                           settings=FieldSettings(operator_class="B", reference_class="C"))
    rec = next(r for r in res.records if r.name == "operator vs reference bias")
    d = rec.data
    u_c = math.sqrt(d["u_scatter_pct"]**2 + d["u_reference_meter_pct"]**2
                    + d["u_quantization_pct"]**2)
    assert d["dof_eff"] == pytest.approx(u_c**4 / (d["u_scatter_pct"]**4 / 5))
    assert 5 < d["dof_eff"] < 20
    assert d["k"] == coverage_factor(d["dof_eff"]) and d["k"] > 2.1
    assert rec.uncertainty == pytest.approx(d["k"] * u_c)
    assert res.summary["bias_k"] == d["k"] and res.summary["bias_u_pct"] == rec.uncertainty


def test_a_huge_component_does_not_overflow_the_effective_dof() -> None:
    """A reference that would count almost nothing (reference_constant 1e-100 imp/kWh) gives a
    pulse-count u near 1e102 %: raising it to the 4th power overflowed and the plan was a
    traceback; as ratios to u_c the result is the same and finite."""
    from meterbench.accuracy.uncertainty import effective_dof

    # u_c⁴ / u_A⁴ = ((1e204 + 1e202) / 1e202)² = 101²
    assert effective_dof([(1e102, math.inf), (1e101, 1.0)]) == pytest.approx(101.0**2, rel=1e-12)
    assert effective_dof([(2.0, math.inf), (1.0, 1.0)]) == pytest.approx(25.0)
