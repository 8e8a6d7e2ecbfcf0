"""The bench description (a TOML file): site topology, meters, loads, run plan.

One description serves two worlds: with ``simulate = true`` (or ``--bench-sim``) the bench starts
real Modbus servers on 127.0.0.1 for every meter, driven by the loads described here; otherwise the
transports name real devices. The format is documented in ``docs/bench-file.md``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from meterbench import registry
from meterbench.accuracy.rating import parse_rating
from meterbench.config.strict_toml import (
    MAX_TOML_BYTES,
    NON_NEGATIVE,
    POSITIVE,
    Range,
    Table,
    load_toml,
)
from meterbench.core.bounded import read_text_bounded
from meterbench.core.errors import UserError
from meterbench.core.gs1 import is_valid_gs1
from meterbench.core.timeutil import (
    SUPPORTED_END_MS,
    SUPPORTED_START_MS,
    parse_duration,
    to_ms,
)
from meterbench.instruments.errors import ConfigError
from meterbench.instruments.registers import load_register_map
from meterbench.instruments.sim.constant import ConstantCircuit
from meterbench.instruments.sim.faults import FaultSchedule
from meterbench.instruments.sim.meter import SimMeter
from meterbench.instruments.sim.served import ServedMeter
from meterbench.pipeline.localday import known_zone

ROLES = ("main", "operator", "reference", "mut")
CLASSES = ("A", "B", "C")
LOAD_KINDS = ("base", "sessions", "cycling")
CLOCKS = ("virtual", "scaled", "real")
TRANSPORTS = ("tcp", "rtu", "rtu_over_tcp")
#: Metering point types (RSM-012 code list): E17 consumption, E18 production, E20 exchange, child types.
MP_TYPES = ("E17", "E18", "E20", "D01", "D06", "D07", "D14", "D15", "D99")

# ---- the model's ranges (documented in docs/bench-file.md, "Ranges and limits") -------------------
#: A seed is what numpy's generator accepts: a non-negative integer.
SEED = Range(0)
#: The scaled clock's speed, simulated seconds per wall second: design limits of the bench. Below
#: 0.01 a poll period of a minute takes 100 minutes of wall time (the clock has in effect
#: stopped); above 10^6 a whole year passes in 32 wall seconds, faster than any meter answers.
SCALE = Range(0.01, 1e6)
#: A simulated meter's own error in %: -100 % would be a register that never moves, below it one
#: that runs backwards; the simulator takes any error above that up to +100 % (a meter counting
#: double), far beyond every class's MPE, so a failing meter can still be simulated.
ERROR_PCT = Range(-100.0, 100.0, lo_open=True)
#: Serial line speed in baud: positive; 4 Mbaud is above every RS485 Modbus adapter's rate.
BAUD = Range(1, 4_000_000)
#: Seconds a driver waits for an answer: positive, and at most a minute (a longer wait would hold
#: a poll through several poll periods; design limit).
TIMEOUT_S = Range(0.0, 60.0, lo_open=True)
#: A meter clock's offset (s) and drift (ppm) in the simulator: a day and 1000 ppm (86 s a day)
#: are far beyond what a clock check tolerates, and keep simulated meter clocks inside the
#: supported dates.
CLOCK_OFFSET_S = Range(-86_400.0, 86_400.0)
CLOCK_DRIFT_PPM = Range(-1000.0, 1000.0)
#: The shortest on or off phase of a cycling load, and the most on/off switchings one load may
#: make over a run (design limits: the simulated world is built in memory before the run starts,
#: about 200 bytes per switching and meter).
MIN_CYCLE_PHASE_MS = 1000
MAX_SWITCHINGS = 200_000
#: The coarsest step an energy register may have at its largest value in the run: a register that
#: cannot show a change of 1 kWh measures nothing a verdict could use.
MAX_REGISTER_STEP_KWH = 1.0


@dataclass(frozen=True)
class TransportSpec:
    kind: str = "tcp"
    host: str = "127.0.0.1"
    port: int = 502
    device: str = ""
    baud: int = 9600
    parity: str = "N"
    stopbits: int = 1
    unit: int = 1
    timeout_s: float = 1.0
    explicit: bool = False  # given in the bench file (simulated meters sharing one share a gateway)

    @property
    def gateway_key(self) -> str:
        """Meters with the same key are on one connection: a TCP gateway or one serial bus."""
        return f"rtu:{self.device}" if self.kind == "rtu" else f"{self.kind}:{self.host}:{self.port}"


@dataclass(frozen=True)
class SimMeterSpec:
    error_pct: float = 0.0
    initial_import_kwh: float = 0.0
    initial_export_kwh: float = 0.0
    summation: bool = True
    faults: tuple[dict[str, Any], ...] = ()
    clock_offset_s: float = 0.0  # the meter's own clock (models with a clock register)
    clock_drift_ppm: float = 0.0


@dataclass(frozen=True)
class MeterSpec:
    id: str
    role: str
    model: str
    accuracy_class: str
    transport: TransportSpec
    loads: tuple[str, ...]
    sim: SimMeterSpec
    reference_for: str | None = None
    gsrn: str | None = None
    max_power_w: float | None = None
    rollover_kwh: float | None = None
    mp_type: str = "E17"
    name: str = ""
    calibration_id: str | None = None
    calibration_due: date | None = None
    poll_ms: int | None = None  # overrides [run] poll_period for this meter
    rating: Any = None  # meterbench.accuracy.rating.MeterRating, from the optional ``rating`` table

    @property
    def label(self) -> str:
        """What reports show: the free-text name when given, else the id."""
        return self.name or self.id

    @property
    def plausible_power_w(self) -> float | None:
        """The most power a register increase may imply before it is an implausible jump.

        ``max_power_w`` when the bench file declares it; else the meter's rated maximum from its
        ``rating`` table: Imax × Un on each phase the model measures (a meter does not carry more
        than its rated maximum current at its rated voltage); None when neither is known.
        """
        if self.max_power_w is not None:
            return self.max_power_w
        if self.rating is None:
            return None
        phases = 3 if "current.l3" in load_register_map(self.model).channels else 1
        return float(self.rating.i_max * self.rating.u_n * phases)


@dataclass(frozen=True)
class LoadSpec:
    id: str
    kind: str
    power_w: float = 0.0
    mean_w: float = 0.0
    peak_w: float = 0.0
    phases: str = "3"
    power_factor: float = 1.0
    sessions: tuple[tuple[str, str], ...] = ()
    on_ms: int = 0
    off_ms: int = 0
    producing: bool = False  # a generator (PV): its power flows to the grid


@dataclass(frozen=True)
class RunSpec:
    start_ms: int
    end_ms: int
    poll_ms: int
    clock: str
    scale: float
    jitter_ms: int
    local_date: date
    days: int
    #: Meter clocks may differ from the bench's by at most this (preset: Flanders' 10 s, Technisch
    #: Reglement Distributie Elektriciteit Art. 3.2.4 §2).
    clock_tolerance_ms: int = 10_000


@dataclass(frozen=True)
class DatahubSpec:
    sender_gln: str
    receiver_gln: str
    virtual_main_gsrn: str | None


@dataclass(frozen=True)
class BenchConfig:
    name: str
    source: str
    sha256: str
    timezone: str
    seed: int
    simulate: bool
    run: RunSpec
    meters: tuple[MeterSpec, ...]
    loads: tuple[LoadSpec, ...]
    datahub: DatahubSpec
    lab: Any = None  # meterbench.config.lab.LabBenchSpec for a bench with a ``[lab]`` section

    @property
    def kind(self) -> str:
        """``lab`` (a ``[lab]`` section: test points on a source) or ``field`` (a site's day)."""
        return "field" if self.lab is None else "lab"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def meter(self, meter_id: str) -> MeterSpec:
        for m in self.meters:
            if m.id == meter_id:
                return m
        raise KeyError(meter_id)

    def by_role(self, role: str) -> tuple[MeterSpec, ...]:
        return tuple(m for m in self.meters if m.role == role)

    @property
    def main(self) -> MeterSpec:
        return self.by_role("main")[0]

    @property
    def virtual_point(self) -> str:
        """The site's virtual main point as records name it: its GSRN when the bench gives one.

        Every netting record is about this one point, so they share this subject.
        """
        return self.datahub.virtual_main_gsrn or f"virtual main point of {self.main.id}"

    def load(self, load_id: str) -> LoadSpec:
        return next(x for x in self.loads if x.id == load_id)


def builtin_names() -> list[str]:
    """Benches registered under the entry-point group ``meterbench.benches`` (meterbench's own
    ``sim`` and ``sim-lab``, and any a vendor's package adds)."""
    return registry.names(registry.BENCHES)


def resolve(name_or_path: str) -> tuple[str, str]:
    """(source label, TOML text) for a registered bench name or a file path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists() or "/" in name_or_path:
        if not path.exists():
            raise UserError("bench file not found", source=name_or_path,
                            expected="a bench TOML file or a built-in name: "
                            + ", ".join(builtin_names()))
        return str(path), read_text_bounded(path, MAX_TOML_BYTES, what="bench file")
    try:
        text = registry.data_file(registry.BENCHES, name_or_path, what="bench").read_text("utf-8")
    except registry.RegistryError as exc:
        raise UserError(str(exc), expected="a bench TOML file or a registered bench: "
                        + ", ".join(builtin_names())) from None
    return f"builtin:{name_or_path}", text


def load_bench(name_or_path: str, *, force_simulate: bool = False) -> BenchConfig:
    source, text = resolve(name_or_path)
    data = load_toml(Path(source), text)
    return parse_bench(data, source=source, text=text, force_simulate=force_simulate)


def _local_clock(text: str, tab: Table, key: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise tab.error(key, f"not a local time of day: {text!r}", expected="HH:MM or HH:MM:SS") from None


def _parse_run(tab: Table, tz: ZoneInfo) -> RunSpec:
    tab.declare("date", "days", "poll_period", "clock", "scale", "poll_jitter", "clock_tolerance")
    raw_date = tab.get("date", (str, date))
    try:
        day = raw_date if isinstance(raw_date, date) else date.fromisoformat(raw_date)
    except ValueError:
        raise tab.error("date", f"not a date: {raw_date!r}", expected="YYYY-MM-DD") from None
    days = tab.get("days", int, 1)
    if not 1 <= days <= 366:
        raise tab.error("days", f"{days} is out of range", expected="1..366")
    poll_ms = parse_duration(tab.get("poll_period", str, "1min"), source=tab.source,
                             field=tab.field("poll_period"))
    if not 1000 <= poll_ms <= 15 * 60_000:
        raise tab.error("poll_period", "out of range", expected="between 1s and 15min")
    clock = tab.get("clock", str, "virtual", choices=CLOCKS)
    scale = tab.get("scale", float, 60.0, within=SCALE)
    jitter_ms = parse_duration(tab.get("poll_jitter", str, "0s"), source=tab.source,
                               field=tab.field("poll_jitter"))
    if jitter_ms >= poll_ms:
        raise tab.error("poll_jitter", "must be shorter than the poll period")
    clock_tol = parse_duration(tab.get("clock_tolerance", str, "10s"), source=tab.source,
                               field=tab.field("clock_tolerance"))
    if clock_tol <= 0:
        raise tab.error("clock_tolerance", "must be longer than 0 s", expected="e.g. 10s")
    tab.finish()
    start_ms, end_ms = _supported_period(tab, day, days, tz)
    return RunSpec(start_ms, end_ms, poll_ms, clock, scale, jitter_ms, day, days, clock_tol)


def _supported_period(tab: Table, day: date, days: int, tz: ZoneInfo) -> tuple[int, int]:
    """The run's period in epoch ms, refused unless it lies (with a day of margin on both sides,
    for the simulated world and pre-roll polls) inside the supported dates."""
    margin = 86_400_000
    first_ok = (date(1970, 1, 1) + timedelta(days=2)).isoformat()
    last_ok = (date(2100, 1, 1) - timedelta(days=2 + days)).isoformat()
    try:
        start = to_ms(datetime.combine(day, time(0), tzinfo=tz))
        end = to_ms(datetime.combine(day + timedelta(days=days), time(0), tzinfo=tz))
    except (OverflowError, ValueError):  # 9999-12-31 + 1 day: no such date
        start = end = SUPPORTED_END_MS
    if start - margin < SUPPORTED_START_MS or end + margin > SUPPORTED_END_MS:
        raise tab.error("date", f"{day.isoformat()} is outside the supported range",
                        expected=f"a date from {first_ok} to {last_ok} for {days} day(s)")
    return start, end


def _parse_transport(tab: Table | None) -> TransportSpec:
    if tab is None:
        return TransportSpec()
    tab.declare("kind", "host", "port", "device", "baud", "parity", "stopbits", "unit", "timeout")
    spec = TransportSpec(
        kind=tab.get("kind", str, "tcp", choices=TRANSPORTS),
        host=tab.get("host", str, "127.0.0.1"),
        port=tab.get("port", int, 502),
        device=tab.get("device", str, ""),
        baud=tab.get("baud", int, 9600, within=BAUD),
        parity=tab.get("parity", str, "N", choices=("N", "E", "O")),
        stopbits=tab.get("stopbits", int, 1, choices=(1, 2)),
        unit=tab.get("unit", int, 1),
        timeout_s=tab.get("timeout", float, 1.0, within=TIMEOUT_S),
        explicit=True,
    )
    if not 0 <= spec.port <= 65535:
        raise tab.error("port", f"{spec.port} is not a TCP port", expected="0..65535")
    if not 1 <= spec.unit <= 247:
        raise tab.error("unit", f"{spec.unit} is not a Modbus unit id", expected="1..247")
    if spec.kind == "rtu" and not spec.device:
        raise tab.error("device", "an RTU transport needs a serial device", expected="e.g. /dev/ttyUSB0")
    tab.finish()
    return spec


def _checked_faults(tab: Table, model: str) -> tuple[dict[str, Any], ...]:
    """The meter's scripted faults, refused here when the simulated server would refuse them.

    The check is the server's own (a :class:`ServedMeter` of the model is built with them), so a
    fault the model cannot show (NaN in an integer register, a sentinel it does not define) stops
    the bench file from loading instead of failing mid-session after devices were started.
    """
    faults = tuple(t.data for t in tab.tables("faults"))
    if not faults:
        return faults
    try:
        ServedMeter(SimMeter(ConstantCircuit(), start_ms=0), load_register_map(model),
                    FaultSchedule(faults, source=tab.source))
    except ConfigError as exc:
        raise UserError(exc.message, source=tab.source,
                        field=tab.field(exc.field) if exc.field else tab.path,
                        expected=exc.expected) from None
    return faults


def _parse_sim_meter(tab: Table | None, model: str) -> SimMeterSpec:
    if tab is None:
        return SimMeterSpec()
    tab.declare("error_pct", "initial_import_kwh", "initial_export_kwh", "summation", "faults",
                "clock_offset_s", "clock_drift_ppm")
    faults = _checked_faults(tab, model)
    spec = SimMeterSpec(
        error_pct=tab.get("error_pct", float, 0.0, within=ERROR_PCT),
        initial_import_kwh=tab.get("initial_import_kwh", float, 0.0, within=NON_NEGATIVE),
        initial_export_kwh=tab.get("initial_export_kwh", float, 0.0, within=NON_NEGATIVE),
        summation=tab.get("summation", bool, True),
        faults=faults,
        clock_offset_s=tab.get("clock_offset_s", float, 0.0, within=CLOCK_OFFSET_S),
        clock_drift_ppm=tab.get("clock_drift_ppm", float, 0.0, within=CLOCK_DRIFT_PPM),
    )
    tab.finish()
    return spec


METER_KEYS = ("id", "role", "model", "class", "transport", "loads", "sim", "reference_for", "gsrn",
              "max_power_w", "rollover_kwh", "metering_point_type", "name", "calibration",
              "poll_period", "rating")


def _parse_meter(tab: Table, load_ids: set[str]) -> MeterSpec:
    tab.declare(*METER_KEYS)
    mid = tab.get("id", str)
    if not mid or not all(c.isalnum() or c in "_-" for c in mid):
        raise tab.error("id", f"invalid meter id {mid!r}", expected="letters, digits, _ and -")
    loads = tuple(tab.get("loads", list, []))
    for i, name in enumerate(loads):
        if not isinstance(name, str):
            raise tab.error(f"loads[{i}]", f"wrong type {type(name).__name__}",
                            expected="a load id (a string)")
        if name not in load_ids:
            raise tab.error("loads", f"unknown load {name!r}",
                            expected="one of " + ", ".join(sorted(load_ids)))
    gsrn = tab.get("gsrn", str, None)
    accuracy_class = _accuracy_class(tab)
    rating_tab = tab.table("rating", None)
    if gsrn is not None and not is_valid_gs1(gsrn, 18):
        raise tab.error("gsrn", f"{gsrn!r} is not a valid GSRN", expected="18 digits with a GS1 check digit")
    model = _checked_model(tab)
    spec = MeterSpec(
        id=mid,
        role=tab.get("role", str, choices=ROLES),
        model=model,
        accuracy_class=accuracy_class,
        transport=_parse_transport(tab.table("transport", None)),
        loads=loads,
        sim=_parse_sim_meter(tab.table("sim", None), model),
        reference_for=tab.get("reference_for", str, None),
        gsrn=gsrn,
        max_power_w=tab.get("max_power_w", float, None, within=POSITIVE),
        rollover_kwh=tab.get("rollover_kwh", float, None, within=POSITIVE),
        mp_type=tab.get("metering_point_type", str, "E17", choices=MP_TYPES),
        name=tab.get("name", str, ""),
        **_parse_calibration(tab.table("calibration", None)),
        poll_ms=_poll_period(tab, tab.get("poll_period", str, None)),
        rating=parse_rating(rating_tab, accuracy_class) if rating_tab is not None else None,
    )
    tab.finish()
    return spec


def _accuracy_class(tab: Table) -> str:
    """A MID class (A, B, C); a meter under test may have another class (IEC 62053-21 "1", "2";
    -22 "0.5S", ...) whose limits a lab's limits file gives (checked with the [lab] plan)."""
    if tab.data.get("role") != "mut":
        return tab.get("class", str, choices=CLASSES)
    accuracy_class = tab.get("class", str)
    if not accuracy_class or not all(c.isalnum() or c in "._-" for c in accuracy_class):
        raise tab.error("class", f"invalid class {accuracy_class!r}",
                        expected="A, B, C, or a class of the lab's limits file (letters, digits, .)")
    return accuracy_class


