"""A frozen register that catches up only after the load has stopped (found by the fault matrix).

The meter's counter stands still from 06:00 to 08:00 UTC while a 7.4 kW load runs 06:00-07:30,
then jumps by the missed 11.1 kWh at 08:00. Between the end of the load and the catch-up the
register is flat with no power to judge by. The frozen span must reach the catch-up: otherwise
its quarter-hours are filled from the power *and* the catch-up is kept as measured, counting the
energy twice (20.35 kWh reported for 11.1 kWh delivered).
"""

from __future__ import annotations

import numpy as np

from meterbench.core.quality import Quality
from meterbench.core.timeutil import parse_iso
from meterbench.pipeline.frozen import detect_frozen
from meterbench.pipeline.series import IntervalSeries

Q = 900_000
DAY = parse_iso("2026-06-01T00:00:00Z")
T = DAY + Q * np.arange(0, 97, dtype=np.int64)          # a reading on every quarter-hour boundary
ON, OFF = parse_iso("2026-06-01T06:00:00Z"), parse_iso("2026-06-01T07:30:00Z")
THAW = parse_iso("2026-06-01T08:00:00Z")
POWER_W = np.where((T >= ON) & (T < OFF), 7400.0, 0.0)   # what the meter reports as its power
TRUE = 100.0 + np.clip((np.minimum(T, OFF) - ON) / 3_600_000, 0, None) * 7.4  # true register
STEP = 0.01


def _series(register: np.ndarray, missing: tuple[int, ...] = ()) -> IntervalSeries:
    quantity = np.diff(register)
    quality = np.full(len(quantity), Quality.MEASURED, dtype=np.uint8)
    for k in missing:
        quantity[k], quality[k] = np.nan, Quality.MISSING
    return IntervalSeries(T[:-1], quantity, quality, Q)


def test_catch_up_after_the_load_stopped_conserves_the_energy() -> None:
    frozen = np.where((T > ON) & (T < THAW), 100.0, TRUE)
    result = detect_frozen(_series(frozen), T, frozen, T, POWER_W, STEP, meter="m")
    window = (T[:-1] >= ON) & (T[:-1] < THAW)
    assert np.isclose(np.nansum(result.series.quantity), 11.1, atol=1e-9)  # not 20.35
    assert (result.series.quality[window] == Quality.ESTIMATED).all()
    assert (result.series.quality[~window] == Quality.MEASURED).all()
    # spread in proportion to the meter's power: nothing after the load stopped
    assert np.allclose(result.series.quantity[(T[:-1] >= OFF) & (T[:-1] < THAW)], 0.0)
    assert "caught up by 11.1 kWh" in result.events[0].text


def test_catch_up_refused_upstream_as_a_jump_still_conserves_the_register() -> None:
    """An upstream jump check (max_power_w) may refuse the catch-up interval (missing). The
    register's energy across the affected span is still known, and the power explains the jump, so
    the span is refilled from the register: every affected quarter-hour estimated, 11.1 kWh kept."""
    frozen = np.where((T > ON) & (T < THAW), 100.0, TRUE)
    catch_up = int(np.flatnonzero(T == THAW)[0]) - 1
    result = detect_frozen(_series(frozen, missing=(catch_up,)), T, frozen, T, POWER_W, STEP)
    window = (T[:-1] >= ON) & (T[:-1] < THAW)
    assert (result.series.quality[window] == Quality.ESTIMATED).all()
    assert np.isclose(np.nansum(result.series.quantity), 11.1, atol=1e-9)


def test_a_jump_the_load_cannot_explain_is_not_taken_as_a_catch_up() -> None:
    """A register that jumps by far more than the power implied stays refused: filled from power."""
    frozen = np.where((T > ON) & (T < THAW), 100.0, TRUE)
    frozen = np.where(T >= THAW, frozen + 500.0, frozen)  # 500 kWh out of nowhere
    catch_up = int(np.flatnonzero(T == THAW)[0]) - 1
    result = detect_frozen(_series(frozen, missing=(catch_up,)), T, frozen, T, POWER_W, STEP)
    assert result.series.quality[catch_up] == Quality.MISSING
    estimated = result.series.quality == Quality.ESTIMATED
    # filled from 15-minute power samples (trapezoid): close to, not equal to, the 11.1 kWh
    assert 0.5 * 11.1 < np.nansum(result.series.quantity[estimated]) <= 11.1
    assert "never caught up" in result.events[0].text
