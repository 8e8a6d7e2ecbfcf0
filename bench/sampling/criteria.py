"""Country decision rules that are not ISO 2859-1 plans: Germany, France, the Netherlands.

Each number names its primary source where it is used.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats

from meterbench.core.errors import UserError

# --- Germany: MessEV §35 -----------------------------------------------------------------------
#: MessEV §35: extend if, by recognised statistical principles, >= 95 % of the lot comply.
GERMAN_CONFORMING_SHARE = 0.95


@dataclass(frozen=True)
class ConformityTest:
    """One-sided test of H0 "share nonconforming >= 5 %" against H1 "< 5 %".

    The lot's validity is extended only if H0 is rejected: the exact (Clopper-Pearson) upper
    confidence bound of the nonconforming share, at the stated confidence, is below 5 %. MessEV
    fixes the 95 % share but not the confidence or the plan; ``confidence`` is a parameter (this
    project's default 0.95 is a choice, stated in every result, not a number from the regulation).
    """

    n: int
    nonconforming: int
    confidence: float
    upper_bound: float
    required_share: float
    accepted: bool

    @property
    def statement(self) -> str:
        verdict = "can" if self.accepted else "cannot"
        return (f"With {self.nonconforming} of {self.n} nonconforming, the {self.confidence:.0%} "
                f"upper confidence bound of the nonconforming share is {self.upper_bound:.2%}; "
                f"it {verdict} be statistically assumed that >= {self.required_share:.0%} "
                f"of the lot complies.")


def german_conformity_test(n: int, nonconforming: int, *, confidence: float = 0.95
                           ) -> ConformityTest:
    if n < 1 or not 0 <= nonconforming <= n:
        raise UserError(f"{nonconforming} nonconforming of {n} is impossible",
                        expected="0 <= nonconforming <= n, n >= 1")
    if not 0.5 <= confidence < 1:
        raise UserError(f"confidence {confidence} out of range", field="confidence",
                        expected="0.5 <= confidence < 1")
    upper = 1.0 if nonconforming == n else float(
        stats.beta.ppf(confidence, nonconforming + 1, n - nonconforming))
    limit = 1 - GERMAN_CONFORMING_SHARE
    return ConformityTest(n=n, nonconforming=nonconforming, confidence=confidence,
                          upper_bound=upper, required_share=GERMAN_CONFORMING_SHARE,
                          accepted=upper < limit)


def german_minimum_n(confidence: float = 0.95) -> int:
    """The smallest sample that can pass at all (zero nonconforming)."""
    n = 1
    while german_conformity_test(n, 0, confidence=confidence).upper_bound >= 1 - GERMAN_CONFORMING_SHARE:
        n += 1
    return n


# --- France: decree of 1 August 2013, Annex 7 --------------------------------------------------
#: (lot size upper bound exclusive, normal (n, Ac), tightened (n, Ac)); Re = Ac + 1. French arrêté of 1 August 2013 on active-energy meters, Annex 7.
FRENCH_ANNEX7: tuple[tuple[int | None, tuple[int, int], tuple[int, int]], ...] = (
    (10_000, (56, 5), (206, 20)),
    (50_000, (106, 10), (306, 30)),
    (100_000, (206, 20), (406, 40)),
    (None, (306, 30), (506, 50)),
)
FRENCH_SOURCE = "France, arrêté of 1 August 2013 on active-energy meters, Annex 7"


def french_plan(lot_size: int, *, tightened: bool = False) -> dict[str, object]:
    """The Annex 7 plan for a lot; tightened may follow a rejection within 3 months."""
    if lot_size < 1:
        raise UserError(f"lot size {lot_size} too small", field="lot-size", expected=">= 1")
    for upper, normal, tight in FRENCH_ANNEX7:
        if upper is None or lot_size < upper:
            n, ac = tight if tightened else normal
            return {"standard": "FR Annex 7", "table": FRENCH_SOURCE,
                    "inspection": "tightened" if tightened else "normal", "lot_size": lot_size,
                    "code": "-", "n": n, "ac": ac, "re": ac + 1, "double": False,
                    "hundred_percent": n >= lot_size}
    raise AssertionError("unreachable")


# --- Netherlands --------------------------------------------------------------------------------
#: Dutch meter pool (the sampling system Meetcode elektriciteit 1.2.1.1 requires): a type is
#: rejected if more than 13 % of its population is faulty (figure as published by the Dutch metering
#: companies; the pool's own scheme document is not confirmed here).
DUTCH_MAX_FAULTY_SHARE = 0.13


def dutch_decision(n: int, nonconforming: int) -> dict[str, object]:
    """The Dutch rule as stated (point estimate of the faulty share against 13 %)."""
    share = nonconforming / n
    return {"rule": "NL: type rejected if > 13 % faulty (Dutch meter pool); point estimate",
            "share": share, "accepted": share <= DUTCH_MAX_FAULTY_SHARE}
