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


def _huber_site_group(y: np.ndarray, x: np.ndarray, ok: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """β and its standard error for sites sharing one k: y (s, T), x (s, T, k), ok (s, T)."""
    s, _, k = x.shape
    w = ok.astype(np.float64)
    y = np.where(ok, y, 0.0)
    x = np.where(ok[..., None], x, 0.0)
    eye = np.eye(k)[None] * 1e-12
    beta = np.ones((s, k))
    sigma = np.ones(s)
    for it in range(ITERATIONS):
        xw = x * w[..., None]
        a = np.einsum("stk,stl->skl", xw, x) + eye
        b = np.einsum("stk,st->sk", xw, y)
        beta = np.linalg.solve(a, b[..., None])[..., 0]
        r = y - np.einsum("stk,sk->st", x, beta)
        if it < SCALE_UPDATES:  # the scale settles first; then only the weights move
            sigma = 1.4826 * _masked_median(np.abs(r), ok)
            sigma = np.where(np.isfinite(sigma) & (sigma > 1e-9), sigma, 1e-9)
        u = np.abs(r) / (HUBER_C * sigma[:, None])
        w = np.where(ok, np.minimum(1.0, 1.0 / np.maximum(u, 1e-12)), 0.0)
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


def _masked_median(values: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Median of each row over ``ok`` (NaN for a row with nothing)."""
    a = np.where(ok, values, np.inf)
    a.sort(axis=1)
    n = ok.sum(axis=1)
    rows = np.arange(len(a))
    lo = a[rows, np.maximum((n - 1) // 2, 0)]
    hi = a[rows, np.maximum(n // 2, 0)]
    return np.where(n > 0, 0.5 * (lo + hi), np.nan)


def _centred(z: np.ndarray) -> np.ndarray:
    """``z_t − (z_{t−1} + z_{t+1}) / 2``: a step survives, a straight-line trend does not."""
    return z[:, 1:-1] - 0.5 * (z[:, :-2] + z[:, 2:])


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
    d_main = _centred(main_net)
    d_ser = _centred(serial)
    ok_ser = usable[:, 1:-1] & usable[:, :-2] & usable[:, 2:] & np.isfinite(d_ser)
    sites, first_row, k_of = np.unique(serial_site, return_index=True, return_counts=True)
    for k in np.unique(k_of).tolist():
        group = sites[k_of == k]
        rows = np.stack([first_row[k_of == k] + j for j in range(k)], axis=1)  # (s, k)
        y = d_main[group]
        x = np.moveaxis(np.nan_to_num(d_ser[rows]), 1, 2)                   # (s, T, k)
        ok = np.isfinite(y) & ok_ser[rows].all(axis=1)
        beta, se = _huber_site_group(np.nan_to_num(y), x, ok)
        switched = np.where(ok[:, None, :], np.abs(np.moveaxis(x, 2, 1)), 0.0).sum(axis=2)
        n_ok = ok.sum(axis=1)
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
