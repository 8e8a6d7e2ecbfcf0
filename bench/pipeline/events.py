"""Anomalies found by the pipeline, as plain records a report can print without interpretation.

Every event carries the time span it concerns (epoch ms UTC) and a sentence a DSO engineer can
read ("register reset ...: 3 intervals marked missing"), so nothing is hidden in a code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class PipelineEvent:
    """One anomaly: what kind, when (``[start_ms, end_ms]``), and what it means in plain words."""

    kind: str
    start_ms: int
    end_ms: int
    text: str
    meter: str | None = None
    channel: str | None = None

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


#: Event kinds the interval stage produces.
RESET = "reset"
ROLLOVER = "rollover"
JUMP = "jump"
GAP = "gap"
DUPLICATE = "duplicate"
GLITCH = "glitch"
OUTAGE = "outage"