def _checked_model(tab: Table) -> str:
    """The meter's model, refused here (naming the field) when no register map answers to it.

    Checked when the bench file is loaded, not when the first poll is planned: a typo in a model
    name must stop the run before any device is started or anything is stored.
    """
    model = tab.get("model", str)
    if model.endswith(".toml") and not Path(model).is_absolute() and Path(tab.source).is_file():
        # A register map file of the user's own, named relative to the bench file
        model = str((Path(tab.source).parent / model).resolve())
    try:
        load_register_map(model)
    except ConfigError as exc:
        message = exc.message if exc.source is None else f"register map {exc.format()}"
        raise tab.error("model", message, expected=exc.expected if exc.source is None else None
                        ) from None
    return model


def _parse_calibration(tab: Table | None) -> dict[str, Any]:
    """A reference device's calibration certificate: its id and when it falls due."""
    if tab is None:
        return {}
    tab.declare("id", "due")
    raw_due = tab.get("due", (str, date))
    try:
        due = raw_due if isinstance(raw_due, date) else date.fromisoformat(raw_due)
    except ValueError:
        raise tab.error("due", f"not a date: {raw_due!r}", expected="YYYY-MM-DD") from None
    if not date(1970, 1, 1) <= due < date(2100, 1, 1):
        raise tab.error("due", f"{due.isoformat()} is outside the supported range",
                        expected="a date from 1970-01-01 to 2099-12-31")
    out = {"calibration_id": tab.get("id", str), "calibration_due": due}
    tab.finish()
    return out


