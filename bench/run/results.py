"""The one results model: what ``results.json`` holds, for every kind of run, built in one place.

A field run and a lab run differ only in their kind-specific sections (a field run's intervals,
netting and ground truth; a lab run's accuracy points): the frame around them (run, devices,
records, tests, events, series, verdict) is the same type, written by :func:`build`. The verdict
is derived here, from the records and the test outcomes, and nowhere else. The schema is documented
in ``docs/results-schema.md``; fields are only ever added within a major version.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from meterbench.core.records import FAILING, VERDICTS, Record

RESULTS_SCHEMA = "meterbench.results/2"
KINDS = ("field", "lab")
#: Test outcomes, in the order summaries list them; the first two make a run fail (a check that
#: could not run is not a pass).
OUTCOMES = ("failed", "error", "passed", "skipped")
FAILED_OUTCOMES = OUTCOMES[:2]


@dataclass(frozen=True)
class RunInfo:
    """What was run, when, on what, under which conventions."""

    id: str
    kind: str
    bench: str
    bench_source: str
    bench_sha256: str
    started_utc: str
    finished_utc: str
    simulated: bool
    clock: str
    seed: int
    timezone: str
    labelling: str
    local_date: str
    days: int
    period_start_utc: str
    period_end_utc: str
    software: dict[str, str]


@dataclass(frozen=True)
class Device:
    """One device of the run: a meter or a lab instrument, with where it was and who it said it
    was (``identity``: an instrument's ``*IDN?`` answer) and its calibration certificate."""

    id: str
    role: str
    model: str
    accuracy_class: str
    transport: str
    name: str = ""
    identity: str | None = None
    calibration: str | None = None
    gsrn: str | None = None


@dataclass(frozen=True)
class TestOutcome:
    """One test of the suites: its outcome and, for a skip, the reason."""

    nodeid: str
    outcome: str
    duration: float
    reason: str | None = None


@dataclass
class Results:
    run: RunInfo
    devices: list[Device]
    records: list[Record]
    tests: list[TestOutcome] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    series: dict[str, str] = field(default_factory=dict)
    #: Kind-specific sections (field: acquisition, intervals, netting, field, truth, accuracy,
    #: datahub; lab: accuracy), each built by its run strategy.
    sections: dict[str, Any] = field(default_factory=dict)
    #: Why the suites did not run to their end (an interrupt, errors during collection), or None.
    interrupted: str | None = None

    def __post_init__(self) -> None:
        if self.run.kind not in KINDS:
            raise ValueError(f"unknown run kind {self.run.kind!r}")
        clash = set(self.sections) & {"schema", "run", "verdict", "summary", "devices", "records",
                                      "tests", "events", "series"}
        if clash:
            raise ValueError(f"sections may not replace the frame: {sorted(clash)}")
        ids = [r.id for r in self.records]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"record ids must be unique in a run: {dupes[:3]}")

    @property
    def verdict(self) -> str:
        """``fail`` when any record failed or any test failed or errored; else ``incomplete``
        when the suites did not run to their end or nothing was checked (no record and no test
        passed: a pass needs something that could have failed); else ``pass``."""
        failed = any(r.verdict in FAILING for r in self.records) or any(
            t.outcome in FAILED_OUTCOMES for t in self.tests)
        if failed:
            return "fail"
        return "incomplete" if self.incomplete_reason else "pass"

    @property
    def incomplete_reason(self) -> str | None:
        """Why the verdict is ``incomplete`` (see :attr:`verdict`), or None."""
        if self.interrupted:
            return self.interrupted
        checked = any(r.verdict != "info" for r in self.records) or any(
            t.outcome == "passed" for t in self.tests)
        return None if checked else ("nothing was checked: no record other than info and no "
                                     "test passed")

    def summary(self) -> dict[str, Any]:
        """The counts every page shows, computed once: records by verdict (failing ones first,
        by id), tests by outcome, and every skipped test with its reason. The terminal line, the
        HTML report and the PDF all read this, so they cannot disagree."""
        records = Counter(r.verdict for r in self.records)
        tests = Counter(t.outcome for t in self.tests)
        return dict(
            verdict=self.verdict,
            incomplete=self.incomplete_reason if self.verdict == "incomplete" else None,
            records=dict(total=len(self.records),
                         by_verdict={v: records[v] for v in VERDICTS if records.get(v)},
                         failing=[r.id for r in self.records if r.verdict in FAILING]),
            tests=dict(total=len(self.tests),
                       by_outcome={o: tests[o] for o in OUTCOMES if tests.get(o)},
                       failing=[t.nodeid for t in self.tests if t.outcome in FAILED_OUTCOMES],
                       skipped=[dict(nodeid=t.nodeid, reason=t.reason or "no reason given")
                                for t in self.tests if t.outcome == "skipped"]))

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": RESULTS_SCHEMA,
            "run": asdict(self.run),
            "verdict": self.verdict,
            "summary": self.summary(),
            "devices": [asdict(d) for d in self.devices],
            **self.sections,
            "records": [r.as_dict() for r in self.records],
            "tests": [asdict(t) for t in self.tests],
            "events": list(self.events),
            "series": dict(self.series),
        }
