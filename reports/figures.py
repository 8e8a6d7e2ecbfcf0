"""Figures of the reports, drawn from the run folder's series files and results.json.

Every figure says what its axes are, in which unit and, for time, in which time zone: the bottom
axis is the interval start in UTC (DataHub labels intervals so), the top axis the same instants
in the site's local time. Limits are drawn wherever one applies, and legends sit outside the data.

Figures are plain ``matplotlib.figure.Figure`` objects (no pyplot state, so nothing leaks between
reports) with constrained layout, so the PDF edition can redraw them at page size. The HTML
edition embeds them as base64 PNG, so one report file can be archived or mailed. Drawing is
rendering, not judging: every number a verdict rests on comes from ``results.json``.
"""

from __future__ import annotations

import base64
import io
import math
import sys
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import matplotlib
import matplotlib.dates as mdates
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, NullLocator

COLORS = ("#1f5fa8", "#d9822b", "#2e8b57", "#8e44ad", "#c0392b", "#7f8c8d")
LIMIT_COLOR = "#c0392b"
#: Text from user files (meter names, titles) must never be read as mathtext ($...$).
STYLE = {"text.parse_math": False, "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9,
         "legend.fontsize": 8, "xtick.labelsize": 8, "ytick.labelsize": 8,
         "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6}
UTC_LABEL = "interval start, UTC"
PNG_DPI = 110


@contextmanager
def style() -> Any:
    with matplotlib.rc_context(STYLE):
        yield


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI)
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:  # a caller's pyplot figure is released once drawn
        pyplot.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _times(ms: np.ndarray) -> np.ndarray:
    return np.asarray(ms, dtype="int64").astype("datetime64[ms]")


def _steps(t: np.ndarray, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """A step line of intervals labelled by their start, closed at the last interval's end."""
    y = np.asarray(y, dtype=float)
    if len(t) == 0:
        return t, y
    width = t[-1] - t[-2] if len(t) > 1 else np.timedelta64(15, "m")
    return np.append(t, t[-1] + width), np.append(y, y[-1])


def _zone(tz: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(tz) if tz and tz != "UTC" else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def time_axes(ax: Any, first: np.datetime64, tz: str | None, *, top: bool = True,
              bottom: bool = True) -> None:
    """Bottom: interval start in UTC; top: the same instants in the site's local time."""
    locator = mdates.AutoDateLocator(minticks=6, maxticks=14, tz=mdates.UTC)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=mdates.UTC))
    if bottom:
        start = str(np.datetime64(first, "m")).replace("T", " ")
        ax.set_xlabel(f"{UTC_LABEL} (first interval {start} UTC)")
    zone = _zone(tz)
    if top and zone is not None:
        sec = ax.secondary_xaxis("top")
        sec.xaxis.set_major_locator(locator)
        sec.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=zone))
        sec.set_xlabel(f"local time, {tz}", fontsize=8)


