"""Which serial meters deserve the labelling diagnosis: a cheap lag scan over a whole block.

:func:`meterbench.pipeline.labelling.diagnose_labelling` costs milliseconds per meter, too much
for every meter of a large fleet, and almost every meter is labelled right. This scan only picks
candidates: per serial meter and season (standard / daylight-saving time) it cross-correlates
the changes of the meter's values with the changes of its reference (main − the site's other
serial meters) at whole-interval lags, by FFT in single precision (only the best lag matters),
and keeps the meters whose strongest lag is not
zero in some season. The bench's labelling diagnosis then decides, on the full series, what the
labelling error is (or that there is none).
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft

#: Lags scanned (intervals): ±3 h at PT15M, the labelling diagnosis's own default range.
MAX_LAG = 12


def lag_candidates(serial: np.ndarray, reference: np.ndarray, seasons: np.ndarray,
                   max_lag: int = MAX_LAG) -> np.ndarray:
    """Bool per serial meter: the best lag is not 0 in some season with a positive peak.

    ``serial`` and ``reference`` are ``(meters, n)`` (NaN where unknown); ``seasons`` is a list
    of ``(n,)`` bool masks (by true interval start).
    """
    n_m, n = serial.shape
    if n_m == 0 or n < 3:
        return np.zeros(n_m, dtype=bool)
    ds = _changes32(serial)
    dr = _changes32(reference)
    size = sfft.next_fast_len(n + max_lag, real=True)
    fs = sfft.rfft(ds, size, axis=1, overwrite_x=True)
    lags = np.arange(-max_lag, max_lag + 1)
    out = np.zeros(n_m, dtype=bool)
    for season in seasons:
        mask = season[1:]
        if mask.sum() < 4 * max_lag:
            continue
        fr = sfft.rfft(dr * mask, size, axis=1, overwrite_x=True)
        np.multiply(fs, np.conjugate(fr, out=fr), out=fr)  # fs · conj(fr), in place
        cc = sfft.irfft(fr, size, axis=1, overwrite_x=True)  # cc[L] = Σ ds(t+L)·dr(t)
        scores = cc[:, lags % size]
        best = lags[np.argmax(scores, axis=1)]
        peak = scores.max(axis=1)
        out |= (best != 0) & (peak > 0)
    return out


def _changes32(values: np.ndarray) -> np.ndarray:
    """Interval-to-interval changes in single precision, 0 where unknown.

    What ``np.nan_to_num(changes).astype(np.float32)`` gives, in fewer passes: an infinity
    becomes the largest double there, which single precision rounds to infinity again.
    """
    out = np.diff(values, axis=1).astype(np.float32)
    out[np.isnan(out)] = 0.0
    return out
