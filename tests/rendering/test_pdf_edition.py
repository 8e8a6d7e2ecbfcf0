"""Issue 15: the PDF edition holds every section of the HTML page, no empty field, nothing cut off
or running off the page, figures on pages of their own, numbered pages."""

from __future__ import annotations

import re
import shutil
import subprocess

import matplotlib.image as mpimg
import numpy as np
import pytest
from pypdf import PdfReader

from meterbench.reports.pdf import write_pdf
from meterbench.reports.pdf_layout import (
    LEFT,
    PORTRAIT,
    FigurePage,
    Text,
    TextPage,
    layout,
    text_width,
)

from .htmlpage import read_page


def _text(pdf) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(pdf).pages)


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(params=("field_report", "lab_report"))
def run_report(request):
    return request.getfixturevalue(request.param)


def test_pdf_holds_every_section_title_of_the_html_page(run_report):
    titles = read_page(run_report.html.read_text("utf-8")).titles
    assert {"Verdict", "Traceability", "All records"} <= set(titles)
    text = _flat(_text(run_report.pdf))
    for title in titles:
        assert _flat(title) in text, title


def test_pdf_holds_netting_totals_field_acceptance_and_ground_truth(field_report):
    text = _flat(_text(field_report.pdf))
    net = field_report.results["netting"]
    assert f"{net['main_kwh']:.6f}" in text and f"{net['virtual_kwh']:.6f}" in text
    (f,) = field_report.results["field"]
    assert f"{f['expected']} expected, {f['measured_both']} measured on both sides" in text
    for t in field_report.results["truth"]:
        assert f"{t['recovered']} / {t['expected']}" in text and f"{t['true_kwh']:.4f}" in text


def test_pdf_has_no_empty_field_and_no_check_name_cut_off(run_report):
    text = _text(run_report.pdf)
    assert "period:  to" not in text and "class ," not in text
    assert not re.search(r"\w: +to\b|\(\s*\)", text)  # a label or brackets around nothing
    flat = _flat(text)
    for r in run_report.results["records"]:
        assert _flat(r["name"]) in flat, r["name"]  # whole, however it wraps
    for d in run_report.results["devices"]:
        assert _flat(d["transport"]).replace(" ", "") in flat.replace(" ", "")


def test_lab_pdf_says_a_lab_run_has_no_period(lab_report):
    text = _text(lab_report.pdf)
    assert "period" not in text.lower().split("verdict")[1].split("devices")[0]
    assert "±0.02 % (declared accuracy)" in _flat(text)


def test_every_text_stays_inside_the_page(run_report):
    """Measured as drawn: no text runs past the margins (the traceability used to)."""
    pages = layout(run_report.page)
    drawn = 0
    for p in pages:
        if not isinstance(p, TextPage):
            continue
        for op in p.ops:
            if isinstance(op, Text):
                w = text_width(op.text, op.size, op.bold, op.mono)
                left = op.x - w if op.right else op.x
                assert left >= LEFT - 0.5 and left + w <= PORTRAIT[0] - LEFT + 0.5, op
                assert op.y <= PORTRAIT[1] - 40, op
                drawn += 1
    assert drawn > 200


@pytest.mark.skipif(shutil.which("pdftoppm") is None,
                    reason="pdftoppm (poppler-utils) is not installed: the PDF's pages are not "
                           "rasterized here (.ci/system-deps installs it when run as root)")
def test_nothing_is_drawn_in_the_right_margin_of_a_text_page(run_report, tmp_path):
    """The PDF itself, rasterized: on every portrait page the strip right of the text column is
    blank (text that ran off the page, as the traceability did, would show there)."""
    subprocess.run(["pdftoppm", "-r", "40", "-gray", "-png", str(run_report.pdf),
                    str(tmp_path / "p")], check=True, timeout=120)
    pngs = sorted(tmp_path.glob("p-*.png"))
    assert len(pngs) == len(PdfReader(run_report.pdf).pages)
    checked = 0
    for png in pngs:
        img = mpimg.imread(png)
        height, width = img.shape[:2]
        if width > height:
            continue  # a figure page
        margin = img[:, int(width * (PORTRAIT[0] - LEFT + 4) / PORTRAIT[0]):]
        assert margin.min() > 0.9, f"{png.name}: something drawn in the right margin"
        checked += 1
    assert checked >= 2


def test_figures_have_pages_of_their_own_and_every_page_is_numbered(run_report):
    reader = PdfReader(run_report.pdf)
    n = len(reader.pages)
    figures = run_report.page.figures()
    landscape = [p for p in reader.pages if p.mediabox.width > p.mediabox.height]
    assert figures and len(landscape) == len(figures)
    for k, page in enumerate(reader.pages, start=1):
        assert f"page {k} of {n}" in page.extract_text()
    planned = layout(run_report.page)
    assert [p.block.key for p in planned if isinstance(p, FigurePage)] == [f.key for f in figures]


def test_a_long_unbroken_value_wraps_inside_its_column(field_report, tmp_path):
    """A 300-character token (a long path, a hash) breaks between characters, stays whole."""
    from dataclasses import replace

    from meterbench.reports.page import KeyValues, Section, key_values

    long = "x" * 150 + "y" * 150
    section = Section("long", "Long values", (key_values([("bench file", long)]),))
    page = replace(field_report.page, sections=(section,))
    pdf = write_pdf(page, tmp_path / "long.pdf")
    assert long in _text(pdf).replace("\n", "")
    assert isinstance(section.blocks[0], KeyValues)


def test_text_from_user_files_is_never_read_as_a_formula(field_report, tmp_path):
    """A meter called ``$x^2$`` is printed as typed, in the text and in a figure's title."""
    from dataclasses import replace

    from meterbench.reports import figures
    from meterbench.reports.page import FigureBlock, Paragraph, Section

    name = r"meter $x^2$ \alpha"
    fig = FigureBlock("q", "quality", name, lambda: figures.quality_figure(
        [name], [["measured"] * 4], np.arange(4) * 900_000, tz="Europe/Copenhagen"))
    page = replace(field_report.page, title=name,
                   sections=(Section("s", name, (Paragraph(name), fig)),))
    text = _text(write_pdf(page, tmp_path / "dollars.pdf"))
    assert text.count(name) >= 4  # title, running title, section, paragraph, figure page


@pytest.mark.parametrize("filler", range(30, 62, 2))
def test_a_heading_and_a_table_header_stay_with_the_table_s_first_row(filler):
    """Wherever the page ends (filler lines move the heading down), the heading, the table's
    header and its first row (here a tall one) are on one page."""
    from meterbench.reports.page import Cell, Heading, Page, Paragraph, Section, Table

    tall = Cell(", ".join(f"test_number_{i}_of_the_suite_that_was_skipped" for i in range(13)))
    t = Table(headers=("reason", "which"), aligns=("left", "left"),
              rows=((Cell("why"), tall), (Cell("again"), Cell("short"))))
    page = Page("t", ("s",), (Section("s", "section", (
        *(Paragraph(f"filler line {i}") for i in range(filler)),
        Heading("Skipped tests: by reason"), t)),))

    def where(text: str) -> int:
        return next(n for n, p in enumerate(layout(page)) if isinstance(p, TextPage)
                    and any(isinstance(op, Text) and op.text.startswith(text) for op in p.ops))

    assert where("Skipped tests") == where("reason") == where("test_number_0")
