"""The fleet screen's report, as a page of the report model (one style with every other report).

Renders the plain document the bench builds (``meterbench.fleet.output.report_data``); imports
nothing from the bench, like every renderer here. :func:`build_fleet_page` builds the page;
``html.render_page`` (and ``pdf.write_pdf``) render it like the run, lab and sampling reports.
The figures are drawn here from the document's values.
"""

from __future__ import annotations

from typing import Any

import matplotlib.dates as mdates
import numpy as np

from meterbench.reports import figures, numbers


def kinds_figure(counts: dict[str, int], order: list[str]) -> Any:
    names = [k for k in order if counts.get(k)]
    fig = figures.new_figure(9, 0.35 * max(len(names), 1) + 1.0)
    ax = fig.subplots()
    if not names:
        ax.text(0.5, 0.5, "no findings", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    y = np.arange(len(names))
    ax.barh(y, [counts[k] for k in names], color=figures.COLORS[0])
    ax.set_yticks(y, [k.replace("_", " ") for k in names])
    ax.invert_yaxis()
    values = [counts[k] for k in names]
    if max(values) >= 20 * min(values):  # a log axis only where the counts span decades
        ax.set_xscale("log")
        ax.set_xlabel("findings (log scale)")
    else:
        ax.set_xlabel("findings")
        ax.xaxis.get_major_locator().set_params(integer=True)
    for k, name in enumerate(names):
        ax.text(counts[name], k, " " + (numbers.fixed(counts[name], 0) or "0"), va="center", fontsize=8)
    return fig


def heatmap_figure(heat: dict[str, Any]) -> Any:
    counts = np.asarray(heat["counts"], dtype=float)
    sites, days = heat["sites"], heat["days"]
    # tall enough for the title, the day bars, the legend and a few sites' rows
    fig = figures.new_figure(10, max(3.6, 1.6 + 0.16 * len(sites)))
    ax0, ax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 5]})
    ax0.bar(np.arange(len(days)), heat["per_day"], color=figures.COLORS[1], width=0.9)
    ax0.set_ylim(0, max(1.0, float(np.max(heat["per_day"], initial=0)) * 1.05))
    ax0.set_ylabel("findings\nper day", fontsize=8)
    ax0.set_title("the whole fleet per local day (top); the sites with the most serious "
                  "findings (below)", fontsize=9)
    if len(sites):
        top = max(float(counts.max()) if counts.size else 0.0, 1.0)
        im = ax.imshow(np.log10(counts + 1), aspect="auto", cmap="Reds", interpolation="nearest",
                       extent=(-0.5, len(days) - 0.5, len(sites) - 0.5, -0.5),
                       vmin=0.0, vmax=np.log10(top + 1))
        marks = np.flatnonzero(np.asarray(heat["period_findings"]) > 0)
        ax.plot(np.full(len(marks), len(days) - 0.2), marks, "<", color=figures.COLORS[3],
                markersize=4, clip_on=False, label="finding about the whole period")
        ax.set_yticks(np.arange(len(sites)), sites, fontsize=6)
        cb = fig.colorbar(im, ax=[ax0, ax], fraction=0.025, pad=0.02)
        ticks = sorted({c for c in (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if c < top}
                       | {int(top)})
        cb.set_ticks([np.log10(c + 1) for c in ticks], labels=[str(c) for c in ticks])
        cb.set_label("findings (log scale)", fontsize=8)
        ax.legend(loc="lower left", fontsize=7,
                  bbox_to_anchor=(0, -0.14 - 2.0 / max(len(sites), 12)))
    step = max(1, len(days) // 12)
    ax.set_xticks(np.arange(0, len(days), step), [days[k][5:] for k in range(0, len(days), step)],
                  fontsize=7)
    ax.set_xlabel("local day")
    return fig


def errors_figure(errors: dict[str, list[float]]) -> Any:
    e = np.asarray(errors["error_pct"])
    fig = figures.new_figure(9, 3.2 if len(e) else 1.2)
    ax = fig.subplots()
    if not len(e):
        ax.text(0.5, 0.5, "no meter switched enough to estimate its error", ha="center",
                va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    ax.hist(np.clip(e, -12, 12), bins=96, range=(-12, 12), color=figures.COLORS[0])
    for lim in sorted(set(errors["limit_pct"])):
        for sign in (-1, 1):
            ax.axvline(sign * lim, color=figures.COLORS[4], linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("serial meter error against the main meter, % (clipped at ±12)")
    ax.set_ylabel("meters")
    ax.set_title("error estimates; red lines: in-service limits of the classes present",
                 fontsize=9)
    return fig


def daily_figure(site: dict[str, Any]) -> Any:
    """A site's day totals; a day with a value missing is a gap (None in the run's data)."""
    d = {k: (np.array([np.nan if x is None else x for x in v], dtype=float) if k != "days"
             else v) for k, v in site["daily"].items()}
    t = np.asarray(d["days"], dtype="datetime64[D]")
    fig = figures.new_figure(9, 2.6)
    ax = fig.subplots()
    style = "o-" if len(t) <= 31 else "-"  # a short period's days as points too
    ax.plot(t, d["main"], style, color="black", markersize=3, label="main meter (import − export)")
    ax.plot(t, d["serial"], style, color=figures.COLORS[1], markersize=3, label="Σ serial meters")
    ax.plot(t, d["virtual"], style, color=figures.COLORS[0], markersize=3,
            label="virtual main point")
    if len(t):
        ax.set_xlim(t[0] - np.timedelta64(1, "D"), t[-1] + np.timedelta64(1, "D"))
    ax.axhline(0, color="black", linewidth=0.5)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    ax.set_ylabel("kWh per day")
    ax.legend(loc="upper left", fontsize=7)
    return fig


def site_day_figure(site: dict[str, Any]) -> Any:
    start = np.asarray(site["start_ms"], dtype=np.int64)

    def arr(v: list[float | None]) -> np.ndarray:
        return np.array([np.nan if x is None else x for x in v], dtype=float)

    serial = [(f"{s['appliance']} {s['gsrn']}", arr(v))
              for s, v in zip(site["serial"], site["serial_kwh"], strict=True)]
    if not any(np.isfinite(a).any() for a in (arr(site["main_kwh"]), *(v for _, v in serial))):
        fig = figures.new_figure(9, 1.2)
        ax = fig.subplots()
        ax.text(0.5, 0.5, f"{site['site']}: no value was delivered for {site['day']} (its day "
                "with most findings)", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    return figures.netting_figure(start, arr(site["main_kwh"]), serial, arr(site["virtual_kwh"]),
                                  f"{site['site']}: {site['day']} (its day with most findings)")


def render_fleet_html(data: dict[str, Any]) -> str:
    """The report page as self-contained HTML."""
    from meterbench.reports.fleet_page import build_fleet_page
    from meterbench.reports.html import render_page

    return render_page(build_fleet_page(data))
