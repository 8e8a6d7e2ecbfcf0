"""A serial meter's relative error against the main meter, with a 95 % confidence interval.

Behind a summation main meter, ``main = (1 + e_main) · (base + Σ true_j − production)`` per
interval, and serial meter j reads ``(1 + e_j) · true_j``: what can be estimated is the serial
meter's error relative to the main meter, ``(1 + e_j) / (1 + e_main) − 1``. The household base and the production are unknown and vary
slowly; an appliance switching on or off moves the main meter and its serial meter together. So
the model is fitted on **first differences** (which cancel the slow base):

    Δmain(t) = Σ_j β_j · Δserial_j(t) + ε(t),     β_j = (1 + e_main) / (1 + e_j)

by Huber's M-estimator (iteratively reweighted least squares, tuning 1.345·σ, σ from the median
absolute deviation), all serial meters of a site jointly. The differences are centred,
``z_t − (z_{t−1} + z_{t+1}) / 2``, not plain: a household's evening ramp coincides with cars
arriving, and a plain difference would read that ramp as part of the car's step (a bias of a
few tenths of a percent in simulation); a centred difference cancels any straight-line trend.
The covariance is the M-estimator's sandwich ``A⁻¹ B A⁻¹`` with ``A = Σ ψ'(r/σ) x xᵀ`` and ``B``
the Newey-West sum of the scores ``σ ψ(r/σ) x`` over neighbouring lags (neighbouring differences
share values, so they are not independent); the 95 % interval of β (normal quantile: thousands of
intervals) maps to ``e = 1/β − 1`` monotonically.

Sites are solved many at a time: arrays ``(sites, T, k)`` for the sites with k serial meters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HUBER_C = 1.345
#: Lags of the Newey-West covariance: a centred difference shares values with its neighbours.
HAC_LAGS = 4
ITERATIONS = 6
#: The scale (MAD of the residuals) is re-estimated in the first iterations only.
SCALE_UPDATES = 3
Z95 = 1.959963984540054
#: Fewest usable differences, and the least switching energy (Σ|Δserial|, kWh) a meter needs
#: before its error is estimated at all.
MIN_DIFFERENCES = 200
MIN_SWITCHED_KWH = 10.0


@dataclass(frozen=True)
class ErrorEstimate:
    """Per serial meter (in the order given): error %, its 95 % interval, and the data used."""

    error_pct: np.ndarray
    low_pct: np.ndarray
    high_pct: np.ndarray
    used: np.ndarray         # differences used
    estimated: np.ndarray    # bool: enough switching to say anything


#: What a serial meter's estimate says against its in-service limit, in the order a reader
#: checks them (``meter_errors.parquet`` column ``status``).
STATUSES = ("within", "inconclusive", "exceeds", "not_estimated", "not_judged", "no_class")


def judge_errors(est: ErrorEstimate, limits: np.ndarray, skip: np.ndarray) -> np.ndarray:
    """Each meter's status: a guarded decision on its whole 95 % interval (ILAC-G8).

    ``exceeds`` when the interval lies wholly beyond ±limit, ``within`` only when it lies wholly
    inside; an interval that reaches across the limit is ``inconclusive`` (the data cannot tell,
    so the meter is neither passed nor flagged). ``not_estimated``: too little switching;
    ``not_judged``: its labelling or channels were found wrong (``skip``), estimated or not;
    ``no_class``: no accuracy class, so no limit to judge against.
    """
    est_ok = est.estimated
    with np.errstate(invalid="ignore"):
        exceeds = (est.low_pct > limits) | (est.high_pct < -limits)
        inside = (est.low_pct >= -limits) & (est.high_pct <= limits)
    status = np.where(exceeds, "exceeds", np.where(inside, "within", "inconclusive"))
    status = np.where(np.isfinite(limits), status, "no_class")
    status = np.where(est_ok, status, "not_estimated")
    # a meter whose labels or channels were found wrong is not judged, whether or not its fit
    # had enough to go on (swapped channels leave a consumption meter's import nearly empty)
    return np.where(skip, "not_judged", status).astype(object)


#: Sites fitted together hold about this many values per array (1 MB of doubles): the fit
#: makes some eighty passes over its arrays, which then stay in a core's cache instead of
#: being fetched from memory each time. Every site's fit is its own, so the grouping does not
#: change any result.
CHUNK_VALUES = 1 << 17


def _huber_site_group(y: np.ndarray, x: np.ndarray, ok: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """β and its standard error for sites sharing one k: y (s, T), x (s, T, k), ok (s, T).

    Values outside ``ok`` may be anything (NaN included): they are set to 0 first.
    """
    s, _, k = x.shape
    notok = ~ok
    w = ok.astype(np.float64)
    y = np.where(ok, y, 0.0)
    x = np.where(ok[..., None], x, 0.0)
    eye = np.eye(k)[None] * 1e-12
    beta = np.ones((s, k))
    sigma = np.ones(s)
    xw = np.empty_like(x)
    r = np.empty_like(y)
    u = np.empty_like(y)
    median = _MaskedMedian(ok)
    for it in range(ITERATIONS):
        np.multiply(x, w[..., None], out=xw)
        a = np.einsum("stk,stl->skl", xw, x) + eye
        b = np.einsum("stk,st->sk", xw, y)
        beta = np.linalg.solve(a, b[..., None])[..., 0]
        np.subtract(y, np.einsum("stk,sk->st", x, beta), out=r)
        np.abs(r, out=u)
        if it < SCALE_UPDATES:  # the scale settles first; then only the weights move
            sigma = 1.4826 * median(u)
            sigma = np.where(np.isfinite(sigma) & (sigma > 1e-9), sigma, 1e-9)
        np.divide(u, HUBER_C * sigma[:, None], out=u)
        np.maximum(u, 1.0, out=u)  # w = min(1, 1/max(u, 1e-12)) = 1/max(u, 1), bit for bit
        np.divide(1.0, u, out=w)
        np.copyto(w, 0.0, where=notok)
    z = r / sigma[:, None]
    dpsi = ((np.abs(z) <= HUBER_C) & ok).astype(np.float64)
    bread = np.linalg.inv(np.einsum("stk,stl->skl", x * dpsi[..., None], x) + eye)
    score = (sigma[:, None] * np.where(ok, np.clip(z, -HUBER_C, HUBER_C), 0.0))[..., None] * x
    meat = np.einsum("stk,stl->skl", score, score)
    for lag in range(1, HAC_LAGS + 1):  # Newey-West: neighbouring differences share values
        c = np.einsum("stk,stl->skl", score[:, lag:], score[:, :-lag])
        meat += (1.0 - lag / (HAC_LAGS + 1)) * (c + np.swapaxes(c, 1, 2))
    cov = bread @ meat @ bread
    return beta, np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 0.0))


class _MaskedMedian:
    """Median of each row over ``ok`` (NaN for a row with nothing), for one mask many times."""

    def __init__(self, ok: np.ndarray) -> None:
        self.notok = ~ok
        self.n = ok.sum(axis=1)
        self.rows = np.arange(len(ok))
        self.lo = np.maximum((self.n - 1) // 2, 0)
        self.hi = np.maximum(self.n // 2, 0)
        self.sorted = np.empty(ok.shape)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        a = self.sorted
        np.copyto(a, values)
        np.copyto(a, np.inf, where=self.notok)
        a.sort(axis=1)
        return np.where(self.n > 0, 0.5 * (a[self.rows, self.lo] + a[self.rows, self.hi]),
                        np.nan)


def _centred(z: np.ndarray) -> np.ndarray:
    """``z_t − (z_{t−1} + z_{t+1}) / 2`` along the last axis: a step survives, a straight-line
    trend does not."""
    out = np.add(z[..., :-2], z[..., 2:])
    out *= 0.5
    return np.subtract(z[..., 1:-1], out, out=out)


def estimate_errors(main_net: np.ndarray, serial: np.ndarray, serial_site: np.ndarray,
                    usable: np.ndarray) -> ErrorEstimate:
    """Errors of every serial meter of a block.

    ``main_net`` (sites, n): main import − export; ``serial`` (meters, n): serial import;
    ``serial_site`` each meter's site row; ``usable`` (meters, n) intervals the meter's values
    may be used (present, not on a stuck or dead day). Meters of one site are fitted jointly.
    """
    n_m = len(serial_site)
    err = np.full(n_m, np.nan)
    lo = np.full(n_m, np.nan)
    hi = np.full(n_m, np.nan)
    used = np.zeros(n_m, dtype=np.int64)
    estimated = np.zeros(n_m, dtype=bool)
    if n_m == 0:
        return ErrorEstimate(err, lo, hi, used, estimated)
    sites, first_row, k_of = np.unique(serial_site, return_index=True, return_counts=True)
    for k in np.unique(k_of).tolist():
        group = sites[k_of == k]
        rows = np.stack([first_row[k_of == k] + j for j in range(k)], axis=1)  # (s, k)
        beta, se, switched, n_ok = _fit_group(main_net, serial, usable, group, rows)
        for j in range(k):
            r = rows[:, j]
            good = (n_ok >= MIN_DIFFERENCES) & (switched[:, j] >= MIN_SWITCHED_KWH) \
                & (beta[:, j] > 0.5) & (beta[:, j] < 2.0)
            b_lo = beta[:, j] - Z95 * se[:, j]
            b_hi = beta[:, j] + Z95 * se[:, j]
            safe = np.where(good, beta[:, j], 1.0)
            err[r] = np.where(good, (1.0 / safe - 1.0) * 100, np.nan)
            lo[r] = np.where(good, (1.0 / np.maximum(b_hi, 1e-9) - 1.0) * 100, np.nan)
            hi[r] = np.where(good & (b_lo > 0), (1.0 / np.maximum(b_lo, 1e-9) - 1.0) * 100,
                             np.where(good, np.inf, np.nan))
            used[r] = n_ok
            estimated[r] = good
    return ErrorEstimate(err, lo, hi, used, estimated)


def _fit_group(main_net: np.ndarray, serial: np.ndarray, usable: np.ndarray, group: np.ndarray,
               rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """β, its standard error, the switched energy (sites, k) and the usable differences (sites)
    of the sites ``group`` with serial meter rows ``rows`` (sites, k), a few sites at a time
    (:data:`CHUNK_VALUES`), their differences taken there.

    A difference is usable where the main meter's and every meter of the site's are known and
    the three intervals it spans are usable (``ok``); everything outside it is set to 0 before
    it is used, so NaN need no other care.
    """
    t, k = main_net.shape[1] - 2, rows.shape[1]
    step = max(1, CHUNK_VALUES // (t * k))
    parts = []
    for a in range(0, len(group), step):
        y = _centred(main_net[group[a:a + step]])
        d = _centred(serial[rows[a:a + step]])                               # (s, k, T)
        u = usable[rows[a:a + step]]
        ok = np.isfinite(y) & (u[..., 1:-1] & u[..., :-2] & u[..., 2:]
                               & np.isfinite(d)).all(axis=1)
        x = np.moveaxis(d, 1, 2)                                             # (s, T, k)
        beta, se = _huber_site_group(y, x, ok)
        switched = np.where(ok[:, None, :], np.abs(d), 0.0).sum(axis=2)
        parts.append((beta, se, switched, ok.sum(axis=1)))
    return tuple(np.concatenate(p) for p in zip(*parts, strict=True))  # type: ignore[return-value]
