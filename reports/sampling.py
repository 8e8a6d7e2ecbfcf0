"""The sampling-control report: population, lots, plan, selection, results, decision, OC curve.

Renders the plain document built by the bench (``meterbench.sampling.report_document``) as a page
(:mod:`sampling_page`) in the same style as the run reports; imports nothing from the bench.
"""

from __future__ import annotations

from pathlib import Path

from meterbench.reports.html import render_page
from meterbench.reports.sampling_page import build_sampling_page


def render_sampling_html(doc: dict) -> str:
    return render_page(build_sampling_page(doc))


def render_sampling_report(doc: dict, out: str | Path) -> Path:
    path = Path(out)
    path.write_text(render_sampling_html(doc), encoding="utf-8")
    return path