def _poll_period(tab: Table, text: str | None) -> int | None:
    """A poll period between 1 s and 15 min (issue 5: the acquisition's supported range)."""
    if text is None:
        return None
    ms = parse_duration(text, source=tab.source, field=tab.field("poll_period"))
    if not 1000 <= ms <= 15 * 60_000:
        raise tab.error("poll_period", "out of range", expected="between 1s and 15min")
    return ms


def _parse_load(tab: Table) -> LoadSpec:
    tab.declare("id", "kind", "power_w", "mean_w", "peak_w", "phases", "power_factor", "sessions",
                "on", "off", "producing")
    kind = tab.get("kind", str, choices=LOAD_KINDS)
    src, fld = tab.source, tab.field
    sessions: list[tuple[str, str]] = []
    for i, item in enumerate(tab.get("sessions", list, []) if kind == "sessions" else []):
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            raise tab.error(f"sessions[{i}]", "wrong session", expected='["HH:MM", "HH:MM"]')
        for x in item:
            _local_clock(x, tab, f"sessions[{i}]")
        sessions.append((item[0], item[1]))
    spec = LoadSpec(
        id=tab.get("id", str),
        kind=kind,
        power_w=tab.get("power_w", float, 0.0, within=NON_NEGATIVE) if kind != "base" else 0.0,
        mean_w=tab.get("mean_w", float, within=POSITIVE) if kind == "base" else 0.0,
        peak_w=tab.get("peak_w", float, within=POSITIVE) if kind == "base" else 0.0,
        phases=tab.get("phases", str, "3", choices=("L1", "L2", "L3", "3")),
        power_factor=tab.get("power_factor", float, 1.0),
        sessions=tuple(sessions),
        on_ms=parse_duration(tab.get("on", str), source=src, field=fld("on")) if kind == "cycling" else 0,
        off_ms=parse_duration(tab.get("off", str), source=src, field=fld("off")) if kind == "cycling" else 0,
        producing=tab.get("producing", bool, False) if kind != "base" else False,
    )
    if not 0 < spec.power_factor <= 1:
        raise tab.error("power_factor", f"{spec.power_factor} is out of range", expected="0 < PF <= 1")
    if kind == "base" and spec.peak_w < spec.mean_w:
        raise tab.error("peak_w", f"peak {spec.peak_w:g} W is below the mean {spec.mean_w:g} W",
                        expected="peak_w ≥ mean_w")
    for key, ms in (("on", spec.on_ms), ("off", spec.off_ms)):
        if kind == "cycling" and ms < MIN_CYCLE_PHASE_MS:
            raise tab.error(key, f"{ms / 1000:g} s is too short for a cycling load",
                            expected="at least 1s")
    tab.finish()
    return spec


