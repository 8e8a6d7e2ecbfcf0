"""Operating-characteristic (OC) curves: the probability that a plan accepts a lot.

Type B curves (binomial: the lot is a sample of a process with fraction nonconforming ``p``) are
what ISO 2859-1 / MIL-STD-105E print; a type A curve (hypergeometric, the lot itself holds
``D = round(p·N)`` bad meters) is offered for small lots where drawing without replacement matters.
"Accepted" means the count stays below the rejection number, so a reduced plan's gap between Ac and
Re (accept, but reinstate normal inspection) counts as accepted, as the lot stays in service.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import optimize, stats


def _cdf(k: np.ndarray | int, n: int, p: np.ndarray, lot_size: int | None) -> np.ndarray:
    if lot_size is None:
        return stats.binom.cdf(k, n, p)
    bad = np.rint(np.asarray(p) * lot_size).astype(int)
    return stats.hypergeom.cdf(k, lot_size, bad, n)


def _pmf(k: int, n: int, p: np.ndarray, lot_size: int | None) -> np.ndarray:
    if lot_size is None:
        return stats.binom.pmf(k, n, p)
    bad = np.rint(np.asarray(p) * lot_size).astype(int)
    return stats.hypergeom.pmf(k, lot_size, bad, n)


def p_accept_single(n: int, re: int, p: Sequence[float] | np.ndarray | float,
                    lot_size: int | None = None) -> np.ndarray:
    """P(count <= re − 1) for a single plan of size ``n`` and rejection number ``re``."""
    pa = np.asarray(p, dtype=float)
    return np.asarray(_cdf(re - 1, n, pa, lot_size), dtype=float)


def p_accept_double(n1: int, ac1: int, re1: int, n2: int, re2: int,
                    p: Sequence[float] | np.ndarray | float,
                    lot_size: int | None = None) -> np.ndarray:
    """Double plan: accept on the first sample (d1 <= ac1) or on the cumulative count (< re2).

    The second sample is treated as independent of the first (exact for type B; for type A the
    second draw comes from the remaining ``N − n1`` meters, which this approximates).
    """
    pa = np.asarray(p, dtype=float)
    total = _cdf(ac1, n1, pa, lot_size)
    rest = None if lot_size is None else lot_size - n1
    for d1 in range(ac1 + 1, re1):
        total = total + _pmf(d1, n1, pa, lot_size) * _cdf(re2 - 1 - d1, n2, pa, rest)
    return np.asarray(total, dtype=float)


def p_accept(plan: dict, p: Sequence[float] | np.ndarray | float,
             lot_size: int | None = None) -> np.ndarray:
    """P(accept) for a plan document (the keys of ``AttributePlan.to_dict``)."""
    if plan.get("double"):
        return p_accept_double(plan["n1"], plan["ac1"], plan["re1"], plan["n2"], plan["re2"],
                               p, lot_size)
    return p_accept_single(plan["n"], plan["re"], p, lot_size)


def quality_at(plan: dict, probability: float) -> float:
    """The fraction nonconforming at which the plan accepts with the given probability.

    ``quality_at(plan, 0.95)`` is the producer's-risk point, ``quality_at(plan, 0.10)`` the
    limiting quality (consumer's-risk point), both as fractions (not percent).
    """
    def f(p: float) -> float:
        return float(p_accept(plan, p)) - probability
    if f(1e-12) < 0:
        return 0.0
    return float(optimize.brentq(f, 1e-12, 1 - 1e-12, xtol=1e-10))


def oc_curve(plan: dict, *, points: int = 101, p_max: float | None = None
             ) -> dict[str, list[float]]:
    """An OC curve as plain lists (percent nonconforming, P(accept)) for JSON and plotting."""
    if p_max is None:
        p_max = min(1.0, max(2.5 * quality_at(plan, 0.05), 0.01))
    p = np.linspace(0.0, p_max, points)
    return {"percent_nonconforming": [float(x * 100) for x in p],
            "p_accept": [float(x) for x in p_accept(plan, p)]}
