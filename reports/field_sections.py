"""The field run's sections of the run report: acquisition, intervals and quality, netting, field
acceptance, ground truth and the DataHub metering points.

Numbers come from results.json; the series files only draw the figures. Each builder returns no
section when the run has no such data (a lab run has none of these).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from meterbench.reports import figures, numbers
from meterbench.reports.page import (
    Cell,
    Column,
    FigureBlock,
    Heading,
    Paragraph,
    Section,
    key_values,
    table,
    verdict_badge,
)
from meterbench.reports.records_table import record_columns
from meterbench.reports.run_reader import read_table, safe_member


def sections(run_dir: Path, results: dict[str, Any]) -> list[Section]:
    tz = (results.get("run") or {}).get("timezone")
    out = [acquisition_section(results.get("acquisition")),
           intervals_section(run_dir, results, tz),
           netting_section(run_dir, results, tz),
           field_section(run_dir, results, tz),
           truth_section(results.get("truth"), (results.get("netting") or {}).get("truth")),
           datahub_section(results.get("datahub"))]
    return [s for s in out if s is not None]


def start_ms(labels: Any) -> np.ndarray:
    """Interval labels (``2026-06-01T04:30Z`` or with seconds) as epoch ms."""
    return np.array([np.datetime64(str(s).rstrip("Z"), "ms").astype("int64") for s in labels],
                    dtype="int64")


def _series(run_dir: Path, results: dict[str, Any], key: str) -> dict[str, np.ndarray]:
    name = (results.get("series") or {}).get(key)
    if not name:
        return {}
    path = safe_member(run_dir, name)
    return read_table(path) if path.is_file() else {}


# ---- acquisition -------------------------------------------------------------------------------
ACQUISITION_COLUMNS = (
    Column("meter", lambda kv: kv[0], kind="text"),
    Column("polls", lambda kv: kv[1].get("polls"), decimals=0),
    Column("answered", lambda kv: kv[1].get("ok"), decimals=0),
    Column("errors", lambda kv: kv[1].get("errors"), decimals=0),
    Column("success", lambda kv: kv[1].get("success_pct"), unit="%", decimals=3),
    Column("median round trip", lambda kv: kv[1].get("rtt_p50_ms"), unit="ms", decimals=2),
    Column("last error", lambda kv: kv[1].get("last_error"), kind="text", missing="none"),
)


def acquisition_section(acq: dict[str, Any] | None) -> Section | None:
    if not acq:
        return None
    text = (f"{acq['polls_done']:,} of {acq['polls_scheduled']:,} scheduled polls answered "
            f"({acq['success_pct']:.3f} %), {acq.get('polls_failed', 0):,} failed, "
            f"{acq.get('polls_skipped', 0):,} skipped; {acq['readings']:,} readings stored.")
    return Section("acquisition", "Acquisition", (
        Paragraph(text), table(ACQUISITION_COLUMNS, (acq.get("meters") or {}).items())))


# ---- intervals ---------------------------------------------------------------------------------
INTERVAL_COLUMNS = (
    Column("meter", "meter", kind="text"),
    Column("channel", "channel", kind="text"),
    Column("intervals", "count", decimals=0),
    Column("measured", "measured", decimals=0),
    Column("estimated", "estimated", decimals=0),
    Column("missing", "missing", decimals=0),
    Column("total", "total_kwh", unit="kWh", decimals=3),
)


def _quality_figure(run_dir: Path, results: dict[str, Any], tz: str | None) -> Any:
    tab = _series(run_dir, results, "intervals")
    if not tab:
        return None
    meters = list(dict.fromkeys(tab["meter"]))
    rows, starts = [], None
    for m in meters:
        sel = (tab["meter"] == m) & (tab["channel"] == "energy.import")
        if sel.any():
            rows.append(list(tab["quality"][sel]))
            starts = start_ms(tab["start"][sel])
    if not rows or starts is None:
        return None
    width = min(len(r) for r in rows)
    names = [m for m in meters if ((tab["meter"] == m) & (tab["channel"] == "energy.import")).any()]
    return lambda: figures.quality_figure(names, [r[:width] for r in rows], starts[:width], tz=tz)


def intervals_section(run_dir: Path, results: dict[str, Any], tz: str | None) -> Section | None:
    iv = results.get("intervals")
    if not iv:
        return None
    blocks: list[Any] = [Paragraph(
        f"Resolution {iv['resolution']}, intervals labelled by their start in UTC. Boundary "
        "register values are interpolated linearly between the bracketing readings (largest gap "
        f"bridged: {iv['max_gap']}).")]
    build = _quality_figure(run_dir, results, tz)
    if build:
        blocks.append(FigureBlock("quality", "interval quality per meter",
                                  "Quality of every quarter-hour per meter (energy.import)", build))
    blocks.append(table(INTERVAL_COLUMNS, iv.get("meters", [])))
    return Section("intervals", "Intervals and quality", tuple(blocks))


# ---- netting -----------------------------------------------------------------------------------
NETTING_COLUMNS = (
    Column("quantity", "what", kind="text"),
    Column("energy", "kwh", unit="kWh", decimals=6, missing="not checkable"),
    Column("limit", "limit", unit="kWh", missing="—"),
    Column("verdict", "verdict", kind="verdict"),
)


def netting_rows(net: dict[str, Any], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The netting totals, and the two checks on them with the limits their records carry."""
    by_check = {r.get("check"): r for r in records}

    def checked(what: str, check_id: str, kwh: Any, verdict: Any) -> dict[str, Any]:
        rec = by_check.get(check_id) or {}
        if kwh is None and rec.get("detail"):
            what += f" ({rec['detail']})"
        return dict(what=what, kwh=numbers.quantity(kwh, "kWh", signed=True),
                    limit=numbers.limit(rec.get("low"), rec.get("high"), "kWh"),
                    verdict=verdict)

    rows: list[dict[str, Any]] = [
        dict(what="main meter", kwh=net["main_kwh"], verdict="info"),
        dict(what="Σ serial meters (" + ", ".join(net.get("serial", [])) + ")",
             kwh=net["serial_kwh"], verdict="info"),
        dict(what="virtual main point = main − Σ serial", kwh=net["virtual_kwh"], verdict="info")]
    if net.get("conservation_verdict") is not None:
        rows.append(checked("all points − main meter's register difference",
                            "netting.main_register", net.get("conservation_gap_kwh"),
                            net["conservation_verdict"]))
    truth = net.get("truth")
    if truth:
        rows.append(dict(what="true consumption at the virtual point (simulated)",
                         kwh=truth["true_kwh"], verdict="info"))
        rows.append(checked("virtual main point − true consumption", "netting.virtual_vs_truth",
                            truth["deviation_kwh"], truth.get("verdict")))
    return rows


