"""Labelling errors found on interval series alone (operator vs reference meter).

A Danish serial-metering pilot's hardest problem was an operator's values labelled one interval off
(reported experience, no public document cited): a
shift of whole intervals, interval-end instead of interval-start labelling, Copenhagen local time
written as UTC, or a shift only in summer time (daylight saving handled wrongly). Each leaves a
signature: the operator series matches the reference best after moving it by some whole number of
intervals, and that number may differ between winter (standard time) and summer (daylight time).

:func:`diagnose_labelling` finds the best shift separately for winter and summer intervals and
names the pattern in plain words with its correction; :func:`apply_label_correction` applies it.
Convention: a shift ``s`` means the operator labels an interval ``s`` ms **later** than its true
start, so the correction subtracts ``s``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meterbench.core.quality import Quality
from meterbench.core.timeutil import MS_PER_HOUR
from meterbench.pipeline.localday import DEFAULT_ZONE, reindex
from meterbench.pipeline.series import IntervalSeries
from meterbench.pipeline.zone_hours import hour_facts

NONE = "none"
SHIFT = "shift"
INTERVAL_END = "interval_end"
LOCAL_TIME = "local_time"
SUMMER_ONLY = "summer_only"
SEASONAL = "season_dependent"
UNDETERMINED = "undetermined"

#: Fewest intervals (with values on both sides) a season needs before its shift is trusted.
MIN_PAIRS = 16
#: The best shift must beat the median candidate's mismatch by this fraction; below it the load is
#: too flat to tell shifts apart.
MIN_CONTRAST = 0.2


@dataclass(frozen=True)
class LabellingDiagnosis:
    kind: str
    winter_shift_ms: int | None
    summer_shift_ms: int | None
    text: str
    correction: str
    zone: str = DEFAULT_ZONE
    winter_scores: dict[int, float] | None = None
    summer_scores: dict[int, float] | None = None

    @property
    def is_error(self) -> bool:
        return self.kind not in (NONE, UNDETERMINED)

    def shift_for(self, true_start_ms: np.ndarray) -> np.ndarray:
        """The operator's label shift at the given true interval starts."""
        summer = is_summer_time(true_start_ms, self.zone)
        w = self.winter_shift_ms if self.winter_shift_ms is not None else self.summer_shift_ms
        s = self.summer_shift_ms if self.summer_shift_ms is not None else self.winter_shift_ms
        return np.where(summer, s or 0, w or 0).astype(np.int64)

    def as_record(self) -> dict[str, object]:
        return {"kind": self.kind, "winter_shift_s": _s(self.winter_shift_ms),
                "summer_shift_s": _s(self.summer_shift_ms), "text": self.text,
                "correction": self.correction}


