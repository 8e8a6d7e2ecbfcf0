"""HTML sampling-control report: population, lots, plan, selection, results, decision, OC curve.

Renders the plain document built by the bench (``meterbench.sampling.report_document``); imports
nothing from ``bench``. The OC curve is drawn with matplotlib (Agg) and embedded as a base64 PNG
so the report is one self-contained file.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import jinja2

from meterbench.reports.visible import visible


def oc_png_base64(oc: dict, *, marker_percent: float | None = None) -> str:
    """The OC curve (percent nonconforming vs probability of acceptance) as base64 PNG."""
    # an explicit Agg figure: no pyplot state, no backend switch for the rest of the process
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(oc["percent_nonconforming"], oc["p_accept"], color="#1f5fa8", lw=2)
    for y, label in ((0.95, "95 %"), (0.10, "10 %")):
        ax.axhline(y, color="#999999", lw=0.8, ls=":")
        ax.text(oc["percent_nonconforming"][-1], y, label, ha="right", va="bottom", fontsize=8,
                color="#666666")
    if marker_percent is not None:
        ax.axvline(marker_percent, color="#c0392b", lw=1, ls="--")
    ax.set_xlabel("lot quality: % nonconforming meters")
    ax.set_ylabel("probability of acceptance")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        finalize=visible)  # control and bidi characters shown, not obeyed


def render_sampling_html(doc: dict) -> str:
    plan = doc["plan"]
    oc_png = None
    if plan.get("oc"):
        n_tested = max(len(doc["tested"]), 1)
        observed = 100.0 * (doc["decision"].get("nonconforming") or 0) / n_tested
        oc_png = oc_png_base64(plan["oc"], marker_percent=observed)
    return _env().get_template("sampling.html.j2").render(doc=doc, oc_png=oc_png)


def render_sampling_report(doc: dict, out: str | Path) -> Path:
    path = Path(out)
    path.write_text(render_sampling_html(doc), encoding="utf-8")
    return path
