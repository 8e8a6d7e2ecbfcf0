"""The run report: one self-contained HTML file rendered from a run folder.

Autoescaping is on for every template: meter names, event texts and bench fields come from user
files and must render as text, never as markup.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape

from meterbench.reports import figures
from meterbench.reports.run_reader import load_results, read_table, safe_member
from meterbench.reports.visible import visible

REPORT_FILE = "report.html"


def environment() -> Environment:
    return Environment(loader=PackageLoader("meterbench.reports", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       finalize=visible)  # control and bidi characters shown, not obeyed


def fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.6g}"
    return str(value)


def num(value: Any, spec: str) -> str:
    """A number in ``spec`` format, or "n/a" for a value the run could not establish."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return spec % value


def dof(value: Any) -> str:
    """Degrees of freedom as results.json carries them: a number, ``"inf"`` (∞), or absent."""
    if value == "inf":
        return "∞"
    return num(value, "%.1f")


def fmt_limit(record: dict[str, Any]) -> str:
    lo, hi = record.get("low"), record.get("high")
    if lo is not None and hi is not None and lo == -hi:
        return f"±{fmt(hi)}"
    if lo is not None and hi is not None:
        return f"{fmt(lo)} … {fmt(hi)}"
    if hi is not None:
        return f"≤ {fmt(hi)}"
    if lo is not None:
        return f"≥ {fmt(lo)}"
    return ""


def _figures(run_dir: Path, results: dict[str, Any]) -> dict[str, str]:
    """The report's figures as data URIs, keyed by section."""
    return {k: figures.to_data_uri(fig) for k, fig in build_figures(run_dir, results).items()}


def build_figures(run_dir: Path, results: dict[str, Any]) -> dict[str, Any]:
    """The report's figures (matplotlib Figures, the caller closes them), keyed by section."""
    out: dict[str, Any] = {}
    series = results.get("series", {})
    if "intervals" in series:
        tab = read_table(safe_member(run_dir, series["intervals"]))
        if tab:
            meters = [m for m in dict.fromkeys(tab["meter"]) ]
            rows, starts = [], None
            for m in meters:
                sel = (tab["meter"] == m) & (tab["channel"] == "energy.import")
                if sel.any():
                    rows.append(list(tab["quality"][sel]))
                    starts = _start_ms(tab["start"][sel])
            if rows and starts is not None:
                width = min(len(r) for r in rows)
                out["quality"] = figures.quality_figure(meters, [r[:width] for r in rows], starts[:width])
    net = results.get("netting")
    if net and "netting" in series:
        tab = read_table(safe_member(run_dir, series["netting"]))
        if tab:
            serial = [(m, tab[f"serial:{m}"]) for m in net["serial"] if f"serial:{m}" in tab]
            out["netting"] = figures.netting_figure(_start_ms(tab["start"]), tab["main"], serial,
                                                    tab["virtual"], "Main meter, serial meters and the virtual main point")
    if results.get("field") and "comparison" in series:
        tab = read_table(safe_member(run_dir, series["comparison"]))
        for f in results["field"]:
            sel = tab["operator"] == f["operator"]
            if sel.any():
                out["field:" + f["operator"]] = figures.comparison_figure(
                    _start_ms(tab["start"][sel]), tab["operator_kwh"][sel], tab["reference_kwh"][sel],
                    tab["error_pct"][sel], f.get("limit_pct"),
                    f"{f['operator']} vs {f['reference']} per interval")
    out.update(_accuracy_figures(results))
    return out


def _accuracy_figures(results: dict[str, Any]) -> dict[str, Any]:
    """Error curves per lab meter, scatter and histogram per field pair (data from results.json)."""
    out: dict[str, str] = {}
    for m in ((results.get("accuracy") or {}).get("lab") or {}).get("meters", []):
        pts = [dict(current_a=r["data"]["current_a"], pf=r["data"]["pf"], load=r["data"]["load"],
                    value=r["value"], uncertainty=r["uncertainty"], high=r["high"])
               for r in m["records"] if r.get("data", {}).get("kind") == "point"]
        if pts:
            out["lab:" + m["meter"]] = figures.error_curve_figure(
                pts, f"{m['meter']} ({m['model']}, class {m['accuracy_class']}): error curve")
    for f in results.get("field") or []:
        pts = f.get("points") or []
        if pts:
            out["accfield:" + f["operator"]] = figures.field_scatter_histogram(
                [p["reference_kwh"] for p in pts], [p["operator_kwh"] for p in pts],
                [p["error_pct"] for p in pts], f.get("limit_pct"),
                f"{f['operator']} vs {f['reference']}: intervals and error distribution")
    return out


def _start_ms(labels: np.ndarray) -> np.ndarray:
    return np.array([np.datetime64(str(s).rstrip("Z"), "ms").astype("int64") for s in labels])


def render_html(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    results = load_results(run_dir)
    records = results.get("records", [])
    summary = results.get("summary") or {}
    tests = results.get("tests", [])
    context = dict(
        schema=results["schema"], run=results["run"], verdict=results.get("verdict", "info"),
        summary={"total": summary.get("records", {}).get("total", len(records)),
                 "counts": summary.get("records", {}).get("by_verdict", {})},
        failing=[r for r in records if r["verdict"] in ("fail", "conditional_fail")],
        records=records, devices=results.get("devices", []),
        acquisition=results.get("acquisition"), intervals=results.get("intervals"),
        netting=results.get("netting"), field=results.get("field", []), truth=results.get("truth", []),
        accuracy=results.get("accuracy") or {},
        events=results.get("events", []), tests=tests,
        test_counts=summary.get("tests", {}).get("by_outcome", {}),
        figures=_figures(run_dir, results), fmt=fmt, fmt_limit=fmt_limit, num=num, dof=dof,
    )
    html = environment().get_template("run.html.j2").render(**context)
    out = run_dir / REPORT_FILE
    out.write_text(html, encoding="utf-8")
    return out
