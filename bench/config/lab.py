"""The lab part of a bench file: ``[lab]`` (the test plan, simulated meters) and ``[[instrument]]``.

A bench with a ``[lab]`` section is a lab bench: its meters have role ``mut`` (meter under test)
and a ``rating`` table, and ``meterbench run`` runs the lab suite on it instead of acquiring a day
in the field. Each ``[[instrument]]`` names the driver that fills a lab role (``source``,
``reference``) by its registry name (entry-point group ``meterbench.instruments``), so a lab with
another power source or reference standard says so in its bench file. Limits that belong to an
instrument (maximum current and voltage) come from its driver's registry entry. Documented in
``docs/accuracy.md`` and ``docs/bench-file.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from meterbench import registry
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
from meterbench.core.errors import UserError
from meterbench.core.timeutil import parse_duration
from meterbench.instruments.kinds import ROLES, InstrumentKind, OptionSpec
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
class InstrumentSpec:
    """One ``[[instrument]]``: which registered driver fills which lab role, and where it is."""

    role: str
    driver: str
    kind: InstrumentKind = field(repr=False, compare=False)
    resource: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    sim: dict[str, Any] = field(default_factory=dict)
    calibration: str | None = None  # "certificate id, due YYYY-MM-DD"

    def as_dict(self) -> dict[str, Any]:
        return dict(role=self.role, driver=self.driver, title=self.kind.title,
                    resource=self.resource, options=dict(self.options),
                    calibration=self.calibration, manual=self.kind.manual)


@dataclass(frozen=True)
class LabBenchSpec:
    plan: LabPlan
    instruments: dict[str, InstrumentSpec]
    sim_meters: dict[str, LabSimMeter] = field(default_factory=dict)

    @property
    def reference_accuracy_pct(self) -> float:
        """The reference standard's declared accuracy (its ``accuracy_pct`` option)."""
        return float(self.instruments["reference"].options["accuracy_pct"])

    def as_dict(self) -> dict[str, Any]:
        return dict(plan=self.plan.as_dict(), reference_accuracy_pct=self.reference_accuracy_pct,
                    instruments=[i.as_dict() for i in self.instruments.values()])


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


def _check_source_range(plan: LabPlan, meter: Any, source: InstrumentSpec, tab: Table) -> None:
    """Every planned current and voltage within the source's ranges (its registry entry's limits)."""
    rating = meter.rating
    currents = [p.current_a for p in plan_points(plan.kind, rating, list(plan.custom_points))]
    currents += [rating.i_ref]  # warm-up, dial and summation tests
    max_current = source.kind.limits.get("max_current_a")
    if max_current is not None and max(currents) > max_current:
        raise tab.error("kind" if plan.kind != "custom" else "points",
                        f"the plan needs {max(currents):g} A (Imax {rating.i_max:g} A)",
                        expected=f"currents within the power source's ({source.driver}) "
                                 f"{max_current:g} A")
    max_voltage = source.kind.limits.get("max_voltage_v")
    if max_voltage is not None and CREEP_VOLTAGE_FACTOR * rating.u_n > max_voltage:
        raise tab.error("creep", f"1.15 · Un = {CREEP_VOLTAGE_FACTOR * rating.u_n:g} V",
                        expected=f"within the power source's ({source.driver}) {max_voltage:g} V")


#: ``[lab]`` keys of earlier bench files, now said in ``[[instrument]]`` tables.
_MOVED_KEYS = ("source", "reference", "reference_accuracy_pct", "reference_calibration",
               "sim_reference")


def _option(tab: Table, key: str, spec: OptionSpec) -> Any:
    return tab.get(key, spec.kind, spec.default)


