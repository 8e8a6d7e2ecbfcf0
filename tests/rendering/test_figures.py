"""Issue 15: figures an engineer reads without asking. Checked on the matplotlib objects before
they are rasterized: axis labels with units and time zone, the plan's currents as ticks with
Imin/Itr/Iref/Imax, ±limit lines wherever a limit applies, legends outside the data."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.colors import to_hex

from meterbench.reports.figures import (
    PF_STYLE,
    SINGLE_PHASE_OFFSET,
    current_label,
    error_curve_figure,
    limit_segments,
)


def _figures(report, prefix: str = ""):
    return [(f.key, f.build()) for f in report.page.figures() if f.key.startswith(prefix)]


def _main_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


@pytest.fixture(params=("field_report", "lab_report", "sampling_report"))
def report(request):
    return request.getfixturevalue(request.param)


def test_every_axis_is_named_and_every_legend_sits_outside_the_data(report):
    figs = _figures(report)
    assert figs
    for key, fig in figs:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for ax in _main_axes(fig):
            assert ax.get_ylabel().strip(), (key, "y label")
            if ax.get_subplotspec().is_last_row():  # the x axis a reader looks at
                assert ax.get_xlabel().strip(), (key, "x label")
            legend = ax.get_legend()
            if legend is not None:
                box = legend.get_window_extent(renderer)
                area = ax.get_window_extent(renderer)
                assert box.x0 >= area.x1 - 1, (key, "legend over the data")


def test_time_axes_say_utc_and_the_local_zone(field_report):
    tz = field_report.results["run"]["timezone"]
    for key, fig in _figures(field_report):
        if key.startswith("accfield"):
            continue  # scatter and histogram: no time axis
        bottom = fig.axes[-1]
        assert "UTC" in bottom.get_xlabel(), key
        tops = [c for ax in fig.axes for c in ax.child_axes]
        assert tops and all(tz in c.get_xlabel() for c in tops), key
    quality = dict(_figures(field_report))["quality"]
    assert quality.axes[0].get_xlabel().startswith("interval start, UTC")


def test_error_curve_ticks_are_the_plans_currents_with_the_rating_marked(lab_report):
    meters = {m["meter"]: m for m in lab_report.results["accuracy"]["lab"]["meters"]}
    curves = _figures(lab_report, "lab:")
    assert len(curves) == len(meters) == 2
    for key, fig in curves:
        m = meters[key.split(":", 1)[1]]
        currents = sorted({r["data"]["current_a"] for r in m["records"]
                           if r["data"]["kind"] == "point"})
        ax = fig.axes[0]
        fig.canvas.draw()
        assert ax.get_xscale() == "log"
        assert list(ax.get_xticks()) == currents
        assert [t.get_text() for t in ax.get_xticklabels()] == [current_label(c) for c in currents]
        assert [current_label(c) for c in currents] == ["0.25", "0.5", "5", "20"]
        assert len(ax.xaxis.get_minorticklocs()) == 0  # no unlabelled 10⁰/10¹ decades
        (top,) = ax.child_axes
        rating = m["rating"]
        assert list(top.get_xticks()) == [rating[k] for k in ("i_min", "i_tr", "i_ref", "i_max")]
        assert [t.get_text().split("\n")[0] for t in top.get_xticklabels()] == \
            ["Imin", "Itr", "Iref", "Imax"]


def test_error_curve_draws_plus_and_minus_mpe_over_every_current_range(lab_report):
    for key, fig in _figures(lab_report, "lab:"):
        meter = key.split(":", 1)[1]
        m = next(x for x in lab_report.results["accuracy"]["lab"]["meters"] if x["meter"] == meter)
        ax = fig.axes[0]
        # horizontal segments (the U bars of errorbar are vertical ones)
        segments = [seg for c in ax.collections if isinstance(c, LineCollection)
                    for seg in c.get_segments() if len(seg) == 2 and seg[0][1] == seg[1][1]]
        for r in (r for r in m["records"] if r["data"]["kind"] == "point"):
            i = r["data"]["current_a"]
            for level in (r["high"], r["low"]):
                assert any(abs(s[0][1] - level) < 1e-9 and s[0][0] <= i <= s[1][0]
                           for s in segments), (meter, r["name"], level)
        assert "± limit, PF 1" in [t.get_text() for t in ax.get_legend().get_texts()]


def _limit_lines(ax):
    """(x0, x1, y, colour, dashed) of every horizontal limit segment (U bars are vertical)."""
    out = []
    for c in ax.collections:
        if not isinstance(c, LineCollection):
            continue
        colors = c.get_colors()
        dashed = c.get_linestyle()[0][1] is not None
        for k, seg in enumerate(c.get_segments()):
            if len(seg) == 2 and seg[0][1] == seg[1][1] and seg[0][0] != seg[1][0]:
                out.append((seg[0][0], seg[1][0], seg[0][1],
                            to_hex(colors[k % len(colors)], keep_alpha=False), dashed))
    return out


# A lab's class 1 limits file with power-factor rows (the reviewer's case): PF 1 is judged
# against ±1.0 % from 0.1 Iref, PF 0.5 ind against ±1.5 %, and 0.05 Iref (below) against ±1.5 %.
PF_ROWS = [dict(current_a=0.25, pf="1", load="balanced", value=0.3, uncertainty=0.05,
                low=-1.5, high=1.5),
           dict(current_a=0.5, pf="1", load="balanced", value=0.8, uncertainty=0.05,
                low=-1.0, high=1.0),
           dict(current_a=5.0, pf="1", load="balanced", value=1.2, uncertainty=0.05,
                low=-1.0, high=1.0),
           dict(current_a=20.0, pf="1", load="balanced", value=0.2, uncertainty=0.05,
                low=-1.0, high=1.0),
           dict(current_a=0.5, pf="0.5 ind", load="balanced", value=1.2, uncertainty=0.05,
                low=-1.5, high=1.5),
           dict(current_a=5.0, pf="0.5 ind", load="balanced", value=-0.4, uncertainty=0.05,
                low=-1.5, high=1.5),
           dict(current_a=5.0, pf="1", load="single-phase L1", value=0.9, uncertainty=0.05,
                low=-2.0, high=2.0)]
RATING = dict(i_min=0.25, i_tr=0.5, i_ref=5.0, i_max=20.0)


def test_error_curve_draws_each_points_own_limit_per_power_factor_and_load():
    """With a limits file that is not Annex V Table 2 the envelope is each record's own limit:
    a PF 1 point judged against ±1.0 % is never drawn inside a ±1.5 % line of its own curve, and
    every limit line is in the colour of the power factor it belongs to."""
    fig = error_curve_figure(PF_ROWS, "class 1", rating=RATING)
    lines = _limit_lines(fig.axes[0])
    assert lines
    for p in PF_ROWS:
        balanced = p["load"] == "balanced"
        x = p["current_a"] * (1.0 if balanced else SINGLE_PHASE_OFFSET)
        own_curve = {y for x0, x1, y, color, dashed in lines if x0 <= x <= x1
                     and color == PF_STYLE[p["pf"]][0] and dashed != balanced}
        assert own_curve == {p["low"], p["high"]}, (p, own_curve)


def test_limit_segments_are_the_records_own_limits_and_merge_equal_neighbours():
    pf1 = [p for p in PF_ROWS if p["pf"] == "1" and p["load"] == "balanced"]
    segs = limit_segments(pf1)
    # 0.25 A at ±1.5, then 0.5…20 A at ±1.0 merged into one segment, split at √(0.25·0.5)
    assert [(round(a, 4), round(b, 4), lo, hi) for a, b, lo, hi in segs] == [
        (0.2, 0.3536, -1.5, 1.5), (0.3536, 25.0, -1.0, 1.0)]
    assert limit_segments([dict(current_a=1.0, pf="1", load="balanced", high=None)]) == []


def test_operator_vs_reference_error_plot_has_its_limit_lines(field_report):
    (f,) = field_report.results["field"]
    fig = dict(_figures(field_report))["field:" + f["operator"]]
    ax = fig.axes[1]
    assert ax.get_ylabel() == "error (%)"
    flat = [ln for ln in ax.get_lines() if len(set(np.asarray(ln.get_ydata(), float))) == 1]
    levels = sorted({float(ln.get_ydata()[0]) for ln in flat})
    assert -f["limit_pct"] in levels and f["limit_pct"] in levels  # the bias limit
    per_interval = [ln for ln in ax.get_lines() if ln.get_label() == "± limit of the interval"]
    (upper,) = per_interval
    limits = sorted(p["limit_pct"] for p in f["points"])
    assert sorted(np.asarray(upper.get_ydata(), float)) == pytest.approx(limits)
    lower = [ln for ln in ax.get_lines() if ln.get_marker() == "_" and ln is not upper]
    assert sorted(-np.asarray(lower[0].get_ydata(), float)) == pytest.approx(limits)


def test_histogram_of_interval_errors_marks_the_limits(field_report):
    (f,) = field_report.results["field"]
    fig = dict(_figures(field_report))["accfield:" + f["operator"]]
    ax = fig.axes[1]
    xs = sorted({round(float(ln.get_xdata()[0]), 9) for ln in ax.get_lines()})
    smallest = min(p["limit_pct"] for p in f["points"])
    for x in (f["limit_pct"], smallest):
        assert round(x, 9) in xs and round(-x, 9) in xs
