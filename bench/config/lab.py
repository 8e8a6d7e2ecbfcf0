"""The lab part of a bench file: ``[lab]`` (the test plan, simulated meters) and ``[[instrument]]``.

A bench with a ``[lab]`` section is a lab bench: its meters have role ``mut`` (meter under test)
and a ``rating`` table, and ``meterbench run`` runs the lab suite on it instead of acquiring a day
in the field. Each ``[[instrument]]`` names the driver that fills a lab role (``source``,
``reference``, ``error_calculator``) by its registry name (entry-point group
``meterbench.instruments``), so a lab with another power source, reference standard or error
calculator says so in its bench file; an error calculator serves one meter position
(``meter = "<id>"``). Limits that belong to an instrument (maximum current and voltage) come from
its driver's registry entry; the error limits come from a limits table (built in: MID Annex V
Table 2; ``[lab.plan] limits`` names a lab's own). Documented in ``docs/accuracy.md`` and
``docs/bench-file.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from meterbench import registry
from meterbench.accuracy.decision import RULES
from meterbench.accuracy.evaluate import limit_for
from meterbench.accuracy.executor import METHODS, LabSettings
from meterbench.accuracy.job import LIMIT_BASES, LabPlan
from meterbench.accuracy.limit_table import LimitTable, NoLimit, load_limit_table
from meterbench.accuracy.limits import CREEP_VOLTAGE_FACTOR, mid_table
from meterbench.accuracy.plans import (
    PF_ANGLE_DEG,
    PHASE_SETS,
    PLAN_KINDS,
    custom_points,
    plan_points,
    rated_current,
)
from meterbench.config.strict_toml import Table
from meterbench.core.errors import UserError
from meterbench.core.timeutil import parse_duration
from meterbench.instruments.kinds import ROLES, InstrumentKind, OptionSpec
from meterbench.instruments.sim.lab import slot
from meterbench.instruments.sim.meter import ErrorCurve

#: Roles whose instrument serves one meter position (``meter = "<id>"`` in its table).
PER_METER_ROLES = ("error_calculator",)


@dataclass(frozen=True)
class LabSimMeter:
    """How a simulated meter under test is built (``[[lab.sim]]``)."""

    meter: str
    error: ErrorCurve = field(default_factory=ErrorCurve)
    starting_current_a: float = 0.0
    creep_w: float = 0.0
    summation: bool = True
    import_kwh: float = 0.0
    pulse_jitter_ms: float = 0.0


@dataclass(frozen=True)
class InstrumentSpec:
    """One ``[[instrument]]``: which registered driver fills which lab role, and where it is;
    a per-position instrument (an error calculator) also names its meter under test."""

    role: str
    driver: str
    kind: InstrumentKind = field(repr=False, compare=False)
    resource: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    sim: dict[str, Any] = field(default_factory=dict)
    calibration: str | None = None  # "certificate id, due YYYY-MM-DD"
    meter: str | None = None

    @property
    def slot(self) -> str:
        return slot(self.role, self.meter)

    def as_dict(self) -> dict[str, Any]:
        return dict(role=self.role, driver=self.driver, title=self.kind.title,
                    resource=self.resource, options=dict(self.options), meter=self.meter,
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

    def error_calculator(self, meter_id: str) -> InstrumentSpec | None:
        return self.instruments.get(slot("error_calculator", meter_id))

    def as_dict(self) -> dict[str, Any]:
        return dict(plan=self.plan.as_dict(), reference_accuracy_pct=self.reference_accuracy_pct,
                    instruments=[i.as_dict() for i in self.instruments.values()])


def _ms(tab: Table, key: str, default: str) -> int:
    return parse_duration(tab.get(key, str, default), source=tab.source, field=tab.field(key))


def _parse_plan(tab: Table, meters: tuple[Any, ...]) -> LabPlan:
    kind = tab.get("kind", str, "initial", choices=PLAN_KINDS)
    points = []
    for item in tab.tables("points"):
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
    _check_point_names(tab, points, meters[0].rating)
    if kind == "custom" and not points:
        raise tab.error("points", "a custom plan needs points", expected='[{current = "Iref", pf = "1"}]')
    if kind != "custom" and points:
        raise tab.error("points", f"points are only read for kind = \"custom\", not {kind!r}",
                        expected="kind = \"custom\" for your own points, or no points with "
                                 f"kind = {kind!r}")
    limits_file = tab.get("limits", str, None)
    table = _limits(tab, limits_file) if limits_file is not None else None
    temperature = tab.get("temperature_c", float, 23.0)
    try:
        band = (table or mid_table()).band_index(temperature)
    except ValueError as exc:
        raise tab.error("temperature_c", str(exc),
                        expected="a temperature within the limits table's bands") from None
    fraction = tab.get("uncertainty_fraction", float, 1.0 / 3.0)
    if not 0 < fraction <= 1:
        raise tab.error("uncertainty_fraction", f"{fraction} is out of range", expected="0 < f ≤ 1")
    settings = LabSettings(
        settle_ms=_ms(tab, "settle", "10s"), warmup_ms=_ms(tab, "warmup", "30min"),
        uncertainty_fraction=fraction, min_gate_ms=_ms(tab, "min_gate", "30s"),
        max_gate_ms=_ms(tab, "max_gate", "4h"),
        timing_window_ms=float(_ms(tab, "timing_window", "1s")), band=band,
        method=tab.get("method", str, "pulse", choices=METHODS),
        min_pulses=tab.get("min_pulses", int, 25),
        pulse_timing_ms=tab.get("pulse_timing_ms", float, 1.0))
    if settings.max_gate_ms < settings.min_gate_ms:
        raise tab.error("max_gate", f"{settings.max_gate_ms / 1000:g} s is shorter than min_gate "
                        f"{settings.min_gate_ms / 1000:g} s",
                        expected="max_gate ≥ min_gate (the planner plans between them)")
    if settings.min_pulses < 1:
        raise tab.error("min_pulses", f"{settings.min_pulses} is not positive",
                        expected="a whole number of meter pulses ≥ 1")
    if not settings.pulse_timing_ms >= 0:
        raise tab.error("pulse_timing_ms", f"{settings.pulse_timing_ms} is negative",
                        expected="the standard uncertainty of a pulse edge's time, ms ≥ 0")
    services = (table or mid_table()).in_service
    country = tab.get("country", str, "DK", choices=tuple(services) or ("DK",))
    plan = LabPlan(kind=kind, custom_points=tuple(points),
                   rule=tab.get("rule", str, "non_binary", choices=RULES),
                   limit_basis=tab.get("limit", str, "mpe", choices=LIMIT_BASES), country=country,
                   settings=settings, starting=tab.get("starting", bool, True),
                   creep=tab.get("creep", bool, True),
                   creep_ms=_ms(tab, "creep_duration", "20min"),
                   dial_kwh=tab.get("dial_kwh", float, 0.0),
                   summation=tab.get("summation", bool, True), limits=table)
    if plan.creep and plan.creep_ms <= 0:  # (with creep = false the duration is not used)
        # a no-load test of no time registers nothing, so it would pass whatever the meter does
        raise tab.error("creep_duration", f"{plan.creep_ms / 1000:g} s cannot fail",
                        expected="a duration longer than 0 s, e.g. \"20min\" (or creep = false "
                                 "to leave the no-load test out)")
    if plan.dial_kwh < 0:
        # a negative energy is no test at all: the register test silently disappeared
        raise tab.error("dial_kwh", f"{plan.dial_kwh:g} kWh is negative",
                        expected="the energy of the register (dial) test in kWh > 0, or 0 for no "
                                 "register test")
    if plan.limit_basis == "in_service" and country not in services:
        raise tab.error("limit", f"{plan.table.name} gives no in-service factor for {country}",
                        expected="limit = \"mpe\", or a limits file with [in_service."
                                 f"{country}]")
    tab.finish()
    return plan


def _check_point_names(tab: Table, points: list[dict[str, Any]], rating: Any) -> None:
    """Every custom point's name (given, or made from its current, PF and phases) is unique:
    a point's rising and falling runs are paired by its name, so two points of one name would be
    merged into one record whose mean hides a failing point."""
    seen: dict[str, int] = {}
    for i, p in enumerate(custom_points(points, rating)):
        key = " ".join(p.name.split())  # "x" and "x " read the same in every table
        if key in seen:
            j = seen[key]
            how = "" if points[i]["name"] else " (made from its current, PF and phases)"
            raise UserError(f"point {i} has the same name {p.name!r}{how} as point {j}",
                            source=tab.source, field=f"{tab.field('points')}[{i}].name",
                            expected="a name unique in the plan (name = \"...\")")
        seen[key] = i


def _limits(tab: Table, path_text: str) -> LimitTable:
    """A lab's limits file, relative to the bench file."""
    path = Path(path_text)
    if not path.is_absolute() and tab.source:
        path = Path(tab.source).parent / path
    expected = "a TOML limits file (docs/accuracy.md, \"Limits files\")"
    if path.is_dir():
        raise tab.error("limits", f"{path} is a directory, not a limits file", expected=expected)
    if not path.is_file():
        raise tab.error("limits", f"limits file not found: {path}", expected=expected)
    return load_limit_table(path)


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
                       import_kwh=tab.get("import_kwh", float, 0.0),
                       pulse_jitter_ms=tab.get("pulse_jitter_ms", float, 0.0))
    if spec.pulse_jitter_ms < 0:
        raise tab.error("pulse_jitter_ms", "negative", expected="±ms of the simulated test "
                        "output's jitter, ≥ 0")
    tab.finish()
    return spec


