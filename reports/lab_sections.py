"""The lab run's section of the run report: the plan, and per meter under test its rating, error
curve, test points and special tests.

The test-point table is a column spec (:data:`POINT_COLUMNS`): a key the accuracy code adds to a
point record's ``data`` (the measuring method, pulse count, meter constant, effective degrees of
freedom and coverage factor) is one ``Column`` line here, shown only when a record carries it.
"""

from __future__ import annotations

from typing import Any

from meterbench.reports import figures, numbers
from meterbench.reports.figures import current_label
from meterbench.reports.page import (
    Column,
    FigureBlock,
    Heading,
    Paragraph,
    Section,
    table,
    verdict_badge,
)
from meterbench.reports.records_table import outside_limit, record_columns, u_above_target


def _run(direction: str) -> Any:
    return lambda r: ((r.get("data") or {}).get("runs") or {}).get(direction)


def _no_run(direction: str) -> Any:
    """Why a run has no error: it ran but its error calculator never finished, or it did not run."""
    def why(r: dict[str, Any]) -> str:
        done = ((r.get("data") or {}).get("completed") or {}).get(direction)
        return "not completed" if done is False else "not run"
    return why


def _current(r: dict[str, Any]) -> str | None:
    amps = (r.get("data") or {}).get("current_a")
    return current_label(amps) if amps is not None else None


def _limit(r: dict[str, Any]) -> str | None:
    return numbers.limit(r.get("low"), r.get("high"), "%")


def _pulses(r: dict[str, Any]) -> str | None:
    """Meter / reference pulses counted, per run (pulse method only)."""
    data = r.get("data") or {}
    meter, ref = data.get("meter_pulses") or {}, data.get("reference_pulses") or {}
    done = data.get("completed") or {}
    runs = [f"{meter[d]} / {ref.get(d, '?')}" if done.get(d) is not False else "not completed"
            for d in ("rising", "falling") if d in meter]
    return "; ".join(runs) or None


#: One line per column. Optional columns appear only when a point record carries the key.
POINT_COLUMNS = (
    Column("point", "name", kind="text"),
    Column("I", _current, unit="A"),
    Column("PF", "data.pf", kind="text"),
    Column("load", "data.load", kind="text"),
    Column("method", "data.method", kind="text", optional=True),
    Column("rising", _run("rising"), unit="%", decimals=3, signed=True, missing=_no_run("rising")),
    Column("falling", _run("falling"), unit="%", decimals=3, signed=True,
           missing=_no_run("falling")),
    Column("error", "value", unit="%", decimals=3, signed=True, emphasis=outside_limit,
           missing="not evaluated"),
    Column("U", "uncertainty", unit="%", decimals=3, emphasis=u_above_target),
    Column("U target", "data.target_pct", unit="%", decimals=3, optional=True),
    Column("ν_eff", lambda r: numbers.dof((r.get("data") or {}).get("dof_eff")), optional=True),
    Column("k", "data.k", decimals=2, optional=True),
    Column("limit", _limit, unit="%"),
    Column("pulses meter / reference", _pulses, kind="text", optional=True),
    Column("meter constant", "data.meter_constant", unit="imp/kWh", decimals=0, optional=True),
    Column("gate", "data.gate_s", unit="s", decimals=0, optional=True),
    Column("verdict", "verdict", kind="verdict"),
)

BUDGET_NOTE = (
    "Uncertainty budget per point (standard uncertainties): reference standard (rectangular); "
    "pulse method: pulse count (±1 reference pulse, triangular) and gate timing (the two meter "
    "pulse edges); register method: register resolution (two reads, ±q each) and timing (gate "
    "edge vs register read); repeatability (rising vs falling, ν = runs − 1). U is expanded with "
    "the coverage factor k the point states: Student's t at 95.45 % for the Welch–Satterthwaite "
    "ν_eff (k = 2 where ν_eff = ∞). A highlighted U is above the plan's target; a highlighted "
    "error is outside its limit (under the guarded rule a point inside its limit fails when "
    "its U does not fit between the error and the limit).")


