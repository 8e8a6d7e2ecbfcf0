"""The fleet screen's report as a page: findings by kind and by operator first, then where they
are (sites × days), the serial meters' error estimates, the ground truth of a synthetic fleet,
the worst sites with their series, and the traceability of the screen.

Built from the plain document of ``meterbench.fleet.output.report_data``; counts are the
document's own (``summary.json``), never recomputed here.
"""

from __future__ import annotations

from typing import Any

from meterbench.reports import fleet as figs
from meterbench.reports import numbers
from meterbench.reports.page import (
    Badge,
    Column,
    FigureBlock,
    Heading,
    Page,
    Paragraph,
    Section,
    VerdictLine,
    key_values,
    plural,
    table,
)


def _kind(name: str) -> str:
    return name.replace("_", " ")


def build_fleet_page(data: dict[str, Any]) -> Page:
    doc = data["summary"]
    period = doc["period"]
    sections = [_summary(data), _operators(data), _where(data), _errors(data)]
    if doc.get("ground_truth"):
        sections.append(_truth(doc["ground_truth"]))
    sections += [_worst(data), _traceability(doc)]
    return Page(
        title=f"meterbench fleet screen — {plural(doc['sites'], 'site')}, "
              f"{plural(doc['serial_meters'], 'serial meter', 'serial meters')}",
        subtitle=(f"local days {period['first_day']} + {period['days']} ({period['zone']}, "
                  f"{period['resolution']})",
                  f"{plural(doc['site_days'], 'site-day')} in {plural(doc['blocks'], 'block')}",
                  f"{doc['engine']['scheduler']}, {doc['engine']['workers']} worker(s)",
                  f"meterbench {doc['software'].get('meterbench', '')}".strip()),
        sections=tuple(sections),
        footer=f"Rendered from summary.json (format {doc['format']}), findings.parquet and the "
               "dataset's series.")


KIND_COLUMNS = (
    Column("kind", lambda r: _kind(r[0]), kind="text"),
    Column("findings", lambda r: r[1], decimals=0),
    Column("what it means", lambda r: r[2], kind="text"),
)


def _summary(data: dict[str, Any]) -> Section:
    doc = data["summary"]
    total = sum(doc["findings"].values())
    me = doc["meter_errors"]
    line = VerdictLine(
        badge=Badge("fail" if total else "pass", plural(total, "finding")),
        counts=(Badge("fail" if me["exceeds"] else "pass",
                      f"{me['exceeds']:,} meter(s) beyond the in-service limit"),
                Badge("pass", f"{me['within']:,} within"),
                Badge("conditional_pass" if me.get("inconclusive") else "pass",
                      f"{me.get('inconclusive', 0):,} inconclusive (95 % interval across the "
                      "limit)"),
                Badge("info", f"{me['not_estimated']:,} not estimated"),
                Badge("info", f"{me['not_judged']:,} not judged (labelling or channels wrong)"),
                *([Badge("info", f"{me['no_class']:,} without accuracy class")]
                  if me.get("no_class") else [])))
    rows = [(k, doc["findings"].get(k, 0), text) for k, text in data["kinds"].items()]
    return Section("summary", "Findings by kind", (
        line, table(KIND_COLUMNS, rows),
        FigureBlock("kinds", "findings by kind", "Findings by kind (a log scale where the counts span decades).",
                    lambda: figs.kinds_figure(doc["findings"], list(data["kinds"])))))


