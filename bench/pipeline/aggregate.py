"""Changing resolution: PT15M → PT1H (DataHub's sum and quality rule) and PT1H → PT15M.

Source for both rules: Energinet DataHub 3 source, opengeh-wholesale / opengeh-measurements (quarter→hour sum and quality; hour→quarter split with a carry).
A partial hour (some quarters missing) is the sum of the quarters that are present, with quality
*estimated*, exactly as DataHub aggregates; callers that need a strict hour can compute it from the
register at PT1H instead (:func:`meterbench.pipeline.intervals.intervals_from_register`).
"""

from __future__ import annotations

import numpy as np

from meterbench.core.quality import Quality
from meterbench.core.timeutil import MS_PER_HOUR
from meterbench.pipeline.quality_rules import aggregate_quality
from meterbench.pipeline.rounding import round_with_carry
from meterbench.pipeline.series import IntervalSeries

QUARTERS_PER_HOUR = 4
MS_PER_QUARTER = MS_PER_HOUR // QUARTERS_PER_HOUR


def quarters_to_hours_arrays(start_ms: np.ndarray, quantity: np.ndarray, quality: np.ndarray
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrays version of :func:`quarters_to_hours`; ``quantity``/``quality`` may be 2-D
    ``(meters, quarters)``. The first start must be on a whole UTC hour and the count a multiple
    of four."""
    start_ms = np.asarray(start_ms, dtype=np.int64)
    n = start_ms.shape[-1]
    if n % QUARTERS_PER_HOUR or (n and int(start_ms[0]) % MS_PER_HOUR):
        raise ValueError("PT15M -> PT1H needs whole hours: the first start on a UTC hour and a "
                         "multiple of four quarters")
    q = np.asarray(quantity, dtype=np.float64)
    shape = q.shape[:-1] + (n // QUARTERS_PER_HOUR, QUARTERS_PER_HOUR)
    q4 = q.reshape(shape)
    qual4 = np.asarray(quality, dtype=np.uint8).reshape(shape)
    hour_quality = aggregate_quality(qual4, axis=-1)
    absent = np.isnan(q4)
    known = np.where(absent, 0.0, q4)
    # the four quarters added in order by slices: the same sum as .sum(axis=-1), without a
    # reduction over a short axis (several times slower)
    hour_q = known[..., 0] + known[..., 1]
    hour_q += known[..., 2]
    hour_q += known[..., 3]
    none_known = absent[..., 0] & absent[..., 1]
    none_known &= absent[..., 2]
    none_known &= absent[..., 3]
    hour_q[none_known] = np.nan
    hour_q[hour_quality == Quality.MISSING] = np.nan
    return start_ms[::QUARTERS_PER_HOUR].copy(), hour_q, hour_quality


def quarters_to_hours(series: IntervalSeries) -> IntervalSeries:
    """PT15M → PT1H: sum of the four quarters, quality by DataHub's rule."""
    if series.resolution_ms != MS_PER_QUARTER:
        raise ValueError(f"expected PT15M input, got {series.resolution_ms} ms")
    s, q, qual = quarters_to_hours_arrays(series.start_ms, series.quantity, series.quality)
    return IntervalSeries(s, q, qual, MS_PER_HOUR)


def hours_to_quarters(series: IntervalSeries) -> IntervalSeries:
    """PT1H → PT15M: a quarter of each hour, rounded to 0.001 kWh with a carry so the four
    rounded quarters sum to the rounded hour. Quarters inherit their hour's quality."""
    if series.resolution_ms != MS_PER_HOUR:
        raise ValueError(f"expected PT1H input, got {series.resolution_ms} ms")
    starts = (series.start_ms[:, None] + np.arange(QUARTERS_PER_HOUR) * MS_PER_QUARTER).ravel()
    quarters = np.repeat(series.quantity / QUARTERS_PER_HOUR, QUARTERS_PER_HOUR)
    rounded = round_with_carry(quarters.reshape(-1, QUARTERS_PER_HOUR), axis=-1).ravel()
    quality = np.repeat(series.quality, QUARTERS_PER_HOUR)
    return IntervalSeries(starts.astype(np.int64), rounded, quality, MS_PER_QUARTER)