def session_bounds_ms(day: date, start: str, end: str, tz: ZoneInfo) -> tuple[int, int]:
    """A ``sessions`` entry on one local day as epoch ms; an end at or before the start is on the
    next day (a session over midnight). ``ValueError`` naming the time when a local time does not
    exist that day (it falls in the hour a daylight-saving change skips)."""
    bounds = []
    for text in (start, end):
        wall = datetime.combine(day, time.fromisoformat(text), tzinfo=tz)
        if wall.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall.replace(tzinfo=None):
            raise ValueError(f"{text} does not exist on {wall.date()} in {tz.key} (the clocks "
                             "skip it)")
        bounds.append(wall)
    if bounds[1] <= bounds[0]:  # over midnight (compared as wall times)
        bounds[1] = datetime.combine(day + timedelta(days=1), bounds[1].time(), tzinfo=tz)
        if bounds[1].astimezone(UTC).astimezone(tz).replace(tzinfo=None) != \
                bounds[1].replace(tzinfo=None):
            raise ValueError(f"{end} does not exist on {bounds[1].date()} in {tz.key} (the "
                             "clocks skip it)")
    a, b = to_ms(bounds[0]), to_ms(bounds[1])
    if b <= a:
        raise ValueError(f"session {start}–{end} on {day} ends before it starts")
    return a, b