def _legend_outside(ax: Any, **kw: Any) -> None:
    """The legend to the right of the axes, never over the data or a limit line."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kw)


def comparison_figure(start_ms: np.ndarray, operator_kwh: np.ndarray, reference_kwh: np.ndarray,
                      error_pct: np.ndarray, limit_pct: float | None, title: str, *,
                      interval_limits: tuple[np.ndarray, np.ndarray] | None = None,
                      tz: str | None = None, labels: tuple[str, str] = ("operator meter",
                                                                         "reference meter"),
                      ) -> Figure:
    """Operator vs reference per interval, and each compared interval's error with its own
    quantization-aware limit (``interval_limits``: starts and ±limit %) and the bias limit."""
    t = _times(start_ms)
    with style():
        fig = new_figure(10, 5.6)
        ax1, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1.3]})
        ax1.step(*_steps(t, operator_kwh), where="post", color=COLORS[0], label=labels[0])
        ax1.step(*_steps(t, reference_kwh), where="post", color=COLORS[1], linestyle="--",
                 label=labels[1])
        ax1.set_ylabel("energy per interval (kWh)")
        ax1.set_title(title)
        _legend_outside(ax1)
        ok = np.isfinite(error_pct)
        ax2.plot(t[ok], error_pct[ok], ".", color=COLORS[0], markersize=4,
                 label="interval error")
        if interval_limits is not None and len(interval_limits[0]):
            ti = _times(interval_limits[0])
            lim = np.asarray(interval_limits[1], dtype=float)
            for sign, label in ((1, "± limit of the interval"), (-1, None)):
                ax2.plot(ti, sign * lim, "_", color=LIMIT_COLOR, markersize=7, mew=1.4,
                         label=label)
        if limit_pct is not None:
            for sign, label in ((1, f"± bias limit {limit_pct:.3f} %"), (-1, None)):
                ax2.axhline(sign * limit_pct, color=LIMIT_COLOR, linewidth=0.8, linestyle="--",
                            label=label)
        ax2.axhline(0, color="black", linewidth=0.5)
        ax2.set_ylabel("error (%)")
        _legend_outside(ax2)
        time_axes(ax2, t[0], tz, top=False)
        time_axes(ax1, t[0], tz, bottom=False)
        ax1.tick_params(labelbottom=False)
    return fig


def netting_figure(start_ms: np.ndarray, main_kwh: np.ndarray,
                   serial_kwh: Sequence[tuple[str, np.ndarray]], virtual_kwh: np.ndarray,
                   title: str, *, tz: str | None = None) -> Figure:
    """Main meter, the serial meters stacked, and the virtual main point (main − Σ serial)."""
    t = _times(start_ms)
    with style():
        fig = new_figure(10, 4.4)
        ax = fig.subplots()
        bottom = np.zeros(len(t))
        width = (np.diff(start_ms).min() if len(start_ms) > 1 else 900_000) / 86_400_000
        for k, (name, values) in enumerate(serial_kwh):
            v = np.nan_to_num(values)
            ax.bar(t, v, width=width, bottom=bottom, align="edge",
                   color=COLORS[(k + 1) % len(COLORS)], alpha=0.55, label=f"serial: {name}")
            bottom += v
        ax.step(*_steps(t, main_kwh), where="post", color="black", linewidth=1.2,
                label="main meter")
        ax.step(*_steps(t, virtual_kwh), where="post", color=COLORS[0], linewidth=1.6,
                label="virtual main point")
        neg = np.asarray(virtual_kwh) < 0
        if neg.any():
            ax.plot(t[neg], np.asarray(virtual_kwh)[neg], "v", color=COLORS[4],
                    label="negative residual")
        ax.set_ylabel("energy per interval (kWh)")
        ax.set_title(title)
        _legend_outside(ax)
        time_axes(ax, t[0], tz)
    return fig


QUALITY_COLORS = {"measured": "#2e8b57", "estimated": "#f1c40f", "calculated": "#3498db",
                  "missing": "#c0392b"}


def quality_figure(meters: Sequence[str], quality_labels: Sequence[Sequence[str]],
                   start_ms: np.ndarray, *, tz: str | None = None,
                   resolution_ms: int = 900_000) -> Figure:
    """One strip per meter: measured, estimated, calculated, missing per interval."""
    codes = {q: k for k, q in enumerate(QUALITY_COLORS)}
    cmap = matplotlib.colors.ListedColormap(list(QUALITY_COLORS.values()))
    grid = np.array([[codes.get(q, codes["missing"]) for q in row] for row in quality_labels],
                    dtype=float)
    t = _times(start_ms)
    with style():
        fig = new_figure(10, 0.28 * len(meters) + 1.7)
        ax = fig.subplots()
        x0 = mdates.date2num(t[0])
        x1 = mdates.date2num(t[-1] + np.timedelta64(int(resolution_ms), "ms"))
        ax.imshow(grid, aspect="auto", cmap=cmap, vmin=0, vmax=len(QUALITY_COLORS) - 1,
                  interpolation="nearest", extent=(x0, x1, len(meters) - 0.5, -0.5))
        ax.set_yticks(range(len(meters)), labels=list(meters))
        ax.set_ylabel("meter")
        ax.grid(False)
        ax.xaxis_date()
        ax.set_title("Quality of every interval")
        ax.legend(handles=[Patch(color=c, label=q) for q, c in QUALITY_COLORS.items()],
                  loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                  title="interval quality")
        time_axes(ax, t[0], tz)
    return fig


PF_STYLE = {"0.5 ind": ("#c0392b", "v"), "1": ("#1f5fa8", "o"), "0.8 cap": ("#2e8b57", "^")}
RATING_MARKS = (("i_min", "Imin"), ("i_tr", "Itr"), ("i_ref", "Iref"), ("i_max", "Imax"))
#: Single-phase points are drawn this factor right of their current (on the log axis), so a
#: balanced point at the same current and error is not hidden under them.
SINGLE_PHASE_OFFSET = 1.07


def current_label(amps: float) -> str:
    """A current as a tick label: 0.25, 0.5, 5, 20 (no trailing zeros, never 10⁰)."""
    return f"{amps:.4f}".rstrip("0").rstrip(".")


#: A tested current's limit is drawn this factor either side of it (log axis) where no
#: neighbouring point of its curve is nearer: the records say nothing of the limit beyond.
LIMIT_REACH = 1.25


def limit_segments(points: Sequence[dict]) -> list[tuple[float, float, float, float]]:
    """The limits of one curve (one power factor and load) as (from A, to A, low %, high %): each
    point's own limit, the one its record was judged against (``low``/``high``), drawn from the
    geometric midpoint to its neighbours (or :data:`LIMIT_REACH` beyond the first and last point).

    Taken from the records alone, never from a fixed table: a lab's limits file may split the
    currents elsewhere than Annex V Table 2 (Imin/Itr/Imax) or give each power factor its own
    limit, and in-service limits or a temperature band show as judged. Adjacent equal limits
    merge into one segment."""
    judged = sorted((p["current_a"], p.get("low"), p["high"]) for p in points
                    if p.get("high") is not None and p.get("current_a"))
    currents = sorted({c for c, _, _ in judged})
    if not currents:
        return []
    bounds = ([currents[0] / LIMIT_REACH]
              + [math.sqrt(a * b) for a, b in zip(currents, currents[1:], strict=False)]
              + [currents[-1] * LIMIT_REACH])
    segments: list[tuple[float, float, float, float]] = []
    for k, current in enumerate(currents):
        for low, high in sorted({(lo if lo is not None else -hi, hi)
                                 for c, lo, hi in judged if c == current}):
            x0, x1 = bounds[k], bounds[k + 1]
            merged = next((i for i, s in enumerate(segments)
                           if s[1] == x0 and s[2:] == (low, high)), None)
            if merged is None:
                segments.append((x0, x1, low, high))
            else:
                segments[merged] = (segments[merged][0], x1, low, high)
    return segments


def error_curve_figure(points: Sequence[dict], title: str, *,
                       rating: dict | None = None) -> Figure:
    """Error over current per power factor, with U bars, each point's own limit (in its power
    factor's colour, :func:`limit_segments`), the plan's currents as labelled ticks and
    Imin/Itr/Iref/Imax marked above.

    ``points``: dicts with ``current_a``, ``pf``, ``load``, ``value``, ``uncertainty``, ``low``,
    ``high``. Single-phase points are drawn hollow, just right of their current
    (:data:`SINGLE_PHASE_OFFSET`), and their limits dashed.
    """
    with style():
        fig = new_figure(10, 4.8)
        ax = fig.subplots()
        for pf in dict.fromkeys(p["pf"] for p in points):
            color, marker = PF_STYLE.get(pf, (COLORS[3], "s"))
            for balanced in (True, False):
                sel = sorted((p for p in points if p["pf"] == pf
                              and (p["load"] == "balanced") == balanced
                              and p.get("value") is not None), key=lambda p: p["current_a"])
                if not sel:
                    continue
                shift = 1.0 if balanced else SINGLE_PHASE_OFFSET
                ax.errorbar([p["current_a"] * shift for p in sel], [p["value"] for p in sel],
                            yerr=[p.get("uncertainty") or 0.0 for p in sel], color=color,
                            marker=marker, capsize=3, linestyle="-" if balanced else "none",
                            markerfacecolor=color if balanced else "white",
                            label=f"PF {pf}" + ("" if balanced else ", single-phase load"))
        for pf, load in dict.fromkeys((p["pf"], p["load"]) for p in points):
            color = PF_STYLE.get(pf, (COLORS[3], "s"))[0]
            balanced = load == "balanced"
            shift = 1.0 if balanced else SINGLE_PHASE_OFFSET
            curve = [p for p in points if p["pf"] == pf and p["load"] == load]
            text = f"± limit, PF {pf}" + ("" if balanced else f", {load} load")
            for k, (x0, x1, low, high) in enumerate(limit_segments(curve)):
                ax.hlines([high, low], x0 * shift, x1 * shift, colors=color, linewidth=1.1,
                          linestyles="solid" if balanced else "dashed", alpha=0.8,
                          label=text if k == 0 else None)
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.set_xscale("log")
        currents = sorted({p["current_a"] for p in points})
        marks = [(rating[key], name) for key, name in RATING_MARKS
                 if rating and rating.get(key)]
        span = [c for c in currents] + [a for a, _ in marks]
        if span:
            ax.set_xlim(min(span) / 1.6, max(span) * 1.6)
        ax.set_xticks(currents, [current_label(c) for c in currents])
        ax.xaxis.set_minor_locator(NullLocator())
        for amps, _ in marks:
            ax.axvline(amps, color="#555555", linewidth=0.7, linestyle=":")
        if marks:
            top = ax.secondary_xaxis("top")
            top.set_xticks([a for a, _ in marks], [f"{n}\n{current_label(a)} A" for a, n in marks])
            top.xaxis.set_minor_locator(NullLocator())
            top.tick_params(labelsize=8)
        ax.set_xlabel("current per phase (A, log scale; ticks at the plan's test currents)")
        ax.set_ylabel("error (%); bars: expanded uncertainty U")
        ax.set_title(title)
        _legend_outside(ax)
    return fig


def field_scatter_histogram(reference_kwh: Sequence[float], operator_kwh: Sequence[float],
                            error_pct: Sequence[float], limit_pct: float | None, title: str, *,
                            interval_limit_pct: Sequence[float] | None = None) -> Figure:
    """Operator vs reference per interval (scatter, with y = x) and the error histogram with the
    bias limit and the smallest per-interval limit."""
    ref = np.asarray(reference_kwh, dtype=float)
    op = np.asarray(operator_kwh, dtype=float)
    err = np.asarray(error_pct, dtype=float)
    with style():
        fig = new_figure(10, 4.0)
        ax1, ax2 = fig.subplots(1, 2)
        ax1.plot(ref, op, ".", color=COLORS[0], markersize=4, label="interval")
        top = float(max(np.nanmax(ref, initial=0), np.nanmax(op, initial=0))) or 1.0
        ax1.plot([0, top], [0, top], color="black", linewidth=0.6, label="y = x")
        ax1.set_xlabel("reference energy per interval (kWh)")
        ax1.set_ylabel("operator energy per interval (kWh)")
        _legend_outside(ax1)
        ok = np.isfinite(err)
        lims = np.asarray([x for x in (interval_limit_pct or []) if x is not None], dtype=float)
        # bins over the limits (not over the data's own spread, which can be a few ppm wide)
        reach = max([float(np.max(np.abs(err[ok]), initial=0.0)), *(lims.tolist() or [0.0]),
                     limit_pct or 0.0]) * 1.1 or 1.0
        ax2.hist(err[ok], bins=np.linspace(-reach, reach, 41), color=COLORS[1],
                 label="intervals")
        if limit_pct is not None:
            for sign, label in ((1, f"± bias limit {limit_pct:.3f} %"), (-1, None)):
                ax2.axvline(sign * limit_pct, color=LIMIT_COLOR, linewidth=0.9, linestyle="--",
                            label=label)
        if lims.size:
            smallest = float(lims.min())
            for sign, label in ((1, f"± smallest interval limit {smallest:.3f} %"), (-1, None)):
                ax2.axvline(sign * smallest, color=LIMIT_COLOR, linewidth=0.9, label=label)
        ax2.set_xlabel("interval error (%)")
        ax2.set_ylabel("intervals")
        ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
        _legend_outside(ax2)
        fig.suptitle(title, fontsize=10)
    return fig


def oc_figure(oc: dict, *, marker_percent: float | None = None) -> Figure:
    """A sampling plan's operating characteristic: probability of acceptance over lot quality."""
    with style():
        fig = new_figure(8, 3.8)
        ax = fig.subplots()
        ax.plot(oc["percent_nonconforming"], oc["p_accept"], color=COLORS[0], lw=2,
                label="probability of acceptance")
        for y, label in ((0.95, "95 %"), (0.10, "10 %")):
            ax.axhline(y, color="#999999", lw=0.8, ls=":")
            ax.text(oc["percent_nonconforming"][-1], y, label, ha="right", va="bottom",
                    fontsize=8, color="#666666")
        if marker_percent is not None:
            ax.axvline(marker_percent, color=LIMIT_COLOR, lw=1, ls="--",
                       label=f"this sample: {marker_percent:.2f} % nonconforming")
        ax.set_xlabel("lot quality: nonconforming meters (%)")
        ax.set_ylabel("probability of acceptance")
        ax.set_ylim(-0.02, 1.02)
        _legend_outside(ax)
    return fig
