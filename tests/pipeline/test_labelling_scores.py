"""The labelling diagnosis's shift scores computed on views give the scores of shifted copies."""

from __future__ import annotations

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from meterbench.core.quality import Quality
from meterbench.pipeline.labelling import MIN_PAIRS, _scores
from meterbench.pipeline.series import IntervalSeries

RES = 900_000


def _scores_by_copies(op: IntervalSeries, ref: IntervalSeries, season_mask: np.ndarray,
                      shifts: list[int]) -> dict[int, float]:
    """The scores as first written: a shifted copy of the operator series per shift."""
    res = ref.resolution_ms
    out: dict[int, float] = {}
    ref_ok = (ref.quality != Quality.MISSING) & season_mask
    for s in shifts:
        k = s // res
        shifted = np.full(len(ref), np.nan)
        if k >= 0:
            shifted[:len(ref) - k] = op.quantity[k:len(ref)]
        else:
            shifted[-k:] = op.quantity[:len(ref) + k]
        ok = ref_ok & np.isfinite(shifted) & np.isfinite(ref.quantity)
        if np.count_nonzero(ok) < MIN_PAIRS:
            continue
        den = float(np.sum(np.abs(ref.quantity[ok])))
        if den == 0:
            continue
        out[s] = float(np.sum(np.abs(shifted[ok] - ref.quantity[ok])) / den)
    return out


#: Mostly numbers (so that shifts get scored), some missing, signed zeros.
values = st.one_of(st.floats(-5, 5, allow_subnormal=False), st.floats(-5, 5),
                   st.just(np.nan), st.just(0.0), st.just(-0.0))


@settings(max_examples=150, deadline=None)
@given(data=st.data(), n=st.integers(30, 200), reach=st.integers(0, 12))
def test_scores_on_views_equal_scores_on_shifted_copies(data: st.DataObject, n: int,
                                                        reach: int) -> None:
    op_q = data.draw(hnp.arrays(np.float64, n, elements=values, fill=st.nothing()))
    ref_q = data.draw(hnp.arrays(np.float64, n, elements=values, fill=st.nothing()))
    quality = data.draw(hnp.arrays(np.uint8, n, elements=st.sampled_from([0, 1, 1, 1, 2, 3])))
    season = data.draw(hnp.arrays(np.bool_, n, elements=st.booleans() | st.just(True)))
    starts = np.arange(n, dtype=np.int64) * RES
    op = IntervalSeries(starts, op_q, np.ones(n, np.uint8), RES)
    ref = IntervalSeries(starts, ref_q, quality, RES)
    shifts = [k * RES for k in range(-reach, reach + 1)]
    new, old = _scores(op, ref, season, shifts), _scores_by_copies(op, ref, season, shifts)
    event(f"shifts scored: {'some' if new else 'none'}")
    assert new.keys() == old.keys()
    assert all(float(new[s]).hex() == float(old[s]).hex() for s in new)