def _s(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def is_summer_time(times_ms: np.ndarray, zone: str = DEFAULT_ZONE) -> np.ndarray:
    """True where daylight-saving time is in force in ``zone`` (evaluated once per UTC hour,
    from the zone's table of hours: :func:`meterbench.pipeline.zone_hours.hour_facts`)."""
    t = np.asarray(times_ms, dtype=np.int64)
    if not t.size:
        return np.zeros(0, dtype=bool)
    return hour_facts(t // MS_PER_HOUR, zone)[0]


def _duration_words(ms: int) -> str:
    minutes = abs(ms) // 60_000
    if minutes % 60 == 0:
        h = minutes // 60
        return f"{h} hour" + ("s" if h != 1 else "")
    return f"{minutes} min"


def _scores(op: IntervalSeries, ref: IntervalSeries, season_mask: np.ndarray,
            shifts: list[int]) -> dict[int, float]:
    """Relative mismatch Σ|op(t+s) − ref(t)| / Σ|ref(t)| over ``season_mask`` per shift.

    ``op(t+s)`` is the operator's value ``s`` later, missing beyond the reference's span. The
    operator series is padded with NaN once, so each shift is a view of it rather than a new
    array; each sum adds the same values in the same order as shifting a copy would.
    """
    res = ref.resolution_ms
    n = len(ref)
    reach = max((abs(s // res) for s in shifts), default=0)
    padded = np.full(n + 2 * reach, np.nan)
    padded[reach:reach + n] = op.quantity[:n]
    known = np.isfinite(padded)
    ref_ok = (ref.quality != Quality.MISSING) & season_mask & np.isfinite(ref.quantity)
    ref_abs = np.abs(ref.quantity)
    out: dict[int, float] = {}
    for s in shifts:
        a = reach + s // res
        ok = ref_ok & known[a:a + n]
        if np.count_nonzero(ok) < MIN_PAIRS:
            continue
        den = float(np.sum(ref_abs[ok]))
        if den == 0:
            continue
        out[s] = float(np.sum(np.abs(padded[a:a + n][ok] - ref.quantity[ok])) / den)
    return out


def _best(scores: dict[int, float]) -> int | None:
    if len(scores) < 3:
        return None
    best = min(scores, key=lambda s: (scores[s], abs(s)))
    median = float(np.median(list(scores.values())))
    if median <= 0 or (median - scores[best]) / median < MIN_CONTRAST:
        return None
    return best


def diagnose_labelling(operator: IntervalSeries, reference: IntervalSeries, *,
                       zone: str = DEFAULT_ZONE, max_shift_ms: int = 3 * MS_PER_HOUR
                       ) -> LabellingDiagnosis:
    """Compare the operator's labelling with the reference's, per season, and explain it."""
    res = reference.resolution_ms
    if operator.resolution_ms != res:
        raise ValueError("both series must have the same resolution")
    if not len(reference) or not len(operator):
        raise ValueError("empty series")
    lo = int(min(reference.start_ms[0], operator.start_ms[0]))
    hi = int(max(reference.end_ms, operator.end_ms))
    margin = (max_shift_ms // res + 1) * res
    ref = reindex(reference, lo - margin, hi + margin)
    op = reindex(operator, lo - margin, hi + margin)
    shifts = [k * res for k in range(-(max_shift_ms // res), max_shift_ms // res + 1)]
    summer = is_summer_time(ref.start_ms, zone)
    ws = _scores(op, ref, ~summer, shifts)
    ss = _scores(op, ref, summer, shifts)
    w, s = _best(ws), _best(ss)
    kind, text, corr = _classify(w, s, res, bool(ws), bool(ss))
    return LabellingDiagnosis(kind, w, s, text, corr, zone, ws, ss)


def _classify(w: int | None, s: int | None, res: int, have_w: bool, have_s: bool
              ) -> tuple[str, str, str]:
    res_words = _duration_words(res)
    if w is None and s is None:
        why = ("no season had enough intervals with values on both sides"
               if not (have_w or have_s) else "the load is too flat to tell shifts apart")
        return UNDETERMINED, f"labelling could not be checked: {why}", "none"

    def late(x: int) -> str:
        return f"{_duration_words(x)} {'late' if x > 0 else 'early'}"

    if w is not None and s is not None:
        if w == s == 0:
            return NONE, "the operator's labels agree with the reference in winter and summer", \
                "none"
        if w == s:
            if w == res:
                also = (" (or its clock is one hour ahead all year: at PT1H the two look "
                        "the same)" if res == MS_PER_HOUR else "")
                return (INTERVAL_END,
                        f"every value is labelled one interval ({res_words}) late: the operator "
                        f"labels intervals by their end instead of their start{also}",
                        f"subtract {res_words} from every label (label by interval start)")
            return (SHIFT, f"every value is labelled {late(w)}, in winter and summer alike",
                    f"{'subtract' if w > 0 else 'add'} {_duration_words(w)} "
                    f"{'from' if w > 0 else 'to'} every label")
        if s - w == MS_PER_HOUR and w in (MS_PER_HOUR, MS_PER_HOUR + res):
            end = " and by interval end" if w == MS_PER_HOUR + res else ""
            return (LOCAL_TIME,
                    f"values are labelled {late(w)} in winter and {late(s)} in summer: the "
                    f"operator writes Copenhagen local time as if it were UTC{end}",
                    "read the labels as local time and convert them to UTC (subtract 1 hour in "
                    f"winter, 2 hours in summer){' and subtract ' + res_words if end else ''}")
        if w == 0:
            return (SUMMER_ONLY,
                    f"labels agree in winter but are {late(s)} in summer (daylight-saving time): "
                    "the daylight-saving change is handled wrongly",
                    f"{'subtract' if s > 0 else 'add'} {_duration_words(s)} "
                    f"{'from' if s > 0 else 'to'} labels in summer time only")
        return (SEASONAL, f"labels are {late(w) if w else 'right'} in winter and "
                f"{late(s) if s else 'right'} in summer",
                "shift winter and summer labels separately by the amounts above")
    only, season, other = (w, "winter", "summer") if w is not None else (s, "summer", "winter")
    assert only is not None
    if only == 0:
        return NONE, (f"the labels agree with the reference in {season}; {other} time "
                      "could not be checked"), "none"
    note = (f" (only {season} data: local time written as UTC would also look like this)"
            if (season == "winter" and only == MS_PER_HOUR)
            or (season == "summer" and only == 2 * MS_PER_HOUR) else "")
    kind = INTERVAL_END if only == res else SHIFT
    return (kind, f"values are labelled {late(only)} in {season}{note}",
            f"{'subtract' if only > 0 else 'add'} {_duration_words(only)} "
            f"{'from' if only > 0 else 'to'} every label")


def apply_label_correction(operator: IntervalSeries, diagnosis: LabellingDiagnosis
                           ) -> IntervalSeries:
    """The operator series relabelled to true interval starts, on a regular grid.

    A label ``L`` can come from the winter start ``L − winter shift`` (if that is in winter time)
    or the summer start ``L − summer shift`` (if that is in summer time). When exactly one reading
    of it is possible the value moves there; when both are (labels overlapping around a
    daylight-saving change) or neither is, the value cannot be placed honestly and the interval
    becomes missing rather than booked at a guessed time.
    """
    res = operator.resolution_ms
    w = diagnosis.winter_shift_ms if diagnosis.winter_shift_ms is not None else (
        diagnosis.summer_shift_ms or 0)
    s = diagnosis.summer_shift_ms if diagnosis.summer_shift_ms is not None else w
    t_w = operator.start_ms - w
    t_s = operator.start_ms - s
    if w == s:
        true = t_w
        keep = np.ones(len(true), dtype=bool)
    else:
        ok_w = ~is_summer_time(t_w, diagnosis.zone)
        ok_s = is_summer_time(t_s, diagnosis.zone)
        keep = ok_w ^ ok_s
        true = np.where(ok_w, t_w, t_s)
    qty = np.where(keep, operator.quantity, np.nan)
    qual = np.where(keep, operator.quality, Quality.MISSING).astype(np.uint8)
    true, qty, qual = true[keep], qty[keep], qual[keep]
    if not len(true):
        return IntervalSeries(true, qty, qual, res)
    order = np.argsort(true, kind="stable")
    out = IntervalSeries(true[order], qty[order], qual[order], res)
    return reindex(out, int(out.start_ms[0]), int(out.start_ms[-1]) + res)