def _check_sessions(loads: tuple[LoadSpec, ...], run: RunSpec, tz: ZoneInfo, top: Table) -> None:
    """Every session on every simulated day (the run and a day either side) is a real span of time,
    so the simulated world cannot fail to build after devices were started."""
    for i, load in enumerate(loads):
        for d in range(-1, run.days + 1):
            day = run.local_date + timedelta(days=d)
            for k, (a, b) in enumerate(load.sessions):
                try:
                    session_bounds_ms(day, a, b, tz)
                except ValueError as exc:
                    raise UserError(str(exc), source=top.source, field=f"load[{i}].sessions[{k}]",
                                    expected="local times that exist on every day of the run"
                                    ) from None


def _switchings(load: LoadSpec, run: RunSpec) -> int:
    """How many on/off edges the load makes over the simulated world (run ± a day at most)."""
    span_ms = run.end_ms - run.start_ms + 2 * 3_600_000
    if load.kind == "cycling":
        return 2 * span_ms // (load.on_ms + load.off_ms) + 2
    if load.kind == "sessions":
        return 2 * len(load.sessions) * (run.days + 2)
    return span_ms // 600_000 + 2  # a base load changes level every 10 min


def _check_loads(loads: tuple[LoadSpec, ...], run: RunSpec, top: Table) -> None:
    """Bounded work: the simulated world is built in memory before anything starts."""
    for i, load in enumerate(loads):
        n = _switchings(load, run)
        if n > MAX_SWITCHINGS:
            raise UserError(f"load {load.id!r} switches {n:,} times over the run's "
                            f"{run.days} day(s)", source=top.source,
                            field=f"load[{i}].{'on' if load.kind == 'cycling' else 'sessions'}",
                            expected=f"at most {MAX_SWITCHINGS:,} switchings per load "
                            "(longer on/off phases, fewer sessions or fewer days)")


