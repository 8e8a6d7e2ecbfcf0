"""The meter's own clock against the bench's: offset over time and jumps.

Meters that carry a clock expose it as ``clock.unix_ms``; every poll stores it next to the host
times of the request and the answer. The offset is ``meter time − host time`` at the middle of the
round trip (uncertain by half the round trip). A change of offset between two polls far larger
than drift can explain is a **jump** (a clock set by hand, a lost battery, a daylight-saving bug).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meterbench.core.timeutil import format_iso_utc
from meterbench.pipeline.events import PipelineEvent

CLOCK_JUMP = "clock_jump"
#: A step of the offset between consecutive polls beyond this (plus the round trips) is a jump.
DEFAULT_JUMP_MS = 1000


@dataclass(frozen=True)
class ClockTrack:
    times_ms: np.ndarray
    offset_ms: np.ndarray
    uncertainty_ms: np.ndarray  # half the round trip of each poll
    events: list[PipelineEvent]

    @property
    def worst_ms(self) -> float:
        return float(np.max(np.abs(self.offset_ms))) if len(self.offset_ms) else float("nan")

    @property
    def median_ms(self) -> float:
        return float(np.median(self.offset_ms)) if len(self.offset_ms) else float("nan")


def track_clock(times_ms: np.ndarray, meter_ms: np.ndarray, rtt_ms: np.ndarray, *,
                jump_ms: int = DEFAULT_JUMP_MS, meter: str | None = None) -> ClockTrack:
    t = np.asarray(times_ms, np.int64)
    offset = np.asarray(meter_ms, float) - t
    u = np.asarray(rtt_ms, float) / 2.0
    events = []
    if len(t) > 1:
        step = np.diff(offset)
        slack = jump_ms + u[:-1] + u[1:]
        for k in np.flatnonzero(np.abs(step) > slack):
            events.append(PipelineEvent(
                CLOCK_JUMP, int(t[k]), int(t[k + 1]),
                f"the meter's clock jumped by {step[k] / 1000:+.1f} s between "
                f"{format_iso_utc(int(t[k]))} and {format_iso_utc(int(t[k + 1]))} (offset "
                f"{offset[k] / 1000:+.1f} s → {offset[k + 1] / 1000:+.1f} s); the bench stamps readings "
                "with its own clock, so interval values are unaffected", meter, "clock.unix_ms"))
    return ClockTrack(t, offset, u, events)
