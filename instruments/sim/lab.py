"""The simulated lab: a power source driving the meters under test and a reference standard.

:func:`start_lab` builds it from plain specs and serves the instruments on 127.0.0.1:

* the source drives a :class:`SourceCircuit`; the meters under test are
  :class:`~meterbench.instruments.sim.creep.CreepingSimMeter` s connected to it, so their registers
  advance by the true energy times their own error curve, and a meter with a test output emits
  pulses following what it registers (:class:`~meterbench.instruments.sim.pulses.MeterPulses`);
* the reference standard's pulses follow the true energy times the reference's own error
  (:class:`~meterbench.instruments.sim.pulses.ReferenceEnergy`), so an error calculator's
  simulator compares the two lines, as a lab's error calculator compares the two pulse trains;
* each instrument is the simulator of a registered driver (entry-point group
  ``meterbench.instruments``, :class:`~meterbench.instruments.kinds.InstrumentKind`): by default the
  Fluke 6105A power standard and the Yokogawa WT1800 reference standard, but any registered kind
  with a simulator fills its role, exactly as a bench file's ``[[instrument]]`` names it.

Everything runs on the caller's time function, so a virtual clock makes a 60 s test point take
milliseconds. The meters are returned as objects: serving them over Modbus is the Modbus
simulator's job (``meterbench.instruments.sim`` Modbus server), which takes a :class:`SimMeter`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from meterbench import registry
from meterbench.instruments.kinds import InstrumentKind, SimContext
from meterbench.instruments.regmap import TestOutput
from meterbench.instruments.scpi.resource import socket_resource
from meterbench.instruments.sim.creep import CreepingSimMeter
from meterbench.instruments.sim.meter import ErrorCurve
from meterbench.instruments.sim.pulses import MeterPulses, ReferenceEnergy
from meterbench.instruments.sim.scpi_server import ScpiDevice, ScpiServerLoop
from meterbench.instruments.sim.source_circuit import SourceCircuit


class LabSpecError(ValueError):
    """A lab spec field is missing or wrong; says which field and what was expected."""

    def __init__(self, field_name: str, message: str, expected: str) -> None:
        self.field = field_name
        self.expected = expected
        super().__init__(f"{field_name}: {message} (expected {expected})")


@dataclass(frozen=True)
class MeterSpec:
    """A simulated meter under test fed by the lab source; ``test_output`` (its model's, with the
    constant it is set to) makes it emit pulses with uniform ±``pulse_jitter_ms`` jitter."""

    name: str
    error: ErrorCurve = field(default_factory=ErrorCurve)
    starting_current_a: float = 0.0
    summation: bool = True
    import_kwh: float = 0.0
    creep_w: float = 0.0
    test_output: TestOutput | None = None
    pulse_jitter_ms: float = 0.0


def slot(role: str, meter: str | None = None) -> str:
    """Where an instrument sits in a lab: its role, or ``role:meter`` for a per-position one
    (an error calculator serves one meter under test)."""
    return role if meter is None else f"{role}:{meter}"


@dataclass(frozen=True)
class SimInstrument:
    """A simulated instrument: the registered driver it imitates, the options a bench file would
    give it (``accuracy_pct`` of a reference, ...), its simulation settings (its true error) and,
    for a per-position instrument, the meter under test it is wired to."""

    driver: str
    options: Mapping[str, Any] = field(default_factory=dict)
    sim: Mapping[str, Any] = field(default_factory=dict)
    meter: str | None = None

    def kind(self) -> InstrumentKind:
        kind = registry.load_object(registry.INSTRUMENTS, self.driver, what="instrument driver")
        if not isinstance(kind, InstrumentKind) or kind.simulate is None:
            raise LabSpecError("driver", f"{self.driver!r} has no simulator",
                               "a registered instrument kind with a simulator")
        return kind


def reference_standard(error_pct: float = 0.0, accuracy_pct: float = 0.02, *,
                       driver: str = "yokogawa_wt1800", serial: str = "SIM0002") -> SimInstrument:
    """A simulated reference standard with a true error inside the accuracy it declares.

    ``accuracy_pct`` is what a calibration certificate would state; a true error outside it is
    refused, so a test's uncertainty budget built on ``accuracy_pct`` is honest.
    """
    if accuracy_pct < 0 or abs(error_pct) > accuracy_pct:
        raise LabSpecError("reference.error_pct", f"{error_pct} exceeds the declared accuracy "
                           f"{accuracy_pct} %", "|error_pct| <= accuracy_pct")
    return SimInstrument(driver, {"accuracy_pct": accuracy_pct},
                         {"error_pct": error_pct, "serial": serial})


def power_source(driver: str = "fluke6105a", *, serial: str = "SIM0001") -> SimInstrument:
    return SimInstrument(driver, {}, {"serial": serial})


def default_instruments() -> dict[str, SimInstrument]:
    return {"source": power_source(), "reference": reference_standard()}


@dataclass(frozen=True)
class LabSpec:
    meters: tuple[MeterSpec, ...] = ()
    instruments: Mapping[str, SimInstrument] = field(default_factory=default_instruments)
    host: str = "127.0.0.1"

    def with_reference(self, reference: SimInstrument) -> LabSpec:
        return LabSpec(self.meters, {**self.instruments, "reference": reference}, self.host)


@dataclass
class SimLab:
    """A running simulated lab. Close it (or use ``with``) to stop its servers."""

    circuit: SourceCircuit
    meters: dict[str, CreepingSimMeter]
    devices: dict[str, ScpiDevice]
    _resources: dict[str, str]
    options: dict[str, Mapping[str, Any]]
    _loop: ScpiServerLoop
    #: Pulse lines by meter name, and ``"reference"`` (tests read the truth there).
    pulses: dict[str, Any] = field(default_factory=dict)

    def resources(self) -> dict[str, str]:
        """VISA resource strings of the lab instruments, by role."""
        return dict(self._resources)

    @property
    def source(self) -> ScpiDevice:
        return self.devices["source"]

    @property
    def reference(self) -> ScpiDevice:
        return self.devices["reference"]

    @property
    def source_resource(self) -> str:
        return self._resources["source"]

    @property
    def reference_resource(self) -> str:
        return self._resources["reference"]

    @property
    def reference_accuracy_pct(self) -> float:
        return float(self.options["reference"]["accuracy_pct"])

    def close(self) -> None:
        self._loop.close()

    def __enter__(self) -> SimLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_lab(spec: LabSpec, time_fn: Callable[[], int]) -> SimLab:
    """Start the lab's SCPI servers (ports chosen by the OS) and build its meters and pulse lines."""
    circuit = SourceCircuit(time_fn)
    start_ms = circuit.now()
    meters: dict[str, CreepingSimMeter] = {}
    pulses: dict[str, Any] = {}
    for n, m in enumerate(spec.meters):
        if m.name in meters or m.name == "reference":
            raise LabSpecError("meters.name", f"duplicate or reserved meter name {m.name!r}",
                               "unique names other than 'reference'")
        meters[m.name] = CreepingSimMeter(
            circuit=circuit, start_ms=start_ms, error=m.error, summation=m.summation,
            starting_current_a=m.starting_current_a, import_kwh=m.import_kwh, creep_w=m.creep_w)
        if m.test_output is not None:
            out = m.test_output
            pulses[m.name] = MeterPulses(meters[m.name], out.constant_imp_per_kwh, now=time_fn,
                                         energy=out.energy, jitter_ms=m.pulse_jitter_ms,
                                         width_ms=out.pulse_width_ms, seed=1000 + n,
                                         phase=(0.37 + 0.29 * n) % 1.0)
    reference = spec.instruments.get("reference")
    pulses["reference"] = ReferenceEnergy(
        circuit, now=time_fn, start_ms=start_ms,
        error_pct=float(reference.sim.get("error_pct", 0.0)) if reference else 0.0)
    devices: dict[str, ScpiDevice] = {}
    for n, (role, inst) in enumerate(spec.instruments.items(), start=1):
        if inst.meter is not None and inst.meter not in meters:
            raise LabSpecError(f"instruments.{role}.meter", f"no meter under test {inst.meter!r}",
                               "the name of a simulated meter under test")
        context = SimContext(circuit=circuit, time_ms=time_fn, serial=f"SIM{n:04d}",
                             pulses=pulses, meter=inst.meter)
        devices[role] = inst.kind().simulate(context, inst.sim, inst.options)
    loop = ScpiServerLoop()
    resources: dict[str, str] = {}
    try:
        for role, device in devices.items():
            resources[role] = socket_resource(spec.host, loop.serve(device, host=spec.host))
    except BaseException:
        loop.close()
        raise
    return SimLab(circuit=circuit, meters=meters, devices=devices, _resources=resources,
                  options={role: inst.options for role, inst in spec.instruments.items()},
                  _loop=loop, pulses=pulses)