def _operators(data: dict[str, Any]) -> Section:
    doc = data["summary"]
    present = [k for k in data["kinds"] if doc["findings"].get(k)]
    by_operator = sorted(doc["findings_by_operator"].items(),
                         key=lambda kv: (-sum(kv[1].values()), kv[0]))
    columns = (Column("operator (GLN)", lambda r: r[0], kind="text"),
               Column("total", lambda r: sum(r[1].values()), decimals=0),
               *(Column(_kind(k), lambda r, k=k: r[1].get(k), decimals=0, missing="—")
                 for k in present))
    deadline = doc.get("deadline")
    timely = (Column("operator (GLN)", lambda r: r[0], kind="text"),
              Column("point-days delivered", lambda r: r[1]["deliveries"], decimals=0),
              Column("median after the day", lambda r: r[1]["median_h_after_day_end"], unit="h",
                     decimals=1),
              Column("95 % within", lambda r: r[1]["p95_h_after_day_end"], unit="h", decimals=1),
              Column("latest", lambda r: r[1]["max_h_after_day_end"], unit="h", decimals=1),
              Column(f"late (deadline {deadline} next day)" if deadline else "late",
                     lambda r: r[1].get("late"), decimals=0, missing="no deadline given"))
    return Section("operators", "Findings by operator", (
        table(columns, by_operator),
        Heading("Timeliness of deliveries"),
        table(timely, list(doc["timeliness"].items()))))


def _where(data: dict[str, Any]) -> Section:
    return Section("heatmap", "Sites × days", (
        FigureBlock("heatmap", "findings per site and day",
                    "Findings per local day over the fleet (top) and per site and day for the "
                    "sites with the most serious findings (below).",
                    lambda: figs.heatmap_figure(data["heatmap"])),
        Paragraph("Sites ranked by the weight of their findings (labelling and meter errors "
                  "first). Each cell counts a site's findings on that local day; the marker at "
                  "the right edge flags findings about the whole period (labelling, meter error, "
                  "swapped channels).", muted=True)))


def _errors(data: dict[str, Any]) -> Section:
    country = data["summary"]["period"]["country"]
    return Section("errors", "Serial meter errors against the main meter", (
        FigureBlock("errors", "error estimates",
                    "Error estimates of the serial meters; red lines: the in-service limits of "
                    "the classes present.", lambda: figs.errors_figure(data["errors"])),
        Paragraph("Robust regression of the main meter's changes on the serial meters' changes "
                  "over the whole period (Huber M-estimator, 95 % interval from a Newey-West "
                  "sandwich). A meter is flagged when its whole 95 % interval lies beyond the "
                  f"in-service limit of its class ({country} preset) and counted within only "
                  "when the whole interval lies inside it; an interval reaching across the "
                  "limit is inconclusive (more data or a bench test decides). The estimate is "
                  "relative to the main meter.", muted=True)))


TRUTH_COLUMNS = (
    Column("injected fault", lambda r: _kind(r[0]), kind="text"),
    Column("injected", lambda r: r[1]["injected"], decimals=0),
    Column("found", lambda r: r[1]["found"], decimals=0),
    Column("findings", lambda r: r[1]["findings"], decimals=0),
    Column("recall", lambda r: r[1]["recall"], decimals=4),
    Column("precision", lambda r: r[1]["precision"], decimals=4),
)


def _share(value: Any, decimals: int = 4) -> str | None:
    return None if value is None else f"{value:.{decimals}f}"


def _of(share: float | None, total: int) -> str:
    """``k of n (share)``: the count a score's share stands for (the share is k / n)."""
    if not total or share is None:
        return f"0 of {total}"
    return f"{round(share * total):,} of {total:,} ({share:.1%})"


def _truth(gt: dict[str, Any]) -> Section:
    me, pv = gt["meter_error"], gt["pv"]
    return Section("truth", "Against the ground truth (synthetic fleet)", (
        table(TRUTH_COLUMNS, list(gt["kinds"].items())),
        key_values([
            ("meters beyond their in-service limit, flagged",
             _of(me["recall"], me["beyond_limit"])),
            ("meters within their limit, flagged (false positives)",
             _of(me["false_positive_rate"], me["within_limit"])),
            ("meters whose error could not be estimated", me.get("not_estimated")),
            ("inconclusive (95 % interval across the limit): truly beyond / truly within",
             f"{me.get('inconclusive_beyond_limit', 'n/a')} / "
             f"{me.get('inconclusive_within_limit', 'n/a')}"),
            ("meters beyond their limit passed as within (must be 0 but for chance)",
             me.get("passed_beyond_limit", "n/a")),
            ("95 % intervals that hold the true error", _share(me["ci95_coverage"], 3)),
            ("PV sites: negative-residual intervals explained as production",
             f"{_share(pv['explained_share']) or 'n/a'} ({pv['with_negative_residuals']} of "
             f"{pv['clean_pv_sites']} PV sites without other faults had negative residuals)"),
        ])))