def _check_source_range(plan: LabPlan, meter: Any, source: InstrumentSpec, tab: Table) -> None:
    """Every planned current and voltage within the source's ranges (its registry entry's limits)."""
    rating = meter.rating
    currents = [p.current_a for p in plan_points(plan.kind, rating, list(plan.custom_points))]
    currents += [rating.i_ref]  # warm-up, dial and summation tests
    max_current = source.kind.limits.get("max_current_a")
    if max_current is not None and max(currents) > max_current:
        expected = f"currents within the power source's ({source.driver}) {max_current:g} A"
        if plan.kind != "custom" or max(currents) in (rating.i_max, rating.i_ref):
            # the rating sets the plan's currents: the rating is what to edit (or the source)
            key = "i_max" if max(currents) == rating.i_max else "i_ref"
            raise UserError(f"the plan needs {max(currents):g} A ({key} {max(currents):g} A)",
                            source=tab.source, field=f"meter[*].rating.{key}", expected=expected)
        raise tab.error("points", f"the plan needs {max(currents):g} A", expected=expected)
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
    tab.declare("role", "driver", "resource", "calibration", "sim", *kind.options,
                *(("meter",) if role in PER_METER_ROLES else ()))
    meter = tab.get("meter", str, None) if role in PER_METER_ROLES else None
    resource = tab.get("resource", str, None)
    if not simulate and resource is None:
        raise tab.error("resource", f"a real lab bench needs the {role}'s VISA resource",
                        expected='e.g. "TCPIP::192.0.2.10::3490::SOCKET" or "GPIB0::22::INSTR"')
    if simulate and kind.simulate is None:
        raise tab.error("driver", f"{name!r} has no simulator", expected="a real bench "
                        "(simulate = false) or a driver with a simulator")
    options = {key: _option(tab, key, spec) for key, spec in kind.options.items()}
    for key, value in options.items():
        must_be_positive = kind.options[key].positive or key.endswith("_pct")
        if isinstance(value, float) and must_be_positive and not value > 0:
            raise tab.error(key, f"{value:g} is not positive",
                            expected=f"a number > 0: {kind.options[key].help}")
    sim_tab = tab.table("sim", {})
    assert sim_tab is not None
    sim_tab.declare(*kind.sim_options)
    sim = {key: _option(sim_tab, key, spec) for key, spec in kind.sim_options.items()}
    sim = {key: value for key, value in sim.items() if value is not None}  # None: the simulator's own
    declared = options.get("accuracy_pct")
    if declared is not None and abs(sim.get("error_pct", 0.0)) > declared:
        raise sim_tab.error("error_pct", f"{sim['error_pct']} % exceeds the declared accuracy "
                            f"{declared} %", expected="|error_pct| ≤ accuracy_pct (the simulated "
                            "certificate must be honest)")
    sim_tab.finish()
    calibration = _calibration(tab.table("calibration", None))
    tab.finish()
    return InstrumentSpec(role=role, driver=name, kind=kind, resource=resource, options=options,
                          sim=sim, calibration=calibration, meter=meter)


