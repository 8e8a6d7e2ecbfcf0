"""Real reports to check: the simulated field run, the simulated lab run (one meter outside its
class, so it fails) and the sampling example (one nonconforming meter among 80), each made once
per session through the real CLI, as a user makes them (about 15 s together)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from meterbench.reports.page import Page
from meterbench.reports.pdf import render_pdf
from meterbench.reports.run_page import build_run_page
from meterbench.reports.sampling import render_sampling_report
from meterbench.reports.sampling_page import build_sampling_page
from meterbench.sampling.example import example_inventory
from meterbench.sampling.report_document import report_document

LOT = "EASTRON-SDM630-MID-0-5-10-100-A-B-2017"


@dataclass
class Report:
    """One report as both editions render it, and the page they render."""

    name: str
    html: Path
    page: Page
    pdf: Path | None = None
    results: dict | None = None


def _cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meterbench", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def _run_report(tmp_path_factory: pytest.TempPathFactory, bench: str, expect_rc: int) -> Report:
    out = tmp_path_factory.mktemp(bench) / "run"
    proc = _cli("run", bench, "--out", str(out), "-q", cwd=out.parent)
    assert proc.returncode == expect_rc, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (out / "report.html").is_file()  # written by the run itself
    pdf = render_pdf(out)
    results = json.loads((out / "results.json").read_text("utf-8"))
    return Report(bench, out / "report.html", build_run_page(out, results), pdf, results)


@pytest.fixture(scope="session")
def field_report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return _run_report(tmp_path_factory, "sim", 0)


@pytest.fixture(scope="session")
def lab_report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return _run_report(tmp_path_factory, "sim-lab", 1)  # mut_outside fails


@pytest.fixture(scope="session")
def sampling_report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """docs/sampling.md's example round: 80 meters tested, one nonconforming."""
    d = tmp_path_factory.mktemp("sampling")
    steps = [("sampling", "select", "example", "--lot", LOT, "--aql", "1.0", "--seed",
              "2026-11-27-dk", "--out", "selection.json"),
             ("sampling", "simulate", "selection.json", "--inventory", "example", "--bad-share",
              "0.01", "--unreachable", "2", "--out", "results.csv"),
             ("sampling", "evaluate", "selection.json", "--results", "results.csv", "--inventory",
              "example", "--on", "2026-12-01", "--interval-years", "5", "--out",
              "evaluation.json")]
    for argv in steps:
        proc = _cli(*argv, cwd=d)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    evaluation = json.loads((d / "evaluation.json").read_text("utf-8"))
    doc = report_document(evaluation, example_inventory())
    html = render_sampling_report(doc, d / "report.html")
    return Report("sampling", html, build_sampling_page(doc), results=doc)


@pytest.fixture(scope="session")
def reports(field_report: Report, lab_report: Report, sampling_report: Report) -> list[Report]:
    return [field_report, lab_report, sampling_report]
