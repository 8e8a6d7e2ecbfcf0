"""A PDF edition of the run report, for labs that file paper.

Drawn with matplotlib's PDF backend (already a dependency; no system packages): a summary page
with the verdict, traceability and every record, then one page per figure. Like the HTML report it
is rendered from the run folder alone.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

from meterbench.reports.html import build_figures, fmt, fmt_limit  # noqa: E402
from meterbench.reports.run_reader import load_results  # noqa: E402

PDF_FILE = "report.pdf"
A4 = (8.27, 11.69)
ROWS_PER_PAGE = 48


def _text_page(pdf: PdfPages, lines: list[str], title: str) -> None:
    fig = plt.figure(figsize=A4)
    fig.text(0.06, 0.965, title, fontsize=13, weight="bold", va="top")
    y = 0.93
    for line in lines:
        fig.text(0.06, y, line, fontsize=7.2, family="monospace", va="top")
        y -= 0.0185
    pdf.savefig(fig)
    plt.close(fig)


def _summary_lines(results: dict[str, Any]) -> list[str]:
    run = results["run"]
    lines = [f"verdict: {results.get('verdict', 'info').upper()}",
             f"bench: {run['bench']} ({run['bench_source']})",
             f"bench SHA-256: {run['bench_sha256']}",
             f"period: {run['period_start_utc']} to {run['period_end_utc']} ({run['timezone']})",
             f"labelling: {run['labelling']}",
             "software: " + ", ".join(f"{k} {v}" for k, v in run["software"].items()),
             f"seed: {run['seed']}   clock: {run['clock']}   simulated: {run['simulated']}", ""]
    for d in results.get("devices", []):
        lines.append(f"device {d['id']}: {d['role']}, {d['model']}, class {d['accuracy_class']}, "
                     f"{d['transport']}" + (f", calibration {d['calibration']}" if d.get("calibration") else ""))
    return [w for line in lines for w in (textwrap.wrap(line, 110) or [""])]


def _record_lines(results: dict[str, Any]) -> list[str]:
    out = [f"{'verdict':<17}{'stage':<13}{'check':<44}{'subject':<14}{'value':>12}  limit"]
    for r in results.get("records", []):
        out.append(f"{r['verdict']:<17}{r['stage'][:12]:<13}{r['name'][:43]:<44}"
                   f"{str(r['subject'])[:13]:<14}{fmt(r['value']):>12}  {fmt_limit(r)} {r['unit']}")
    return out


def render_pdf(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    results = load_results(run_dir)
    out = run_dir / PDF_FILE
    records = _record_lines(results)
    with PdfPages(out, metadata={"Title": f"meterbench report {results['run']['id']}",
                                 "Creator": "meterbench"}) as pdf:
        _text_page(pdf, _summary_lines(results) + [""] + records[:ROWS_PER_PAGE - 20],
                   f"meterbench report: {results['run']['bench']}")
        rest = records[ROWS_PER_PAGE - 20:]
        for k in range(0, len(rest), ROWS_PER_PAGE):
            _text_page(pdf, rest[k:k + ROWS_PER_PAGE], "records (continued)")
        for fig in build_figures(run_dir, results).values():
            fig.set_size_inches(A4[1], A4[0] * 0.75)
            pdf.savefig(fig)
            plt.close(fig)
    return out
