"""A whole lab plan on a bench: warm-up, accuracy points, starting, creep, dial and summation tests.

:func:`run_plan` is what ``meterbench run`` on a lab bench and the lab suite call; it returns
records (one per meter and point or test) and never judges outside :mod:`meterbench.accuracy.evaluate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from meterbench.accuracy import evaluate
from meterbench.accuracy.decision import RULES
from meterbench.accuracy.executor import (
    MS_PER_HOUR,
    LabBench,
    LabSettings,
    MeterUnderTest,
    measure_points,
    register_deltas,
    warm_up,
)
from meterbench.accuracy.limit_table import LimitTable
from meterbench.accuracy.limits import CREEP_VOLTAGE_FACTOR, mid_table
from meterbench.accuracy.planner import dial_gate_ms, plan_starting
from meterbench.accuracy.plans import TestPoint, plan_points
from meterbench.core.records import Record

LIMIT_BASES = ("mpe", "in_service")


@dataclass(frozen=True)
class LabPlan:
    """What to test and how to judge it (bench file ``[lab.plan]``)."""

    kind: str = "initial"
    custom_points: tuple[dict[str, Any], ...] = ()
    rule: str = "non_binary"
    limit_basis: str = "mpe"
    country: str = "DK"
    settings: LabSettings = field(default_factory=LabSettings)
    starting: bool = True
    creep: bool = True
    creep_ms: int = 20 * 60_000  # plan parameter: a lab default, no regulatory duration
    dial_kwh: float = 0.0        # 0 = no register (dial) test
    summation: bool = True
    #: The limits table (None: Directive 2014/32/EU Annex V Table 2, built in).
    limits: LimitTable | None = None

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown decision rule {self.rule!r}")
        if self.limit_basis not in LIMIT_BASES:
            raise ValueError(f"unknown limit basis {self.limit_basis!r}")

    def points(self, mut: MeterUnderTest) -> list[TestPoint]:
        return plan_points(self.kind, mut.rating, list(self.custom_points))

    @property
    def table(self) -> LimitTable:
        return self.limits or mid_table()

    def limit(self, mut: MeterUnderTest, point: TestPoint | float) -> evaluate.Limit:
        """The limit at a test point (its current, power factor and load: a single-phase load on
        a polyphase meter has its own row), or at a current with a balanced load at PF 1."""
        if not isinstance(point, TestPoint):
            point = TestPoint("", float(point))
        load = "balanced" if len(point.phases) == 3 else "single_phase"
        return evaluate.limit_for(mut.rating, point.current_a, basis=self.limit_basis,
                                  country=self.country, band=self.settings.band, pf=point.pf,
                                  load=load, table=self.table)

    def as_dict(self) -> dict[str, Any]:
        s = self.settings
        t = self.table
        return dict(kind=self.kind, rule=self.rule, limit_basis=self.limit_basis,
                    country=self.country, settle_s=s.settle_ms / 1000, warmup_s=s.warmup_ms / 1000,
                    uncertainty_fraction=s.uncertainty_fraction, band=s.band,
                    band_name=t.bands[s.band].name, limits=dict(
                        name=t.name, source=t.source, file=t.origin),
                    method=s.method, min_pulses=s.min_pulses, pulse_timing_ms=s.pulse_timing_ms,
                    starting=self.starting, creep=self.creep, creep_s=self.creep_ms / 1000,
                    dial_kwh=self.dial_kwh, summation=self.summation)


def accuracy_records(bench: LabBench, muts: Sequence[MeterUnderTest], plan: LabPlan) -> list[Record]:
    """The plan's accuracy points for every meter under test (they share the source).

    Meters with different ratings get their own points; the plan's point list is taken from the
    first meter's rating, so a bench mixes only meters of the same rating in one plan."""
    if not muts:
        return []
    by_id = {m.id: m for m in muts}
    points = plan.points(muts[0])
    ms = measure_points(bench, muts, points, plan.settings, lambda m, p: plan.limit(m, p).pct)
    return evaluate.point_records(ms, limit=lambda mid, p: plan.limit(by_id[mid], p),
                                  reference_accuracy_pct=bench.reference_accuracy_pct,
                                  rule=plan.rule)


