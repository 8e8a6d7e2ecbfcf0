"""Germany's ">= 95 % conforming" as a test, France's Annex 7 plans, the Dutch 13 % rule."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from meterbench.core.errors import UserError
from meterbench.sampling import criteria


def test_zero_nonconforming_bound_has_the_closed_form():
    t = criteria.german_conformity_test(59, 0)
    assert abs(t.upper_bound - (1 - 0.05 ** (1 / 59))) < 1e-12
    assert t.accepted and "can be statistically assumed" in t.statement


def test_fifty_nine_meters_is_the_smallest_sample_that_can_pass_at_95_percent():
    assert not criteria.german_conformity_test(58, 0).accepted
    assert criteria.german_conformity_test(59, 0).accepted
    assert criteria.german_minimum_n(0.95) == 59


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 250))
def test_the_test_has_its_stated_level(n):
    """At the boundary share 5 % the test passes with probability <= 1 - confidence."""
    d_ok = [d for d in range(min(n, 20) + 1) if criteria.german_conformity_test(n, d).accepted]
    if not d_ok:
        return
    assert d_ok == list(range(max(d_ok) + 1))      # monotone: more bad never helps
    false_accept = stats.binom.cdf(max(d_ok), n, 0.05)
    assert false_accept <= 0.05 + 1e-9


@pytest.mark.parametrize("size,normal,tight", [
    (9_999, (56, 5), (206, 20)), (10_000, (106, 10), (306, 30)), (49_999, (106, 10), (306, 30)),
    (50_000, (206, 20), (406, 40)), (99_999, (206, 20), (406, 40)),
    (100_000, (306, 30), (506, 50)), (2_000_000, (306, 30), (506, 50))])
def test_french_annex7_plans_by_lot_size(size, normal, tight):
    p = criteria.french_plan(size)
    t = criteria.french_plan(size, tightened=True)
    assert (p["n"], p["ac"], p["re"]) == (normal[0], normal[1], normal[1] + 1)
    assert (t["n"], t["ac"]) == tight


def test_dutch_rule_and_bad_input():
    assert criteria.dutch_decision(100, 13)["accepted"]
    assert not criteria.dutch_decision(100, 14)["accepted"]
    with pytest.raises(UserError):
        criteria.german_conformity_test(10, 11)
    with pytest.raises(UserError, match="confidence"):
        criteria.german_conformity_test(10, 0, confidence=1.0)
