"""A lab bench inside a :class:`meterbench.run.session.BenchRun`: open the lab, run the plan once, report.

Simulated lab benches start the SCPI simulators and serve every meter under test over Modbus TCP
(:mod:`meterbench.accuracy.simlab`); real ones open the VISA resources and the Modbus transports of the
bench file and let real time pass. Either way the plan runs once per session (the meters share one
source) and the suite's per-meter tests pick their records from it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from meterbench.accuracy.executor import LabBench, MeterUnderTest
from meterbench.accuracy.job import run_plan
from meterbench.accuracy.register import RegisterReader
from meterbench.accuracy.simlab import LabClock, RunningSimLab, SimMut, start_sim_lab
from meterbench.acquisition.links import transport_of
from meterbench.config.bench_file import BenchConfig
from meterbench.core.errors import UserError
from meterbench.core.records import Record
from meterbench.instruments.errors import ConfigError
from meterbench.instruments.modbus import ModbusMeter
from meterbench.instruments.registers import load_register_map
from meterbench.instruments.scpi.fluke6105a import Fluke6105A
from meterbench.instruments.scpi.yokogawa_wt1800 import YokogawaWT1800


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class RealLab:
    source: Fluke6105A
    reference: YokogawaWT1800
    muts: list[MeterUnderTest]

    @property
    def bench(self) -> LabBench:
        return LabBench(self.source, self.reference, wall_ms, lambda ms: time.sleep(ms / 1000))

    def close(self) -> None:
        for m in self.muts:
            m.reader.close()
        self.source.output_off()
        self.source.close()
        self.reference.close()


def _regmap(config: BenchConfig, meter_id: str, model: str) -> Any:
    try:
        return load_register_map(model)
    except ConfigError as exc:
        raise UserError(exc.message, source=config.source, field=f"meter {meter_id}.model",
                        expected=exc.expected) from None


def sim_meter_kwargs(config: BenchConfig, meter_id: str) -> dict[str, Any]:
    """How the bench file's ``[[lab.sim]]`` builds a simulated meter under test (none: defaults)."""
    sim = config.lab.sim_meters.get(meter_id)
    if sim is None:
        return {}
    return dict(error=sim.error, starting_current_a=sim.starting_current_a, creep_w=sim.creep_w,
                summation=sim.summation, import_kwh=sim.import_kwh)


def open_lab(config: BenchConfig) -> RunningSimLab | RealLab:
    lab = config.lab
    if config.simulate:
        muts = []
        for m in config.meters:
            _regmap(config, m.id, m.model)
            kw = sim_meter_kwargs(config, m.id)
            muts.append(SimMut(id=m.id, model=m.model, rating=m.rating, unit=m.transport.unit,
                               declared_registration=m.rating.registration, **kw))
        return start_sim_lab(muts, LabClock(config.run.start_ms), reference=lab.sim_reference)
    source = Fluke6105A.open(lab.source_resource)
    reference = YokogawaWT1800.open(lab.reference_resource, accuracy_pct=lab.reference_accuracy_pct)
    reference.configure()
    handles = []
    for m in config.meters:
        t = m.transport
        driver = ModbusMeter(_regmap(config, m.id, m.model), transport_of(t), t.unit,
                             timeout_s=t.timeout_s, time_ms=wall_ms)
        handles.append(MeterUnderTest(m.id, m.rating, RegisterReader(driver),
                                      m.rating.registration))
    return RealLab(source, reference, handles)


def instrument_devices(config: BenchConfig, lab: RunningSimLab | RealLab) -> list[dict[str, Any]]:
    """The source and the reference standard as the report lists them: ``*IDN?`` identity and,
    for the reference, its calibration certificate and declared accuracy."""
    out = []
    if isinstance(lab, RunningSimLab):
        resources = ("simulated, " + lab.lab.source_resource, "simulated, " + lab.lab.reference_resource)
    else:
        resources = (config.lab.source_resource, config.lab.reference_resource)
    for role, inst, resource in (("power source", lab.source, resources[0]),
                                 ("reference standard", lab.reference, resources[1])):
        ident = inst.identify()
        out.append(dict(
            id=role.replace(" ", "_"), role=role, model=f"{ident.manufacturer} {ident.model}",
            accuracy_class=(f"±{config.lab.reference_accuracy_pct} %" if role == "reference standard"
                            else ""),
            transport=resource,
            identity=f"{ident.manufacturer},{ident.model},{ident.serial},{ident.firmware}",
            calibration=config.lab.reference_calibration if role == "reference standard" else None,
            gsrn=None))
    return out


def describe(config: BenchConfig, lab: RunningSimLab | RealLab, meter_id: str) -> str:
    if isinstance(lab, RunningSimLab):
        host, port, unit = lab.endpoints[meter_id]
        return f"simulated, tcp://{host}:{port} unit {unit}"
    t = config.meter(meter_id).transport
    return f"{t.kind}://{t.host}:{t.port} unit {t.unit}" if t.kind != "rtu" else f"rtu {t.device}"


def run_lab_plan(config: BenchConfig, lab: RunningSimLab | RealLab) -> list[Record]:
    return run_plan(lab.bench, lab.muts, config.lab.plan)


def lab_section(config: BenchConfig, records: list[Record]) -> dict[str, Any]:
    """The ``accuracy.lab`` part of results.json: plan, ratings and every point per meter."""
    meters = []
    for m in config.meters:
        mine = [r.as_dict() for r in records if r.stage == "lab" and r.subject == m.id]
        meters.append(dict(meter=m.id, model=m.model, accuracy_class=m.accuracy_class,
                           rating=m.rating.as_dict(), records=mine,
                           verdict="fail" if any(r["verdict"] in ("fail", "conditional_fail")
                                                 for r in mine) else ("pass" if mine else "info")))
    return dict(bench=config.lab.as_dict(), meters=meters)


def lab_results_document(run: Any) -> dict[str, Any]:
    """results.json of a lab bench: the same frame as a field run, with an ``accuracy`` section."""
    from datetime import UTC, datetime

    from meterbench.run import folder as runfolder

    cfg = run.config
    records = run.lab_records or []
    failed = any(r.failed for r in run.records) or any(
        t["outcome"] in ("failed", "error") for t in run.tests)
    return {
        "schema": runfolder.RESULTS_SCHEMA,
        "run": dict(
            id=run.run_dir.name, bench=cfg.name, bench_source=cfg.source, bench_sha256=cfg.sha256,
            started_utc=run.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            finished_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            simulated=cfg.simulate, clock="virtual" if cfg.simulate else "real", seed=cfg.seed,
            timezone=cfg.timezone, labelling="lab test points (no intervals)",
            local_date=cfg.run.local_date.isoformat(), days=0, period_start_utc="",
            period_end_utc="", software=runfolder.software_versions()),
        "verdict": "fail" if failed else "pass",
        "devices": [*run.instrument_devices,
                    *(dict(id=m.id, role=m.role, model=m.model, accuracy_class=m.accuracy_class,
                           transport=run.describe_transport(m.id) if run.lab is not None else "",
                           identity="simulated " + m.model if cfg.simulate else None,
                           calibration=None, gsrn=m.gsrn) for m in cfg.meters)],
        "accuracy": {"lab": lab_section(cfg, records), "field": []},
        "records": [r.as_dict() for r in run.records],
        "tests": run.tests,
        "events": [],
        "series": {},
    }
