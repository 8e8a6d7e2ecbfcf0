"""Pure parts: MID limits, rating consistency, decision rules, uncertainty budget, planner."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterbench.accuracy.decision import decide
from meterbench.accuracy.limits import (
    in_service_limit_pct,
    mpe_pct,
    starting_current_a,
    temperature_band,
)
from meterbench.accuracy.planner import expected_u_pct, plan_gate
from meterbench.accuracy.plans import (
    initial_points,
    periodic_points,
    rated_current,
    rising_then_falling,
)
from meterbench.accuracy.rating import MeterRating, check_rating, rating_problems
from meterbench.accuracy.uncertainty import budget
from meterbench.core.errors import UserError

from .labkit import RATING_B


def test_mpe_table_matches_mid_annex_v_table_2():
    # Directive 2014/32/EU Annex V Table 2, +5…+30 °C and −25…−10 °C columns
    assert mpe_pct("C", below_itr=True) == 1.0 and mpe_pct("C") == 0.7
    assert mpe_pct("B", below_itr=True, band=2) == 3.5
    assert mpe_pct("A", band=3) == 9.0
    assert in_service_limit_pct("B", country="DK") == 4.0  # 2 × MPE, BEK 582/2018 §11
    assert temperature_band(23) == 0 and temperature_band(35) == 1 and temperature_band(-30) == 3
    with pytest.raises(ValueError):
        temperature_band(80)
    assert starting_current_a("B", 5.0) == pytest.approx(0.02)
    assert starting_current_a("C", 5.0, transformer=True) == pytest.approx(0.005)


def test_rating_mpe_depends_on_current_range():
    assert RATING_B.mpe_pct(0.3) == 2.0 and RATING_B.mpe_pct(5.0) == 2.0
    c = MeterRating("C", i_min=0.05, i_tr=0.25, i_ref=5.0, i_max=10.0, connection="transformer")
    assert c.mpe_pct(0.1) == 1.0 and c.mpe_pct(0.25) == 0.7
    with pytest.raises(ValueError, match="below Imin"):
        c.mpe_pct(0.01)


@pytest.mark.parametrize("change, field", [
    (dict(i_ref=6.0), "i_ref"),                      # Iref ≠ 10·Itr (direct)
    (dict(connection="transformer"), "i_ref"),        # Iref ≠ 20·Itr
    (dict(i_min=0.6), "i_min"),                       # Imin ≥ Itr
    (dict(i_max=4.0), "i_max"),                       # Imax < Iref
    (dict(i_st=0.03), "i_st"),                        # above 0.004·Iref for class B
    (dict(u_n=-1.0), "u_n"),
])
def test_inconsistent_ratings_are_refused_naming_the_field(change, field):
    r = MeterRating(**{**RATING_B.__dict__, **change})
    assert rating_problems(r)[0][0] == field
    with pytest.raises(UserError) as exc:
        check_rating(r, source="bench.toml", where="meter[0].rating")
    assert f"meter[0].rating.{field}" in str(exc.value) and "bench.toml" in str(exc.value)


def test_builtin_plans_follow_metrology_notes():
    pts = initial_points(RATING_B)
    assert [(p.current_a, p.pf, len(p.phases)) for p in pts][:2] == [(0.25, "1", 3), (0.5, "0.5 ind", 3)]
    assert sum(len(p.phases) == 1 for p in pts) == 2
    periodic = periodic_points(RATING_B)
    assert sorted(p.current_a for p in periodic) == [0.5, 5.0, 5.0, 10.0]
    order = rising_then_falling(periodic)
    currents = [p.current_a for p, _ in order]
    assert currents[:4] == sorted(currents[:4]) and currents[4:] == sorted(currents[4:], reverse=True)
    assert rated_current("0.1 Iref", RATING_B) == pytest.approx(0.5)
    assert rated_current("Imax", RATING_B) == 20.0
    with pytest.raises(ValueError):
        rated_current("half of Iref", RATING_B)


finite = st.floats(-50, 50, allow_nan=False)
positive = st.floats(0.0, 10, allow_nan=False)


@given(value=finite, tol=st.floats(0.1, 10), u=positive)
def test_decision_rules_are_nested(value, tol, u):
    simple = decide(value, -tol, tol, u, "simple")
    guarded = decide(value, -tol, tol, u, "guarded")
    nb = decide(value, -tol, tol, u, "non_binary")
    if guarded == "pass":          # guarded acceptance is stricter than simple acceptance
        assert simple == "pass" and nb == "pass"
    # non-binary agrees with simple acceptance on which side of the tolerance the value is
    assert (simple == "pass") == (nb in ("pass", "conditional_pass"))
    # and is symmetric
    assert decide(-value, -tol, tol, u, "non_binary") == nb


def test_non_binary_zones():
    assert decide(1.0, -2, 2, 0.5, "non_binary") == "pass"
    assert decide(1.8, -2, 2, 0.5, "non_binary") == "conditional_pass"
    assert decide(2.3, -2, 2, 0.5, "non_binary") == "conditional_fail"
    assert decide(2.6, -2, 2, 0.5, "non_binary") == "fail"
    assert decide(1.8, -2, 2, 0.5, "guarded") == "fail"
    assert decide(math.nan, -2, 2, 0.5, "simple") == "fail"


def test_budget_combines_components_with_k_from_the_effective_dof():
    b = budget(reference_accuracy_pct=0.02, step_kwh=1e-4, reference_kwh=0.1, window_ms=0,
               gate_ms=60_000, repeated_errors_pct=[0.10, 0.14])
    u_ref = 0.02 / math.sqrt(3)
    u_res = math.sqrt(2) * 1e-4 / math.sqrt(3) / 0.1 * 100
    u_rep = 0.04 / math.sqrt(2) / math.sqrt(2)
    u_c = math.sqrt(u_ref**2 + u_res**2 + u_rep**2)
    assert b.combined == pytest.approx(u_c)
    assert b.dof_eff == pytest.approx(u_c**4 / (u_rep**4 / 1))  # two runs: ν = 1
    assert b.expanded == pytest.approx(b.k * u_c)
    assert 2.0 < b.k < 2.01  # ν_eff ≈ 311: the repeatability term is small here


@given(power=st.floats(5, 30_000), mpe=st.sampled_from([0.7, 1.0, 2.0, 3.5]),
       step=st.sampled_from([1e-5, 1.2e-4, 0.0078, 0.01]), window=st.floats(0, 2000))
def test_planner_gate_is_the_shortest_reaching_the_target(power, mpe, step, window):
    kw = dict(step_kwh=step, reference_accuracy_pct=0.02, window_ms=window)
    plan = plan_gate(power, mpe, max_gate_ms=10 * 3_600_000, **kw)
    if plan.reachable:
        assert plan.expected_u_pct <= plan.target_pct * (1 + 1e-9)
        if plan.gate_ms > 30_000:
            assert expected_u_pct(plan.gate_ms - 1000, power, **kw) > plan.target_pct * (1 - 1e-9)
    else:
        assert plan.warning and plan.expected_u_pct > plan.target_pct


def test_planner_says_when_the_reference_alone_is_too_coarse():
    plan = plan_gate(1000.0, 0.7, step_kwh=1e-5, reference_accuracy_pct=0.5, window_ms=0)
    assert not plan.reachable and "reference standard alone" in plan.warning


def test_limit_basis_in_service_and_temperature_band():
    from meterbench.accuracy.evaluate import limit_for

    assert limit_for(RATING_B, 5.0).pct == 2.0
    ins = limit_for(RATING_B, 5.0, basis="in_service", country="DK")
    assert ins.pct == 4.0 and "in-service" in ins.basis  # 2 × MPE (BEK 582/2018 §11)
    assert limit_for(RATING_B, 0.3, band=temperature_band(-15)).pct == 3.5  # −25…−10 °C column
