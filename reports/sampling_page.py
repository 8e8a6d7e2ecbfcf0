"""The sampling-control report as a page: the lot's decision and its nonconforming meters first.

Renders the plain document the bench builds (``meterbench.sampling.report_document``) and imports
nothing from the bench. The results are one row per meter with its verdict, nonconforming meters
first, then the conforming ones in the order they were tested; the nonconforming meters' points
are also listed one by one right under the decision.
"""

from __future__ import annotations

from typing import Any

from meterbench.reports import figures, numbers
from meterbench.reports.page import (
    Badge,
    Cell,
    Column,
    FigureBlock,
    Page,
    Paragraph,
    Section,
    VerdictLine,
    key_values,
    plural,
    table,
)


def build_sampling_page(doc: dict[str, Any]) -> Page:
    sections = [decision_section(doc), nonconforming_section(doc), results_section(doc)]
    if (doc.get("decision") or {}).get("points"):
        sections.append(variables_section(doc["decision"]["points"]))
    sections += [plan_section(doc), selection_section(doc), lot_section(doc)]
    if doc.get("lots"):
        sections.append(lots_section(doc))
    scheme = doc.get("scheme") or {}
    return Page(title=doc["title"],
                subtitle=tuple(x for x in (
                    f"tested on {doc.get('tested_on')}",
                    f"scheme {scheme.get('name')}: {scheme.get('title')}" if scheme else None,
                    doc.get("software")) if x),
                sections=tuple(sections),
                footer=f"Scheme source: {scheme.get('source')}." if scheme.get("source") else "")


def _nonconforming(m: dict[str, Any]) -> bool:
    return not m.get("conforming", all(p.get("conforming", True) for p in m.get("points", [])))


