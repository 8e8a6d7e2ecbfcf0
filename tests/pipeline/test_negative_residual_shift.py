"""The negative-residual diagnosis's shift search and NaN handling against the first versions,
and its codes for many sites at once against the one-site diagnosis."""

from __future__ import annotations

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from meterbench.pipeline.negative_residuals import (
    CAUSES,
    _best_shift,
    _nan_to_num,
    _shift_search,
    diagnose_codes,
    diagnose_negative_residuals,
)
from meterbench.pipeline.netting import PointFlows, virtual_main_point


def _best_shift_as_first_written(main_imp: np.ndarray, subs_imp: np.ndarray, max_shift: int,
                                 tolerance: float) -> tuple[int, int, int, int]:
    base = main_imp - np.sum(subs_imp, axis=0)
    best = (-1, 0, 0, 0)
    best_gain = 0
    n = len(base)
    for j in range(subs_imp.shape[0]):
        others = base + subs_imp[j]
        for s in range(-max_shift, max_shift + 1):
            if s == 0 or abs(s) >= n:
                continue
            keep = slice(0, n - s) if s > 0 else slice(-s, n)
            moved = subs_imp[j][s:] if s > 0 else subs_imp[j][:s]
            before = int(np.count_nonzero(base[keep] < -tolerance))
            after = int(np.count_nonzero(others[keep] - moved < -tolerance))
            if before - after > best_gain:
                best, best_gain = (j, s, before, after), before - after
    return best


kwh = st.floats(0, 3, allow_subnormal=False) | st.sampled_from([0.0, 0.5, 1.0])


@settings(max_examples=200, deadline=None)
@given(data=st.data(), n=st.integers(1, 60), subs=st.integers(1, 3),
       max_shift=st.integers(0, 6), tolerance=st.sampled_from([0.0, 0.0005, 0.1]))
def test_shift_search_finds_what_the_first_version_found(data: st.DataObject, n: int, subs: int,
                                                         max_shift: int, tolerance: float) -> None:
    main = data.draw(hnp.arrays(np.float64, n, elements=kwh, fill=st.nothing()))
    sub = data.draw(hnp.arrays(np.float64, (subs, n), elements=kwh, fill=st.nothing()))
    got = _best_shift(main, sub, max_shift, tolerance)
    event("a shift helps" if got[0] >= 0 else "no shift helps")
    assert got == _best_shift_as_first_written(main, sub, max_shift, tolerance)


@given(hnp.arrays(np.float64, st.integers(0, 30), elements=st.floats(allow_nan=True)
                  | st.sampled_from([np.nan, np.inf, -np.inf, -0.0])))
def test_nan_to_num_is_numpys(values: np.ndarray) -> None:
    out = _nan_to_num(values)
    assert out.tobytes() == np.nan_to_num(values).tobytes()
    assert out is not values


@settings(max_examples=100, deadline=None)
@given(data=st.data(), n=st.integers(2, 48), subs=st.lists(st.integers(0, 3), min_size=1,
                                                         max_size=6))
def test_many_sites_at_once_get_each_site_s_own_diagnosis(data: st.DataObject, n: int,
                                                          subs: list[int]) -> None:
    """Sites with 0-3 sub-meters, NaN among the values: the shift of each site as searched
    alone, and the codes the one-site diagnosis gives."""
    with_nan = kwh | st.just(np.nan)
    mains = data.draw(hnp.arrays(np.float64, (len(subs), n), elements=with_nan, fill=st.nothing()))
    exports = data.draw(hnp.arrays(np.float64, (len(subs), n), elements=st.sampled_from(
        [0.0, 0.0, 0.3, np.nan])))
    rows = data.draw(hnp.arrays(np.float64, (sum(subs), n), elements=with_nan, fill=st.nothing()))
    start = np.concatenate([[0], np.cumsum(subs)])
    found = _shift_search(_nan_to_num(mains), _nan_to_num(rows), start, 4, 0.0005)
    negative = np.zeros(mains.shape, dtype=bool)
    for i in range(len(subs)):
        one = rows[start[i]:start[i + 1]]
        got = (found.sub[i], found.shift[i], found.before[i], found.after[i])
        assert got == _best_shift_as_first_written(_nan_to_num(mains[i]), _nan_to_num(one), 4,
                                                   0.0005)
        main = PointFlows.measured(mains[i], exports[i])
        sub = PointFlows.measured(one.reshape(-1, n))
        negative[i] = virtual_main_point(main, sub).negative_import
    codes = diagnose_codes(mains, exports, rows, start, negative)
    event("some negative" if negative.any() else "none negative")
    for i in range(len(subs)):
        main = PointFlows.measured(mains[i], exports[i])
        sub = PointFlows.measured(rows[start[i]:start[i + 1]].reshape(-1, n))
        full = diagnose_negative_residuals(main, sub, virtual_main_point(main, sub),
                                           np.arange(n) * 900_000, 900_000).codes
        assert [c or "" for c in full] == [("", *CAUSES)[c] for c in codes[i].tolist()]
