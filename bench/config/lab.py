"""The ``[lab]`` section of a bench file: instruments, the test plan and the simulated lab.

A bench with a ``[lab]`` section is a lab bench: its meters have role ``mut`` (meter under test)
and a ``rating`` table, and ``meterbench run`` runs the lab suite on it instead of acquiring a day
in the field. Documented in ``docs/accuracy.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from meterbench.accuracy.decision import RULES
from meterbench.accuracy.executor import LabSettings
from meterbench.accuracy.job import LIMIT_BASES, LabPlan
from meterbench.accuracy.limits import CREEP_VOLTAGE_FACTOR, IN_SERVICE_FACTOR, temperature_band
from meterbench.accuracy.plans import (
    PF_ANGLE_DEG,
    PHASE_SETS,
    PLAN_KINDS,
    plan_points,
    rated_current,
)
from meterbench.config.strict_toml import Table
from meterbench.core.timeutil import parse_duration
from meterbench.instruments.scpi.fluke6105a import MAX_CURRENT_A, MAX_VOLTAGE_V
from meterbench.instruments.sim.lab import ReferenceSpec
from meterbench.instruments.sim.meter import ErrorCurve


@dataclass(frozen=True)
class LabSimMeter:
    """How a simulated meter under test is built (``[[lab.sim]]``)."""

    meter: str
    error: ErrorCurve = field(default_factory=ErrorCurve)
    starting_current_a: float = 0.0
    creep_w: float = 0.0
    summation: bool = True
    import_kwh: float = 0.0


@dataclass(frozen=True)
class LabBenchSpec:
    plan: LabPlan
    reference_accuracy_pct: float
    source_resource: str | None = None
    reference_resource: str | None = None
    sim_reference: ReferenceSpec = field(default_factory=ReferenceSpec)
    sim_meters: dict[str, LabSimMeter] = field(default_factory=dict)
    reference_calibration: str | None = None  # "certificate id, due YYYY-MM-DD"

    def as_dict(self) -> dict[str, Any]:
        return dict(plan=self.plan.as_dict(), reference_accuracy_pct=self.reference_accuracy_pct,
                    source=self.source_resource or "simulated Fluke 6105A",
                    reference=self.reference_resource or "simulated Yokogawa WT1800")


def _ms(tab: Table, key: str, default: str) -> int:
    return parse_duration(tab.get(key, str, default), source=tab.source, field=tab.field(key))


def _parse_plan(tab: Table, meters: tuple[Any, ...]) -> LabPlan:
    kind = tab.get("kind", str, "initial", choices=PLAN_KINDS)
    points = []
    for i, item in enumerate(tab.tables("points")):
        cur = item.get("current", (str, float))
        if isinstance(cur, str):
            try:
                rated_current(cur, meters[0].rating)
            except ValueError as exc:
                raise item.error("current", str(exc), expected="e.g. 0.1 Iref, Imax, 2 Itr or amperes") from None
        elif cur <= 0:
            raise item.error("current", f"{cur} A is not positive", expected="a positive current")
        point = dict(current=cur, pf=item.get("pf", str, "1", choices=tuple(PF_ANGLE_DEG)),
                     phases=item.get("phases", str, "L1L2L3", choices=tuple(PHASE_SETS)),
                     name=item.get("name", str, ""))
        item.finish()
        points.append(point)
        del i
    if kind == "custom" and not points:
        raise tab.error("points", "a custom plan needs points", expected='[{current = "Iref", pf = "1"}]')
    if kind != "custom" and points:
        raise tab.error("points", f"points are only read for kind = \"custom\", not {kind!r}")
    temperature = tab.get("temperature_c", float, 23.0)
    try:
        band = temperature_band(temperature)
    except ValueError as exc:
        raise tab.error("temperature_c", str(exc), expected="-40 … +70 °C") from None
    fraction = tab.get("uncertainty_fraction", float, 1.0 / 3.0)
    if not 0 < fraction <= 1:
        raise tab.error("uncertainty_fraction", f"{fraction} is out of range", expected="0 < f ≤ 1")
    settings = LabSettings(
        settle_ms=_ms(tab, "settle", "10s"), warmup_ms=_ms(tab, "warmup", "30min"),
        uncertainty_fraction=fraction, min_gate_ms=_ms(tab, "min_gate", "30s"),
        max_gate_ms=_ms(tab, "max_gate", "4h"),
        timing_window_ms=float(_ms(tab, "timing_window", "1s")), band=band)
    if settings.max_gate_ms < settings.min_gate_ms:
        raise tab.error("max_gate", "shorter than min_gate")
    country = tab.get("country", str, "DK", choices=tuple(IN_SERVICE_FACTOR))
    plan = LabPlan(kind=kind, custom_points=tuple(points),
                   rule=tab.get("rule", str, "non_binary", choices=RULES),
                   limit_basis=tab.get("limit", str, "mpe", choices=LIMIT_BASES), country=country,
                   settings=settings, starting=tab.get("starting", bool, True),
                   creep=tab.get("creep", bool, True),
                   creep_ms=_ms(tab, "creep_duration", "20min"),
                   dial_kwh=tab.get("dial_kwh", float, 0.0),
                   summation=tab.get("summation", bool, True))
    tab.finish()
    return plan


def _numbers(tab: Table, key: str, default: list[float]) -> tuple[float, ...]:
    values = tab.get(key, list, default)
    if not values or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise tab.error(key, "not a list of numbers", expected="a non-empty list of numbers")
    return tuple(float(v) for v in values)


def _parse_sim(tab: Table, ids: set[str]) -> LabSimMeter:
    meter = tab.get("meter", str)
    if meter not in ids:
        raise tab.error("meter", f"unknown meter {meter!r}", expected="the id of a [[meter]] with role mut")
    currents = _numbers(tab, "currents_a", [1.0])
    errors = _numbers(tab, "errors_pct", [tab.get("error_pct", float, 0.0)])
    if len(currents) != len(errors) or list(currents) != sorted(currents) or min(currents) <= 0:
        raise tab.error("currents_a", "does not match errors_pct",
                        expected="rising positive currents, one error each")
    spec = LabSimMeter(meter=meter,
                       error=ErrorCurve(currents, errors, tab.get("pf_slope_pct", float, 0.0)),
                       starting_current_a=tab.get("starting_current_a", float, 0.0),
                       creep_w=tab.get("creep_w", float, 0.0),
                       summation=tab.get("summation", bool, True),
                       import_kwh=tab.get("import_kwh", float, 0.0))
    tab.finish()
    return spec


def _check_source_range(plan: LabPlan, meter: Any, tab: Table) -> None:
    """Every planned current and voltage within the Fluke 6105A's ranges (its driver's limits)."""
    rating = meter.rating
    currents = [p.current_a for p in plan_points(plan.kind, rating, list(plan.custom_points))]
    currents += [rating.i_ref]  # warm-up, dial and summation tests
    if max(currents) > MAX_CURRENT_A:
        raise tab.error("kind" if plan.kind != "custom" else "points",
                        f"the plan needs {max(currents):g} A (Imax {rating.i_max:g} A)",
                        expected=f"currents within the power source's {MAX_CURRENT_A:g} A")
    if CREEP_VOLTAGE_FACTOR * rating.u_n > MAX_VOLTAGE_V:
        raise tab.error("creep", f"1.15 · Un = {CREEP_VOLTAGE_FACTOR * rating.u_n:g} V",
                        expected=f"within the power source's {MAX_VOLTAGE_V:g} V")


def parse_lab(tab: Table, meters: tuple[Any, ...], simulate: bool) -> LabBenchSpec:
    """The ``[lab]`` table; ``meters`` are the bench's parsed ``[[meter]]`` entries."""
    if not meters:
        raise tab.error("meter", "a lab bench needs meters under test", expected="[[meter]] with role = \"mut\"")
    for i, m in enumerate(meters):
        if m.role != "mut":
            raise tab.error("meter", f"meter[{i}] {m.id!r} has role {m.role!r}",
                            expected="role = \"mut\" for every meter of a lab bench")
        if m.rating is None:
            raise tab.error("meter", f"meter[{i}] {m.id!r} has no rating",
                            expected="a rating table (i_min, i_tr, i_ref, i_max, ...)")
    ratings = {(m.rating.i_min, m.rating.i_tr, m.rating.i_ref, m.rating.i_max, m.rating.u_n,
                m.rating.f_n) for m in meters}
    if len(ratings) > 1:
        raise tab.error("meter", "meters under test on one source need the same rated currents "
                        "(Imin, Itr, Iref, Imax), Un and f",
                        expected="one lab bench per rating")
    plan_tab = tab.table("plan", {})
    assert plan_tab is not None
    plan = _parse_plan(plan_tab, meters)
    accuracy = tab.get("reference_accuracy_pct", float)
    if not accuracy > 0:
        raise tab.error("reference_accuracy_pct", "must be positive",
                        expected="the reference standard's accuracy from its calibration certificate")
    source = tab.get("source", str, None)
    reference = tab.get("reference", str, None)
    calibration = _reference_calibration(tab.table("reference_calibration", None))
    if not simulate and (source is None or reference is None):
        raise tab.error("source", "a real lab bench needs VISA resources",
                        expected='source = "TCPIP::…::SOCKET" and reference = "…"')
    sim_ref_tab = tab.table("sim_reference", {})
    assert sim_ref_tab is not None
    err = sim_ref_tab.get("error_pct", float, 0.0)
    if abs(err) > accuracy:
        raise sim_ref_tab.error("error_pct", f"{err} % exceeds the declared accuracy {accuracy} %",
                                expected="|error_pct| ≤ reference_accuracy_pct")
    sim_reference = ReferenceSpec(error_pct=err, accuracy_pct=accuracy)
    sim_ref_tab.finish()
    ids = {m.id for m in meters}
    sims = {s.meter: s for s in (_parse_sim(t, ids) for t in tab.tables("sim"))}
    tab.finish()
    _check_source_range(plan, meters[0], plan_tab)
    return LabBenchSpec(plan=plan, reference_accuracy_pct=accuracy, source_resource=source,
                        reference_resource=reference, sim_reference=sim_reference, sim_meters=sims,
                        reference_calibration=calibration)


def _reference_calibration(tab: Table | None) -> str | None:
    """The reference standard's certificate (id and due date), stamped on every lab report."""
    if tab is None:
        return None
    cert = tab.get("id", str)
    raw = tab.get("due", (str, date))
    try:
        due = raw if isinstance(raw, date) else date.fromisoformat(raw)
    except ValueError:
        raise tab.error("due", f"not a date: {raw!r}", expected="YYYY-MM-DD") from None
    tab.finish()
    return f"{cert}, due {due.isoformat()}"
