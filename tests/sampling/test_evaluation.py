"""Evaluation of lab results: per-meter verdicts, spares, double sampling, decision rules."""

from __future__ import annotations

from datetime import date

import pytest

from meterbench.core.errors import UserError
from meterbench.sampling.evaluation import PointResult, judge_meter, read_results_text
from meterbench.sampling.example import simulate_results
from meterbench.sampling.inventory import Meter
from meterbench.sampling.lots import Lot
from meterbench.sampling.schemes import get_scheme
from meterbench.sampling.switching import SeverityState
from meterbench.sampling.workflow import evaluate_round, make_plan, make_selection

RESULTS_HEADER = "meter_id,test_point,error_pct,uncertainty_pct\n"


def test_results_csv_errors_name_row_and_field():
    with pytest.raises(UserError, match=r"r.csv: error_pct: row 3: not a number"):
        read_results_text(RESULTS_HEADER + "M1,Iref PF1,0.1,\nM1,Imax PF1,abc,\n",
                          source="r.csv")
    with pytest.raises(UserError, match="row 3: meter M1 test point 'Iref PF1' already"):
        read_results_text(RESULTS_HEADER + "M1,Iref PF1,0.1,\nM1,Iref  PF1,0.2,\n")
    with pytest.raises(UserError, match="missing column"):
        read_results_text("meter,error\n")
    with pytest.raises(UserError, match="uncertainty_pct"):
        read_results_text(RESULTS_HEADER + "M1,Iref PF1,0.1,-0.1\n")
    rows = read_results_text(RESULTS_HEADER + "M1,Iref PF1,-0.25,0.08\n")
    assert rows == [PointResult("M1", "Iref PF1", -0.25, 0.08, 2)]


def test_simple_and_guarded_acceptance():
    r = [PointResult("M1", "Iref PF1", 3.9, 0.2, 2)]          # class B limit 4.0 %
    assert judge_meter("M1", "B", r).conforming
    assert not judge_meter("M1", "B", r, decision_rule="guarded").conforming
    assert not judge_meter("M1", "B", [PointResult("M1", "Iref PF1", -4.01, None, 2)]).conforming
    with pytest.raises(UserError, match="uncertainty"):
        judge_meter("M1", "B", [PointResult("M1", "Iref PF1", 1.0, None, 2)],
                    decision_rule="guarded")


def _lot(size=400, cls="B"):
    ms = tuple(Meter(f"M{i:04d}", "Acme", cls, "5(80)A", 2018, date(2018, 6, 1), "s")
               for i in range(size))
    return Lot("L1", ms, "test"), {m.meter_id: m for m in ms}


def _select(scheme, lot, seed, spares):
    """A selection of ``lot`` at AQL 1.0 under ``scheme``'s plan."""
    return make_selection(scheme=scheme, lot=lot, plan=make_plan(scheme, lot.size, aql="1.0"),
                          seed=seed, spares=spares)


def _results(meters, ids, bad=(), unreachable=()):
    rows = simulate_results([meters[i] for i in ids], bad=set(bad), unreachable=set(unreachable))
    return [PointResult(str(r["meter_id"]), str(r["test_point"]), float(r["error_pct"]), 0.1, k)
            for k, r in enumerate(rows)]


def test_unreached_meters_are_replaced_by_spares_in_order():
    lot, meters = _lot()
    scheme = get_scheme("dk-7y", interval_years=5)
    plan = make_plan(scheme, lot.size, aql="1.0")                  # H: n 50, 1/2
    doc = make_selection(scheme=scheme, lot=lot, plan=plan, seed="x", spares=5)
    sel = doc["selection"]
    ids = sel["sample"] + sel["spares"]
    res = _results(meters, ids, unreachable=sel["sample"][:2])
    ev = evaluate_round(doc, res, meters, scheme=scheme, tested_on=date(2026, 3, 1))
    assert ev["not_reached"] == sel["sample"][:2]
    assert ev["tested"] == sel["sample"][2:] + sel["spares"][:2]
    assert ev["decision"]["accepted"] and ev["consequence"]["next_due"] == "2031-03-01"


