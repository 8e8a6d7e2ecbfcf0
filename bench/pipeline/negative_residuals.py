"""Why a virtual main point went negative, in plain words.

A negative residual on ``main − Σ serial sub-meters`` has three known causes (each follows from
the formula's inputs): production behind the main meter (which cannot be netted against a serial
consumption point), a sub-meter reading more than the main meter, and misaligned timestamps.
:func:`diagnose_negative_residuals` tells them apart per interval and writes one event each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from meterbench.core.timeutil import format_minute_utc
from meterbench.pipeline.events import PipelineEvent
from meterbench.pipeline.netting import (
    DEFAULT_TOLERANCE_KWH,
    DELIVERED_HALF_STEP_KWH,
    POLICY_CLAMP,
    PointFlows,
    VirtualPoint,
)

DIAG_PRODUCTION = "production_behind_main"
DIAG_MISALIGNED = "misaligned_timestamps"
DIAG_SUB_EXCEEDS = "sub_meter_exceeds_main"


@dataclass(frozen=True)
class NegativeResidualDiagnosis:
    """Why an interval's residual is negative: a code per interval and plain-words events."""

    codes: list[str | None]
    events: list[PipelineEvent]


def _best_shift(main_imp: np.ndarray, subs_imp: np.ndarray, max_shift: int, tolerance: float
                ) -> tuple[int, int, int, int]:
    """The one-sub whole-interval shift that removes most negative residuals.

    Returns (sub index or -1, shift, negatives before, negatives after), both counts taken over
    the intervals the shift keeps (so edge intervals pushed out do not count as "fixed"). The
    negatives before a shift depend on the shift only: counted once per shift, from running
    counts.
    """
    base = main_imp - np.sum(subs_imp, axis=0)
    best = (-1, 0, 0, 0)
    best_gain = 0
    n = len(base)
    negatives_to = np.concatenate([[0], np.cumsum(base < -tolerance)])  # in base[:i]
    for j in range(subs_imp.shape[0]):
        others = base + subs_imp[j]
        for s in range(-max_shift, max_shift + 1):
            if s == 0 or abs(s) >= n:
                continue
            lo, hi = (0, n - s) if s > 0 else (-s, n)
            moved = subs_imp[j][s:] if s > 0 else subs_imp[j][:s]
            before = int(negatives_to[hi] - negatives_to[lo])
            after = int(np.count_nonzero(others[lo:hi] - moved < -tolerance))
            if before - after > best_gain:
                best, best_gain = (j, s, before, after), before - after
    return best


def _nan_to_num(values: np.ndarray) -> np.ndarray:
    """``np.nan_to_num`` of a float array (a copy: NaN → 0, ±inf → ± the largest float) in
    fewer steps when nothing is infinite, the usual case."""
    out = np.array(values, dtype=np.float64)
    np.copyto(out, 0.0, where=np.isnan(out))
    infinite = np.isinf(out)
    if infinite.any():
        out[infinite] = np.copysign(np.finfo(np.float64).max, out[infinite])
    return out


def diagnose_negative_residuals(main: PointFlows, subs: PointFlows, virtual: VirtualPoint,
                                start_ms: np.ndarray, resolution_ms: int, *,
                                sub_names: Sequence[str] | None = None,
                                max_shift_intervals: int = 4,
                                tolerance_kwh: float = DEFAULT_TOLERANCE_KWH,
                                site: str | None = None) -> NegativeResidualDiagnosis:
    """Explain each negative import residual of one site.

    In order: the main meter exported in that interval (production behind the main meter, which
    cannot be netted against a serial consumption point); shifting one sub-meter by whole
    intervals (up to ``max_shift_intervals``) removes most negatives (misaligned timestamps);
    otherwise the sub-meters read more than the main meter.
    """
    neg = np.flatnonzero(virtual.negative_import)
    raw = virtual.raw_import_kwh
    n = len(virtual.raw_import_kwh)
    codes: list[str | None] = [None] * n
    events: list[PipelineEvent] = []
    if not len(neg):
        return NegativeResidualDiagnosis(codes, events)
    subs_imp = _nan_to_num(np.atleast_2d(np.asarray(subs.import_kwh, dtype=np.float64)))
    main_imp = _nan_to_num(np.asarray(main.import_kwh, dtype=np.float64))
    main_exp = _nan_to_num(np.asarray(main.export_kwh, dtype=np.float64))
    names = list(sub_names) if sub_names else [f"sub-meter {j + 1}" for j in
                                               range(subs_imp.shape[0])]
    j, shift, before, left = _best_shift(main_imp, subs_imp, max_shift_intervals, tolerance_kwh)
    shift_explains = j >= 0 and left <= before // 2
    minutes = resolution_ms / 60_000
    for k in neg.tolist():
        t = format_minute_utc(int(start_ms[k]))
        sub_sum = float(subs_imp[:, k].sum())
        if main_exp[k] > tolerance_kwh:
            codes[k] = DIAG_PRODUCTION
            text = (f"{t}: residual {raw[k]:.3f} kWh: the main meter exported "
                    f"{main_exp[k]:.3f} kWh in this interval while the serial meters imported "
                    f"{sub_sum:.3f} kWh: production behind the main meter, which cannot be netted "
                    f"against a serial consumption point")
        elif shift_explains:
            codes[k] = DIAG_MISALIGNED
            direction = "late" if shift > 0 else "early"
            text = (f"{t}: residual {raw[k]:.3f} kWh: {names[j]} looks "
                    f"labelled {abs(shift)} interval(s) ({abs(shift) * minutes:g} min) {direction}: "
                    f"moving its values {abs(shift) * minutes:g} min "
                    f"{'earlier' if shift > 0 else 'later'} leaves {left} negative interval(s) "
                    f"instead of {before}: misaligned timestamps")
        else:
            codes[k] = DIAG_SUB_EXCEEDS
            worst = int(np.argmax(subs_imp[:, k]))
            text = (f"{t}: residual {raw[k]:.3f} kWh: the serial meters "
                    f"imported {sub_sum:.3f} kWh, more than the main meter's "
                    f"{main_imp[k]:.3f} kWh (largest: {names[worst]}, "
                    f"{subs_imp[worst, k]:.3f} kWh): a sub-meter reading more than the main meter, "
                    f"or production behind the main meter that it nets away inside the interval "
                    f"(a summation meter adds the phases before it registers)")
        if virtual.policy != POLICY_CLAMP:
            action = "reported, value kept"
        elif raw[k] <= -DELIVERED_HALF_STEP_KWH:
            action = "clamped to 0, quality estimated"
        else:
            action = "clamped to 0, quality kept: it is delivered as 0.000 either way"
        events.append(PipelineEvent("negative_residual", int(start_ms[k]),
                                    int(start_ms[k]) + resolution_ms, f"{text} ({action})",
                                    meter=site, channel="energy.import"))
    return NegativeResidualDiagnosis(codes, events)
