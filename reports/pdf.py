"""The PDF edition of a report, for labs that file paper.

Drawn with matplotlib's PDF backend (already a dependency; no system packages) from the same page
model as the HTML edition, so it holds every section of the HTML page: text pages laid out by
:mod:`pdf_layout` (tables wrap long cells inside their columns, headers repeat on each page),
every figure as vectors on an A4 landscape page of its own, and "page n of N" on every page. Like
the HTML report it is rendered from the run folder alone.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from meterbench.reports.page import Page
from meterbench.reports.pdf_layout import (
    BADGE_COLORS,
    LANDSCAPE,
    LEADING,
    LEFT,
    MUTED,
    PORTRAIT,
    Box,
    FigurePage,
    FigureRef,
    Rule,
    Text,
    TextPage,
    layout,
)
from meterbench.reports.run_page import build_run_page
from meterbench.reports.run_reader import load_results

PDF_FILE = "report.pdf"
#: TrueType fonts embedded (Type 42): the PDF's text can be searched and copied.
PDF_STYLE = {"pdf.fonttype": 42, "text.parse_math": False}


def _fig_xy(x: float, y: float, size: tuple[float, float]) -> tuple[float, float]:
    return x / size[0], 1.0 - y / size[1]


def _draw_text_page(page: TextPage, figure_pages: dict[int, int]) -> Figure:
    size = PORTRAIT
    fig = Figure(figsize=(size[0] / 72, size[1] / 72))
    for op in page.ops:
        if isinstance(op, Box):
            x, y = _fig_xy(op.x, op.y + op.h, size)
            fig.add_artist(Rectangle((x, y), op.w / size[0], op.h / size[1],
                                     transform=fig.transFigure, color=op.color, lw=0))
        elif isinstance(op, Rule):
            x0, y = _fig_xy(op.x0, op.y, size)
            x1, _ = _fig_xy(op.x1, op.y, size)
            fig.add_artist(Line2D([x0, x1], [y, y], transform=fig.transFigure, color=op.color,
                                  linewidth=op.width))
        elif isinstance(op, FigureRef):
            lines = [*op.lines[:-1], f"{op.lines[-1]} (page {figure_pages[op.number]})".lstrip()]
            for i, line in enumerate(lines):
                x, y = _fig_xy(op.x, op.y + i * op.size * LEADING, size)
                fig.text(x, y, line, fontsize=op.size, style="italic", color=MUTED,
                         va="baseline", parse_math=False)
        elif isinstance(op, Text):
            x, y = _fig_xy(op.x, op.y, size)
            bbox = None
            if op.badge:
                bbox = dict(boxstyle="round,pad=0.28", fc=BADGE_COLORS.get(
                    op.badge, BADGE_COLORS["info"])[1], ec="none")
            fig.text(x, y, op.text, fontsize=op.size, fontweight="bold" if op.bold else "normal",
                     family="DejaVu Sans Mono" if op.mono else "DejaVu Sans", color=op.color,
                     ha="right" if op.right else "left", va="baseline", bbox=bbox,
                     parse_math=False)
    return fig


def _frame(fig: Figure, size: tuple[float, float], title: str, number: int, total: int) -> None:
    """Running title at the top, page n of N at the bottom."""
    fig.text(LEFT / size[0], 1 - 30 / size[1], title, fontsize=7, color=MUTED, va="baseline",
             parse_math=False)
    fig.text(1 - LEFT / size[0], 22 / size[1], f"page {number} of {total}", fontsize=7,
             color=MUTED, ha="right", va="baseline", parse_math=False)


def _figure_page(fp: FigurePage) -> Figure:
    fig = fp.block.build()
    fig.set_size_inches(LANDSCAPE[0] / 72, LANDSCAPE[1] / 72)
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set"):
        engine.set(rect=(0.04, 0.07, 0.92, 0.81))
    fig.text(LEFT / LANDSCAPE[0], 1 - 52 / LANDSCAPE[1], f"Figure {fp.number}: {fp.block.caption}",
             fontsize=11, fontweight="bold", va="baseline", parse_math=False)
    fig.text(LEFT / LANDSCAPE[0], 1 - 66 / LANDSCAPE[1], f"section: {fp.section}", fontsize=8,
             color=MUTED, va="baseline", parse_math=False)
    return fig


def write_pdf(page: Page, out: Path) -> Path:
    """Lay the page out on A4 pages and write them to ``out``."""
    pages = layout(page)
    figure_pages = {p.number: k + 1 for k, p in enumerate(pages) if isinstance(p, FigurePage)}
    total = len(pages)
    with matplotlib.rc_context(PDF_STYLE), PdfPages(
            out, metadata={"Title": page.title, "Creator": "meterbench"}) as pdf:
        for k, p in enumerate(pages, start=1):
            if isinstance(p, FigurePage):
                fig, size = _figure_page(p), LANDSCAPE
            else:
                fig, size = _draw_text_page(p, figure_pages), PORTRAIT
            _frame(fig, size, page.title, k, total)
            pdf.savefig(fig)
    return out


def render_pdf(run_dir: Path) -> Path:
    """Write ``report.pdf`` into the run folder, from its files alone."""
    run_dir = Path(run_dir)
    return write_pdf(build_run_page(run_dir, load_results(run_dir)), run_dir / PDF_FILE)