def sections(results: dict[str, Any]) -> list[Section]:
    lab = ((results.get("accuracy") or {}).get("lab")) or None
    if not lab:
        return []
    blocks: list[Any] = [Paragraph(plan_text(lab.get("bench") or {}))]
    for m in lab.get("meters", []):
        blocks += meter_blocks(m)
    blocks.append(Paragraph(BUDGET_NOTE, muted=True))
    return [Section("lab-accuracy", "Lab accuracy: meters under test at the plan's test points",
                    tuple(blocks))]


def plan_text(bench: dict[str, Any]) -> str:
    plan = bench.get("plan") or {}
    basis = plan.get("limit_basis", "mpe")
    if basis == "in_service" and plan.get("country"):
        basis += f" ({plan['country']})"
    parts = [f"Plan {plan.get('kind')}",
             f"decision rule {str(plan.get('rule', '')).replace('_', '-')} (ILAC-G8)",
             f"limit basis {basis}", f"temperature band {plan.get('band_name') or plan.get('band')}"]
    if plan.get("settle_s") is not None:
        parts.append(f"settle {numbers.fixed(plan['settle_s'], 0)} s")
    if plan.get("warmup_s") is not None:
        parts.append(f"warm-up {numbers.fixed(plan['warmup_s'], 0)} s")
    if plan.get("uncertainty_fraction") is not None:
        parts.append(f"target U ≤ {numbers.fixed(plan['uncertainty_fraction'], 3)} × MPE")
    text = "; ".join(parts) + "."
    instruments = [f"{i.get('role')}: {i.get('title')} ({i.get('resource') or 'simulated'})"
                   for i in bench.get("instruments", [])]
    if instruments:
        text += " Instruments: " + "; ".join(instruments) + "."
    if bench.get("reference_accuracy_pct") is not None:
        text += f" The reference standard's declared accuracy: ±{bench['reference_accuracy_pct']} %."
    return text + " Each point runs with rising, then falling current; its error is the mean."


def rating_text(rating: dict[str, Any]) -> str:
    amps = [(name, rating.get(key)) for key, name in
            (("i_st", "Ist"), ("i_min", "Imin"), ("i_tr", "Itr"), ("i_ref", "Iref"),
             ("i_max", "Imax"))]
    parts = [f"{n} {current_label(a)} A" for n, a in amps if a is not None]
    if rating.get("u_n") is not None:
        parts.append(f"Un {current_label(rating['u_n'])} V")
    if rating.get("f_n") is not None:
        parts.append(f"fn {current_label(rating['f_n'])} Hz")
    if rating.get("connection"):
        parts.append(f"{rating['connection']} connection")
    if rating.get("registration"):
        parts.append(f"{rating['registration'].replace('_', '-')} registration")
    if rating.get("meter_constant_imp_per_kwh"):
        parts.append(f"meter constant {rating['meter_constant_imp_per_kwh']} imp/kWh")
    return "Rating: " + ", ".join(parts) + "."


def meter_blocks(m: dict[str, Any]) -> list[Any]:
    records = m.get("records") or []
    points = [r for r in records if (r.get("data") or {}).get("kind") == "point"]
    special = [r for r in records if (r.get("data") or {}).get("kind") != "point"]
    rating = m.get("rating") or {}
    title = f"{m['meter']}: {m.get('model')}, class {m.get('accuracy_class')}"
    blocks: list[Any] = [Heading(title, verdict_badge(m.get("verdict"))),
                         Paragraph(rating_text(rating), muted=True)]
    curve = [dict(current_a=r["data"]["current_a"], pf=r["data"]["pf"], load=r["data"]["load"],
                  value=r.get("value"), uncertainty=r.get("uncertainty"), low=r.get("low"),
                  high=r.get("high")) for r in points]
    if curve:
        blocks.append(FigureBlock(
            "lab:" + m["meter"], "error curve",
            f"{m['meter']}: error over current per power factor with U and each point's own "
            "limit (the one its record was judged against), per power factor and load",
            lambda: figures.error_curve_figure(curve, title + ": error curve", rating=rating)))
        blocks.append(table(POINT_COLUMNS, points))
    if special:
        blocks.append(table(record_columns(subject=False, rule=True, name="test"), special))
    return blocks
