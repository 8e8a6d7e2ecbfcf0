"""The pipeline: pure functions on numpy arrays from register readings to settlement values.

No I/O here. Times are int64 epoch ms UTC, energies float64 kWh, quality uint8
:class:`meterbench.core.quality.Quality`. See ``docs/pipeline.md`` for the rules and the public API.

The names below are importable from ``meterbench.pipeline`` directly; they load their module on first
use, so importing the package stays cheap (alignment pulls in scipy).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # series and events
    "IntervalSeries": "series", "interval_starts": "series", "PipelineEvent": "events",
    # intervals from registers
    "intervals_from_register": "intervals", "MeterIntervals": "intervals",
    "clean_readings": "intervals", "many_meter_events": "intervals",
    "intervals_many": "registers",
    "ManyMeterIntervals": "registers",
    # resolution, quality, rounding, local days
    "quarters_to_hours": "aggregate", "quarters_to_hours_arrays": "aggregate",
    "hours_to_quarters": "aggregate", "aggregate_quality": "quality_rules",
    "combine_strict": "quality_rules", "quality_rank": "quality_rules",
    "round_with_carry": "rounding", "local_day_view": "localday",
    "local_day_bounds_ms": "localday", "intervals_in_local_day": "localday",
    "reindex": "localday",
    # netting, collective, comparison
    "PointFlows": "netting", "VirtualPoint": "netting", "virtual_main_point": "netting",
    "sum_check": "netting", "diagnose_negative_residuals": "negative_residuals",
    "CollectiveMember": "collective", "check_eligibility": "collective",
    "membership_effective_date": "collective", "membership_mask": "collective",
    "collective_point": "collective", "DK_LOCAL_COLLECTIVE": "collective",
    "compare_intervals": "compare", "IntervalComparison": "compare",
    # alignment and labelling
    "estimate_clock": "alignment", "ClockAlignment": "alignment",
    "AlignmentError": "alignment", "diagnose_labelling": "labelling",
    "LabellingDiagnosis": "labelling", "apply_label_correction": "labelling",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'meterbench.pipeline' has no attribute {name!r}")
    return getattr(importlib.import_module(f"meterbench.pipeline.{module}"), name)
