"""Local collective: eligibility, effective dates, and the summing virtual point."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from meterbench.core.quality import Quality
from meterbench.pipeline.collective import (
    DK_LOCAL_COLLECTIVE,
    CollectiveMember,
    CollectiveRules,
    check_eligibility,
    collective_point,
    membership_effective_date,
    membership_mask,
)
from meterbench.pipeline.localday import local_day_bounds_ms
from meterbench.pipeline.netting import PointFlows

Q = 900_000


def _members():
    return [CollectiveMember("571313100000000001", "ST-17", production_kw=20.0),
            CollectiveMember("571313100000000002", "ST-17", production_kw=6.0, battery_kw=10.0),
            CollectiveMember("571313100000000003", "ST-17")]


def test_eligible_collective():
    e = check_eligibility(_members())
    assert e.eligible, e.failures()
    assert "26 kW installed production" in e.checks[1].text
    assert "10 kW of batteries left out" in e.checks[1].text


def test_batteries_do_not_reach_25_kw():
    members = [CollectiveMember("a", "ST", production_kw=20.0, battery_kw=30.0),
               CollectiveMember("b", "ST")]
    e = check_eligibility(members)
    assert not e.eligible
    assert [c.name for c in e.checks if not c.passed] == ["production"]
    lenient = CollectiveRules(2, 25.0, batteries_count=True, same_substation=True, notice_months=1)
    assert check_eligibility(members, rules=lenient).eligible


def test_one_member_or_shared_point_or_two_substations_fail():
    one = [CollectiveMember("a", "ST", production_kw=30.0)]
    assert [c.name for c in check_eligibility(one).checks if not c.passed] == ["members"]
    shared = [CollectiveMember("a", "ST", production_kw=30.0), CollectiveMember("a", "ST")]
    e = check_eligibility(shared)
    assert not e.eligible and "used by more than one member: a" in e.failures()[0]
    split = [CollectiveMember("a", "ST-1", production_kw=30.0), CollectiveMember("b", "ST-2")]
    e = check_eligibility(split)
    assert e.failures() == ["members are behind different or unnamed substations: ST-1, ST-2"]


def test_eligibility_on_a_day_uses_members_in_force():
    members = _members()
    members[0] = CollectiveMember("571313100000000001", "ST-17", production_kw=20.0,
                                  left=date(2026, 6, 1))
    assert check_eligibility(members, on=date(2026, 5, 31)).eligible
    assert not check_eligibility(members, on=date(2026, 6, 1)).eligible


@pytest.mark.parametrize(("request_day", "effective"), [
    (date(2026, 3, 10), date(2026, 5, 1)),
    (date(2026, 3, 31), date(2026, 5, 1)),
    (date(2026, 11, 1), date(2027, 1, 1)),
    (date(2026, 12, 15), date(2027, 2, 1)),
])
def test_running_month_plus_one_month(request_day, effective):
    assert membership_effective_date(request_day) == effective
    assert DK_LOCAL_COLLECTIVE.notice_months == 1


def test_collective_point_sums_members_in_force():
    day = date(2026, 5, 1)  # a member joins on 1 May (local midnight = 30 April 22:00 UTC)
    start, _ = local_day_bounds_ms(day)
    starts = start + np.arange(-4, 4) * Q
    members = [CollectiveMember("a", "ST"), CollectiveMember("b", "ST", joined=day)]
    mask = membership_mask(members, starts)
    assert mask[0].all() and list(mask[1]) == [False] * 4 + [True] * 4
    imp = np.array([[1.0] * 8, [np.nan] * 4 + [2.0] * 4])  # b has no data before it joins
    exp = np.array([[0.25] * 8, [0.0] * 4 + [0.5] * 4])
    p = collective_point(PointFlows.measured(imp, exp), mask)
    np.testing.assert_allclose(p.net_kwh, [0.75] * 4 + [2.25] * 4)
    assert (p.quality == Quality.MEASURED).all()  # b's missing data before joining is ignored
    assert list(p.members_in_force) == [1] * 4 + [2] * 4


def test_missing_member_in_force_makes_interval_missing():
    imp = np.array([[1.0, 1.0], [np.nan, 2.0]])
    p = collective_point(PointFlows.measured(imp, np.zeros((2, 2))), np.ones((2, 2), bool))
    assert list(p.quality) == [Quality.MISSING, Quality.MEASURED]
    assert np.isnan(p.net_kwh[0]) and p.net_kwh[1] == 3.0
