"""Why a virtual main point went negative, in plain words.

A negative residual on ``main − Σ serial sub-meters`` has three known causes (each follows from
the formula's inputs): production behind the main meter (which cannot be netted against a serial
consumption point), a sub-meter reading more than the main meter, and misaligned timestamps.
:func:`diagnose_negative_residuals` tells them apart per interval and writes one event each;
:func:`diagnose_codes` gives the same codes for many sites at once, without the sentences.
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
#: The causes in the order of :func:`diagnose_codes`' codes (a code is the index + 1; 0: none).
CAUSES = (DIAG_MISALIGNED, DIAG_PRODUCTION, DIAG_SUB_EXCEEDS)


@dataclass(frozen=True)
class NegativeResidualDiagnosis:
    """Why an interval's residual is negative: a code per interval and plain-words events."""

    codes: list[str | None]
    events: list[PipelineEvent]


@dataclass(frozen=True)
class ShiftSearch:
    """Per site: the one-sub whole-interval shift that removes most negative residuals.

    ``sub`` is the sub-meter's index among its site's (-1: no shift removes any); ``before``
    and ``after`` count the negatives over the intervals the shift keeps (so edge intervals
    pushed out do not count as "fixed"); 0 when no shift helps.
    """

    sub: np.ndarray
    shift: np.ndarray
    before: np.ndarray
    after: np.ndarray

    @property
    def explains(self) -> np.ndarray:
        """The shift removes at least half the negatives: misaligned timestamps."""
        return (self.sub >= 0) & (self.after <= self.before // 2)


def _shift_search(main_imp: np.ndarray, subs_imp: np.ndarray, site_start: np.ndarray,
                  max_shift: int, tolerance: float) -> ShiftSearch:
    """The shift search of many sites at once (values NaN-free).

    ``main_imp`` is ``(sites, n)``; ``subs_imp`` rows are grouped by site, site i's being
    ``site_start[i]`` to ``site_start[i + 1]``. Every site's sub-meters are summed in row
    order, and each (sub-meter, shift) is tried in the order of the sites' sub-meters, then
    the shifts from earliest to latest: the first with the largest gain wins, as when the
    candidates are tried one after another keeping only a strictly better one.
    """
    n_sites, n = main_imp.shape
    count = np.diff(site_start)
    total = np.zeros((n_sites, n))
    for k in range(int(count.max(initial=0))):
        has = np.flatnonzero(count > k)
        total[has] += subs_imp[site_start[has] + k]
    base = main_imp - total
    negatives_to = np.zeros((n_sites, n + 1), dtype=np.int64)  # negatives in base[:, :i]
    np.cumsum(base < -tolerance, axis=1, out=negatives_to[:, 1:])
    site_of = np.repeat(np.arange(n_sites), count)
    others = base[site_of] + subs_imp
    shifts = [s for s in range(-max_shift, max_shift + 1) if s != 0 and abs(s) < n]
    before = np.zeros((len(site_of), len(shifts)), dtype=np.int64)
    after = np.zeros((len(site_of), len(shifts)), dtype=np.int64)
    for i, s in enumerate(shifts):
        lo, hi = (0, n - s) if s > 0 else (-s, n)
        before[:, i] = (negatives_to[:, hi] - negatives_to[:, lo])[site_of]
        moved = subs_imp[:, lo + s:hi + s]
        after[:, i] = np.count_nonzero(others[:, lo:hi] - moved < -tolerance, axis=1)
    found = ShiftSearch(*(np.zeros(n_sites, dtype=np.int64) for _ in range(4)))
    found.sub[:] = -1
    gain = before - after
    for site in np.flatnonzero(count > 0).tolist() if shifts else []:
        a, b = int(site_start[site]), int(site_start[site + 1])
        best = int(np.argmax(gain[a:b]))  # the first of the largest, in (sub, shift) order
        if gain[a:b].flat[best] > 0:
            j, i = divmod(best, len(shifts))
            found.sub[site], found.shift[site] = j, shifts[i]
            found.before[site], found.after[site] = before[a + j, i], after[a + j, i]
    return found


def _best_shift(main_imp: np.ndarray, subs_imp: np.ndarray, max_shift: int, tolerance: float
                ) -> tuple[int, int, int, int]:
    """One site's shift search: (sub index or -1, shift, negatives before, negatives after)."""
    found = _shift_search(main_imp[None, :], subs_imp, np.array([0, len(subs_imp)]), max_shift,
                          tolerance)
    return int(found.sub[0]), int(found.shift[0]), int(found.before[0]), int(found.after[0])


def diagnose_codes(main_import: np.ndarray, main_export: np.ndarray, subs_import: np.ndarray,
                   site_start: np.ndarray, negative: np.ndarray, *, max_shift_intervals: int = 4,
                   tolerance_kwh: float = DEFAULT_TOLERANCE_KWH) -> np.ndarray:
    """The codes :func:`diagnose_negative_residuals` gives, for many sites at once.

    ``main_import``, ``main_export`` and ``negative`` (the intervals to explain) are
    ``(sites, n)``; ``subs_import`` rows are grouped by site as ``site_start`` says (see
    :func:`_shift_search`). Returns ``(sites, n)`` int8: ``CAUSES[code - 1]``, 0 where not
    negative. No sentences are written: a fleet needs the causes, not an event per interval.
    """
    main_exp = _nan_to_num(np.asarray(main_export, dtype=np.float64))
    found = _shift_search(_nan_to_num(np.asarray(main_import, dtype=np.float64)),
                          _nan_to_num(np.asarray(subs_import, dtype=np.float64)),
                          np.asarray(site_start), max_shift_intervals, tolerance_kwh)
    code = {c: np.int8(k + 1) for k, c in enumerate(CAUSES)}
    otherwise = np.where(found.explains, code[DIAG_MISALIGNED], code[DIAG_SUB_EXCEEDS])
    codes = np.where(negative, otherwise[:, None], np.int8(0)).astype(np.int8)
    codes[negative & (main_exp > tolerance_kwh)] = code[DIAG_PRODUCTION]
    return codes


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
