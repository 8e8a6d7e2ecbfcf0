"""Seeded selection (repeatable by an auditor with any tool) and the in-service limits."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterbench.core.errors import UserError
from meterbench.sampling.in_service_limits import current_range, in_service_limit
from meterbench.sampling.selection import default_spares, select

IDS = [f"M{i:04d}" for i in range(500)]


def test_an_auditor_can_repeat_the_selection_with_plain_hashlib():
    sel = select(IDS, 20, seed="audit-2026", spares=3)
    by_hand = sorted(IDS, key=lambda m: hashlib.sha256(f"audit-2026:{m}".encode()).hexdigest())
    assert list(sel.sample) == by_hand[:20]
    assert list(sel.spares) == by_hand[20:23]


def test_selection_ignores_row_order_and_changes_with_the_seed():
    a = select(IDS, 50, seed="s1", spares=5)
    b = select(list(reversed(IDS)), 50, seed="s1", spares=5)
    c = select(IDS, 50, seed="s2", spares=5)
    assert a == b
    assert a.sample != c.sample


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), n2=st.integers(0, 30), spares=st.integers(0, 10),
       size=st.integers(1, 120), seed=st.text(min_size=1, max_size=8))
def test_sample_second_sample_and_spares_are_disjoint_parts_of_the_lot(n, n2, spares, size,
                                                                        seed):
    ids = IDS[:size]
    sel = select(ids, n, seed=seed, spares=spares, n2=n2)
    parts = list(sel.sample) + list(sel.second_sample) + list(sel.spares)
    assert len(parts) == len(set(parts)) and set(parts) <= set(ids)
    if n + n2 > size:                  # 100 % inspection
        assert sorted(sel.sample) == sorted(ids)
    else:
        assert (len(sel.sample), len(sel.second_sample)) == (n, n2)
        assert len(sel.spares) == min(spares, size - n - n2)


def test_every_meter_is_equally_likely():
    counts = dict.fromkeys(IDS[:50], 0)
    for t in range(2000):
        for m in select(IDS[:50], 5, seed=f"u{t}").sample:
            counts[m] += 1
    # expected 200 each; binomial sd ~ 13.4: all within 5 sd
    assert all(abs(c - 200) < 67 for c in counts.values()), counts


def test_bad_selection_requests():
    with pytest.raises(UserError):
        select(IDS, 0, seed="x")
    with pytest.raises(UserError, match="seed"):
        select(IDS, 5, seed="")
    with pytest.raises(UserError, match="duplicate"):
        select(["a", "a"], 1, seed="x")
    assert default_spares(80) == 8 and default_spares(5) == 2


@pytest.mark.parametrize("cls,point,limit", [
    ("A", "Iref PF1", 7.0), ("B", "Iref PF1", 4.0), ("C", "Iref PF1", 1.4),
    ("C", "Imin PF1", 2.0), ("C", "0.05Iref PF1", 2.0), ("C", "0.1Iref PF1", 1.4),
    ("B", "2Iref PF1", 4.0), ("B", "Imax PF0.8c", 4.0), ("B", "Iref PF0.5i", 4.0),
])
def test_twice_the_mid_mpe(cls, point, limit):
    assert in_service_limit(cls, point) == pytest.approx(limit)


def test_french_in_service_limits_and_range():
    assert in_service_limit("A", "Iref PF1", "fr-in-service") == 8.0
    assert in_service_limit("B", "0.1Iref PF1", "fr-in-service") == 4.5
    assert in_service_limit("C", "Imax PF1", "fr-in-service") == 2.5
    with pytest.raises(UserError, match="outside the French"):
        in_service_limit("C", "Imin PF1", "fr-in-service")


def test_unknown_test_point_is_a_user_error():
    assert current_range("itr pf1") == "high"
    with pytest.raises(UserError, match="test_point"):
        current_range("full load")