def test_rejection_gives_the_scheme_consequence_and_tightens_after_two():
    lot, meters = _lot()
    scheme = get_scheme("dk-7y")
    plan = make_plan(scheme, lot.size, aql="1.0")
    doc = make_selection(scheme=scheme, lot=lot, plan=plan, seed="y", spares=0)
    sample = doc["selection"]["sample"]
    res = _results(meters, sample, bad=sample[:2])
    ev = evaluate_round(doc, res, meters, scheme=scheme, tested_on=date(2026, 3, 1))
    assert not ev["decision"]["accepted"] and ev["decision"]["nonconforming"] == 2
    assert ev["consequence"]["action"] == "replace the lot"
    # the next lot of the stream (a lot is counted once per round: another lot, not a re-draw)
    lot2 = Lot("L2", lot.meters, "test")
    doc2 = make_selection(scheme=scheme, lot=lot2, plan=plan, seed="y2", spares=0)
    sample2 = doc2["selection"]["sample"]
    again = evaluate_round(doc2, _results(meters, sample2, bad=sample2[:2]), meters,
                           scheme=scheme, tested_on=date(2026, 3, 1),
                           state=SeverityState.from_dict(ev["severity_state"]))
    assert again["severity_state"]["inspection"] == "tightened"


def test_results_for_meters_not_drawn_or_too_few_are_user_errors():
    lot, meters = _lot()
    scheme = get_scheme("dk-7y")
    doc = _select(scheme, lot, "z", spares=2)
    drawn = set(doc["selection"]["sample"] + doc["selection"]["spares"])
    stranger = next(m for m in meters if m not in drawn)
    with pytest.raises(UserError, match="not drawn"):
        evaluate_round(doc, _results(meters, [stranger]), meters, scheme=scheme,
                       tested_on=date(2026, 1, 1))
    with pytest.raises(UserError, match="the plan needs 50"):
        evaluate_round(doc, _results(meters, doc["selection"]["sample"][:10]), meters,
                       scheme=scheme, tested_on=date(2026, 1, 1))
    with pytest.raises(UserError, match="not a selection"):
        evaluate_round({"kind": "x"}, [], meters, scheme=scheme, tested_on=date(2026, 1, 1))


def test_double_sampling_needs_the_second_sample_only_when_undecided():
    lot, meters = _lot(1200)
    scheme = get_scheme("dk-7y")
    plan = make_plan(scheme, lot.size, aql="1.0", double=True)    # 50+50, 0/3, 3/4
    assert (plan["n1"], plan["ac1"], plan["re1"], plan["ac2"], plan["re2"]) == (50, 0, 3, 3, 4)
    doc = make_selection(scheme=scheme, lot=lot, plan=plan, seed="d", spares=0)
    first = doc["selection"]["sample"]
    second = doc["selection"]["second_sample"]
    clean = evaluate_round(doc, _results(meters, first), meters, scheme=scheme,
                           tested_on=date(2026, 1, 1))
    assert clean["decision"]["accepted"] and clean["decision"]["stage"] == "first sample"
    with pytest.raises(UserError, match="second sample"):
        evaluate_round(doc, _results(meters, first, bad=first[:1]), meters, scheme=scheme,
                       tested_on=date(2026, 1, 1))
    both = evaluate_round(doc, _results(meters, first + second, bad=first[:1] + second[:2]),
                          meters, scheme=scheme, tested_on=date(2026, 1, 1))
    assert both["decision"]["stage"] == "cumulative" and both["decision"]["nonconforming"] == 3
    assert both["decision"]["accepted"]
    worse = evaluate_round(doc, _results(meters, first + second, bad=first[:2] + second[:2]),
                           meters, scheme=scheme, tested_on=date(2026, 1, 1))
    assert not worse["decision"]["accepted"]


def test_german_french_dutch_and_variables_decisions():
    lot, meters = _lot(400)
    de = get_scheme("de")
    with pytest.raises(UserError, match="at least 59"):
        make_plan(de, lot.size)
    doc = make_selection(scheme=de, lot=lot, plan=make_plan(de, lot.size, n=60), seed="g",
                         spares=0)
    ev = evaluate_round(doc, _results(meters, doc["selection"]["sample"]), meters, scheme=de,
                        tested_on=date(2026, 1, 1))
    assert ev["decision"]["accepted"] and ev["consequence"]["next_due"] == "2031-01-01"
    fr = get_scheme("fr")
    doc = make_selection(scheme=fr, lot=lot, plan=make_plan(fr, lot.size), seed="f", spares=0)
    assert doc["plan"]["n"] == 56 and doc["plan"]["ac"] == 5
    s = doc["selection"]["sample"]
    ev = evaluate_round(doc, _results(meters, s, bad=s[:6]), meters, scheme=fr,
                        tested_on=date(2026, 1, 1))
    assert not ev["decision"]["accepted"] and ev["consequence"]["action"] == "withdraw the lot"
    nl = get_scheme("nl")
    doc = make_selection(scheme=nl, lot=lot, plan=make_plan(nl, lot.size, n=50), seed="n",
                         spares=0)
    s = doc["selection"]["sample"]
    assert evaluate_round(doc, _results(meters, s, bad=s[:6]), meters, scheme=nl,
                          tested_on=date(2026, 1, 1))["decision"]["accepted"]      # 12 %
    dk = get_scheme("dk-7y")
    plan = make_plan(dk, lot.size, method="variables", n=35, aql="1.0")
    assert plan["k"] == 1.894
    doc = make_selection(scheme=dk, lot=lot, plan=plan, seed="v", spares=0)
    s = doc["selection"]["sample"]
    ev = evaluate_round(doc, _results(meters, s), meters, scheme=dk, tested_on=date(2026, 1, 1))
    assert ev["decision"]["accepted"] and len(ev["decision"]["points"]) == 4
    ev = evaluate_round(doc, _results(meters, s, bad=s[:8]), meters, scheme=dk,
                        tested_on=date(2026, 1, 1))
    assert not ev["decision"]["accepted"]