def parse_bench(data: dict[str, Any], *, source: str, text: str = "",
                force_simulate: bool = False) -> BenchConfig:
    top = Table(data, source, "")
    top.declare("bench", "run", "load", "meter", "datahub", "lab", "instrument")
    b = top.table("bench")
    assert b is not None
    b.declare("name", "timezone", "seed", "simulate")
    name = b.get("name", str)
    tz_name = b.get("timezone", str, "Europe/Copenhagen")
    if not known_zone(tz_name):
        raise b.error("timezone", f"unknown time zone {tz_name!r}", expected="an IANA name like Europe/Copenhagen")
    tz = ZoneInfo(tz_name)
    seed = b.get("seed", int, 0, within=SEED)
    simulate = b.get("simulate", bool, False) or force_simulate
    b.finish()
    run_tab = top.table("run")
    assert run_tab is not None
    run = _parse_run(run_tab, tz)
    loads = tuple(_parse_load(t) for t in top.tables("load"))
    _unique([x.id for x in loads], top, "load")
    _check_loads(loads, run, top)
    _check_sessions(loads, run, tz, top)
    meters = tuple(_parse_meter(t, {x.id for x in loads}) for t in top.tables("meter"))
    _unique([m.id for m in meters], top, "meter")
    for i, m in enumerate(meters):
        if m.poll_ms is not None and run.jitter_ms >= m.poll_ms:
            raise UserError(f"meter {m.id!r} polls every {m.poll_ms} ms, not longer than "
                            "[run] poll_jitter", source=source, field=f"meter[{i}].poll_period",
                            expected="a period longer than the poll jitter")
    dh = top.table("datahub", {})
    assert dh is not None
    dh.declare("sender_gln", "receiver_gln", "virtual_main_gsrn")
    datahub = DatahubSpec(dh.get("sender_gln", str, "5790000000005"),
                          dh.get("receiver_gln", str, "5790001330583"),
                          dh.get("virtual_main_gsrn", str, None))
    for key in ("sender_gln", "receiver_gln"):
        if not is_valid_gs1(getattr(datahub, key), 13):
            raise dh.error(key, "not a valid GLN", expected="13 digits with a GS1 check digit")
    vgsrn = datahub.virtual_main_gsrn
    if vgsrn is not None and not is_valid_gs1(vgsrn, 18):
        raise dh.error("virtual_main_gsrn", f"{vgsrn!r} is not a valid GSRN",
                       expected="18 digits with a GS1 check digit")
    dh.finish()
    _unique_gsrns(meters, datahub, top)
    _check_registers(meters, loads, run, top)
    lab_tab = top.table("lab", None)
    instrument_tabs = top.tables("instrument")
    lab = None
    if lab_tab is not None:
        # imported here: the lab stack (SCPI, Modbus, simulators) is only needed by lab benches
        from meterbench.config.lab import parse_instruments, parse_lab

        lab = parse_lab(lab_tab, meters, parse_instruments(instrument_tabs, simulate), simulate)
    elif instrument_tabs:
        raise UserError("lab instruments on a bench without a [lab] section", source=source,
                        field="instrument[0]", expected="a [lab] section (a lab bench), or no "
                        "[[instrument]] tables (a field bench)")
    top.finish()
    if lab is None:
        for i, m in enumerate(meters):
            if m.accuracy_class not in CLASSES:
                raise UserError(f"meter[{i}] {m.id!r} has class {m.accuracy_class!r}",
                                source=source, field=f"meter[{i}].class",
                                expected="A, B or C on a field bench (other classes need a lab "
                                         "bench's limits file)")
        _check_topology(meters, top)
    return BenchConfig(name=name, source=source, sha256=hashlib.sha256(text.encode()).hexdigest(),
                       timezone=tz_name, seed=seed, simulate=simulate, run=run, meters=meters,
                       loads=loads, datahub=datahub, lab=lab)


