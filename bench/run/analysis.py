"""The run's analysis: from stored readings to intervals, the virtual point and comparisons.

Pure composition of :mod:`meterbench.pipeline` functions over arrays taken from the store; the only
input besides the arrays is the bench description. Verdict records are made in
:mod:`meterbench.verdicts.checks`, so this module only computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from meterbench.accuracy.register import reading_step_kwh
from meterbench.config.bench_file import BenchConfig, MeterSpec
from meterbench.core.timeutil import RESOLUTIONS_MS
from meterbench.instruments.errors import ConfigError
from meterbench.instruments.registers import load_register_map
from meterbench.pipeline.aggregate import quarters_to_hours
from meterbench.pipeline.compare import IntervalComparison, compare_intervals
from meterbench.pipeline.events import PipelineEvent
from meterbench.pipeline.frozen import detect_frozen
from meterbench.pipeline.intervals import MeterIntervals, intervals_from_register
from meterbench.pipeline.meter_clock import ClockTrack, track_clock
from meterbench.pipeline.negative_residuals import (
    NegativeResidualDiagnosis,
    diagnose_negative_residuals,
)
from meterbench.pipeline.netting import PointFlows, VirtualPoint, sum_check, virtual_main_point
from meterbench.pipeline.outages import mark_outages
from meterbench.store.run_store import Series, Store

#: A boundary is measured when its bracketing readings are at most this many poll periods apart
#: (issue 6 default).
MAX_GAP_POLL_FACTOR = 2.5
CHANNELS = ("energy.import", "energy.export")


@dataclass
class MeterAnalysis:
    spec: MeterSpec
    readings: dict[str, Series]
    quarter: dict[str, MeterIntervals]
    hour: dict[str, MeterIntervals]
    clock: ClockTrack | None = None

    @property
    def events(self) -> list[PipelineEvent]:
        clock = self.clock.events if self.clock is not None else []
        return [e for mi in self.quarter.values() for e in mi.events] + clock


@dataclass
class Netting:
    serial: tuple[str, ...]
    main: PointFlows
    subs: PointFlows
    virtual: VirtualPoint
    sum_check_import: np.ndarray
    sum_check_export: np.ndarray
    diagnosis: NegativeResidualDiagnosis


@dataclass
class FieldPair:
    """An operator meter and its reference, their compared intervals, and each meter's register
    step at its largest reading (:func:`meterbench.accuracy.register.reading_step_kwh`): the
    quantization of the register values the interval energies are differences of."""

    operator: MeterSpec
    reference: MeterSpec
    comparison: IntervalComparison
    operator_step_kwh: float
    reference_step_kwh: float


@dataclass
class Analysis:
    config: BenchConfig
    start_ms: int
    end_ms: int
    meters: dict[str, MeterAnalysis]
    netting: Netting
    field_pairs: list[FieldPair] = field(default_factory=list)

    @property
    def quarter_starts(self) -> np.ndarray:
        return next(iter(self.meters.values())).quarter["energy.import"].series.start_ms


def _flows(ma: MeterAnalysis) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    imp, exp = ma.quarter["energy.import"].series, ma.quarter["energy.export"].series
    return imp.quantity, exp.quantity, imp.quality, exp.quality


def analyse_meter(spec: MeterSpec, readings: dict[str, Series], start_ms: int, end_ms: int,
                  poll_ms: int, policy_max_gap_ms: int | None = None, *,
                  outages: dict[str, np.ndarray] | None = None) -> MeterAnalysis:
    """One meter's intervals. ``outages`` (channel -> times of failed polls, acquisition gaps and
    flagged values, :meth:`Store.outage_times`) make the intervals they touch estimated."""
    max_gap = policy_max_gap_ms or int(MAX_GAP_POLL_FACTOR * poll_ms)
    quarter: dict[str, MeterIntervals] = {}
    hour: dict[str, MeterIntervals] = {}
    for ch in CHANNELS:
        s = readings[ch]
        mi = intervals_from_register(s.times_ms, s.values, start_ms, end_ms,
                                     RESOLUTIONS_MS["PT15M"], max_gap,
                                     rollover_kwh=spec.rollover_kwh,
                                     max_power_w=spec.plausible_power_w, meter=spec.id,
                                     channel=ch)
        mi = _check_frozen(spec, ch, mi, s, readings.get("power.total"))
        if outages is not None and len(outages.get(ch, ())):
            series, found = mark_outages(mi.series, s.times_ms, outages[ch], meter=spec.id,
                                         channel=ch)
            mi = MeterIntervals(series, sorted([*mi.events, *found],
                                               key=lambda e: (e.start_ms, e.kind)), mi.max_gap_ms)
        quarter[ch] = mi
        hour[ch] = MeterIntervals(quarters_to_hours(mi.series), [], mi.max_gap_ms)
    c = readings.get("clock.unix_ms")
    clock = (track_clock(c.times_ms, c.values, c.rtt_ms, meter=spec.id)
             if c is not None and len(c.values) else None)
    return MeterAnalysis(spec, readings, quarter, hour, clock)


def _check_frozen(spec: MeterSpec, channel: str, mi: MeterIntervals, energy: Series,
                  power: Series | None) -> MeterIntervals:
    """A register standing still while the meter's own power says otherwise: estimated intervals."""
    if power is None or len(power.values) < 2 or len(energy.values) < 2:
        return mi
    try:
        step = load_register_map(spec.model).channel(channel).step_at(float(np.max(energy.values)))
    except (ConfigError, KeyError):
        return mi
    sign = 1.0 if channel == "energy.import" else -1.0  # export registers count negative power
    res = detect_frozen(mi.series, energy.times_ms, energy.values, power.times_ms,
                        sign * power.values, step, meter=spec.id, channel=channel)
    if not res.events:
        return mi
    events = sorted([*mi.events, *res.events], key=lambda e: (e.start_ms, e.kind))
    return MeterIntervals(res.series, events, mi.max_gap_ms)


