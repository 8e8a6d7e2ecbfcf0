"""OC curves, and the decisive check: a lot with a known share of bad meters is accepted as often
as the plan's OC curve predicts, over many seeded selections through the real workflow."""

from __future__ import annotations

from datetime import date

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from meterbench.sampling import iso2859, oc
from meterbench.sampling.evaluation import PointResult
from meterbench.sampling.example import simulate_results
from meterbench.sampling.inventory import Meter
from meterbench.sampling.lots import Lot
from meterbench.sampling.schemes import get_scheme
from meterbench.sampling.workflow import evaluate_round, make_plan, make_selection, plan_with_oc


def test_single_oc_is_the_binomial_cdf():
    assert oc.p_accept_single(80, 3, 0.0) == 1.0
    assert abs(float(oc.p_accept_single(80, 3, 0.02)) - stats.binom.cdf(2, 80, 0.02)) < 1e-15


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 500), re=st.integers(1, 30),
       p=st.lists(st.floats(0, 1), min_size=2, max_size=8))
def test_oc_decreases_with_worse_lots(n, re, p):
    ps = np.sort(np.asarray(p))
    pa = oc.p_accept_single(n, re, ps)
    assert np.all(np.diff(pa) <= 1e-12)
    assert np.all((pa >= 0) & (pa <= 1))


def test_double_oc_against_monte_carlo_of_the_procedure():
    plan = iso2859.double_plan(1200, "1.0").to_dict()        # 50+50, 0/3, 3/4
    rng = np.random.default_rng(7)
    for p in (0.01, 0.04):
        trials = 40_000
        d1 = rng.binomial(plan["n1"], p, trials)
        d2 = rng.binomial(plan["n2"], p, trials)
        accept = (d1 <= plan["ac1"]) | ((d1 < plan["re1"]) & (d1 + d2 < plan["re2"]))
        predicted = float(oc.p_accept(plan, p))
        sigma = (predicted * (1 - predicted) / trials) ** 0.5
        assert abs(accept.mean() - predicted) < 5 * sigma + 1e-4


def test_quality_points_bracket_the_aql():
    plan = iso2859.single_plan(1200, "1.0").to_dict()       # 80, 2/3
    p95 = oc.quality_at(plan, 0.95)
    p10 = oc.quality_at(plan, 0.10)
    assert 0 < p95 < 0.0125 < p10 < 0.08
    assert abs(float(oc.p_accept(plan, p95)) - 0.95) < 1e-8


def _lot(size: int) -> Lot:
    meters = tuple(Meter(meter_id=f"M{i:05d}", model="Test 1", accuracy_class="B",
                         rating="5(80)A", production_year=2018,
                         installation_date=date(2018, 6, 1), location="lab")
                   for i in range(size))
    return Lot("TEST-LOT", meters, "test")


def _acceptance_rate(lot: Lot, bad: set[str], plan: dict, trials: int) -> float:
    scheme = get_scheme("dk-7y", interval_years=5)
    meters = {m.meter_id: m for m in lot.meters}
    accepted = 0
    plan = plan_with_oc(plan)          # once, not per trial
    for t in range(trials):
        doc = make_selection(scheme=scheme, lot=lot, plan=plan, seed=f"trial-{t}", spares=0)
        drawn = doc["selection"]["sample"] + doc["selection"]["second_sample"]
        rows = simulate_results([meters[m] for m in drawn], bad=bad, truth_seed="oc")
        results = [PointResult(str(r["meter_id"]), str(r["test_point"]), float(r["error_pct"]),
                               None, i) for i, r in enumerate(rows)]
        ev = evaluate_round(doc, results, meters, scheme=scheme, tested_on=date(2026, 1, 1))
        accepted += ev["decision"]["accepted"]
    return accepted / trials


def test_a_lot_with_known_bad_meters_is_accepted_as_the_oc_curve_predicts():
    """Lot of 600 meters, 12 of them bad (2 %), plan n = 80 Ac 1 (letter J, AQL 0.65).

    The exact acceptance probability of drawing without replacement is hypergeometric; 300
    seeded selections through select -> simulated lab -> evaluate must agree within 4 sigma.
    """
    lot = _lot(600)
    bad = {m.meter_id for m in lot.meters[::50]}                 # 12 bad meters
    plan = make_plan(get_scheme("dk-7y"), lot.size, aql="0.65")
    assert (plan["n"], plan["ac"], plan["re"]) == (80, 1, 2)
    predicted = float(oc.p_accept(plan, len(bad) / lot.size, lot_size=lot.size))
    trials = 300
    rate = _acceptance_rate(lot, bad, plan, trials)
    sigma = (predicted * (1 - predicted) / trials) ** 0.5
    assert abs(rate - predicted) < 4 * sigma, (rate, predicted)
    # and the binomial (type B) curve is close for a lot this size
    assert abs(float(oc.p_accept(plan, 0.02)) - predicted) < 0.03


def test_a_clean_lot_is_always_accepted_and_a_bad_lot_almost_never():
    lot = _lot(300)
    plan = make_plan(get_scheme("dk-7y"), lot.size, aql="1.0")   # letter H: 50, 1/2
    assert _acceptance_rate(lot, set(), plan, 20) == 1.0
    bad = {m.meter_id for m in lot.meters[::5]}                  # 20 % bad
    assert float(oc.p_accept(plan, 0.2, lot_size=300)) < 1e-4
    assert _acceptance_rate(lot, bad, plan, 20) == 0.0
