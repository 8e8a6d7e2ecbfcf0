"""The faults a synthetic fleet can carry, and the ground-truth rows that list them.

Each kind names a failure seen in serial-metering pilots (labelling one hour off in summer
time only, swapped channels, frozen or silent meters, meters reading a few percent off, missing
and repeated deliveries). ``truth.parquet`` has one row per injected fault (and one per PV site
and per serial meter's true error) so a screen can be scored against it.
"""

from __future__ import annotations

from dataclasses import dataclass

# period-level faults of one serial meter (at most one per meter)
SHIFT = "shift"                      # every label moved by whole intervals (value: shift in h)
SUMMER_ONLY = "summer_only"          # labels 1 h late in daylight-saving time only
SWAP = "swap"                        # import and export channels swapped
METER_ERROR = "meter_error"          # reads k % high or low (value: true error %)
# day-level faults
STUCK = "stuck"                      # the same non-zero value in every interval of the day
DEAD = "dead"                        # delivered, every value missing (A02) for the day
MISSING_DAY = "missing_day"          # no delivery at all for the point and day
CONFLICT = "conflicting_duplicate"   # the day delivered twice with different values
# not faults, but facts the score needs
DUPLICATE = "identical_duplicate"    # the day delivered twice with the same values
PV = "pv"                            # the site has production behind its main meter
ACCURACY = "accuracy"                # every meter's true error % (value), main meters too

PERIOD_FAULTS = (SHIFT, SUMMER_ONLY, SWAP, METER_ERROR)
DAY_FAULTS = (STUCK, DEAD, MISSING_DAY, CONFLICT)


@dataclass(frozen=True)
class FaultRates:
    """Probabilities per serial meter (period faults) and per point-day (day faults)."""

    shift: float = 0.01
    summer_only: float = 0.01
    swap: float = 0.01
    meter_error: float = 0.03
    stuck: float = 0.01              # per serial meter: a run of 1-4 stuck days
    dead: float = 0.01               # per serial meter: a run of 1-4 silent days
    missing_day: float = 0.004       # per point and day
    conflict: float = 0.003          # per point and day
    duplicate: float = 0.003         # per point and day
    pv_share: float = 0.2            # share of sites with PV behind the main meter
