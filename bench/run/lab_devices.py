"""A lab bench's devices, open: its instruments by role and its meters under test.

One object for both worlds, chosen once when the bench is loaded (:func:`open_lab`):

* **simulated**: every ``[[instrument]]``'s simulator (from its registry entry) is served over
  SCPI on 127.0.0.1 and every meter under test is a :class:`~meterbench.instruments.sim.creep.
  CreepingSimMeter` on the source's circuit, served by its own Modbus TCP gateway on a
  :class:`~meterbench.run.simhost.SimHost`, its test output pulsing into the error calculator at
  its position; time is a :class:`~meterbench.clocks.lab_clock.LabClock` (virtual: a 20-minute
  creep test takes no wall time);
* **real**: each instrument's driver opens the VISA resource the bench file names, each meter
  under test its Modbus transport, and real time passes.

Either way the same drivers (the registry's ``open``) talk to the instruments and the real Modbus
driver reads the meters, so a simulated lab run exercises the code a real bench runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from meterbench.accuracy.executor import LabBench, MeterUnderTest
from meterbench.accuracy.rating import MeterRating
from meterbench.accuracy.register import RegisterReader
from meterbench.acquisition.links import describe_transport, transport_of
from meterbench.clocks.lab_clock import LabClock
from meterbench.config.bench_file import BenchConfig
from meterbench.core.errors import UserError
from meterbench.instruments.errors import ConfigError
from meterbench.instruments.modbus import ModbusMeter, TcpTransport
from meterbench.instruments.registers import load_register_map
from meterbench.instruments.regmap import RegisterMap, TestOutput
from meterbench.instruments.sim.creep import CreepingSimMeter
from meterbench.instruments.sim.lab import (
    LabSpec,
    MeterSpec,
    SimInstrument,
    SimLab,
    default_instruments,
    slot,
    start_lab,
)
from meterbench.instruments.sim.meter import ErrorCurve
from meterbench.instruments.sim.served import ServedMeter
from meterbench.instruments.sim.tcp_gateway import ModbusTcpGateway
from meterbench.run.simhost import SimHost


@dataclass(frozen=True)
class SimMut:
    """A simulated meter under test: its model, rating and the physics it is built with."""

    id: str
    model: str
    rating: MeterRating
    error: ErrorCurve = field(default_factory=ErrorCurve)
    starting_current_a: float = 0.0
    creep_w: float = 0.0
    summation: bool = True
    import_kwh: float = 0.0
    declared_registration: str | None = None
    unit: int = 1
    pulse_jitter_ms: float = 0.0


@dataclass
class LabDevices:
    """Instruments by role, meters under test, the time line; :meth:`close` releases them all."""

    instruments: dict[str, Any]
    resources: dict[str, str]              # role -> where it is (VISA resource)
    muts: list[MeterUnderTest]
    transports: dict[str, str]             # meter id -> where it is
    now: Callable[[], int]
    wait: Callable[[int], None]
    simulated: bool
    _closers: list[Callable[[], None]] = field(default_factory=list)
    # simulated labs only: the simulators and the meters' physics (tests read the truth there)
    sim: SimLab | None = None
    meters: dict[str, CreepingSimMeter] = field(default_factory=dict)
    clock: LabClock | None = None

    @property
    def bench(self) -> LabBench:
        return LabBench(self.source, self.reference, self.now, self.wait)

    @property
    def source(self) -> Any:
        return self.instruments["source"]

    @property
    def reference(self) -> Any:
        return self.instruments["reference"]

    def close(self) -> None:
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception:  # noqa: BLE001 - keep closing the rest
                pass
        self._closers.clear()

    def __enter__(self) -> LabDevices:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _register_map(config: BenchConfig | None, meter_id: str, model: str) -> Any:
    try:
        return load_register_map(model)
    except ConfigError as exc:
        raise UserError(exc.message, source=config.source if config else None,
                        field=f"meter {meter_id}.model", expected=exc.expected) from None


def meter_test_output(regmap: RegisterMap, rating: MeterRating) -> TestOutput | None:
    """The test output a meter under test is read by: its model's (from the manual), at the
    constant its rating sets when the bench file gives ``meter_constant`` (outputs with a
    settable constant). A model without a documented test output has none: its points are
    measured by the register method."""
    out = regmap.test_output
    if out is None or rating.meter_constant_imp_per_kwh is None:
        return out
    constant = rating.meter_constant_imp_per_kwh
    if constant == out.constant_imp_per_kwh:
        return out
    return replace(out, constant_imp_per_kwh=constant,
                   source=f"{out.source}; set to {constant:g} imp/kWh (bench file rating)")


def sim_lab_spec(muts: Sequence[SimMut], instruments: Mapping[str, SimInstrument] | None = None
                 ) -> LabSpec:
    """The simulated lab of these meters under test (each with its model's test output) and
    instruments (by slot; default: the Fluke source and the WT1800 reference)."""
    meters = tuple(MeterSpec(m.id, error=m.error, starting_current_a=m.starting_current_a,
                             summation=m.summation, import_kwh=m.import_kwh, creep_w=m.creep_w,
                             test_output=meter_test_output(_register_map(None, m.id, m.model),
                                                           m.rating),
                             pulse_jitter_ms=m.pulse_jitter_ms)
                   for m in muts)
    return LabSpec(meters=meters, instruments=dict(instruments or default_instruments()))


def start_sim_lab(muts: Sequence[SimMut], clock: LabClock, *,
                  instruments: Mapping[str, SimInstrument] | None = None) -> LabDevices:
    """Serve the instruments' simulators and one Modbus TCP server per meter under test on
    127.0.0.1, and open the drivers on them. An instrument slot ``error_calculator:<id>`` is the
    error calculator at meter ``<id>``'s position, counting its test output."""
    regmaps = {m.id: _register_map(None, m.id, m.model) for m in muts}
    spec = sim_lab_spec(muts, instruments)
    outputs = {m.name: m.test_output for m in spec.meters}
    lab = start_lab(spec, clock)
    devices = LabDevices(instruments={}, resources=lab.resources(), muts=[], transports={},
                         now=clock, wait=clock.advance, simulated=True, sim=lab, clock=clock)
    devices._closers.append(lab.close)
    try:
        host = SimHost()
        devices._closers.append(host.stop)
        for role, inst in spec.instruments.items():
            driver = inst.kind().open(lab.resources()[role], inst.options)
            devices._closers.append(driver.close)
            devices.instruments[role] = driver
        for m in muts:
            meter = lab.meters[m.id]
            regmap = regmaps[m.id]
            gateway = ModbusTcpGateway({m.unit: ServedMeter(meter, regmap)}, time_ms=clock,
                                       host="127.0.0.1", port=0)
            host.call(gateway.start())
            host.on_stop(gateway.stop)
            devices.meters[m.id] = meter
            devices.transports[m.id] = f"simulated, tcp://127.0.0.1:{gateway.port} unit {m.unit}"
            reader = RegisterReader(ModbusMeter(regmap, TcpTransport("127.0.0.1", gateway.port),
                                                m.unit, time_ms=clock))
            devices._closers.append(reader.close)
            devices.muts.append(MeterUnderTest(
                m.id, m.rating, reader, m.declared_registration, test_output=outputs[m.id],
                error_calculator=devices.instruments.get(slot("error_calculator", m.id))))
    except BaseException:
        devices.close()
        raise
    return devices


def sim_meter_kwargs(config: BenchConfig, meter_id: str) -> dict[str, Any]:
    """How the bench file's ``[[lab.sim]]`` builds a simulated meter under test (none: defaults)."""
    sim = config.lab.sim_meters.get(meter_id)
    if sim is None:
        return {}
    return dict(error=sim.error, starting_current_a=sim.starting_current_a, creep_w=sim.creep_w,
                summation=sim.summation, import_kwh=sim.import_kwh,
                pulse_jitter_ms=sim.pulse_jitter_ms)


def sim_instruments(config: BenchConfig) -> dict[str, SimInstrument]:
    """The bench file's ``[[instrument]]`` tables as simulated instruments, by slot."""
    return {key: SimInstrument(spec.driver, spec.options, spec.sim, meter=spec.meter)
            for key, spec in config.lab.instruments.items()}


def sim_muts(config: BenchConfig) -> list[SimMut]:
    """The bench file's meters under test as simulated ones (``[[lab.sim]]`` physics)."""
    for m in config.meters:
        _register_map(config, m.id, m.model)
    return [SimMut(id=m.id, model=m.model, rating=m.rating, unit=m.transport.unit,
                   declared_registration=m.rating.registration, **sim_meter_kwargs(config, m.id))
            for m in config.meters]


def _open_simulated(config: BenchConfig) -> LabDevices:
    return start_sim_lab(sim_muts(config), LabClock(config.run.start_ms),
                         instruments=sim_instruments(config))


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def _open_real(config: BenchConfig) -> LabDevices:
    devices = LabDevices(instruments={}, resources={}, muts=[], transports={}, now=wall_ms,
                         wait=lambda ms: time.sleep(ms / 1000), simulated=False)
    try:
        for key, spec in config.lab.instruments.items():
            driver = spec.kind.open(spec.resource, spec.options)
            devices._closers.append(driver.close)
            devices.instruments[key] = driver
            devices.resources[key] = spec.resource
        if "source" in devices.instruments:
            devices._closers.append(devices.source.output_off)
        for m in config.meters:
            t = m.transport
            regmap = _register_map(config, m.id, m.model)
            driver = ModbusMeter(regmap, transport_of(t), t.unit, timeout_s=t.timeout_s,
                                 time_ms=wall_ms)
            reader = RegisterReader(driver)
            devices._closers.append(reader.close)
            devices.transports[m.id] = describe_transport(t)
            devices.muts.append(MeterUnderTest(
                m.id, m.rating, reader, m.rating.registration,
                test_output=meter_test_output(regmap, m.rating),
                error_calculator=devices.instruments.get(slot("error_calculator", m.id))))
    except BaseException:
        devices.close()
        raise
    return devices


def open_lab(config: BenchConfig) -> LabDevices:
    """The lab bench's devices, simulated or real as the bench file says (decided here, once)."""
    return _open_simulated(config) if config.simulate else _open_real(config)
