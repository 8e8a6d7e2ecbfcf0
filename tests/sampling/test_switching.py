"""Switching rules (ISO 2859-1:1999 9.3; sqconline summary) as a state carried lot to lot."""

from __future__ import annotations

import pytest

from meterbench.core.errors import UserError
from meterbench.sampling.switching import LotOutcome, SeverityState, next_state, resume

OK = LotOutcome(accepted=True, score_credit=True)
BAD = LotOutcome(accepted=False)


def run(state: SeverityState, outcomes, **kw) -> SeverityState:
    for o in outcomes:
        state, _ = next_state(state, o, **kw)
    return state


def test_two_rejections_within_five_lots_tighten():
    s = run(SeverityState(), [OK, BAD, OK, OK, OK])
    assert s.inspection == "normal"
    s, why = next_state(s, BAD)          # lots 2..6: BAD at 2 and 6 is 5 apart -> window 5 ok
    assert s.inspection == "tightened" and "2 of the last 5" in why


def test_two_rejections_six_lots_apart_do_not_tighten():
    s = run(SeverityState(), [BAD, OK, OK, OK, OK, BAD])
    assert s.inspection == "normal"


def test_five_accepted_on_tightened_return_to_normal():
    s = SeverityState(inspection="tightened")
    s = run(s, [OK] * 4)
    assert s.inspection == "tightened"
    s = run(s, [OK])
    assert s.inspection == "normal" and s.switching_score == 0


def test_five_not_accepted_on_tightened_discontinue_and_resume_tightened():
    s = run(SeverityState(inspection="tightened"), [BAD, OK, BAD, BAD, OK, BAD])
    assert s.inspection == "tightened" and s.tightened_not_accepted == 4
    s = run(s, [BAD])
    assert s.inspection == "discontinued"
    with pytest.raises(UserError, match="discontinued"):
        next_state(s, OK)
    assert resume(s).inspection == "tightened"


def test_switching_score_reaches_reduced_only_when_approved_and_steady():
    s = run(SeverityState(), [OK] * 9)
    assert s.switching_score == 27 and s.inspection == "normal"
    assert next_state(s, OK)[0].inspection == "normal"                 # not approved
    assert next_state(s, OK, reduced_approved=True, production_steady=False)[0].inspection \
        == "normal"
    assert next_state(s, OK, reduced_approved=True)[0].inspection == "reduced"


def test_small_acceptance_numbers_add_two_and_no_credit_resets():
    small = LotOutcome(accepted=True, small_ac=True)
    s = run(SeverityState(), [small] * 3)
    assert s.switching_score == 6
    s = run(s, [LotOutcome(accepted=True)])           # Ac >= 2, not accepted one step tighter
    assert s.switching_score == 0


@pytest.mark.parametrize("outcome,steady", [(BAD, True), (LotOutcome(True, gap=True), True),
                                            (OK, False)])
def test_reduced_returns_to_normal(outcome, steady):
    s, why = next_state(SeverityState(inspection="reduced"), outcome, production_steady=steady)
    assert s.inspection == "normal" and "back to normal" in why


def test_state_round_trips_through_json_dict():
    s = run(SeverityState(), [OK, BAD, OK])
    assert SeverityState.from_dict(s.to_dict()) == s
    with pytest.raises(UserError, match="inspection"):
        SeverityState.from_dict({"inspection": "lenient"})
