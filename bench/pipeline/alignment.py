"""Clock offset and drift between two meters on one circuit, from their own readings.

Both meters see the same load, so their power (or energy-increment) series are the same signal,
one of them displaced in time by the operator clock's error. The displacement is found window by
window: a coarse lag from an FFT cross-correlation (whole grid steps), then a sub-step refinement
that shifts the operator's series continuously (linear interpolation of its readings) to maximise
the correlation coefficient. A straight line through the window lags gives offset and drift; its
scatter gives the uncertainty.

Convention: ``operator label = true time + offset + drift x (true time - reference_time_ms)``,
i.e. positive offset = the operator clock is ahead. :meth:`ClockAlignment.correct_times` inverts it.

The stated uncertainties are expanded (about 95 %): Student-t (n_windows − 2 degrees of freedom)
times the standard error of the line fit, combined with a floor of 0.2 % of the grid step
for the sub-step interpolation, so noise-free synthetic data never claims zero uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, signal, stats

from meterbench.core.timeutil import MS_PER_HOUR, MS_PER_MIN

KIND_ENERGY = "energy"
KIND_POWER = "power"
#: Coverage probability of the stated uncertainties.
COVERAGE = 0.95
#: A window whose best correlation coefficient is below this has no usable load pattern.
MIN_CORRELATION = 0.5
#: Sub-step floor of the uncertainty, as a fraction of the grid step (see module docstring).
STEP_FLOOR_FRACTION = 0.005


class AlignmentError(ValueError):
    """The two series cannot be aligned (too short, no overlap, or a load too flat to see)."""


@dataclass(frozen=True)
class ClockAlignment:
    offset_ms: float
    drift_ppm: float
    offset_uncertainty_ms: float
    drift_uncertainty_ppm: float
    reference_time_ms: int
    step_ms: int
    window_centre_ms: np.ndarray
    window_lag_ms: np.ndarray
    window_correlation: np.ndarray

    def lag_ms(self, reference_time_ms: np.ndarray | int) -> np.ndarray:
        """Operator label minus true time, at the given true times."""
        t = np.asarray(reference_time_ms, dtype=np.float64)
        return self.offset_ms + self.drift_ppm * 1e-6 * (t - self.reference_time_ms)

    def correct_times(self, operator_times_ms: np.ndarray) -> np.ndarray:
        """True (reference) times of operator labels: inverts the clock model exactly."""
        drift = 0.0 if np.isnan(self.drift_ppm) else self.drift_ppm * 1e-6
        t = np.asarray(operator_times_ms, dtype=np.float64)
        true = (t - self.offset_ms + drift * self.reference_time_ms) / (1.0 + drift)
        return np.round(true).astype(np.int64)

    def as_record(self) -> dict[str, object]:
        """Plain numbers for a results document (seconds, ppm; None where not determined)."""
        def num(x: float) -> float | None:
            return None if not np.isfinite(x) else float(x)

        return {"offset_s": self.offset_ms / 1000,
                "offset_uncertainty_s": self.offset_uncertainty_ms / 1000,
                "drift_ppm": num(self.drift_ppm),
                "drift_uncertainty_ppm": num(self.drift_uncertainty_ppm),
                "coverage": COVERAGE, "reference_time_ms": self.reference_time_ms,
                "windows": len(self.window_lag_ms), "step_s": self.step_ms / 1000,
                "text": self.describe()}

    def describe(self) -> str:
        ahead = "ahead of" if self.offset_ms >= 0 else "behind"
        text = (f"operator clock {abs(self.offset_ms) / 1000:.3f} s ± "
                f"{self.offset_uncertainty_ms / 1000:.3f} s {ahead} the reference")
        if np.isfinite(self.drift_ppm):
            text += (f", drifting {self.drift_ppm:+.2f} ± {self.drift_uncertainty_ppm:.2f} ppm "
                     f"({self.drift_ppm * 0.0864:+.3f} s/day)")
        else:
            text += ", drift not determined (fewer than 3 usable windows)"
        return text + f" ({int(COVERAGE * 100)} % uncertainty)"


def _sampler(times_ms: np.ndarray, values: np.ndarray, kind: str):
    """A function grid -> signal on the cells between grid points (energy) or at them (power)."""
    t = np.asarray(times_ms, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if kind == KIND_ENERGY:
        # a decrease (reset, rollover) would read as a huge negative pulse: for alignment it is
        # simply no energy, so the register is rebuilt from its non-negative steps
        steps = np.diff(v)
        if np.any(steps < 0):
            v = v[0] + np.concatenate([[0.0], np.cumsum(np.maximum(steps, 0.0))])

        def sample(edges: np.ndarray) -> np.ndarray:
            return np.diff(np.interp(edges, t, v))
    elif kind == KIND_POWER:
        def sample(edges: np.ndarray) -> np.ndarray:
            mid = 0.5 * (edges[:-1] + edges[1:])
            return np.interp(mid, t, v)
    else:
        raise ValueError(f"kind must be {KIND_ENERGY!r} or {KIND_POWER!r}, got {kind!r}")
    return sample


def _corrcoef(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    den = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
    return float(np.dot(a, b) / den) if den > 0 else 0.0


def _flat(x: np.ndarray) -> bool:
    """No pattern to correlate: variation at the level of float rounding only."""
    return float(np.std(x)) <= 1e-9 * max(float(np.mean(np.abs(x))), 1e-300)


def _clean(times_ms: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(times_ms, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v)
    t, v = t[ok], v[ok]
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    keep = np.concatenate([[True], np.diff(t) > 0]) if len(t) else np.zeros(0, dtype=bool)
    return t[keep], v[keep]


def estimate_clock(operator_times_ms: np.ndarray, operator_values: np.ndarray,
                   reference_times_ms: np.ndarray, reference_values: np.ndarray, *,
                   kind: str = KIND_ENERGY, step_ms: int | None = None,
                   window_ms: int | None = None, max_lag_ms: int = 30 * MS_PER_MIN
                   ) -> ClockAlignment:
    """Offset and drift of the operator clock against the reference, with uncertainties.

    ``kind="energy"``: values are cumulative registers (kWh), compared as increments per grid
    step; ``kind="power"``: values are power samples. ``step_ms`` defaults to the coarser median
    reading spacing; ``window_ms`` to a 24th of the overlap (at least 30 steps and
    2 x ``max_lag_ms``). Raises :class:`AlignmentError` when nothing can be aligned.
    """
    ot, ov = _clean(operator_times_ms, operator_values)
    rt, rv = _clean(reference_times_ms, reference_values)
    if len(ot) < 4 or len(rt) < 4:
        raise AlignmentError("need at least 4 readings from each meter")
    if step_ms is None:
        step_ms = int(max(np.median(np.diff(ot)), np.median(np.diff(rt))))
    step_ms = max(int(step_ms), 1)
    lo = max(int(ot[0]), int(rt[0]))
    hi = min(int(ot[-1]), int(rt[-1]))
    span = hi - lo
    if window_ms is None:
        window_ms = max(span // 24, 30 * step_ms, 2 * max_lag_ms)
    max_lag_steps = int(np.ceil(max_lag_ms / step_ms))
    win_steps = int(window_ms // step_ms)
    if span < window_ms or win_steps < 4:
        raise AlignmentError(f"overlap of {span / MS_PER_HOUR:.2f} h is shorter than one "
                             f"window of {window_ms / MS_PER_HOUR:.2f} h")
    op_sample = _sampler(ot, ov, kind)
    ref_sample = _sampler(rt, rv, kind)

    centres, lags, corrs = [], [], []
    n_windows = span // window_ms
    for w in range(int(n_windows)):
        w_start = lo + w * window_ms
        ref_edges = w_start + step_ms * np.arange(win_steps + 1, dtype=np.float64)
        ref_sig = ref_sample(ref_edges)
        ext_edges = (w_start - max_lag_steps * step_ms
                     + step_ms * np.arange(win_steps + 2 * max_lag_steps + 1, dtype=np.float64))
        inside = (ext_edges[0] >= ot[0]) and (ext_edges[-1] <= ot[-1])
        if not inside:  # the operator series must cover every candidate lag
            continue
        op_ext = op_sample(ext_edges)
        if _flat(ref_sig) or _flat(op_ext):
            continue
        # coarse: valid-mode FFT cross-correlation, index i <-> lag (i - max_lag_steps) steps,
        # normalised by the moving standard deviation of the operator segment
        r0 = ref_sig - ref_sig.mean()
        xc = signal.correlate(op_ext, r0, mode="valid", method="fft")
        csum = np.concatenate([[0.0], np.cumsum(op_ext)])
        csum2 = np.concatenate([[0.0], np.cumsum(op_ext ** 2)])
        seg_sum = csum[win_steps:] - csum[:-win_steps]
        seg_var = (csum2[win_steps:] - csum2[:-win_steps]) - seg_sum ** 2 / win_steps
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = xc / np.sqrt(np.maximum(seg_var, 0) * np.dot(r0, r0))
        rho = np.nan_to_num(rho, nan=-1.0)
        coarse = int(np.argmax(rho)) - max_lag_steps

        # fine: continuous shift of the operator series around the coarse lag
        def neg_corr(lag_ms: float, ref_edges=ref_edges, ref_sig=ref_sig) -> float:
            return -_corrcoef(op_sample(ref_edges + lag_ms), ref_sig)

        bound = (max(coarse - 1, -max_lag_steps) * step_ms,
                 min(coarse + 1, max_lag_steps) * step_ms)
        fine = optimize.minimize_scalar(neg_corr, bounds=bound, method="bounded",
                                        options={"xatol": step_ms * 1e-4})
        best_corr = -float(fine.fun)
        if best_corr < MIN_CORRELATION:
            continue
        centres.append(w_start + win_steps * step_ms / 2)
        lags.append(float(fine.x))
        corrs.append(best_corr)

    if not lags:
        raise AlignmentError("no window with a usable load pattern (load too flat, or the "
                             "offset exceeds the maximum lag searched)")
    c = np.asarray(centres)
    y = np.asarray(lags)
    t_ref = int(round(float(c.mean())))
    floor = STEP_FLOOR_FRACTION * step_ms
    if len(y) >= 3:
        x = c - t_ref
        slope, intercept = np.polyfit(x, y, 1)
        resid = y - (intercept + slope * x)
        dof = len(y) - 2
        s = float(np.sqrt(np.sum(resid ** 2) / dof))
        sxx = float(np.sum(x ** 2))
        k = float(stats.t.ppf(0.5 + COVERAGE / 2, dof))
        u_off = float(np.hypot(k * s / np.sqrt(len(y)), floor))
        u_slope = float(np.hypot(k * s / np.sqrt(sxx), floor / np.sqrt(sxx) * 2))
        return ClockAlignment(float(intercept), float(slope * 1e6), u_off, u_slope * 1e6, t_ref,
                              step_ms, c, y, np.asarray(corrs))
    spread = float(np.ptp(y)) if len(y) > 1 else 0.0
    u_off = float(np.hypot(spread, 0.5 * step_ms))  # too few windows for statistics: conservative
    return ClockAlignment(float(y.mean()), float("nan"), u_off, float("nan"), t_ref, step_ms, c, y,
                          np.asarray(corrs))
