"""The clamp policy, its code and its docs agree (issue 15): a clamped residual is estimated exactly
when the clamp changes the 3-decimal value DataHub receives, judged by the message builder's own
rounding (an independent path), on both netting paths and with mixed input qualities."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from meterbench.core.quality import Quality
from meterbench.datahub.quantity import kwh_to_quantity
from meterbench.pipeline.netting import PointFlows, virtual_main_point

ME, ES = Quality.MEASURED, Quality.ESTIMATED


def _clamp(main: list[float], sub: list[float], sub_quality: list[int] | None = None):
    m = PointFlows.measured(np.array(main))
    s = PointFlows.measured(np.array([sub]))
    if sub_quality is not None:
        s = PointFlows(s.import_kwh, s.export_kwh, np.array([sub_quality], dtype=np.uint8),
                       s.export_quality)
    return virtual_main_point(m, s, policy="clamp")


def test_a_residual_of_exactly_minus_half_a_step_is_negative_and_estimated():
    """0 − 0.0005 is delivered as −0.001 without the clamp: the clamp changes it, so it is a
    substitute (estimated) and a negative residual."""
    v = _clamp([0.0, 1.0], [0.0005, 1.0003])  # residuals −0.0005 and about −0.0003
    assert list(v.clamped_import) == [True, True]
    assert list(v.negative_import) == [True, False]
    assert list(v.import_quality) == [ES, ME]  # −0.0003 is delivered as 0.000 either way
    assert list(v.import_kwh) == [0.0, 0.0]


residual_pairs = st.tuples(st.integers(0, 20_000), st.integers(-40, 40),
                           st.floats(-1e-6, 1e-6, allow_nan=False))


@given(st.lists(residual_pairs, min_size=1, max_size=30), st.booleans())
@example([(0, -5, 0.0), (0, -3, 0.0), (10_000, 5, 0.0)], False)  # exactly −0.0005, −0.0003
@example([(0, -5, 0.0), (0, -6, 0.0)], True)
def test_estimated_exactly_when_the_clamp_changes_what_datahub_receives(pairs, mixed):
    """Residuals near zero at 0.1 Wh steps plus float noise; with ``mixed`` one unrelated interval
    is estimated on input, which takes the general (not all-measured) path."""
    main = [m / 1e4 for m, _, _ in pairs]
    sub = [(m - d) / 1e4 + e for m, d, e in pairs]
    quality = [int(ME)] * len(pairs) + ([int(ES)] if mixed else [])
    main += [1.0] if mixed else []
    sub += [0.5] if mixed else []
    v = _clamp(main, sub, quality)
    raw = v.raw_import_kwh
    for k in range(len(pairs)):
        delivered_raw, delivered = kwh_to_quantity(raw[k]), kwh_to_quantity(v.import_kwh[k])
        assert v.import_kwh[k] >= 0.0
        assert v.clamped_import[k] == (raw[k] < 0)
        assert v.negative_import[k] == (delivered_raw < 0)
        assert (v.import_quality[k] == ES) == (delivered != delivered_raw), (raw[k], delivered)


@given(st.lists(residual_pairs, min_size=2, max_size=20))
@example([(0, -5, 0.0), (0, -4, 0.0), (0, -6, 0.0)])
def test_the_many_site_path_applies_the_same_policy(pairs):
    main = np.array([[m / 1e4] for m, _, _ in pairs])
    subs = np.array([[(m - d) / 1e4 + e] for m, d, e in pairs])
    many = virtual_main_point(PointFlows.measured(main), PointFlows.measured(subs),
                              sub_site=np.arange(len(pairs)), policy="clamp")
    for k in range(len(pairs)):
        one = _clamp([main[k, 0]], [subs[k, 0]])
        assert many.import_quality[k, 0] == one.import_quality[0]
        assert many.negative_import[k, 0] == one.negative_import[0]
        assert many.import_kwh[k, 0] == one.import_kwh[0]