def ordered_meters(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Nonconforming meters first, then the rest; each group in the order tested."""
    meters = doc.get("meters") or []
    return [m for m in meters if _nonconforming(m)] + [m for m in meters if not _nonconforming(m)]


# ---- decision ----------------------------------------------------------------------------------
def decision_section(doc: dict[str, Any]) -> Section:
    d = doc.get("decision") or {}
    accepted = bool(d.get("accepted"))
    tested = len(doc.get("tested") or [])
    bad = d.get("nonconforming") or 0
    line = VerdictLine(
        badge=Badge("pass" if accepted else "fail", f"Lot {str(d.get('verdict', '')).upper()}"),
        counts=(Badge("fail" if bad else "pass", f"{bad} nonconforming"),
                Badge("pass", f"{tested - bad} conforming")),
        text=f"{bad} nonconforming of {tested} tested. {d.get('statement', '')}".strip())
    c = doc.get("consequence") or {}
    sev = doc.get("severity_state") or {}
    kv = key_values([
        ("consequence", c.get("action")),
        ("next sampling due", c.get("next_due")),
        ("note", c.get("next_due_note")),
        ("inspection severity for the next round",
         f"{sev.get('inspection')} ({doc['switching']})" if doc.get("switching") else None),
        ("limit", doc.get("limit_rule")),
        ("decision rule", (doc.get("decision_rule") or {}).get("text")),
    ])
    return Section("decision", "Decision", (line, kv))


POINT_COLUMNS = (
    Column("meter", lambda mp: mp[0]["meter_id"], kind="text"),
    Column("class", lambda mp: mp[0].get("class"), kind="text"),
    Column("test point", lambda mp: mp[1]["test_point"], kind="text"),
    Column("error", lambda mp: mp[1].get("error_pct"), unit="%", decimals=3, signed=True,
           emphasis=lambda mp: not mp[1].get("conforming", True)),
    Column("U", lambda mp: mp[1].get("uncertainty_pct"), unit="%", decimals=3,
           missing="not stated"),
    Column("limit", lambda mp: numbers.limit(-mp[1]["limit_pct"], mp[1]["limit_pct"], "%")
           if mp[1].get("limit_pct") is not None else None, unit="%"),
    Column("acceptance limit", lambda mp: numbers.limit(
        -mp[1]["acceptance_limit_pct"], mp[1]["acceptance_limit_pct"], "%"), unit="%"),
    Column("verdict", lambda mp: "pass" if mp[1].get("conforming", True) else "fail",
           kind="verdict"),
)


def nonconforming_section(doc: dict[str, Any]) -> Section:
    bad = [m for m in doc.get("meters") or [] if _nonconforming(m)]
    if not bad:
        blocks: tuple[Any, ...] = (Paragraph(
            f"None of the {len(doc.get('meters') or [])} tested meters is nonconforming."),)
    else:
        blocks = (Paragraph(f"{plural(len(bad), 'meter')} with at least one test point outside "
                            "its acceptance limit; every point of each:"),
                  table(POINT_COLUMNS, [(m, p) for m in bad for p in m.get("points", [])]))
    return Section("nonconforming", "Nonconforming meters", blocks)


# ---- results per meter -------------------------------------------------------------------------
def _point(m: dict[str, Any], test_point: str) -> dict[str, Any] | None:
    return next((p for p in m.get("points", []) if p["test_point"] == test_point), None)


def _range(values: list[float]) -> str | None:
    vals = sorted({v for v in values if v is not None})
    if not vals:
        return None
    if len(vals) == 1:
        return f"±{numbers.fixed(vals[0], 3)}"
    return f"±{numbers.fixed(vals[0], 3)} … ±{numbers.fixed(vals[-1], 3)}"


def _reason(m: dict[str, Any]) -> str:
    out = [f"{p['test_point']}: {numbers.fixed(p['error_pct'], 3, signed=True)} % outside "
           f"±{numbers.fixed(p['acceptance_limit_pct'], 3)} %"
           for p in m.get("points", []) if not p.get("conforming", True)]
    return "; ".join(out) if out else "all points within limits"


def meter_columns(test_points: list[str]) -> list[Column]:
    cols = [Column("meter", "meter_id", kind="text"), Column("class", "class", kind="text")]
    for tp in test_points:
        cols.append(Column(
            f"error at {tp}", lambda m, tp=tp: (_point(m, tp) or {}).get("error_pct"), unit="%",
            decimals=3, signed=True, missing="not tested",
            emphasis=lambda m, tp=tp: not (_point(m, tp) or {}).get("conforming", True)))
    cols += [
        Column("largest U", lambda m: max((p["uncertainty_pct"] for p in m.get("points", [])
                                           if p.get("uncertainty_pct") is not None),
                                          default=None), unit="%", decimals=3,
               missing="not stated"),
        Column("acceptance limit", lambda m: _range([p.get("acceptance_limit_pct")
                                                     for p in m.get("points", [])]), unit="%"),
        Column("verdict", lambda m: Badge("fail", "nonconforming") if _nonconforming(m)
               else Badge("pass", "conforming"), kind="verdict"),
        Column("why", _reason, kind="text"),
    ]
    return cols


def results_section(doc: dict[str, Any]) -> Section:
    meters = ordered_meters(doc)
    test_points = list(dict.fromkeys(p["test_point"] for m in meters for p in m.get("points", [])))
    blocks: list[Any] = [Paragraph(
        f"{doc.get('limit_rule')}. Decision rule: {(doc.get('decision_rule') or {}).get('text')}. "
        "One row per tested meter, nonconforming meters first; a highlighted error is outside "
        "its acceptance limit.")]
    if meters:
        blocks.append(table(meter_columns(test_points), meters))
    else:
        blocks.append(Paragraph("No meter was tested."))
    return Section("results", "Results per meter", tuple(blocks))


VARIABLES_COLUMNS = (
    Column("test point", "test_point", kind="text"),
    Column("mean", "mean", unit="%", decimals=3),
    Column("s", "s", unit="%", decimals=3),
    Column("(U − x̄)/s", "q_upper", decimals=3),
    Column("(x̄ − L)/s", "q_lower", decimals=3),
    Column("k", "k", decimals=3),
    Column("verdict", lambda q: "pass" if q.get("accepted") else "fail", kind="verdict"),
)


def variables_section(points: list[dict[str, Any]]) -> Section:
    return Section("variables", "Variables statistic per test point",
                   (table(VARIABLES_COLUMNS, points),))


# ---- plan, selection, lot ----------------------------------------------------------------------
def _plan_rows(p: dict[str, Any]) -> list[tuple[str, Any]]:
    kind = p.get("kind")
    if kind == "attributes":
        rows: list[tuple[str, Any]] = [("standard / table", f"{p.get('standard')} · {p.get('table')}"),
                                       ("inspection", p.get("inspection"))]
        if p.get("code") and p["code"] != "-":
            letter = f"{p.get('level')}, {p.get('aql')}, {p['code']}"
            if p.get("plan_code") and p["plan_code"] != p["code"]:
                letter += f" (plan of letter {p['plan_code']} by the arrow rule)"
            rows.append(("level, AQL, code letter", letter))
        if p.get("double"):
            rows += [("first sample", f"n1 = {p['n1']}, Ac1 = {p['ac1']}, Re1 = {p['re1']}"),
                     ("second sample",
                      f"n2 = {p['n2']}, Ac2 = {p['ac2']}, Re2 = {p['re2']} (cumulative)")]
        else:
            rows.append(("sample", f"n = {p.get('n')}, Ac = {p.get('ac')}, Re = {p.get('re')}"))
    elif kind == "variables":
        rows = [("method", "s-method (variables, unknown sigma)"),
                ("sample, k", f"n = {p.get('n')}, k = {numbers.fixed(p.get('k'), 3)}"),
                ("k from", p.get("source"))]
    elif kind == "conformity-95":
        rows = [("criterion", f"{p.get('table')}; confidence "
                              f"{numbers.fixed(100 * p.get('confidence', 0), 0)} %"),
                ("sample", f"n = {p.get('n')}")]
    else:
        rows = [("criterion", p.get("table")), ("sample", f"n = {p.get('n')}")]
    if p.get("hundred_percent"):
        rows.append(("note", "n ≥ lot size: every meter is inspected"))
    return rows


def plan_section(doc: dict[str, Any]) -> Section:
    p = doc["plan"]
    blocks: list[Any] = [key_values(_plan_rows(p))]
    oc = p.get("oc")
    if oc:
        tested = max(len(doc.get("tested") or []), 1)
        observed = 100.0 * ((doc.get("decision") or {}).get("nonconforming") or 0) / tested
        blocks += [Paragraph(
            f"Operating characteristic ({oc.get('model')}): the plan accepts 95 % of lots at "
            f"{numbers.fixed(oc['p95_percent'], 2)} % nonconforming and 10 % of lots at "
            f"{numbers.fixed(oc['p10_percent'], 2)} %. The dashed line marks this sample's "
            f"observed share ({numbers.fixed(observed, 2)} %)."),
            FigureBlock("oc", "OC curve of the plan", "Operating characteristic of the plan",
                        lambda: figures.oc_figure(oc, marker_percent=observed))]
    return Section("plan", "Plan", tuple(blocks))


def selection_section(doc: dict[str, Any]) -> Section:
    sel = doc.get("selection") or {}
    kv = key_values([
        ("seed", Cell(str(sel["seed"]), code=True) if sel.get("seed") is not None else None),
        ("method", sel.get("method")),
        (f"sample ({len(sel.get('sample') or [])})", ", ".join(sel.get("sample") or [])),
        (f"second sample ({len(sel.get('second_sample') or [])})",
         ", ".join(sel.get("second_sample") or [])),
        (f"spares ({len(sel.get('spares') or [])})",
         ", ".join(sel.get("spares") or []) or "none drawn"),
        ("not reached (replaced by spares in order)",
         ", ".join(f"{p['not_reached']} → {p['spare']}" for p in doc.get("replaced") or [])
         or ", ".join(doc.get("not_reached") or [])),
        ("results not counted (not needed by the plan)",
         ", ".join(f"{r['meter_id']} ({r['role']}"
                   + ("" if r.get("conforming") else ", outside the limit") + ")"
                   for r in doc.get("ignored_results") or [])),
    ])
    return Section("selection", "Selection", (kv,))


def lot_section(doc: dict[str, Any]) -> Section:
    lot = doc.get("lot") or {}
    blocks: list[Any] = [key_values([
        ("lot", lot.get("lot_id")), ("meters in the lot", lot.get("size")),
        ("model, rating", f"{lot.get('model')} {lot.get('rating') or ''}".strip()),
        ("class", lot.get("class")), ("formed by", lot.get("formed_by"))])]
    pop = doc.get("population")
    if pop:
        blocks += [Paragraph(f"Population: {pop['meters']} meters. Lot formation: "
                             f"{pop['lot_rule']}."),
                   table([Column("model", lambda kv: kv[0], kind="text"),
                          Column("meters", lambda kv: kv[1], decimals=0)],
                         (pop.get("by_model") or {}).items()),
                   Paragraph("By class: " + ", ".join(
                       f"{c}: {n}" for c, n in (pop.get("by_class") or {}).items()) + ".")]
    else:
        blocks.append(Paragraph("Inventory not given to the report: population not shown.",
                                muted=True))
    return Section("lot", "Lot under test and population", tuple(blocks))


def _years(lot: dict[str, Any]) -> str:
    y = lot.get("production_years") or []
    if not y:
        return "—"
    return str(y[0]) if y[-1] == y[0] else f"{y[0]}–{y[-1]}"


LOT_COLUMNS = (
    Column("lot", "lot_id", kind="text"),
    Column("meters", "size", decimals=0),
    Column("model", "model", kind="text"),
    Column("class", "class", kind="text"),
    Column("production", _years),
    Column("due date", "due_date", kind="text", missing="not set (see status)"),
    Column("status", "reason", kind="text"),
)


def lots_section(doc: dict[str, Any]) -> Section:
    under_test = (doc.get("lot") or {}).get("lot_id")
    lots = sorted(doc["lots"], key=lambda lot: lot.get("lot_id") != under_test)
    return Section("lots", "Lots and which are due", (
        Paragraph(f"The lot under test ({under_test}) is listed first."),
        table(LOT_COLUMNS, lots)))