def test_a_plan_that_contradicts_the_carried_state_is_refused():
    lot, meters = _lot()
    scheme = get_scheme("dk-7y")
    plan = make_plan(scheme, lot.size, aql="1.0", inspection="reduced")
    doc = make_selection(scheme=scheme, lot=lot, plan=plan, seed="s", spares=0)
    res = _results(meters, doc["selection"]["sample"])
    with pytest.raises(UserError, match="carried severity state is tightened"):
        evaluate_round(doc, res, meters, scheme=scheme, tested_on=date(2026, 1, 1),
                       state=SeverityState(inspection="tightened"))
    ok = evaluate_round(doc, res, meters, scheme=scheme, tested_on=date(2026, 1, 1))
    assert ok["severity_state"]["inspection"] == "reduced"


def test_a_tested_meter_missing_a_test_point_is_refused_not_conforming():
    """Deleting a meter's failing row (or every row but one point) used to count
    the meter as conforming and accept the lot."""
    lot, meters = _lot()
    scheme = get_scheme("dk-7y")
    doc = _select(scheme, lot, "m", spares=2)
    sample = doc["selection"]["sample"]
    assert doc["test_points"] == ["0.1Iref PF1", "Iref PF1", "2Iref PF1", "Iref PF0.5i"]
    full = _results(meters, sample)
    bad = sample[3]
    without = [r for r in full if not (r.meter_id == bad and r.test_point == "Iref PF0.5i")]
    with pytest.raises(UserError, match=rf"r.csv: test_point: meter {bad} has no result at "
                       r"Iref PF0.5i \(expected"):
        evaluate_round(doc, without, meters, scheme=scheme, tested_on=date(2026, 1, 1),
                       results_source="r.csv")
    only_iref = [r for r in full if r.test_point == "Iref PF1"]
    with pytest.raises(UserError, match="has no result at 0.1Iref PF1, 2Iref PF1, Iref PF0.5i"):
        evaluate_round(doc, only_iref, meters, scheme=scheme, tested_on=date(2026, 1, 1))


def test_the_selection_s_test_points_are_required_and_an_older_selection_gets_the_default():
    lot, meters = _lot()
    scheme = get_scheme("dk-7y")
    doc = make_selection(scheme=scheme, lot=lot, plan=make_plan(scheme, lot.size, aql="1.0"),
                         seed="t", spares=0, test_points=("Iref PF1",))
    sample = doc["selection"]["sample"]
    rows = simulate_results([meters[i] for i in sample], test_points=("Iref PF1",))
    res = [PointResult(str(r["meter_id"]), str(r["test_point"]), float(r["error_pct"]), 0.1, k)
           for k, r in enumerate(rows)]
    assert evaluate_round(doc, res, meters, scheme=scheme,
                          tested_on=date(2026, 1, 1))["decision"]["accepted"]
    del doc["test_points"]
    with pytest.raises(UserError, match="has no result at 0.1Iref PF1"):
        evaluate_round(doc, res, meters, scheme=scheme, tested_on=date(2026, 1, 1))


def test_double_sampling_second_sample_must_be_complete_too():
    lot, meters = _lot(1200)
    scheme = get_scheme("dk-7y")
    doc = make_selection(scheme=scheme, lot=lot, plan=make_plan(scheme, lot.size, aql="1.0",
                                                                double=True), seed="d", spares=0)
    first, second = doc["selection"]["sample"], doc["selection"]["second_sample"]
    res = _results(meters, first + second, bad=first[:1])
    res = [r for r in res if not (r.meter_id == second[5] and r.test_point == "2Iref PF1")]
    with pytest.raises(UserError, match=f"meter {second[5]} has no result at 2Iref PF1"):
        evaluate_round(doc, res, meters, scheme=scheme, tested_on=date(2026, 1, 1))