def parse_instrument(tab: Table, simulate: bool) -> InstrumentSpec:
    """One ``[[instrument]]`` table, checked against its driver's registry entry."""
    role = tab.get("role", str, choices=tuple(ROLES))
    name = tab.get("driver", str)
    try:
        kind = registry.load_object(registry.INSTRUMENTS, name, what="instrument driver")
    except registry.RegistryError as exc:
        raise tab.error("driver", str(exc), expected=exc.expected) from None
    if not isinstance(kind, InstrumentKind):
        raise tab.error("driver", f"{name!r} is registered but is not an InstrumentKind",
                        expected="an entry point naming a meterbench.instruments.kinds."
                                 "InstrumentKind")
    if role not in kind.roles:
        raise tab.error("role", f"driver {name!r} ({kind.title}) cannot be the {role}",
                        expected="one of its roles: " + ", ".join(kind.roles))
    tab.declare("role", "driver", "resource", "calibration", "sim", *kind.options)
    resource = tab.get("resource", str, None)
    if not simulate and resource is None:
        raise tab.error("resource", f"a real lab bench needs the {role}'s VISA resource",
                        expected='e.g. "TCPIP::192.0.2.10::3490::SOCKET" or "GPIB0::22::INSTR"')
    if simulate and kind.simulate is None:
        raise tab.error("driver", f"{name!r} has no simulator", expected="a real bench "
                        "(simulate = false) or a driver with a simulator")
    options = {key: _option(tab, key, spec) for key, spec in kind.options.items()}
    for key, value in options.items():
        if isinstance(value, float) and key.endswith("_pct") and not value > 0:
            raise tab.error(key, f"{value} is not positive", expected=kind.options[key].help)
    sim_tab = tab.table("sim", {})
    assert sim_tab is not None
    sim_tab.declare(*kind.sim_options)
    sim = {key: _option(sim_tab, key, spec) for key, spec in kind.sim_options.items()}
    declared = options.get("accuracy_pct")
    if declared is not None and abs(sim.get("error_pct", 0.0)) > declared:
        raise sim_tab.error("error_pct", f"{sim['error_pct']} % exceeds the declared accuracy "
                            f"{declared} %", expected="|error_pct| ≤ accuracy_pct (the simulated "
                            "certificate must be honest)")
    sim_tab.finish()
    calibration = _calibration(tab.table("calibration", None))
    tab.finish()
    return InstrumentSpec(role=role, driver=name, kind=kind, resource=resource, options=options,
                          sim=sim, calibration=calibration)


def parse_instruments(tabs: list[Table], simulate: bool) -> dict[str, InstrumentSpec]:
    """Every ``[[instrument]]``, one per role; a lab bench needs a source and a reference."""
    found: dict[str, InstrumentSpec] = {}
    for tab in tabs:
        spec = parse_instrument(tab, simulate)
        if spec.role in found:
            raise tab.error("role", f"two instruments have role {spec.role!r}",
                            expected="one instrument per role")
        found[spec.role] = spec
    return found


def parse_lab(tab: Table, meters: tuple[Any, ...], instruments: dict[str, InstrumentSpec],
              simulate: bool) -> LabBenchSpec:
    """The ``[lab]`` table; ``meters`` are the bench's parsed ``[[meter]]`` entries and
    ``instruments`` its ``[[instrument]]`` tables."""
    for key in _MOVED_KEYS:
        if key in tab.data:
            raise tab.error(key, "moved: lab instruments are named in [[instrument]] tables",
                            expected='[[instrument]] role = "source" | "reference", driver = '
                                     '"<registered driver>", resource = "<VISA resource>" (a '
                                     "reference's accuracy_pct, calibration and sim options go "
                                     "there too; docs/bench-file.md)")
    if not meters:
        raise tab.error("meter", "a lab bench needs meters under test", expected="[[meter]] with role = \"mut\"")
    for i, m in enumerate(meters):
        if m.role != "mut":
            raise tab.error("meter", f"meter[{i}] {m.id!r} has role {m.role!r}",
                            expected="role = \"mut\" for every meter of a lab bench")
        if m.rating is None:
            raise tab.error("meter", f"meter[{i}] {m.id!r} has no rating",
                            expected="a rating table (i_min, i_tr, i_ref, i_max, ...)")
    missing = [role for role in ("source", "reference") if role not in instruments]
    if missing:
        raise UserError(f"a lab bench needs a {missing[0]}", source=tab.source, field="instrument",
                        expected=f'[[instrument]] role = "{missing[0]}", driver = one of '
                                 + ", ".join(_drivers_for(missing[0])))
    ratings = {(m.rating.i_min, m.rating.i_tr, m.rating.i_ref, m.rating.i_max, m.rating.u_n,
                m.rating.f_n) for m in meters}
    if len(ratings) > 1:
        raise tab.error("meter", "meters under test on one source need the same rated currents "
                        "(Imin, Itr, Iref, Imax), Un and f",
                        expected="one lab bench per rating")
    plan_tab = tab.table("plan", {})
    assert plan_tab is not None
    plan = _parse_plan(plan_tab, meters)
    ids = {m.id for m in meters}
    sims = {s.meter: s for s in (_parse_sim(t, ids) for t in tab.tables("sim"))}
    tab.finish()
    _check_source_range(plan, meters[0], instruments["source"], plan_tab)
    return LabBenchSpec(plan=plan, instruments=instruments, sim_meters=sims)


def _drivers_for(role: str) -> list[str]:
    """Registered drivers that can fill ``role`` (for an error message)."""
    out = []
    for name in registry.names(registry.INSTRUMENTS):
        try:
            kind = registry.load_object(registry.INSTRUMENTS, name, what="instrument driver")
        except registry.RegistryError:
            continue
        if role in getattr(kind, "roles", ()):
            out.append(name)
    return out or ["(none installed)"]


def _calibration(tab: Table | None) -> str | None:
    """An instrument's calibration certificate (id and due date), stamped on every lab report."""
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
