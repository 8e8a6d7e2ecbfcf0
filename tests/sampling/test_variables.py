"""s-method: k from M (the ANSI/ASQ Z1.9 beta formula) and the acceptance statistic."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterbench.core.errors import UserError
from meterbench.sampling import variables

# Z1.9 prints M with two decimals; these are the M that give the transcribed Z1.9 k values.
M_TWO_DECIMALS = {("1.0", 10): 3.27, ("1.0", 20): 2.93, ("1.0", 35): 2.66, ("1.0", 50): 2.47,
                  ("1.0", 100): 2.18, ("2.5", 10): 7.25, ("2.5", 35): 5.58, ("2.5", 50): 5.21,
                  ("2.5", 100): 4.67}


def test_z19_k_values_are_tabulated():
    assert variables.K_EXAMPLES == {
        ("1.0", 10): 1.714, ("1.0", 20): 1.826, ("1.0", 35): 1.894, ("1.0", 50): 1.936,
        ("1.0", 100): 2.002, ("2.5", 10): 1.411, ("2.5", 35): 1.573, ("2.5", 50): 1.611,
        ("2.5", 100): 1.670}


@pytest.mark.parametrize("key", sorted(M_TWO_DECIMALS))
def test_the_beta_formula_reproduces_the_k_examples(key):
    aql, n = key
    k = variables.k_from_m(n, M_TWO_DECIMALS[key])
    assert abs(k - variables.K_EXAMPLES[key]) <= 0.0015, (key, k)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(3, 300), m=st.floats(0.01, 30))
def test_m_and_k_are_inverse(n, m):
    k = variables.k_from_m(n, m)
    assert abs(variables.m_from_k(n, k) - m) < 1e-6 * max(1, m)


def test_larger_m_means_smaller_k():
    assert variables.k_from_m(35, 2.0) > variables.k_from_m(35, 4.0)


def test_s_method_accepts_a_centred_tight_lot_and_rejects_a_wide_one():
    rng = np.random.default_rng(3)
    good = rng.normal(0.1, 0.4, 35)          # limit ±4 % (class B, 2 x MPE)
    r = variables.s_method(good, -4.0, 4.0, 1.894)
    assert r.accepted and r.q_upper > 1.894 and r.q_lower > 1.894
    wide = rng.normal(0.5, 2.5, 35)
    assert not variables.s_method(wide, -4.0, 4.0, 1.894).accepted


def test_s_method_statistic_is_computed_as_stated():
    x = [0.0, 1.0, 2.0]
    r = variables.s_method(x, -3.0, 4.0, 1.0)
    assert r.mean == 1.0 and r.s == 1.0 and r.q_upper == 3.0 and r.q_lower == 4.0


def test_plan_needs_k_m_or_a_known_example():
    assert variables.variables_plan(35, aql="1.0").k == 1.894
    assert variables.variables_plan(35, k=2.1).k == 2.1
    with pytest.raises(UserError, match="no k known"):
        variables.variables_plan(36, aql="1.0")
    with pytest.raises(UserError):
        variables.s_method([1.0, 2.0], -4, 4, 1.0)