def netting_section(run_dir: Path, results: dict[str, Any], tz: str | None) -> Section | None:
    net = results.get("netting")
    if not net:
        return None
    blocks: list[Any] = [Paragraph(
        "Virtual main point = main meter − Σ serial meters (" + ", ".join(net.get("serial", []))
        + f"); policy for negative residuals: {net.get('policy')}.")]
    tab = _series(run_dir, results, "netting")
    if tab:
        serial = [(m, tab[f"serial:{m}"]) for m in net.get("serial", []) if f"serial:{m}" in tab]
        blocks.append(FigureBlock(
            "netting", "virtual main point",
            "Main meter, serial meters (stacked) and the virtual main point per quarter-hour",
            lambda: figures.netting_figure(
                start_ms(tab["start"]), tab["main"], serial, tab["virtual"],
                "Main meter, serial meters and the virtual main point", tz=tz)))
    blocks.append(table(NETTING_COLUMNS, netting_rows(net, results.get("records", []))))
    blocks.append(Paragraph(f"Intervals with a negative residual: {net.get('negative_count', 0)}."))
    blocks += [Paragraph(d) for d in net.get("diagnoses", [])]
    return Section("netting", "Netting: the virtual main metering point", tuple(blocks))


# ---- field acceptance --------------------------------------------------------------------------
def _pct(value: Any, signed: bool = True) -> str:
    return numbers.fixed(value, 3, signed=signed) or "n/a"