def parse_instruments(tabs: list[Table], simulate: bool) -> dict[str, InstrumentSpec]:
    """Every ``[[instrument]]``, one per role (per meter for an error calculator), by slot; a lab
    bench needs a source and a reference."""
    found: dict[str, InstrumentSpec] = {}
    for tab in tabs:
        spec = parse_instrument(tab, simulate)
        if spec.slot in found:
            where = f" for meter {spec.meter!r}" if spec.meter else ""
            raise tab.error("role", f"two instruments have role {spec.role!r}{where}",
                            expected="one instrument per role (one error calculator per meter)")
        found[spec.slot] = spec
    return found


def _place_error_calculators(instruments: dict[str, InstrumentSpec], meters: tuple[Any, ...],
                             tab: Table) -> dict[str, InstrumentSpec]:
    """Each error calculator at a meter under test: the one it names, or the only one."""
    out: dict[str, InstrumentSpec] = {}
    ids = [m.id for m in meters]
    for i, spec in enumerate(instruments.values()):
        field = f"instrument[{i}].meter"
        if spec.role in PER_METER_ROLES:
            meter = spec.meter
            if meter is None:
                if len(ids) != 1:
                    raise UserError(f"the {spec.role} ({spec.driver}) names no meter",
                                    source=tab.source, field=field,
                                    expected="meter = one of " + ", ".join(ids))
                meter = ids[0]
            if meter not in ids:
                raise UserError(f"the {spec.role} ({spec.driver}) names meter {meter!r}",
                                source=tab.source, field=field,
                                expected="the id of a [[meter]] with role mut: " + ", ".join(ids))
            spec = replace(spec, meter=meter)
            if spec.slot in out:
                raise UserError(f"two {spec.role}s at meter {meter!r}", source=tab.source,
                                field=field, expected="one per meter under test")
        out[spec.slot] = spec
    return out


