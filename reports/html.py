"""The HTML edition of a report: one self-contained file rendered from a page model.

Autoescaping is on for every template: meter names, event texts and bench fields come from user
files and must render as text, never as markup. Figures are embedded as base64 PNG.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from meterbench.reports import figures as figs
from meterbench.reports.page import Page
from meterbench.reports.run_page import build_run_page
from meterbench.reports.run_reader import load_results
from meterbench.reports.visible import visible

REPORT_FILE = "report.html"
PAGE_TEMPLATE = "page.html.j2"


def environment() -> Environment:
    """The template environment of every report (``base.html.j2`` and what extends it)."""
    return Environment(loader=PackageLoader("meterbench.reports", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       finalize=visible)  # control and bidi characters shown, not obeyed


def figure_uris(page: Page) -> dict[str, str]:
    """Every figure of the page drawn once, as a PNG data URI keyed by the figure's key."""
    return {f.key: figs.to_data_uri(f.build()) for f in page.figures()}


def render_page(page: Page) -> str:
    return environment().get_template(PAGE_TEMPLATE).render(page=page, figures=figure_uris(page))


def render_html(run_dir: Path) -> Path:
    """Write ``report.html`` into the run folder, from its files alone."""
    run_dir = Path(run_dir)
    page = build_run_page(run_dir, load_results(run_dir))
    out = run_dir / REPORT_FILE
    out.write_text(render_page(page), encoding="utf-8")
    return out