def starting_records(bench: LabBench, muts: Sequence[MeterUnderTest], plan: LabPlan
                     ) -> list[Record]:
    """Each meter at its own Ist (PF 1, balanced), long enough for ~20 register steps."""
    out = []
    for m in muts:
        i_st = m.rating.starting_current
        power = 3 * m.rating.u_n * i_st
        step = m.reader.step_kwh("energy.import", m.reader.read().values["energy.import"])
        gate, warning = plan_starting(power, step_kwh=step, min_gate_ms=plan.settings.min_gate_ms,
                                      max_gate_ms=plan.settings.max_gate_ms)
        d = register_deltas(bench, [m], voltage_v=(m.rating.u_n,) * 3, current_a=(i_st,) * 3,
                            phi_deg=(0.0,) * 3, gate_ms=gate, settings=plan.settings)[0]
        out.append(evaluate.starting_record(d, i_st, expected_kwh=power * gate / MS_PER_HOUR / 1000,
                                            warning=warning))
    return out


def creep_records(bench: LabBench, muts: Sequence[MeterUnderTest], plan: LabPlan) -> list[Record]:
    u = CREEP_VOLTAGE_FACTOR * muts[0].rating.u_n
    ds = register_deltas(bench, muts, voltage_v=(u,) * 3, current_a=(0.0,) * 3,
                         phi_deg=(0.0,) * 3, gate_ms=plan.creep_ms, settings=plan.settings)
    return [evaluate.creep_record(d, m.rating, u, meter_constant=m.meter_constant)
            for d, m in zip(ds, muts, strict=True)]


def dial_records(bench: LabBench, muts: Sequence[MeterUnderTest], plan: LabPlan) -> list[Record]:
    r = muts[0].rating
    power = 3 * r.u_n * r.i_ref
    gate = dial_gate_ms(plan.dial_kwh, power)
    ds = register_deltas(bench, muts, voltage_v=(r.u_n,) * 3, current_a=(r.i_ref,) * 3,
                         phi_deg=(0.0,) * 3, gate_ms=gate, settings=plan.settings)
    return [evaluate.dial_record(d, plan.limit(m, r.i_ref),
                                 reference_accuracy_pct=bench.reference_accuracy_pct,
                                 rule=plan.rule,
                                 uncertainty_fraction=plan.settings.uncertainty_fraction)
            for d, m in zip(ds, muts, strict=True)]


def summation_records(bench: LabBench, muts: Sequence[MeterUnderTest], plan: LabPlan
                      ) -> list[Record]:
    """+P on L1 (PF 1) and −P on L2 (current reversed), L3 without current, at Iref."""
    r = muts[0].rating
    gate = 5 * plan.settings.min_gate_ms
    ds = register_deltas(bench, muts, voltage_v=(r.u_n,) * 3, current_a=(r.i_ref, r.i_ref, 0.0),
                         phi_deg=(0.0, 180.0, 0.0), gate_ms=gate, settings=plan.settings,
                         elements=(1, 2))
    out = []
    for d, m in zip(ds, muts, strict=True):
        phase_kwh = d.reference_kwh["1"]
        tol = plan.limit(m, r.i_ref).pct
        behaviour = evaluate.classify_registration(d, phase_kwh, tol)
        out.append(evaluate.summation_record(d, behaviour, m.declared_registration, phase_kwh))
    return out


def run_plan(bench: LabBench, muts: Sequence[MeterUnderTest], plan: LabPlan) -> list[Record]:
    """Warm-up, then every part of the plan, in the order a lab runs them."""
    warm_up(bench, muts, plan.settings)
    records = accuracy_records(bench, muts, plan)
    if plan.starting:
        records += starting_records(bench, muts, plan)
    if plan.creep:
        records += creep_records(bench, muts, plan)
    if plan.dial_kwh > 0:
        records += dial_records(bench, muts, plan)
    if plan.summation:
        records += summation_records(bench, muts, plan)
    return records