def _unique(ids: list[str], top: Table, what: str) -> None:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            raise UserError(f"duplicate {what} id {x!r}", source=top.source, field=f"{what}[{i}].id",
                            expected="ids unique within the bench file")
        seen.add(x)


def _unique_gsrns(meters: tuple[MeterSpec, ...], datahub: DatahubSpec, top: Table) -> None:
    """One metering point, one GSRN: two meters sharing one would write one DataHub message over
    the other (the outbox names files by GSRN and day), silently losing a meter's energy."""
    seen: dict[str, str] = {}
    if datahub.virtual_main_gsrn is not None:
        seen[datahub.virtual_main_gsrn] = "datahub.virtual_main_gsrn"
    for i, m in enumerate(meters):
        if m.gsrn is None:
            continue
        if m.gsrn in seen:
            raise UserError(f"GSRN {m.gsrn} is also the GSRN of {seen[m.gsrn]}", source=top.source,
                            field=f"meter[{i}].gsrn", expected="a GSRN unique within the bench file")
        seen[m.gsrn] = f"meter {m.id!r}"


def _peak_load_w(spec: MeterSpec, loads: tuple[LoadSpec, ...]) -> float:
    """The most power the meter's circuit can carry: the loads it sees all at their peak."""
    seen = [x for x in loads if not spec.loads or x.id in spec.loads]
    return sum(x.peak_w if x.kind == "base" else x.power_w for x in seen)


