"""The simulated lab for a lab bench: SCPI source and reference, meters under test over Modbus TCP.

:func:`meterbench.instruments.sim.lab.start_lab` serves the simulated Fluke 6105A and WT1800 on 127.0.0.1;
each meter under test is a :class:`~meterbench.instruments.sim.creep.CreepingSimMeter` on the same source
circuit, served by its own :class:`~meterbench.instruments.sim.tcp_gateway.ModbusTcpGateway` on a
:class:`meterbench.run.simhost.SimHost`, and read by the real Modbus driver, so a lab run exercises the
same code a real bench does. Time is a :class:`LabClock` (virtual: a 20-minute creep test takes
no wall time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from meterbench.accuracy.executor import LabBench, MeterUnderTest
from meterbench.accuracy.rating import MeterRating
from meterbench.accuracy.register import RegisterReader
from meterbench.instruments.modbus import ModbusMeter, TcpTransport
from meterbench.instruments.registers import load_register_map
from meterbench.instruments.scpi.fluke6105a import Fluke6105A
from meterbench.instruments.scpi.yokogawa_wt1800 import YokogawaWT1800
from meterbench.instruments.sim.creep import CreepingSimMeter
from meterbench.instruments.sim.lab import LabSpec, ReferenceSpec, SimLab, start_lab
from meterbench.instruments.sim.meter import ErrorCurve
from meterbench.instruments.sim.served import ServedMeter
from meterbench.instruments.sim.tcp_gateway import ModbusTcpGateway
from meterbench.run.simhost import SimHost


class LabClock:
    """Virtual time for the lab: moves only when the executor waits."""

    def __init__(self, start_ms: int) -> None:
        self.now_ms = int(start_ms)

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("a clock does not run backwards")
        self.now_ms += int(ms)


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


@dataclass
class RunningSimLab:
    """A started simulated lab with drivers connected; :meth:`close` stops everything."""

    lab: SimLab
    host: SimHost
    clock: LabClock
    source: Fluke6105A
    reference: YokogawaWT1800
    muts: list[MeterUnderTest]
    meters: dict[str, CreepingSimMeter]
    endpoints: dict[str, tuple[str, int, int]]

    @property
    def bench(self) -> LabBench:
        return LabBench(self.source, self.reference, self.clock, self.clock.advance)

    def close(self) -> None:
        for m in self.muts:
            try:
                m.reader.close()
            except Exception:  # noqa: BLE001 - keep closing the rest
                pass
        for inst in (self.source, self.reference):
            try:
                inst.close()
            except Exception:  # noqa: BLE001
                pass
        self.host.stop()
        self.lab.close()

    def __enter__(self) -> RunningSimLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_sim_lab(muts: Sequence[SimMut], clock: LabClock, *,
                  reference: ReferenceSpec | None = None) -> RunningSimLab:
    """Start source, reference and one Modbus TCP server per meter under test on 127.0.0.1."""
    lab = start_lab(LabSpec(meters=(), reference=reference or ReferenceSpec()), clock)
    host = SimHost()
    meters: dict[str, CreepingSimMeter] = {}
    endpoints: dict[str, tuple[str, int, int]] = {}
    handles: list[MeterUnderTest] = []
    source = reference_inst = None
    try:
        for spec in muts:
            meter = CreepingSimMeter(circuit=lab.circuit, start_ms=lab.circuit.now(),
                                     error=spec.error, summation=spec.summation,
                                     starting_current_a=spec.starting_current_a,
                                     import_kwh=spec.import_kwh, creep_w=spec.creep_w)
            regmap = load_register_map(spec.model)
            gateway = ModbusTcpGateway({spec.unit: ServedMeter(meter, regmap)}, time_ms=clock,
                                       host="127.0.0.1", port=0)
            host.call(gateway.start())
            host.on_stop(gateway.stop)
            meters[spec.id] = meter
            endpoints[spec.id] = ("127.0.0.1", gateway.port, spec.unit)
            driver = ModbusMeter(regmap, TcpTransport("127.0.0.1", gateway.port), spec.unit,
                                 time_ms=clock)
            handles.append(MeterUnderTest(spec.id, spec.rating, RegisterReader(driver),
                                          spec.declared_registration))
        source = Fluke6105A.open(lab.source_resource)
        reference_inst = YokogawaWT1800.open(lab.reference_resource,
                                             accuracy_pct=lab.reference_accuracy_pct)
        reference_inst.configure()
    except BaseException:
        for h in handles:
            h.reader.close()
        for inst in (source, reference_inst):
            if inst is not None:
                inst.close()
        host.stop()
        lab.close()
        raise
    return RunningSimLab(lab, host, clock, source, reference_inst, handles, meters, endpoints)