def field_summary(f: dict[str, Any]) -> Any:
    """One operator/reference pair's summary rows (the counts as results.json carries them)."""
    lab = f.get("labelling") or {}
    labelling = lab.get("text")
    if labelling and f.get("time_offset_s"):
        labelling += f" (detected offset {numbers.fixed(f['time_offset_s'], 3)} s)"
    ci = f.get("bias_ci95") or [None, None]
    bias = None
    if f.get("bias_pct") is not None:
        bias = f"{_pct(f['bias_pct'])} % (95 % CI {_pct(ci[0])} … {_pct(ci[1])} %; U {_pct(f.get('bias_u_pct'), False)} %"
        if f.get("bias_k") is not None:
            bias += f", k = {numbers.fixed(f['bias_k'], 2)}"
        if f.get("bias_dof_eff") is not None:
            bias += f", {numbers.dof_phrase(f['bias_dof_eff'])}"
        bias += ")"
    limit = None
    if f.get("limit_pct") is not None:
        limit = f"±{_pct(f['limit_pct'], False)} % ({f.get('limit_basis')}); {f.get('rule')}"
    outside = (f"{f.get('outside')} outside their quantization-aware limit"
               if f.get("outside") is not None else "none to check against its limit")
    intervals = (f"{f.get('expected')} expected, {f.get('measured_both')} measured on both sides "
                 f"({numbers.fixed(f.get('completeness_pct'), 2)} % complete), "
                 f"{f.get('compared')} with energy compared; {outside}")
    return key_values([("labelling", labelling),
                       ("bias", bias or f"not evaluated: {f.get('compared')} interval(s) with "
                                       "energy on both sides, at least 2 needed"),
                       ("limit", limit), ("intervals", intervals),
                       ("period", " to ".join(f["period"]) if f.get("period") else None)])


def _comparison_figure(run_dir: Path, results: dict[str, Any], f: dict[str, Any],
                       tz: str | None) -> Any:
    tab = _series(run_dir, results, "comparison")
    if not tab:
        return None
    sel = tab["operator"] == f["operator"]
    if not sel.any():
        return None
    pts = [p for p in f.get("points") or [] if p.get("limit_pct") is not None]
    limits = (start_ms([p["start"] for p in pts]), np.array([p["limit_pct"] for p in pts])) \
        if pts else None
    return lambda: figures.comparison_figure(
        start_ms(tab["start"][sel]), tab["operator_kwh"][sel], tab["reference_kwh"][sel],
        tab["error_pct"][sel], f.get("limit_pct"),
        f"{f['operator']} (operator) vs {f['reference']} (reference) per interval",
        interval_limits=limits, tz=tz,
        labels=(f"operator meter {f['operator']}", f"reference meter {f['reference']}"))


def field_section(run_dir: Path, results: dict[str, Any], tz: str | None) -> Section | None:
    pairs = results.get("field") or []
    if not pairs:
        return None
    blocks: list[Any] = []
    for f in pairs:
        blocks += [Heading(f"{f['operator']} vs {f['reference']}", verdict_badge(f.get("verdict"))),
                   field_summary(f)]
        build = _comparison_figure(run_dir, results, f, tz)
        if build:
            blocks.append(FigureBlock(
                "field:" + f["operator"], "operator vs reference per interval",
                f"{f['operator']} vs {f['reference']}: energy per interval and each compared "
                "interval's error with its limit", build))
        pts = f.get("points") or []
        if pts:
            blocks.append(FigureBlock(
                "accfield:" + f["operator"], "field scatter and error histogram",
                f"{f['operator']} vs {f['reference']}: intervals and error distribution",
                lambda f=f, pts=pts: figures.field_scatter_histogram(
                    [p["reference_kwh"] for p in pts], [p["operator_kwh"] for p in pts],
                    [p["error_pct"] for p in pts], f.get("limit_pct"),
                    f"{f['operator']} vs {f['reference']}: intervals and error distribution",
                    interval_limit_pct=[p.get("limit_pct") for p in pts])))
        blocks.append(table(record_columns(subject=False), f.get("records") or []))
    return Section("field-acceptance",
                   "Field acceptance: labelling, bias, per-interval limits, completeness, "
                   "timeliness", tuple(blocks))