def _number(d: Mapping[str, Any], key: str, where: str, default: float) -> float:
    value = d.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LabSpecError(f"{where}.{key}", f"{value!r} is not a number", "a number")
    return float(value)


def _numbers(d: Mapping[str, Any], key: str, where: str, default: Sequence[float]
             ) -> tuple[float, ...]:
    value = d.get(key, default)
    if not isinstance(value, list | tuple) or not value or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        raise LabSpecError(f"{where}.{key}", f"{value!r} is not a list of numbers",
                           "a non-empty list of numbers")
    return tuple(float(v) for v in value)


def lab_spec_from_dict(data: Mapping[str, Any]) -> LabSpec:
    """A :class:`LabSpec` from plain data (JSON, a test's table, ...).

    ``{"reference": {"error_pct": 0.005, "accuracy_pct": 0.02},
    "meters": [{"name": "mut1", "error_pct": 0.3}
               | {"name": "mut2", "currents_a": [0.5, 5, 60], "errors_pct": [0.8, 0.2, 0.1],
                  "pf_slope_pct": 0.4, "starting_current_a": 0.02}]}``
    """
    ref = data.get("reference", {})
    if not isinstance(ref, Mapping):
        raise LabSpecError("reference", f"{ref!r} is not a table", "a table")
    reference = reference_standard(error_pct=_number(ref, "error_pct", "reference", 0.0),
                                   accuracy_pct=_number(ref, "accuracy_pct", "reference", 0.02),
                                   serial=str(ref.get("serial", "SIM0002")))
    meters = []
    raw_meters = data.get("meters", [])
    if not isinstance(raw_meters, list | tuple):
        raise LabSpecError("meters", f"{raw_meters!r} is not a list", "a list of tables")
    for n, m in enumerate(raw_meters):
        where = f"meters[{n}]"
        if not isinstance(m, Mapping) or not isinstance(m.get("name"), str) or not m["name"]:
            raise LabSpecError(f"{where}.name", "missing", "a meter name")
        if "error_pct" in m:
            curve = ErrorCurve.constant(_number(m, "error_pct", where, 0.0))
        else:
            currents = _numbers(m, "currents_a", where, (1.0,))
            errors = _numbers(m, "errors_pct", where, (0.0,))
            if len(currents) != len(errors) or any(c <= 0 for c in currents) or list(
                    currents) != sorted(currents):
                raise LabSpecError(f"{where}.currents_a", "does not match errors_pct",
                                   "rising positive currents, one error each")
            curve = ErrorCurve(currents, errors, _number(m, "pf_slope_pct", where, 0.0))
        meters.append(MeterSpec(name=m["name"], error=curve,
                                starting_current_a=_number(m, "starting_current_a", where, 0.0),
                                summation=bool(m.get("summation", True)),
                                import_kwh=_number(m, "import_kwh", where, 0.0)))
    source = power_source(serial=str(data.get("source_serial", "SIM0001")))
    return LabSpec(meters=tuple(meters), instruments={"source": source, "reference": reference})