def test_a_state_counts_each_selection_once():
    """--state X --state-out X re-run on one selection climbed the switching
    score 3, 6, … 30 and reached reduced inspection from one lot's single result."""
    lot, meters = _lot(1200)
    scheme = get_scheme("dk-7y")
    doc = _select(scheme, lot, "once", spares=0)
    res = _results(meters, doc["selection"]["sample"])
    ev = evaluate_round(doc, res, meters, scheme=scheme, tested_on=date(2026, 12, 1))
    rounds = ev["severity_state"]["rounds"]
    assert [(r["lot_id"], r["seed"], r["tested_on"], r["verdict"]) for r in rounds] == [
        ("L1", "once", "2026-12-01", "accepted")]
    assert rounds[0]["selection_sha256"] == ev["selection_sha256"]
    state = SeverityState.from_dict(ev["severity_state"])
    with pytest.raises(UserError, match=r"st.json: rounds: this selection \(lot L1, seed once\) "
                       r"is already counted in this state \(tested on 2026-12-01\)"):
        evaluate_round(doc, res, meters, scheme=scheme, tested_on=date(2026, 12, 2),
                       state=state, state_source="st.json")
    # the next round (a new selection) is counted, and the record survives a severity switch
    doc2 = _select(scheme, lot, "next", spares=0)
    ev2 = evaluate_round(doc2, _results(meters, doc2["selection"]["sample"]), meters,
                         scheme=scheme, tested_on=date(2031, 12, 1), state=state)
    assert [r["seed"] for r in ev2["severity_state"]["rounds"]] == ["once", "next"]
    from meterbench.sampling.switching import LotOutcome, next_state
    switched, _ = next_state(SeverityState.from_dict(ev2["severity_state"]),
                             LotOutcome(accepted=False))
    switched, _ = next_state(switched, LotOutcome(accepted=False))
    assert switched.inspection == "tightened" and len(switched.rounds) == 2


def test_which_spare_replaced_which_meter_and_which_results_were_not_counted():
    """A spare's results (even 25 % off) were silently ignored and the output
    never said which spare replaced which unreached meter."""
    lot, meters = _lot()
    scheme = get_scheme("dk-7y")
    doc = _select(scheme, lot, "sp", spares=5)
    sample, spares = doc["selection"]["sample"], doc["selection"]["spares"]
    res = _results(meters, sample + spares, unreachable=[sample[0], sample[7], spares[0]],
                   bad=[spares[4]])
    ev = evaluate_round(doc, res, meters, scheme=scheme, tested_on=date(2026, 1, 1))
    assert ev["replaced"] == [{"not_reached": sample[0], "spare": spares[1]},
                              {"not_reached": sample[7], "spare": spares[2]}]
    assert ev["ignored_results"] == [
        {"meter_id": spares[3], "role": "unused spare", "conforming": True},
        {"meter_id": spares[4], "role": "unused spare", "conforming": False}]
    assert ev["decision"]["nonconforming"] == 0


def test_a_lot_re_drawn_with_another_seed_is_not_counted_twice():
    """A second selection of a lot the state counts, tested in the same round, climbed the
    switching score as if it were another lot; after the round's next due date it is a new round."""
    lot, meters = _lot(1200)
    scheme = get_scheme("dk-7y")

    def selection(seed: str) -> dict:
        return _select(scheme, lot, seed, spares=0)

    first = selection("first")
    ev = evaluate_round(first, _results(meters, first["selection"]["sample"]), meters,
                        scheme=scheme, tested_on=date(2026, 12, 1))
    state = SeverityState.from_dict(ev["severity_state"])
    due = ev["severity_state"]["rounds"][0]["next_due"]
    again = selection("other")
    with pytest.raises(UserError, match=r"st.json: rounds: lot L1 is already counted in this "
                       r"state: tested on 2026-12-01 \(seed first\)"):
        evaluate_round(again, _results(meters, again["selection"]["sample"]), meters,
                       scheme=scheme, tested_on=date(2026, 12, 1), state=state,
                       state_source="st.json")
    later = date.fromisoformat(due) if due else date(2026, 12, 2)
    ev2 = evaluate_round(again, _results(meters, again["selection"]["sample"]), meters,
                         scheme=scheme, tested_on=later, state=state)
    assert [r["seed"] for r in ev2["severity_state"]["rounds"]] == ["first", "other"]