#: How a finding's ``value`` reads, per kind (docs/fleet.md, "Findings"): a count, hours or %.
VALUE_TEXT = {
    "meter_error": lambda v: f"{v:+.2f} %",
    "labelling": lambda v: f"{v:+g} h",
    "late_delivery": lambda v: f"{v:.1f} h late",
    "negative_residual": lambda v: f"{v:,.0f} interval(s)",
    "negative_export_residual": lambda v: f"{v:,.0f} interval(s)",
    "swapped_channels": lambda v: f"{v:.0f} % export",
    "duplicate_delivery": lambda v: f"{v:,.0f} deliveries",
    "stuck": lambda v: f"{v:.3f} kWh",
    "incomplete": lambda v: f"{v:,.0f} missing",
    "conflicting_delivery": lambda v: f"{v:,.0f} value(s) differ",
}


def finding_value(f: dict[str, Any]) -> str | None:
    """The finding's value with what it counts or measures (None where it has none)."""
    v = f.get("value")
    if v is None or v != v:
        return None
    fmt = VALUE_TEXT.get(f["kind"])
    return fmt(float(v)) if fmt else numbers.fixed(v, 4)


FINDING_COLUMNS = (
    Column("kind", lambda f: _kind(f["kind"]) + (f" ({_kind(f['cause'])})" if f.get("cause")
                                                  else ""), kind="text"),
    Column("point", lambda f: f["gsrn"], kind="code"),
    Column("when", lambda f: f.get("days") or "whole period", kind="text"),
    Column("value", lambda f: finding_value(f), kind="text"),
    Column("detail", lambda f: f.get("detail"), kind="text"),
)


def _worst(data: dict[str, Any]) -> Section:
    blocks: list[Any] = []
    for s in data["worst_sites"]:
        serial = ", ".join(f"{m['appliance']} {m['gsrn']} ({m['operator']})" for m in s["serial"])
        blocks += [Heading(f"{s['site']}: main {s['gsrn_main']}; serial {serial}"),
                   table(FINDING_COLUMNS, s["findings"]),
                   FigureBlock(f"site-day:{s['site']}", f"{s['site']}: its worst day",
                               f"{s['site']}: main, serial meters and virtual point on "
                               f"{s['day']}.", lambda s=s: figs.site_day_figure(s))]
        if len(s["daily"]["days"]) > 1:  # one day's total is the day's figure above
            blocks.append(FigureBlock(f"site-daily:{s['site']}", f"{s['site']}: daily totals",
                                      f"{s['site']}: daily totals over the period.",
                                      lambda s=s: figs.daily_figure(s)))
    if not blocks:
        blocks = [Paragraph("No site has findings.")]
    return Section("worst", "The worst sites", tuple(blocks))


def _traceability(doc: dict[str, Any]) -> Section:
    period, engine = doc["period"], doc["engine"]
    return Section("traceability", "Traceability", (key_values([
        ("dataset", doc["dataset"]),
        ("period", f"{period['first_day']} + {period['days']} local days, {period['zone']}, "
                   f"{period['resolution']}"),
        ("engine", f"{engine['scheduler']}, {engine['workers']} worker(s), "
                   f"{engine['seconds']:.1f} s, {engine['site_days_per_s']:,.0f} site-days/s"),
        ("software", ", ".join(f"{k} {v}" for k, v in doc["software"].items())),
    ]),))