def _check_registers(meters: tuple[MeterSpec, ...], loads: tuple[LoadSpec, ...], run: RunSpec,
                     top: Table) -> None:
    """Every value a simulated meter will serve fits its model's registers, checked with the
    register codec itself (as faults are), so it cannot fail mid-session: the initial registers,
    the registers after a run at the loads' peak, and the peak power.
    """
    from meterbench.instruments.errors import CodecError

    hours = (run.end_ms - run.start_ms + 4 * 3_600_000) / 3_600_000
    for i, m in enumerate(meters):
        rmap = load_register_map(m.model)
        peak_w = _peak_load_w(m, loads) * (1 + m.sim.error_pct / 100)
        sim = f"meter[{i}].sim"
        if m.rollover_kwh is not None:
            for key in ("initial_import_kwh", "initial_export_kwh"):
                if getattr(m.sim, key) >= m.rollover_kwh:
                    raise UserError(f"{getattr(m.sim, key):g} kWh is not below the register's "
                                    f"rollover at {m.rollover_kwh:g} kWh", source=top.source,
                                    field=f"{sim}.{key}", expected="a value below rollover_kwh")
        values = {"energy.import": ("initial_import_kwh", m.sim.initial_import_kwh),
                  "energy.export": ("initial_export_kwh", m.sim.initial_export_kwh)}
        for channel, (key, initial) in values.items():
            if channel not in rmap.channels:
                continue
            ch = rmap.channel(channel)
            top_kwh = m.rollover_kwh if m.rollover_kwh is not None else \
                initial + peak_w * hours / 1000
            try:
                ch.encode(top_kwh)
            except CodecError as exc:
                raise UserError(f"the register cannot hold the run's energy: {exc}",
                                source=top.source, field=f"{sim}.{key}",
                                expected=f"values the {rmap.name} register holds") from None
            if ch.step_at(top_kwh) > MAX_REGISTER_STEP_KWH:
                raise UserError(f"at {top_kwh:g} kWh the {rmap.name} register moves in steps of "
                                f"{ch.step_at(top_kwh):g} kWh", source=top.source,
                                field=f"{sim}.{key}",
                                expected=f"a register value whose step is at most "
                                f"{MAX_REGISTER_STEP_KWH:g} kWh")
        if "power.total" in rmap.channels:
            try:
                rmap.channel("power.total").encode(peak_w)
            except CodecError as exc:
                raise UserError(f"the meter cannot show its loads' peak power: {exc}",
                                source=top.source, field=f"meter[{i}].loads",
                                expected=f"loads within the {rmap.name}'s power register") from None


def _check_unique_units(meters: tuple[MeterSpec, ...], top: Table) -> None:
    """Two meters answering to one unit id on one gateway or serial line would be one device.

    Refused at load: on a real bus the second meter would silently read the first one's
    registers, and a simulated bench could not start its gateway.
    """
    seen: dict[tuple[str, int], MeterSpec] = {}
    for i, m in enumerate(meters):
        t = m.transport
        if not t.explicit:
            continue  # a meter without a transport is on a connection of its own
        key = (t.gateway_key, t.unit)
        if key in seen:
            raise UserError(f"meters {seen[key].id!r} and {m.id!r} are both unit {t.unit} on "
                            f"{t.gateway_key}", source=top.source, field=f"meter[{i}].transport.unit",
                            expected="unit ids unique per gateway or serial line")
        seen[key] = m


def _check_topology(meters: tuple[MeterSpec, ...], top: Table) -> None:
    _check_unique_units(meters, top)
    mains = [m for m in meters if m.role == "main"]
    if len(mains) != 1:
        raise UserError(f"{len(mains)} meters have role 'main'", source=top.source, field="meter",
                        expected="exactly one main meter")
    ids = {m.id: m for m in meters}
    for i, m in enumerate(meters):
        if m.role == "reference":
            if m.reference_for not in ids or ids[m.reference_for].role != "operator":
                raise UserError(f"reference meter {m.id!r} names {m.reference_for!r}",
                                source=top.source, field=f"meter[{i}].reference_for",
                                expected="the id of an operator meter")
        elif m.reference_for is not None:
            raise UserError("only a reference meter has reference_for", source=top.source,
                            field=f"meter[{i}].reference_for")
