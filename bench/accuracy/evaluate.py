"""From lab measurements to records: error, limit, uncertainty budget, decision rule, verdict.

Pure: takes :class:`~meterbench.accuracy.executor.Measurement` s (register method),
:class:`~meterbench.accuracy.executor.PulseMeasurement` s (pulse method) or register deltas and
returns :class:`meterbench.core.records.Record` s. The rising and falling runs of a point give one
record whose value is their mean and whose budget includes their spread (repeatability); the
record says which method measured it, and for the pulse method the pulse counts, the constants and
the gate of each run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from meterbench.accuracy.decision import RULE_TEXT, decide
from meterbench.accuracy.executor import (
    GATE_MISMATCH_FACTOR,
    Measurement,
    PulseMeasurement,
    RegisterDelta,
)
from meterbench.accuracy.limit_table import LimitTable, NoLimit
from meterbench.accuracy.limits import CREEP_MAX_PULSES, mid_table
from meterbench.accuracy.plans import TestPoint
from meterbench.accuracy.rating import MeterRating
from meterbench.accuracy.uncertainty import (
    Budget,
    budget,
    dof_json,
    pulse_budget,
    repeatability_dof,
    u_repeatability,
)
from meterbench.core.records import Record, record

STAGE = "lab"


@dataclass(frozen=True)
class Limit:
    """Tolerance in % and where it comes from."""

    pct: float
    basis: str


def limit_for(rating: MeterRating, current_a: float, *, basis: str = "mpe", country: str = "DK",
              band: int = 0, pf: str = "1", load: str = "balanced",
              table: LimitTable | None = None) -> Limit:
    """The MPE (``basis="mpe"``) or the country's in-service limit (``"in_service"``) at a test
    current, power factor and load, from ``table`` (default: Directive 2014/32/EU Annex V
    Table 2). Raises :class:`~meterbench.accuracy.limit_table.NoLimit` where the table has none."""
    table = table or mid_table()
    if current_a < rating.i_min * (1 - 1e-9):
        raise NoLimit(f"{current_a:g} A is below Imin {rating.i_min:g} A: no MPE is defined there")
    found = table.mpe(rating.accuracy_class, current_a, rating.rated, pf=pf, load=load, band=band)
    what = f"class {rating.accuracy_class}, {found.row.current_range}, {load.replace('_', '-')} load"
    if basis == "in_service":
        service = table.in_service.get(country)
        if service is None:
            raise NoLimit(f"{table.name} has no in-service factor for {country!r}")
        return Limit(service.factor * found.pct,
                     f"in-service limit {country} ({service.factor:g} × MPE {what}; "
                     f"{found.citation}; {service.source})")
    return Limit(found.pct, f"MPE {what} ({found.citation})")


def run_budget(run: Measurement | PulseMeasurement, reference_accuracy_pct: float) -> Budget:
    """One run's budget: the pulse method's count and gate terms, or the register method's
    resolution and read-timing terms."""
    if isinstance(run, PulseMeasurement):
        return pulse_budget(reference_accuracy_pct=reference_accuracy_pct,
                            reference_pulses=run.reference_pulses, gate_ms=run.gate_ms,
                            edge_u_ms=run.edge_u_ms)
    return budget(reference_accuracy_pct=reference_accuracy_pct, step_kwh=run.step_kwh,
                  reference_kwh=run.reference_kwh, window_ms=run.window_ms + 1.0,  # +1 ms clock
                  gate_ms=run.gate_ms)


#: What the budget's resolution and timing terms are, per method (shown with the budget).
BUDGET_TERMS = {
    "pulse": {"u_resolution_pct": "pulse count: ±1 reference pulse over the gate (triangular)",
              "u_timing_pct": "gate timing: the two meter pulse edges"},
    "register": {"u_resolution_pct": "register resolution: two reads, ±q each (rectangular)",
                 "u_timing_pct": "register read vs reference gate edge"},
}


def mean_budget(runs: Sequence[Measurement | PulseMeasurement], reference_accuracy_pct: float,
                errors: Sequence[float]) -> Budget:
    """Budget of the mean of the runs: the reference standard is common to all runs (fully
    correlated, it does not average out); each run's resolution and timing terms are
    independent, so they combine as √Σu²/n; repeatability is s/√n with n − 1 degrees of freedom,
    which sets the coverage factor (:class:`Budget`)."""
    per_run = [run_budget(r, reference_accuracy_pct) for r in runs]
    n = len(per_run)
    return Budget(reference=per_run[0].reference,
                  resolution=math.sqrt(sum(b.resolution**2 for b in per_run)) / n,
                  timing=math.sqrt(sum(b.timing**2 for b in per_run)) / n,
                  repeatability=u_repeatability(errors),
                  repeatability_dof=repeatability_dof(len(errors)))


def _method_data(runs: Sequence[Measurement | PulseMeasurement]) -> dict[str, object]:
    """What a report needs to say how a point was measured."""
    first = runs[0]
    if isinstance(first, PulseMeasurement):
        pulses = [r for r in runs if isinstance(r, PulseMeasurement)]
        return dict(method="pulse", meter_constant=first.meter_constant,
                    reference_constant=first.reference_constant,
                    meter_pulses={r.direction: r.meter_pulses for r in pulses},
                    reference_pulses={r.direction: r.reference_pulses for r in pulses},
                    gates_s={r.direction: r.gate_ms / 1000 for r in pulses},
                    edge_u_ms=first.edge_u_ms, budget_terms=BUDGET_TERMS["pulse"])
    regs = [r for r in runs if isinstance(r, Measurement)]
    return dict(method="register", step_kwh=max(r.step_kwh for r in regs),
                gates_s={r.direction: r.gate_ms / 1000 for r in regs},
                budget_terms=BUDGET_TERMS["register"])


def _method_detail(runs: Sequence[Measurement | PulseMeasurement]) -> str:
    first = runs[0]
    if isinstance(first, PulseMeasurement):
        return ("pulse method: " + " / ".join(
            f"{r.meter_pulses} pulses at {r.meter_constant:,.0f} imp/kWh vs {r.reference_pulses} "
            f"reference pulses at {r.reference_constant:,.0f} imp/kWh"
            + ("" if r.completed else " (not completed)")
            for r in runs if isinstance(r, PulseMeasurement))
            + "; gate " + " / ".join(f"{r.gate_ms / 1000:.4g}" for r in runs) + " s")
    return "register method: gate " + " / ".join(f"{r.gate_ms / 1000:g}" for r in runs) + " s"


def constant_mismatch(runs: Sequence[Measurement | PulseMeasurement]) -> dict[str, object] | None:
    """A likely wrong meter constant: the N meter pulses took :data:`GATE_MISMATCH_FACTOR` times
    longer (or shorter) than the plan computed from the constant and the point's power.

    Why: the pulse method converts pulses to energy with the constant the bench declares, so a
    meter set to (or built with) another constant shows as a huge "meter error" (1000 imp/kWh
    declared, 400 emitted: −60 %). Such a ratio is far beyond any meter class; the constant the
    pulses imply (declared × planned gate / actual gate) says what to check. Returns the facts
    for the record, or None when the pulses came at the planned rate within the factor."""
    pulsed = [r for r in runs if isinstance(r, PulseMeasurement) and r.completed
              and r.gate_ms > 0 and math.isfinite(r.gate_ms)]
    if not pulsed:
        return None
    planned = [float(r.plan.gate_ms) for r in pulsed]  # N / (C_declared · P), ms
    ratios = [r.gate_ms / p for r, p in zip(pulsed, planned, strict=True)]
    worst = max(ratios, key=lambda x: max(x, 1.0 / x))
    if 1.0 / GATE_MISMATCH_FACTOR <= worst <= GATE_MISMATCH_FACTOR:
        return None
    first = pulsed[ratios.index(worst)]
    implied = first.meter_constant / worst
    return dict(declared_imp_per_kwh=first.meter_constant, implied_imp_per_kwh=implied,
                gate_ratio=worst, planned_gate_s=planned[ratios.index(worst)] / 1000,
                gate_s=first.gate_ms / 1000, factor=GATE_MISMATCH_FACTOR)


def point_records(measurements: Sequence[Measurement | PulseMeasurement], *,
                  limit: Callable[[str, TestPoint], Limit], reference_accuracy_pct: float,
                  rule: str) -> list[Record]:
    """One record per (meter, point), rising and falling runs combined."""
    # paired by the whole point (current, PF, phases and name), never by its name alone: two
    # points that shared a name would otherwise be averaged into one record
    groups: dict[tuple[str, TestPoint], list[Measurement | PulseMeasurement]] = {}
    for m in measurements:
        groups.setdefault((m.meter, m.point), []).append(m)
    out = []
    for (meter, _), runs in groups.items():
        incomplete = [r for r in runs if isinstance(r, PulseMeasurement) and not r.completed]
        if incomplete:
            out.append(incomplete_point_record(meter, runs, incomplete, limit(meter, runs[0].point),
                                               rule))
            continue
        p = runs[0].point
        errors = [r.error_pct for r in runs]
        value = sum(errors) / len(errors)
        ref_kwh = min(r.reference_kwh for r in runs)
        b = mean_budget(runs, reference_accuracy_pct, errors)
        lim = limit(meter, p)
        u = b.expanded
        target = runs[0].plan.target_pct
        verdict = decide(value, -lim.pct, lim.pct, u, rule)
        warn = [r.plan.warning for r in runs if r.plan.warning]
        detail = (f"{p.current_a:g} A PF {p.pf} {p.load}; "
                  + ", ".join(f"{r.direction} {r.error_pct:+.4f} %" for r in runs)
                  + f"; {_method_detail(runs)}, {ref_kwh:.5f} kWh; {lim.basis}")
        mismatch = constant_mismatch(runs)
        if mismatch is not None:
            verdict = "fail"  # beyond any class either way; said to be the constant, below
            detail = (f"WARNING likely wrong meter constant: {runs[0].meter_pulses} pulses took "
                      f"{mismatch['gate_s']:.4g} s against the planned "
                      f"{mismatch['planned_gate_s']:.4g} s ({mismatch['gate_ratio']:.2f}×), so the "
                      f"test output gives about {mismatch['implied_imp_per_kwh']:,.0f} imp/kWh, "
                      f"not the declared {mismatch['declared_imp_per_kwh']:,.0f}: check the meter "
                      f"constant (rating.meter_constant, or the model's test output) before "
                      f"reading this as the meter's error; " + detail)
        if u > target:
            detail += f"; WARNING U = {u:.3g} % exceeds the target {target:.3g} % (1/3 MPE)"
        if warn:
            detail += "; planner: " + warn[0]
        out.append(record("lab.point", meter, value, "%", verdict, name=p.name, low=-lim.pct,
                          high=lim.pct, uncertainty=u, rule=RULE_TEXT[rule], detail=detail,
                          data=dict(
                              kind="point", current_a=p.current_a, pf=p.pf, phi_deg=p.phi_deg,
                              load=p.load, runs={r.direction: r.error_pct for r in runs},
                              reference_kwh=ref_kwh, meter_kwh=[r.meter_kwh for r in runs],
                              gate_s=max(r.gate_ms for r in runs) / 1000, budget=b.as_dict(),
                              k=b.k, dof_eff=dof_json(b.dof_eff),
                              plan=min((r.plan for r in runs), key=lambda x: x.reachable).as_dict(),
                              plans={r.direction: r.plan.as_dict() for r in runs},
                              target_pct=target, **_method_data(runs),
                              uncertainty_ok=u <= target, limit_basis=lim.basis,
                              constant_mismatch=mismatch)))
    return out


def incomplete_point_record(meter: str, runs: Sequence[Measurement | PulseMeasurement],
                            incomplete: Sequence[PulseMeasurement], lim: Limit, rule: str
                            ) -> Record:
    """A point whose error calculator never finished a run: the meter's test output did not give
    its N pulses within twice the planned time, so there is no error to compute (and no U). The
    meter does not register as it should at this current: the point fails, without a value."""
    p = runs[0].point
    stopped = {id(r) for r in incomplete}
    which = ", ".join(r.direction for r in incomplete)
    first = incomplete[0]
    detail = (f"{p.current_a:g} A PF {p.pf} {p.load}; not evaluated: the error calculator did not "
              f"count the meter's {first.meter_pulses} test-output pulses ({first.meter_constant:,.0f} "
              f"imp/kWh) within twice the planned {first.plan.gate_ms / 1000:,.0f} s + 60 s in the {which} "
              f"run{'s' if len(incomplete) > 1 else ''}: the meter does not register as it should at "
              f"this current; {lim.basis}")
    data = dict(kind="point", current_a=p.current_a, pf=p.pf, phi_deg=p.phi_deg, load=p.load,
                runs={r.direction: (None if id(r) in stopped else r.error_pct) for r in runs},
                completed={r.direction: id(r) not in stopped for r in runs},
                plans={r.direction: r.plan.as_dict() for r in runs},
                target_pct=runs[0].plan.target_pct, limit_basis=lim.basis,
                **_method_data(runs))
    data["gates_s"] = {r.direction: (None if id(r) in stopped else r.gate_ms / 1000) for r in runs}
    return record("lab.point", meter, None, "%", "fail", name=p.name, low=-lim.pct, high=lim.pct,
                  rule=RULE_TEXT[rule], detail=detail, data=data)


def starting_record(d: RegisterDelta, current_a: float, *, expected_kwh: float,
                    warning: str = "") -> Record:
    """The meter must start registering at Ist (MID Annex V). It passes when its register
    advanced by more than two register steps (the two reads' quantization) over a gate long
    enough for the expected energy to be many steps."""
    low = 2.0 * d.step_kwh
    ok = d.import_kwh > low
    return record("lab.starting", d.meter, d.import_kwh, "kWh", "pass" if ok else "fail",
                  low=low, rule="registers: advance > 2 register steps (two reads, ±q each)",
                  detail=f"Ist {current_a:g} A PF 1 for {d.gate_ms / 1000:g} s; expected about "
                         f"{expected_kwh:.5f} kWh, register advanced {d.import_kwh:.5f} kWh"
                         + (f"; WARNING {warning}" if warning else ""),
                  data=dict(kind="starting", method="register", current_a=current_a,
                            expected_kwh=expected_kwh,
                            step_kwh=d.step_kwh, gate_s=d.gate_ms / 1000))


def creep_record(d: RegisterDelta, rating: MeterRating, voltage_v: float, *,
                 meter_constant: float | None = None) -> Record:
    """No-load test: at 1.15·Un and no current at most one pulse equivalent may register
    (the no-load test of IEC 62053-21 / EN 50470-3; clause not confirmed here). The meter's test
    output constant (its model's, or the rating's ``meter_constant``) sets the pulse; without one
    the register step stands in for a pulse."""
    constant = meter_constant or rating.meter_constant_imp_per_kwh
    if constant:
        pulse = CREEP_MAX_PULSES / constant
        what = f"1 pulse = {pulse:.6f} kWh at {constant:,.0f} imp/kWh"
    else:
        pulse = d.step_kwh
        what = f"no meter constant declared: one register step {pulse:.6f} kWh stands in for a pulse"
    ok = d.import_kwh <= pulse and d.export_kwh <= pulse
    return record("lab.creep", d.meter, d.import_kwh, "kWh", "pass" if ok else "fail",
                  high=pulse, rule="at most 1 pulse equivalent (no-load test, IEC 62053-21 / EN 50470-3)",
                  detail=f"{voltage_v:g} V (1.15·Un), no current, {d.gate_ms / 1000:g} s; {what}; "
                         f"import +{d.import_kwh:.6f} kWh, export +{d.export_kwh:.6f} kWh",
                  data=dict(kind="creep", method="register", gate_s=d.gate_ms / 1000,
                            pulse_kwh=pulse,
                            export_kwh=d.export_kwh))


def dial_record(d: RegisterDelta, lim: Limit, *, reference_accuracy_pct: float, rule: str,
                uncertainty_fraction: float) -> Record:
    """Register (dial) test over a fixed energy: register advance vs the reference's energy.
    Its U is held to the same target as a point's (``uncertainty_fraction`` × MPE); a register
    step too coarse for the dial energy shows as a U above the target."""
    ref = d.reference_kwh["SIGMA"]
    target = uncertainty_fraction * lim.pct
    value = (d.import_kwh - ref) / ref * 100.0 if ref > 0 else math.nan
    b = budget(reference_accuracy_pct=reference_accuracy_pct, step_kwh=d.step_kwh,
               reference_kwh=ref, window_ms=d.window_ms + 1.0, gate_ms=d.gate_ms)
    return record("lab.dial", d.meter, value, "%",
                  decide(value, -lim.pct, lim.pct, b.expanded, rule), low=-lim.pct, high=lim.pct,
                  uncertainty=b.expanded, rule=RULE_TEXT[rule],
                  detail=f"register +{d.import_kwh:.5f} kWh vs reference {ref:.5f} kWh; {lim.basis}"
                  + (f"; WARNING U = {b.expanded:.3g} % exceeds the target {target:.3g} % (the "
                     f"register step {d.step_kwh:g} kWh is coarse for the dial energy)"
                     if b.expanded > target else ""),
                  data=dict(kind="dial", method="register", reference_kwh=ref,
                            gate_s=d.gate_ms / 1000, budget=b.as_dict(), target_pct=target,
                            uncertainty_ok=b.expanded <= target))


def classify_registration(d: RegisterDelta, phase_kwh: float, tolerance_pct: float) -> str:
    """+P on L1 and −P on L2: ``summation`` when both registers stay (nearly) still,
    ``phase_by_phase`` when both advance by the phase energy, else ``inconsistent``.
    ``tolerance_pct`` covers the meter's error on each phase; two register steps cover the reads."""
    slack = 2.0 * d.step_kwh
    still = tolerance_pct / 100.0 * 2.0 * phase_kwh + slack
    near = tolerance_pct / 100.0 * phase_kwh + slack
    if d.import_kwh <= still and d.export_kwh <= still:
        return "summation"
    if abs(d.import_kwh - phase_kwh) <= near and abs(d.export_kwh - phase_kwh) <= near:
        return "phase_by_phase"
    return "inconsistent"


def summation_record(d: RegisterDelta, behaviour: str, declared: str | None, phase_kwh: float
                     ) -> Record:
    detail = (f"+P on L1, −P on L2 for {d.gate_ms / 1000:g} s ({phase_kwh:.5f} kWh per phase): "
              f"import +{d.import_kwh:.5f} kWh, export +{d.export_kwh:.5f} kWh → {behaviour}")
    data = dict(kind="summation", method="register", behaviour=behaviour, declared=declared,
                phase_kwh=phase_kwh,
                export_kwh=d.export_kwh)
    if declared is None:
        verdict = "fail" if behaviour == "inconsistent" else "info"
        return record("lab.summation", d.meter, d.import_kwh, "kWh", verdict,
                      rule="behaviour observed (no registration rule declared)", detail=detail,
                      data=data)
    verdict = "pass" if behaviour == declared else "fail"
    return record("lab.summation", d.meter, d.import_kwh, "kWh", verdict,
                  rule=f"observed behaviour must be the declared {declared}",
                  detail=detail, data=data)