# ---- ground truth ------------------------------------------------------------------------------
TRUTH_COLUMNS = (
    Column("meter", "meter", kind="text"),
    Column("recovered / expected", lambda t: f"{t.get('recovered')} / {t.get('expected')}",
           unit="intervals"),
    Column("true", "true_kwh", unit="kWh", decimals=4),
    Column("recovered", "recovered_kwh", unit="kWh", decimals=4),
    Column("recovered error", "recovered_error_pct", unit="%", decimals=3, signed=True),
    Column("meter's true error", "true_error_pct", unit="%", decimals=3, signed=True),
    Column("interval closest to its bound", "worst_interval_utc", kind="code",
           missing="none recovered"),
    Column("|deviation| there", "worst_deviation_kwh", unit="kWh", decimals=6, missing="—"),
    Column("bound there", "bound_at_worst_kwh", unit="kWh", decimals=6, missing="—"),
    Column("verdict", "verdict", kind="verdict"),
)
VIRTUAL_TRUTH_COLUMNS = (
    Column("virtual main point", "virtual_kwh", unit="kWh", decimals=4),
    Column("true consumption", "true_kwh", unit="kWh", decimals=4),
    Column("deviation", "deviation_kwh", unit="kWh", decimals=4, signed=True),
    Column("bound (U)", lambda t: f"±{numbers.fixed(t['bound_kwh'], 4)}", unit="kWh"),
    Column("verdict", "verdict", kind="verdict"),
)


def truth_section(truth: list[dict[str, Any]] | None,
                  virtual: dict[str, Any] | None) -> Section | None:
    if not truth and not virtual:
        return None
    blocks: list[Any] = [Paragraph(
        "The simulator knows what really flowed; the bench's recovered energies against it. "
        "Each meter's intervals are compared one by one with the bound its register resolution "
        "allows; the table names the interval closest to its bound.")]
    if truth:
        blocks.append(table(TRUTH_COLUMNS, truth))
    if virtual:
        blocks += [Heading("The virtual main point against the true consumption",
                           verdict_badge(virtual.get("verdict"))),
                   table(VIRTUAL_TRUTH_COLUMNS, [virtual])]
    return Section("truth", "Ground truth (simulated bench)", tuple(blocks))


# ---- DataHub -----------------------------------------------------------------------------------
METERING_POINT_COLUMNS = (
    Column("meter", "meter", kind="text"),
    Column("GSRN", "gsrn", kind="code", missing="not declared"),
    Column("type", "type", kind="text"),
    Column("subtype", "subtype", kind="text"),
    Column("resolution", "resolution", kind="text"),
    Column("channel", "channel", kind="text"),
)


def datahub_section(dh: dict[str, Any] | None) -> Section | None:
    if not dh:
        return None
    blocks: list[Any] = [key_values([
        ("sender GLN", Cell(dh["sender_gln"], code=True) if dh.get("sender_gln") else
         "not declared in the bench file"),
        ("receiver GLN", Cell(dh["receiver_gln"], code=True) if dh.get("receiver_gln") else
         "not declared in the bench file")])]
    if dh.get("metering_points"):
        blocks.append(table(METERING_POINT_COLUMNS, dh["metering_points"]))
    return Section("datahub", "DataHub metering points", tuple(blocks))
