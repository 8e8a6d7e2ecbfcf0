"""The lab run strategy: open the lab, run the plan once for every meter under test, report.

The lab's devices are simulated or real (:mod:`meterbench.run.lab_devices`, chosen once when the
bench is loaded). The plan runs once per session (the meters share one source) and the suite's
per-meter tests pick their records from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from meterbench.accuracy.job import run_plan
from meterbench.acquisition.preflight import check_lab_reachable
from meterbench.config.bench_file import BenchConfig
from meterbench.core.records import Record
from meterbench.run.lab_devices import LabDevices, open_lab
from meterbench.run.results import Device
from meterbench.store.run_store import Store

ROLE_TITLES = {"source": "power source", "reference": "reference standard",
               "error_calculator": "error calculator"}


class LabRun:
    kind = "lab"

    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.lab: LabDevices | None = None
        self.records: list[Record] | None = None
        self.instruments: list[Device] = []

    @property
    def world(self) -> None:
        return None

    def check_reachable(self) -> None:
        """A real lab's LAN and serial instruments and its meters' transports answer (before any
        run folder exists); GPIB and USB instruments are checked by opening them at the start."""
        if not self.config.simulate:
            check_lab_reachable(self.config)

    def start(self, now_ms: Callable[[], int]) -> None:
        self.lab = open_lab(self.config)
        self.instruments = self._identify()

    def close(self) -> None:
        if self.lab is not None:
            self.lab.close()
            self.lab = None

    def acquire(self, clock: Any, store: Store, progress: Any) -> dict[str, Any]:
        return {}  # a lab bench measures test points, not a day in the field

    def run_plan(self) -> list[Record]:
        if self.lab is None:
            raise RuntimeError("the lab is not open")
        if self.records is None:
            self.records = run_plan(self.lab.bench, self.lab.muts, self.config.lab.plan)
        return self.records

    def _identify(self) -> list[Device]:
        """Each instrument as the report lists it: its own ``*IDN?`` answer and, from the bench
        file, its declared accuracy and calibration certificate."""
        assert self.lab is not None
        out = []
        prefix = "simulated, " if self.lab.simulated else ""
        for key, spec in self.config.lab.instruments.items():
            ident = self.lab.instruments[key].identify()
            accuracy = spec.options.get("accuracy_pct")
            title = ROLE_TITLES.get(spec.role, spec.role)
            out.append(Device(
                id=key, name=spec.kind.title,
                role=f"{title} ({spec.meter})" if spec.meter else title,
                model=f"{ident.manufacturer} {ident.model}",
                accuracy_class=f"±{accuracy} %" if accuracy is not None else "",
                transport=prefix + self.lab.resources[key],
                identity=f"{ident.manufacturer},{ident.model},{ident.serial},{ident.firmware}",
                calibration=spec.calibration))
        return out

    def device_list(self) -> list[Device]:
        cfg = self.config
        meters = [Device(id=m.id, name=m.label, role=m.role, model=m.model,
                         accuracy_class=m.accuracy_class, transport=self.describe(m.id),
                         identity="simulated " + m.model if cfg.simulate else None, gsrn=m.gsrn)
                  for m in cfg.meters]
        return [*self.instruments, *meters]

    def describe(self, meter_id: str) -> str:
        if self.lab is None:
            return "not started"
        return self.lab.transports.get(meter_id, "")

    def time_frame(self) -> dict[str, Any]:
        return dict(clock="virtual" if self.config.simulate else "real", days=0,
                    labelling="lab test points (no intervals)", period_start_utc="",
                    period_end_utc="")

    def write_series(self, store: Store, run_dir: Any) -> dict[str, str]:
        return {}

    def events(self, store: Store) -> list[dict[str, Any]]:
        return []

    def sections(self, store: Store, records: list[Record]) -> dict[str, Any]:
        """``accuracy.lab``: the plan, the instruments and every point per meter under test."""
        cfg = self.config
        mine = self.records or []
        meters = []
        for m in cfg.meters:
            recs = [r.as_dict() for r in mine if r.stage == "lab" and r.subject == m.id]
            meters.append(dict(meter=m.id, model=m.model, accuracy_class=m.accuracy_class,
                               rating=m.rating.as_dict(), records=recs,
                               verdict="fail" if any(r["verdict"] in ("fail", "conditional_fail")
                                                     for r in recs) else
                               ("pass" if recs else "info")))
        return {"accuracy": {"lab": dict(bench=cfg.lab.as_dict(), meters=meters), "field": []}}
