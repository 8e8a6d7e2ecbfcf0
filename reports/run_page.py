"""The run report as a page: the frame every run has, around its kind's sections.

Verdict and failures first (each failing record with its verdict and why, every failed test, every
skipped test with its reason), then traceability, the kind's sections (field:
:mod:`field_sections`; lab: :mod:`lab_sections`), every record, the events and the suite. Every
count is read from ``summary`` in results.json, the one place the bench computes them, so the
terminal, the page and the PDF cannot disagree.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from meterbench.reports import field_sections, lab_sections
from meterbench.reports.page import (
    Badge,
    Cell,
    Column,
    Heading,
    Page,
    Paragraph,
    Section,
    VerdictLine,
    key_values,
    outcome_badge,
    plural,
    table,
    verdict_badge,
)
from meterbench.reports.records_table import record_columns
from meterbench.reports.run_reader import load_results


def build_run_page(run_dir: Path, results: dict[str, Any] | None = None) -> Page:
    """The page of a run folder (``results`` when already loaded)."""
    run_dir = Path(run_dir)
    if results is None:
        results = load_results(run_dir)
    run = results["run"]
    sections = [verdict_section(results), traceability_section(results),
                *field_sections.sections(run_dir, results), *lab_sections.sections(results),
                records_section(results)]
    if results.get("events"):
        sections.append(events_section(results["events"]))
    if results.get("tests"):
        sections.append(suite_section(results["tests"]))
    where = "simulated bench" if run.get("simulated") else "real bench"
    return Page(
        title=f"meterbench report — {run['bench']}",
        subtitle=(f"run {run['id']}", f"{run['started_utc']} to {run['finished_utc']}", where,
                  f"meterbench {run.get('software', {}).get('meterbench', '?')}"),
        sections=tuple(sections),
        footer=(f"Rendered from results.json (schema {results['schema']}) and the series files "
                "of this run folder."))


# ---- verdict -----------------------------------------------------------------------------------
def _count_text(counts: dict[str, int], noun: str, total: int | None = None) -> str:
    total = sum(counts.values()) if total is None else total
    parts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items())
    return plural(total, noun) + (f": {parts}" if parts else "")


def verdict_section(results: dict[str, Any]) -> Section:
    summary = results.get("summary") or {}
    rec_sum = summary.get("records") or {}
    test_sum = summary.get("tests") or {}
    verdict = results.get("verdict", "info")
    by_verdict = rec_sum.get("by_verdict") or {}
    by_outcome = test_sum.get("by_outcome") or {}
    blocks: list[Any] = [VerdictLine(
        badge=Badge(verdict_badge(verdict).style, verdict.upper()),
        counts=tuple(Badge(verdict_badge(v).style, f"{n} {v.replace('_', ' ')}")
                     for v, n in by_verdict.items()),
        text=(_count_text({}, "record", rec_sum.get("total", 0)) + "; "
              + (_count_text(by_outcome, "test run before the interrupt"
                             if summary.get("incomplete", "") and
                             summary["incomplete"].startswith("interrupted")
                             else "test in the suite") if test_sum.get("total")
                 else "no test of the suite ran")))]
    by_id = {r.get("id"): r for r in results.get("records", [])}
    failing = [by_id[i] for i in rec_sum.get("failing", []) if i in by_id]
    failed_tests = test_sum.get("failing") or []
    if failing:
        blocks += [Heading(f"What failed: {plural(len(failing), 'record')}"),
                   table(record_columns(), failing)]
    if failed_tests:
        reasons = {t["nodeid"]: t.get("reason") for t in results.get("tests", [])}
        outcomes = {t["nodeid"]: t.get("outcome") for t in results.get("tests", [])}
        blocks += [Heading(f"Failed tests: {len(failed_tests)}"), table(
            [Column("test", lambda n: n, kind="code"),
             Column("outcome", lambda n: outcomes.get(n, "failed"), kind="text"),
             Column("reason", lambda n: reasons.get(n), kind="text",
                    missing="no message (see the failing records above and pytest's log)")],
            failed_tests)]
    if summary.get("incomplete"):
        blocks.append(Paragraph(f"Incomplete: {summary['incomplete']}. What was measured until "
                                "then is below; it is not a pass."))
    elif not failing and not failed_tests:
        blocks.append(Paragraph("No record failed and no test failed or errored."))
    skipped = test_sum.get("skipped") or []
    if skipped:
        by_reason: dict[str, list[str]] = defaultdict(list)
        for s in skipped:
            by_reason[s.get("reason") or "no reason given"].append(s["nodeid"])
        blocks += [Heading(f"Skipped tests: {len(skipped)}, by reason"), table(
            [Column("reason", lambda kv: kv[0], kind="text"),
             Column("tests", lambda kv: len(kv[1]), decimals=0),
             Column("which", lambda kv: ", ".join(_short_test(n) for n in kv[1]), kind="code")],
            sorted(by_reason.items(), key=lambda kv: -len(kv[1])))]
    return Section("summary", "Verdict", tuple(blocks))


def _short_test(nodeid: str) -> str:
    return nodeid.split("::", 1)[-1]


# ---- traceability ------------------------------------------------------------------------------
_CLASS = re.compile(r"^(A|B|C|D|0\.2S?|0\.5S?|1|2|3)$")


def device_accuracy(d: dict[str, Any]) -> str:
    """A meter's accuracy class, or an instrument's declared accuracy, or that none is declared."""
    acc = (d.get("accuracy_class") or "").strip()
    if not acc:
        return "not declared in the bench file"
    return f"class {acc}" if _CLASS.match(acc) else f"{acc} (declared accuracy)"


def _device_name(d: dict[str, Any]) -> str:
    name = (d.get("name") or "").strip()
    return d["id"] if not name or name == d["id"] else f"{d['id']}: {name}"


DEVICE_COLUMNS = (
    Column("device", _device_name, kind="text"),
    Column("role", "role", kind="text"),
    Column("model", "model", kind="text"),
    Column("class / accuracy", device_accuracy, kind="text"),
    Column("transport", "transport", kind="code"),
    Column("identity", "identity", kind="text", missing="not reported"),
    Column("calibration", "calibration", kind="text", missing="no certificate declared"),
)


def traceability_section(results: dict[str, Any]) -> Section:
    run = results["run"]
    period = None
    if run.get("period_start_utc") and run.get("period_end_utc"):
        period = f"{run['period_start_utc']} to {run['period_end_utc']}"
        if run.get("local_date"):
            period += f" (local day {run['local_date']}" + (
                f", {run['days']} days)" if run.get("days", 1) > 1 else ")")
    software = ", ".join(f"{k} {v}" for k, v in (run.get("software") or {}).items())
    kv = key_values([
        ("bench", run.get("bench")),
        ("bench file", Cell(run["bench_source"], code=True) if run.get("bench_source") else None),
        ("bench file SHA-256",
         Cell(run["bench_sha256"], code=True) if run.get("bench_sha256") else None),
        ("run", f"{run.get('id')}, {run.get('started_utc')} to {run.get('finished_utc')}"),
        ("software", software),
        ("time zone", run.get("timezone")),
        ("labelling", run.get("labelling")),
        ("period", period),
        ("clock", run.get("clock")),
        ("random seed", run.get("seed")),
        ("devices", "simulated" if run.get("simulated") else "real"),
    ])
    return Section("traceability", "Traceability",
                   (kv, Heading("Devices"), table(DEVICE_COLUMNS, results.get("devices", []))))


# ---- records, events, suite --------------------------------------------------------------------
def records_section(results: dict[str, Any]) -> Section:
    by_stage: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results.get("records", []):
        by_stage[r.get("stage") or "other"].append(r)
    blocks: list[Any] = []
    for stage, recs in by_stage.items():
        blocks += [Heading(f"{stage}: {plural(len(recs), 'record')}"),
                   table(record_columns(rule=True), recs)]
    if not blocks:
        blocks.append(Paragraph("The run recorded no verdict records."))
    return Section("records", "All records", tuple(blocks))


EVENT_COLUMNS = (
    Column("time (UTC)", "time", kind="code"),
    Column("meter", "meter", kind="text", missing="bench"),
    Column("event", "kind", kind="text"),
    Column("what happened", "detail", kind="text"),
)


def events_section(events: list[dict[str, Any]]) -> Section:
    return Section("events", "Events", (table(EVENT_COLUMNS, events),))


SUITE_COLUMNS = (
    Column("test", "nodeid", kind="code"),
    Column("outcome", lambda t: outcome_badge(t["outcome"]), kind="verdict"),
    Column("duration", "duration", unit="s", decimals=2),
    Column("reason", "reason", kind="text"),
)


def suite_section(tests: list[dict[str, Any]]) -> Section:
    return Section("tests", "Suite", (table(SUITE_COLUMNS, tests),))
