"""Variables sampling by the s-method (unknown sigma), ISO 3951-1 style.

A lot is accepted when ``(U − x̄)/s >= k`` and ``(x̄ − L)/s >= k`` for the in-service limits U and
L (ANSI/ASQ Z1.9, s-method). ``k`` follows from the maximum allowable percent nonconforming M of
ANSI/ASQ Z1.9 (from MIL-STD-414) as ``k = (1 − 2·BetaInv(M; (n−2)/2, (n−2)/2))·(n−1)/√n``.

Which table: ``K_EXAMPLES`` are normal-inspection k values of ANSI/ASQ Z1.9 as transcribed (not
re-checked here against a copy of the standard; the beta formula reproduces them).
ISO 3951-1's own k tables are not verified to be identical, so every plan says which it used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from meterbench.core.errors import UserError

#: ANSI/ASQ Z1.9 (MIL-STD-414) s-method sample sizes for code letters B..P.
Z19_SAMPLE_SIZES: tuple[int, ...] = (3, 4, 5, 7, 10, 15, 20, 25, 35, 50, 75, 100, 150, 200)

#: Normal-inspection k of ANSI/ASQ Z1.9 (as transcribed), keyed by (AQL, n).
K_EXAMPLES: dict[tuple[str, int], float] = {
    ("1.0", 10): 1.714, ("1.0", 20): 1.826, ("1.0", 35): 1.894, ("1.0", 50): 1.936,
    ("1.0", 100): 2.002,
    ("2.5", 10): 1.411, ("2.5", 35): 1.573, ("2.5", 50): 1.611, ("2.5", 100): 1.670,
}
K_SOURCE = "ANSI/ASQ Z1.9 normal inspection, s-method (k as transcribed from Z1.9)"


def k_from_m(n: int, m_percent: float) -> float:
    """Acceptability constant k from Z1.9's maximum allowable percent nonconforming M."""
    if n < 3:
        raise UserError(f"sample size {n} too small for the s-method", field="n",
                        expected="n >= 3")
    if not 0 < m_percent < 50:
        raise UserError(f"M = {m_percent} % out of range", field="m", expected="0 < M < 50")
    a = (n - 2) / 2
    return (1 - 2 * float(stats.beta.ppf(m_percent / 100, a, a))) * (n - 1) / math.sqrt(n)


def m_from_k(n: int, k: float) -> float:
    """The inverse of :func:`k_from_m`: the M (percent) a given k corresponds to."""
    a = (n - 2) / 2
    x = (1 - k * math.sqrt(n) / (n - 1)) / 2
    return 100 * float(stats.beta.cdf(x, a, a))


@dataclass(frozen=True)
class VariablesPlan:
    n: int
    k: float
    source: str
    aql: str | None = None
    m_percent: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {"method": "s-method", **asdict(self)}


def variables_plan(n: int, *, aql: str | None = None, k: float | None = None,
                   m_percent: float | None = None) -> VariablesPlan:
    """An s-method plan from an explicit k, from M, or from the tabulated (AQL, n) examples."""
    if k is not None:
        return VariablesPlan(n=n, k=float(k), source="k given by the user", aql=aql)
    if m_percent is not None:
        return VariablesPlan(n=n, k=k_from_m(n, m_percent), aql=aql, m_percent=m_percent,
                             source="k computed from M by the Z1.9 beta formula (ANSI/ASQ Z1.9)")
    if aql is not None and (aql, n) in K_EXAMPLES:
        return VariablesPlan(n=n, k=K_EXAMPLES[(aql, n)], aql=aql, source=K_SOURCE)
    known = ", ".join(f"AQL {a} n={m}" for a, m in K_EXAMPLES)
    raise UserError(f"no k known for AQL {aql} and n = {n}", field="k",
                    expected=f"--k or --m, or one of: {known}")


@dataclass(frozen=True)
class VariablesResult:
    n: int
    mean: float
    s: float
    q_upper: float
    q_lower: float
    k: float
    accepted: bool


def s_method(values: Sequence[float] | np.ndarray, lower: float, upper: float, k: float
             ) -> VariablesResult:
    """Evaluate one characteristic (e.g. the error % at one test point) by the s-method."""
    x = np.asarray(values, dtype=float)
    if x.size < 3:
        raise UserError(f"{x.size} values are too few for the s-method", expected="at least 3")
    mean = float(x.mean())
    s = float(x.std(ddof=1))
    if s == 0.0:
        inside = lower < mean < upper
        q_u = math.inf if inside else -math.inf
        q_l = q_u
    else:
        q_u = (upper - mean) / s
        q_l = (mean - lower) / s
    return VariablesResult(n=int(x.size), mean=mean, s=s, q_upper=q_u, q_lower=q_l, k=k,
                           accepted=bool(q_u >= k and q_l >= k))
