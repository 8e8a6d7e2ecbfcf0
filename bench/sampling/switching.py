"""Switching between normal, tightened and reduced inspection, carried from lot to lot.

Rules (ISO 2859-1:1999 clause 9.3 and figure 1, summarised at sqconline.com "Switching Rules
(ISO 2859-1)"; the same structure as MIL-STD-105E 4.7):

* normal -> tightened: 2 lots not accepted within 5 or fewer consecutive lots;
* tightened -> normal: 5 consecutive lots accepted;
* tightened -> discontinued: the lots not accepted while on tightened inspection add up to 5;
* normal -> reduced: switching score at least 30, production steady, and the responsible
  authority approves;
* reduced -> normal: a lot not accepted, a reduced plan's gap result (count between Ac and Re:
  accepted, but normal reinstated, MIL-STD-105E Table II-C note), or production irregular.

The switching score (ISO 2859-1:1999 9.3.3.2): on normal inspection, starting at 0; for a plan with
Ac 0 or 1 add 2 when the lot is accepted, for Ac >= 2 add 3 when the lot would also have been
accepted at the next tighter AQL; otherwise reset to 0. A double plan adds 3 when the lot is accepted
on the first sample. For meter lots the "stream of lots" is the series of sampling rounds of one
lot (or one lot family); the state is a small JSON-able dict saved between rounds.

``rounds`` records every evaluated selection (lot id, seed, SHA-256 of the selection, test date,
verdict), so that evaluating the same selection again against a state that already counts it is
refused: otherwise one lot's single result could be counted over and over (a switching score of
3, 6, … 30, and reduced inspection from one sample).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from meterbench.core.errors import UserError

#: ISO 2859-1:1999 9.3 (sqconline summary): the numbers of the switching rules.
NOT_ACCEPTED_TO_TIGHTEN = 2
WINDOW_TO_TIGHTEN = 5
ACCEPTED_TO_NORMAL = 5
NOT_ACCEPTED_TO_DISCONTINUE = 5
SCORE_TO_REDUCED = 30


@dataclass(frozen=True)
class SeverityState:
    """Where a stream of lots stands in the switching scheme."""

    inspection: str = "normal"      # normal | tightened | reduced | discontinued
    recent_normal: tuple[bool, ...] = ()   # acceptance of the last <= 5 lots on normal
    tightened_accepted_run: int = 0
    tightened_not_accepted: int = 0
    switching_score: int = 0
    history: tuple[str, ...] = field(default_factory=tuple)
    #: every evaluated selection: lot_id, seed, selection_sha256, tested_on, verdict
    rounds: tuple[dict[str, str], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["recent_normal"] = list(self.recent_normal)
        d["history"] = list(self.history)
        d["rounds"] = [dict(r) for r in self.rounds]
        return d

    def counted(self, selection_sha256: str) -> dict[str, str] | None:
        """The recorded round of this selection, if this state already counts it."""
        return next((r for r in self.rounds if r.get("selection_sha256") == selection_sha256),
                    None)

    def with_round(self, entry: dict[str, str]) -> SeverityState:
        """This state with one more evaluated selection recorded."""
        return replace(self, rounds=self.rounds + (dict(entry),))

    @classmethod
    def from_dict(cls, data: dict, *, source: str | None = None) -> SeverityState:
        try:
            state = cls(inspection=str(data.get("inspection", "normal")),
                        recent_normal=tuple(bool(x) for x in data.get("recent_normal", [])),
                        tightened_accepted_run=int(data.get("tightened_accepted_run", 0)),
                        tightened_not_accepted=int(data.get("tightened_not_accepted", 0)),
                        switching_score=int(data.get("switching_score", 0)),
                        history=tuple(str(x) for x in data.get("history", [])),
                        rounds=tuple({str(k): str(v) for k, v in r.items()}
                                     for r in data.get("rounds", [])))
        except (TypeError, ValueError, AttributeError) as exc:
            raise UserError(f"bad severity state: {exc}", source=source,
                            expected="the JSON written by 'meterbench sampling evaluate'") from None
        if state.inspection not in ("normal", "tightened", "reduced", "discontinued"):
            raise UserError(f"unknown inspection {state.inspection!r}", source=source,
                            field="inspection", expected="normal, tightened, reduced, discontinued")
        return state


@dataclass(frozen=True)
class LotOutcome:
    """What the switching rules need to know about one inspected lot."""

    accepted: bool
    gap: bool = False                # reduced plan: count between Ac and Re
    score_credit: bool = False       # accepted at the next tighter AQL / on the first sample
    small_ac: bool = False           # the plan's Ac is 0 or 1 (score +2 instead of +3)


def next_state(state: SeverityState, outcome: LotOutcome, *, production_steady: bool = True,
               reduced_approved: bool = False) -> tuple[SeverityState, str]:
    """Apply the switching rules to one lot: the new state and why it is what it is."""
    if state.inspection == "discontinued":
        raise UserError("inspection is discontinued for this lot stream",
                        expected="corrective action, then resume on tightened inspection")
    if state.inspection == "normal":
        recent = (state.recent_normal + (outcome.accepted,))[-WINDOW_TO_TIGHTEN:]
        if recent.count(False) >= NOT_ACCEPTED_TO_TIGHTEN:
            why = (f"{recent.count(False)} of the last {len(recent)} lots not accepted on normal "
                   "inspection: switch to tightened")
            return _to(state, "tightened", why), why
        if outcome.accepted and (outcome.small_ac or outcome.score_credit):
            score = state.switching_score + (2 if outcome.small_ac else 3)
        else:
            score = 0
        if score >= SCORE_TO_REDUCED and production_steady and reduced_approved:
            why = f"switching score {score} >= {SCORE_TO_REDUCED}, production steady, approved"
            return _to(state, "reduced", why), why
        why = f"stay on normal (switching score {score})"
        return replace(state, recent_normal=recent, switching_score=score,
                       history=state.history + (why,)), why
    if state.inspection == "tightened":
        if not outcome.accepted:
            bad = state.tightened_not_accepted + 1
            if bad >= NOT_ACCEPTED_TO_DISCONTINUE:
                why = f"{bad} lots not accepted on tightened inspection: discontinue"
                return _to(state, "discontinued", why), why
            why = f"not accepted on tightened ({bad} so far)"
            return replace(state, tightened_not_accepted=bad, tightened_accepted_run=0,
                           history=state.history + (why,)), why
        run = state.tightened_accepted_run + 1
        if run >= ACCEPTED_TO_NORMAL:
            why = f"{run} consecutive lots accepted on tightened: back to normal"
            return _to(state, "normal", why), why
        why = f"accepted on tightened ({run} in a row)"
        return replace(state, tightened_accepted_run=run, history=state.history + (why,)), why
    # reduced
    if not outcome.accepted or outcome.gap or not production_steady:
        why = ("lot not accepted on reduced" if not outcome.accepted else
               "count between Ac and Re on reduced" if outcome.gap else "production irregular")
        why += ": back to normal"
        return _to(state, "normal", why), why
    why = "accepted on reduced: stay reduced"
    return replace(state, history=state.history + (why,)), why


def resume(state: SeverityState) -> SeverityState:
    """After corrective action a discontinued stream resumes on tightened inspection."""
    if state.inspection != "discontinued":
        return state
    return _to(state, "tightened", "resumed after corrective action on tightened inspection")


def _to(state: SeverityState, inspection: str, why: str) -> SeverityState:
    return SeverityState(inspection=inspection, history=state.history + (why,),
                         rounds=state.rounds)
