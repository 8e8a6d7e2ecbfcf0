"""Figures for the run report, drawn from the run folder's series files.

Figures are embedded in the HTML as base64 PNG so that a report is one self-contained file a lab
can archive or mail. Drawing is rendering, not judging: every number a verdict rests on comes from
``results.json``; the series only give the picture.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = ("#1f5fa8", "#d9822b", "#2e8b57", "#8e44ad", "#c0392b", "#7f8c8d")


def to_data_uri(fig: matplotlib.figure.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _times(ms: np.ndarray) -> np.ndarray:
    return np.asarray(ms, dtype="int64").astype("datetime64[ms]")


def comparison_figure(start_ms: np.ndarray, operator_kwh: np.ndarray, reference_kwh: np.ndarray,
                      error_pct: np.ndarray, limit_pct: float | None, title: str) -> matplotlib.figure.Figure:
    """Operator vs reference per interval, with the per-interval error and its limit."""
    t = _times(start_ms)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 5.2), sharex=True,
                                   gridspec_kw={"height_ratios": [2, 1]})
    ax1.step(t, operator_kwh, where="post", color=COLORS[0], label="operator meter")
    ax1.step(t, reference_kwh, where="post", color=COLORS[1], linestyle="--", label="reference meter")
    ax1.set_ylabel("kWh per interval")
    ax1.set_title(title)
    ax1.legend(loc="upper left")
    ok = np.isfinite(error_pct)
    ax2.plot(t[ok], error_pct[ok], ".", color=COLORS[0], markersize=4)
    if limit_pct is not None:
        ax2.axhline(limit_pct, color=COLORS[4], linewidth=0.8)
        ax2.axhline(-limit_pct, color=COLORS[4], linewidth=0.8)
    ax2.axhline(0, color="black", linewidth=0.5)
    ax2.set_ylabel("error %")
    ax2.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax2.set_xlabel("interval start (UTC)")
    return fig


def netting_figure(start_ms: np.ndarray, main_kwh: np.ndarray, serial_kwh: Sequence[tuple[str, np.ndarray]],
                   virtual_kwh: np.ndarray, title: str) -> matplotlib.figure.Figure:
    """Main meter, the serial meters stacked, and the virtual main point (main − Σ serial)."""
    t = _times(start_ms)
    fig, ax = plt.subplots(figsize=(9, 4.2))
    bottom = np.zeros(len(t))
    width = (np.diff(start_ms).min() if len(start_ms) > 1 else 900_000) / 86_400_000
    for k, (name, values) in enumerate(serial_kwh):
        v = np.nan_to_num(values)
        ax.bar(t, v, width=width, bottom=bottom, align="edge", color=COLORS[(k + 1) % len(COLORS)],
               alpha=0.55, label=name)
        bottom += v
    ax.step(t, main_kwh, where="post", color="black", linewidth=1.2, label="main meter")
    ax.step(t, virtual_kwh, where="post", color=COLORS[0], linewidth=1.6, label="virtual main point")
    neg = virtual_kwh < 0
    if neg.any():
        ax.plot(t[neg], virtual_kwh[neg], "v", color=COLORS[4], label="negative residual")
    ax.set_ylabel("kWh per interval")
    ax.set_title(title)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.set_xlabel("interval start (UTC)")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def quality_figure(meters: Sequence[str], quality_labels: Sequence[Sequence[str]],
                   start_ms: np.ndarray) -> matplotlib.figure.Figure:
    """One strip per meter: measured, estimated, calculated, missing per interval."""
    codes = {"measured": 0, "estimated": 1, "calculated": 2, "missing": 3}
    colors = matplotlib.colors.ListedColormap(["#2e8b57", "#f1c40f", "#3498db", "#c0392b"])
    grid = np.array([[codes.get(q, 3) for q in row] for row in quality_labels], dtype=float)
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(meters) + 0.9))
    t = _times(start_ms)
    x0, x1 = mdates.date2num(t[0]), mdates.date2num(t[-1] + np.timedelta64(15, "m"))
    ax.imshow(grid, aspect="auto", cmap=colors, vmin=0, vmax=3, interpolation="nearest",
              extent=(x0, x1, len(meters) - 0.5, -0.5))
    ax.set_yticks(range(len(meters)), labels=list(meters))
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.set_title("Interval quality (green measured, yellow estimated, blue calculated, red missing)",
                 fontsize=9)
    return fig



PF_STYLE = {"0.5 ind": ("#c0392b", "v"), "1": ("#1f5fa8", "o"), "0.8 cap": ("#2e8b57", "^")}


def error_curve_figure(points: Sequence[dict], title: str) -> matplotlib.figure.Figure:
    """Error over current per power factor (balanced load), with U bars and the MPE envelope.

    ``points``: dicts with ``current_a``, ``pf``, ``load``, ``value``, ``uncertainty``, ``high``.
    Single-phase points are drawn hollow at their current.
    """
    fig, ax = plt.subplots(figsize=(9, 4.4))
    for pf in dict.fromkeys(p["pf"] for p in points):
        color, marker = PF_STYLE.get(pf, (COLORS[3], "s"))
        for balanced in (True, False):
            sel = sorted((p for p in points if p["pf"] == pf and (p["load"] == "balanced") == balanced
                          and p.get("value") is not None), key=lambda p: p["current_a"])
            if not sel:
                continue
            x = [p["current_a"] for p in sel]
            y = [p["value"] for p in sel]
            u = [p.get("uncertainty") or 0.0 for p in sel]
            ax.errorbar(x, y, yerr=u, color=color, marker=marker, capsize=3,
                        linestyle="-" if balanced else "none",
                        markerfacecolor=color if balanced else "white",
                        label=f"PF {pf}" + ("" if balanced else " single-phase"))
    env = sorted({(p["current_a"], p["high"]) for p in points if p.get("high") is not None})
    if env:
        xs = [c for c, _ in env]
        hs = [h for _, h in env]
        ax.step(xs, hs, where="post", color="black", linewidth=1.0, label="MPE")
        ax.step(xs, [-h for h in hs], where="post", color="black", linewidth=1.0)
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.set_xscale("log")
    ax.set_xlabel("current per phase (A)")
    ax.set_ylabel("error % (± U, k = 2)")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    return fig


def field_scatter_histogram(reference_kwh: Sequence[float], operator_kwh: Sequence[float],
                            error_pct: Sequence[float], limit_pct: float | None, title: str) -> matplotlib.figure.Figure:
    """Operator vs reference per interval (scatter, with y = x) and the error histogram."""
    ref = np.asarray(reference_kwh, dtype=float)
    op = np.asarray(operator_kwh, dtype=float)
    err = np.asarray(error_pct, dtype=float)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.8))
    ax1.plot(ref, op, ".", color=COLORS[0], markersize=4)
    top = float(max(ref.max(initial=0), op.max(initial=0))) or 1.0
    ax1.plot([0, top], [0, top], color="black", linewidth=0.6, label="y = x")
    ax1.set_xlabel("reference kWh per interval")
    ax1.set_ylabel("operator kWh per interval")
    ax1.legend(loc="upper left", fontsize=8)
    ok = np.isfinite(err)
    ax2.hist(err[ok], bins=min(40, max(5, int(ok.sum() // 3) or 5)), color=COLORS[1])
    if limit_pct is not None:
        for x in (-limit_pct, limit_pct):
            ax2.axvline(x, color=COLORS[4], linewidth=0.8)
    ax2.set_xlabel("interval error %")
    ax2.set_ylabel("intervals")
    fig.suptitle(title, fontsize=10)
    return fig
