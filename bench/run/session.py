"""One run of a bench, from starting its devices to a written run folder.

Used by the pytest plugin (session fixtures) and so by ``meterbench run``: both drive the same
object, which is why they produce the same verdicts. What differs between a field run and a lab
run, and between simulated and real devices, lives in the run strategy chosen once here
(:func:`strategy_for`); this class only sequences it and writes the one results model.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from meterbench.acquisition.engine import MeterStats
from meterbench.clocks.run_clock import make_clock
from meterbench.config.bench_file import BenchConfig
from meterbench.core.records import Record
from meterbench.run import folder as runfolder
from meterbench.run.analysis import Analysis
from meterbench.run.field_run import FieldRun
from meterbench.run.lab_run import LabRun
from meterbench.run.results import Device, Results, RunInfo, TestOutcome
from meterbench.run.simworld import MARGIN_MS
from meterbench.store.run_store import Store
from meterbench.verdicts.truth import TruthCheck

STORE_FILE = "store.sqlite"


class RunStrategy(Protocol):
    """What a kind of run (field or lab, its devices simulated or real) does; chosen once."""

    kind: str

    def check_reachable(self) -> None: ...

    def start(self, now_ms: Callable[[], int]) -> None: ...

    def acquire(self, clock: Any, store: Store,
                progress: Callable[[int, int], None] | None) -> dict[str, Any]: ...

    def device_list(self) -> list[Device]: ...

    def time_frame(self) -> dict[str, Any]: ...

    def describe(self, meter_id: str) -> str: ...

    def write_series(self, store: Store, run_dir: Path) -> dict[str, str]: ...

    def events(self, store: Store) -> list[dict[str, Any]]: ...

    def sections(self, store: Store, records: list[Record]) -> dict[str, Any]: ...

    def close(self) -> None: ...


def strategy_for(config: BenchConfig) -> FieldRun | LabRun:
    """The run strategy of a bench: a lab bench (``[lab]``) runs its plan, a field bench
    acquires its site; each builds simulated or real devices as the bench file says."""
    return LabRun(config) if config.kind == "lab" else FieldRun(config)


def stderr_progress(label: str) -> Callable[[int, int], None]:
    """A progress line: redrawn in place on a terminal, a plain line per 10 % otherwise (logs)."""
    tty = sys.stderr.isatty()
    last = {"decile": -1}

    def show(done: int, total: int) -> None:
        pct = 100.0 * done / total if total else 100.0
        if tty:
            end = "\n" if done >= total else ""
            sys.stderr.write(f"\r{label}: {done}/{total} polls ({pct:5.1f} %){end}")
        elif int(pct // 10) > last["decile"]:
            last["decile"] = int(pct // 10)
            sys.stderr.write(f"{label}: {done}/{total} polls ({pct:.0f} %)\n")
        sys.stderr.flush()
    return show


class BenchRun:
    def __init__(self, config: BenchConfig, run_dir: Path, *,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.config = config
        self.lock = runfolder.claim_run_dir(run_dir, "run")  # refuses another kind of run; locked
        self.run_dir = self.lock.path
        self.progress = progress
        self.started = datetime.now(UTC)
        self.strategy = strategy_for(config)
        self.clock = make_clock(config.run.clock, config.run.start_ms - MARGIN_MS // 2,
                                config.run.scale)
        self.store = Store(self.run_dir / STORE_FILE)
        self.records: list[Record] = []
        self.tests: list[TestOutcome] = []
        #: Why the suites stopped before their end (set by whoever runs them), or None.
        self.interrupted: str | None = None
        #: The verdict of the results last written (None before :meth:`write`).
        self.verdict: str | None = None

    # ---- devices ----------------------------------------------------------------------------
    def start(self) -> None:
        self.store.set_meta("bench", {"name": self.config.name, "source": self.config.source,
                                      "sha256": self.config.sha256})
        self.store.set_meta("software", runfolder.software_versions())
        self.store.set_meta("period", runfolder.period_meta(self.config))
        self.strategy.start(self.clock.now_ms)

    def close(self) -> None:
        self.strategy.close()
        try:
            self.store.close()
        except Exception:  # noqa: BLE001 - already closed
            pass
        self.lock.release()

    def describe_transport(self, meter_id: str) -> str:
        return self.strategy.describe(meter_id)

    @property
    def lab(self) -> Any:
        """The open lab (instruments, meters under test) of a lab bench; None on a field bench."""
        return getattr(self.strategy, "lab", None)

    @property
    def world(self) -> Any:
        """The simulated world (its ground truth) of a simulated field bench, else None."""
        return self.strategy.world

    @property
    def stats(self) -> dict[str, MeterStats]:
        return getattr(self.strategy, "stats", {})

    # ---- acquisition and analysis -------------------------------------------------------------
    def acquire(self) -> dict[str, Any]:
        return self.strategy.acquire(self.clock, self.store, self.progress)

    def analyse(self) -> Analysis:
        if not isinstance(self.strategy, FieldRun):
            raise RuntimeError("a lab bench has no field analysis (it measures test points)")
        return self.strategy.analyse(self.store)

    def truth(self, meter_id: str) -> TruthCheck:
        if not isinstance(self.strategy, FieldRun):
            raise RuntimeError("ground truth of intervals exists only on a simulated field bench")
        return self.strategy.truth(self.store, meter_id)

    def run_lab(self) -> list[Record]:
        """The lab bench's plan, run once for every meter under test (they share the source)."""
        if not isinstance(self.strategy, LabRun):
            raise RuntimeError("this bench has no [lab] section")
        return self.strategy.run_plan()

    def add_record(self, record: Record) -> Record:
        self.records.append(record)
        return record

    def add_test(self, nodeid: str, outcome: str, duration: float, reason: str | None = None
                 ) -> None:
        self.tests.append(TestOutcome(nodeid, outcome, duration, reason))

    # ---- the run folder -----------------------------------------------------------------------
    def results(self, series: dict[str, str] | None = None) -> Results:
        cfg = self.config
        return Results(
            run=RunInfo(
                id=self.run_dir.name, kind=cfg.kind, bench=cfg.name, bench_source=cfg.source,
                bench_sha256=cfg.sha256, started_utc=self.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                finished_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                simulated=cfg.simulate, seed=cfg.seed, timezone=cfg.timezone,
                local_date=cfg.run.local_date.isoformat(), software=runfolder.software_versions(),
                **self.strategy.time_frame()),
            devices=self.strategy.device_list(), records=list(self.records),
            tests=list(self.tests), events=self.strategy.events(self.store),
            series=dict(series or {}),
            sections=self.strategy.sections(self.store, self.records),
            interrupted=self.interrupted)

    def write(self) -> Path:
        """results.json and the series files; returns the results path. The verdict written is
        kept in :attr:`verdict` (a caller need not read the file back)."""
        series = self.strategy.write_series(self.store, self.run_dir)
        path = self.run_dir / "results.json"
        results = self.results(series)
        runfolder.write_json(path, results.as_dict())
        self.verdict = results.verdict
        return path