def _check_limits(plan: LabPlan, meters: tuple[Any, ...], tab: Table) -> None:
    """Every planned point (and Iref, for the register and summation tests) has a limit in the
    plan's table for every meter's class, so no verdict is left without one mid-run."""
    table = plan.table
    for m in meters:
        if m.rating.accuracy_class not in table.classes:
            raise tab.error("limits", f"meter {m.id!r} is class {m.rating.accuracy_class!r}, "
                            f"which {table.name} does not list",
                            expected=f"a limits file with class {m.rating.accuracy_class} "
                                     f"(this one has {', '.join(table.classes)})")
        points = plan_points(plan.kind, m.rating, list(plan.custom_points))
        for p in points:
            load = "balanced" if len(p.phases) == 3 else "single_phase"
            try:
                limit_for(m.rating, p.current_a, basis=plan.limit_basis, country=plan.country,
                          band=plan.settings.band, pf=p.pf, load=load, table=table)
            except NoLimit as exc:
                raise tab.error("limits", f"point {p.name!r} of meter {m.id!r}: {exc}",
                                expected="a limits table with a row for it (docs/accuracy.md, "
                                         "\"Limits files\"), or a plan without that point") from None


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
    _check_limits(plan, meters, plan_tab)
    return LabBenchSpec(plan=plan, instruments=_place_error_calculators(instruments, meters, tab),
                        sim_meters=sims)


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