def analyse(config: BenchConfig, store: Store, *, policy: str = "report") -> Analysis:
    start, end = config.run.start_ms, config.run.end_ms
    meters = {}
    for spec in config.meters:
        readings = {ch: store.series(spec.id, ch) for ch in (*CHANNELS, "power.total", "clock.unix_ms")}
        outages = {ch: store.outage_times(spec.id, ch) for ch in CHANNELS}
        meters[spec.id] = analyse_meter(spec, readings, start, end, config.run.poll_ms,
                                        outages=outages)
    serial = tuple(m.id for m in config.by_role("operator"))
    mi, me, mqi, mqe = _flows(meters[config.main.id])
    main = PointFlows(mi, me, mqi, mqe)
    parts = [_flows(meters[s]) for s in serial]
    n = len(mi)
    subs = PointFlows(
        np.array([p[0] for p in parts]).reshape(len(parts), n),
        np.array([p[1] for p in parts]).reshape(len(parts), n),
        np.array([p[2] for p in parts], dtype=np.uint8).reshape(len(parts), n),
        np.array([p[3] for p in parts], dtype=np.uint8).reshape(len(parts), n))
    virtual = virtual_main_point(main, subs, policy=policy)
    check_i, check_e = sum_check(main, virtual, subs)
    starts = meters[config.main.id].quarter["energy.import"].series.start_ms
    diagnosis = diagnose_negative_residuals(main, subs, virtual, starts, RESOLUTIONS_MS["PT15M"],
                                            sub_names=serial, site=config.main.id)
    netting = Netting(serial, main, subs, virtual, check_i, check_e, diagnosis)
    pairs = []
    for ref in config.by_role("reference"):
        op = config.meter(ref.reference_for or "")
        pairs.append(FieldPair(op, ref, compare_intervals(
            meters[op.id].quarter["energy.import"].series,
            meters[ref.id].quarter["energy.import"].series),
            *(reading_step_kwh(m.model, meters[m.id].readings["energy.import"].values)
              for m in (op, ref))))
    return Analysis(config, start, end, meters, netting, pairs)
