"""Verdict records from a run's analysis: conformance, netting, field acceptance, ground truth.

Each function returns :class:`meterbench.core.records.Record` s; the shipped pytest suites assert on them and
the report renders them. Limits name their source; the decision rule is stated on every record.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np

from meterbench.accuracy.limits import mpe_pct
from meterbench.accuracy.register import reading_step_kwh
from meterbench.config.bench_file import MeterSpec
from meterbench.core.quality import Quality
from meterbench.core.records import Record, fact, record, simple_acceptance
from meterbench.core.timeutil import format_minute_utc
from meterbench.run.analysis import Analysis, MeterAnalysis
from meterbench.units import MS_PER_HOUR
from meterbench.verdicts.truth import TruthCheck, VirtualPointTruth

#: Relative steadiness below which two consecutive power samples count as one steady span.
STEADY_POWER_REL = 0.005


# ---- conformance with the Danish executive order on remote-read meters (BEK 75/2019 §§ 4-7) -----
def separate_registers(ma: MeterAnalysis) -> Record:
    n_imp = len(ma.readings["energy.import"].values)
    n_exp = len(ma.readings["energy.export"].values)
    ok = n_imp > 0 and n_exp > 0
    return record("conformance.separate_registers", ma.spec.id,
                  float(min(n_imp, n_exp)), "readings", "pass" if ok else "fail", low=1.0,
                  rule="present / absent",
                  detail=f"{n_imp} import and {n_exp} export register readings")


def quarter_hour_values(ma: MeterAnalysis) -> Record:
    s = ma.quarter["energy.import"].series
    measured = s.count(Quality.MEASURED)
    pct = 100.0 * measured / len(s) if len(s) else 0.0
    return simple_acceptance("conformance.quarter_hour_values", ma.spec.id, pct, "%",
                             low=100.0, detail=f"{measured} of {len(s)} quarter-hours measured")


def monotonic_registers(ma: MeterAnalysis) -> Record:
    drops = 0
    for ch in ("energy.import", "energy.export"):
        v = ma.readings[ch].values
        drops += int(np.count_nonzero(np.diff(v) < 0))
    rollovers = sum(1 for e in ma.events if e.kind == "rollover")
    return simple_acceptance("conformance.monotonic_registers", ma.spec.id,
                             float(drops - rollovers), "decreases", high=0.0,
                             detail=f"{drops} decreases seen, {rollovers} explained as rollover")


def power_energy_consistency(ma: MeterAnalysis) -> Record:
    """∫P dt over steady spans against the register increase over the same spans.

    Only spans where consecutive power samples agree within 0.5 % are used: across a load change
    the power between two samples is unknown, so comparing there would test the sampling, not the
    meter. The limit is the meter's MPE plus the register quantization over the compared energy.
    """
    p = ma.readings.get("power.total")
    e = ma.readings["energy.import"]
    if p is None or len(p.values) < 2:
        return fact("conformance.power_energy", ma.spec.id, None, "%",
                    "no power readings")
    t = p.times_ms
    steady = np.abs(np.diff(p.values)) <= STEADY_POWER_REL * np.maximum(np.abs(p.values[:-1]), 1.0)
    steady &= p.values[:-1] > 0
    e_at = np.interp(t, e.times_ms, e.values)
    de = np.diff(e_at)[steady]
    pdt = (p.values[:-1][steady] * np.diff(t)[steady]) / MS_PER_HOUR / 1000.0
    if pdt.sum() <= 0:
        return fact("conformance.power_energy", ma.spec.id, None, "%",
                    "no steady consumption span")
    value = (de.sum() / pdt.sum() - 1.0) * 100.0
    q = reading_step_kwh(ma.spec.model, e.values)  # the register's own step (data type, scale)
    limit = mpe_pct(ma.spec.accuracy_class) + 100.0 * q * steady.sum() / pdt.sum()
    return simple_acceptance("conformance.power_energy", ma.spec.id,
                             float(value), "%", low=-limit, high=limit,
                             detail=f"{int(steady.sum())} steady spans, {pdt.sum():.3f} kWh compared; "
                             f"limit = MPE class {ma.spec.accuracy_class} + quantization")


def clock_record(ma: MeterAnalysis, tolerance_ms: int) -> Record:
    """The meter's clock against the bench's, where the meter has one (remote-read meters keep
    time; the tolerance is a preset, default Flanders' 10 s, TRDE Art. 3.2.4 §2)."""
    track = ma.clock
    if track is None:
        return fact("conformance.clock", ma.spec.id, None, "s",
                    f"model {ma.spec.model} has no clock register")
    jumps = len(track.events)
    return simple_acceptance("conformance.clock", ma.spec.id, track.worst_ms / 1000.0, "s",
        high=tolerance_ms / 1000.0, uncertainty=float(np.max(track.uncertainty_ms)) / 1000.0,
        detail=f"largest |meter − bench| offset over {len(track.offset_ms)} polls; median offset "
               f"{track.median_ms / 1000:+.3f} s; {jumps} jump(s)")


# ---- netting --------------------------------------------------------------------------------
def conservation_record(analysis: Analysis) -> Record:
    """Every metering point DataHub settles, summed over the period, against what the main
    meter's own register advanced over it.

    The virtual main point and the serial points are computed from intervals; the register
    difference is read straight from the main meter's readings at the period's ends, so the two
    are independent: a missing interval, an interval the netting clamped, or an estimate that does
    not add up to the register (Elhub's rule for estimated values, Elhubstandard 2.1) shows as a
    gap. The bound is the main register's quantization: half a step at each end.
    """
    cfg, n = analysis.config, analysis.netting
    main = analysis.meters[cfg.main.id]
    events = {e.kind for e in main.events}
    if events & {"rollover", "reset"}:
        return fact("netting.main_register", cfg.virtual_point, None, "kWh",
                    "not checkable: the main meter's register rolled over or was reset during "
                    "the period, so its difference is not the energy that flowed")
    gaps, bounds, worst_missing, detail = [], [], 0, []
    for channel, virtual, subs in (("energy.import", n.virtual.import_kwh, n.subs.import_kwh),
                                   ("energy.export", n.virtual.export_kwh, n.subs.export_kwh)):
        r = main.readings[channel]
        if len(r.values) < 2 or r.times_ms[0] > analysis.start_ms or r.times_ms[-1] < analysis.end_ms:
            return fact("netting.main_register", cfg.virtual_point, None, "kWh",
                        f"not checkable: the main meter's {channel} readings do not cover the "
                        "period's ends")
        register = float(np.interp(analysis.end_ms, r.times_ms, r.values)
                         - np.interp(analysis.start_ms, r.times_ms, r.values))
        parts = np.vstack([np.atleast_2d(virtual), np.atleast_2d(subs)]) if len(subs) else \
            np.atleast_2d(virtual)
        missing = int(np.count_nonzero(~np.isfinite(parts).all(axis=0)))
        settled = float(np.nansum(parts))
        gaps.append(settled - register)
        worst_missing = max(worst_missing, missing)
        detail.append(f"{channel}: points {settled:.6f} kWh, register {register:.6f} kWh"
                      + (f", {missing} interval(s) without a value" if missing else ""))
        # one register step of this channel (and float64 slack over the period's sum)
        bounds.append(max(reading_step_kwh(cfg.main.model, r.values, channel), 1e-9))
    k = max(range(len(gaps)), key=lambda i: abs(gaps[i]) / bounds[i])  # the worst channel
    rec = simple_acceptance(
        "netting.main_register", cfg.virtual_point, gaps[k], "kWh", low=-bounds[k], high=bounds[k],
        detail="Σ (virtual main point + serial points) − main register difference, within one "
               "register step; " + "; ".join(detail),
        data=dict(missing_intervals=worst_missing, gaps_kwh=gaps, bounds_kwh=bounds))
    if worst_missing:
        rec.verdict = "fail"
    return rec


def negative_residuals_record(analysis: Analysis) -> Record:
    n = analysis.netting
    negatives = int(np.count_nonzero(n.virtual.negative_import))
    return simple_acceptance("netting.negative_residuals", analysis.config.virtual_point,
                             float(negatives), "intervals", high=0.0,
                             detail=f"policy {n.virtual.policy}" + _causes(n.diagnosis.codes))


def virtual_truth_record(check: VirtualPointTruth) -> Record:
    """The virtual main point against the simulated world's true house consumption."""
    complete = check.recovered == check.expected
    rec = simple_acceptance(
        "netting.virtual_vs_truth", check.point, check.deviation_kwh, "kWh",
        low=-check.bound_kwh, high=check.bound_kwh, uncertainty=check.bound_kwh,
        detail=f"virtual {check.virtual_kwh:.4f} kWh vs true {check.true_kwh:.4f} kWh over "
               f"{check.recovered} of {check.expected} intervals; bound U (k = 2) from each "
               "meter's MPE (Directive 2014/32/EU Annex V Table 2) and register steps",
        data=dict(virtual_kwh=check.virtual_kwh, true_kwh=check.true_kwh,
                  expected=check.expected, recovered=check.recovered,
                  u_by_meter_kwh=check.contributions))
    if not complete:
        rec.verdict = "fail"
        rec.detail += f"; {check.expected - check.recovered} interval(s) not recovered"
    return rec


def _causes(codes: list[str | None]) -> str:
    counts: dict[str, int] = {}
    for c in codes:
        if c:
            counts[c] = counts.get(c, 0) + 1
    if not counts:
        return ""
    return "; causes: " + ", ".join(f"{k.replace('_', ' ')} ({v})" for k, v in counts.items())


# ---- delivery ---------------------------------------------------------------------------------
def completeness_record(ma: MeterAnalysis) -> Record:
    s = ma.quarter["energy.import"].series
    present = int(np.count_nonzero(s.quality != Quality.MISSING))
    return simple_acceptance("delivery.no_missing_intervals", ma.spec.id,
                             float(len(s) - present), "intervals", high=0.0,
                             detail=f"{present} of {len(s)} quarter-hours have a value")


# ---- ground truth (simulated benches) --------------------------------------------------------
def truth_record(check: TruthCheck, accuracy_class: str) -> Record:
    """Every expected interval recovered, each within its per-interval bound."""
    c = check.checked
    w = check.worst_index
    worst = float(check.excess_kwh[w]) if w is not None else math.nan
    missing = check.expected_count - check.recovered_count
    where = (f"; closest to its bound: {format_minute_utc(int(check.start_ms[w]))} "
             f"(|deviation| {abs(check.deviation_kwh[w]):.6f} kWh, bound "
             f"{check.allowed_kwh[w]:.6f} kWh)") if w is not None else ""
    return record("truth.intervals", check.meter,
                  worst, "kWh over bound", "pass" if check.within else "fail", high=0.0,
                  rule="every expected interval recovered and |recovered − true·(1+ε)| ≤ "
                       "quantization + interpolation bound, per interval",
                  detail=f"{check.recovered_count} of {check.expected_count} intervals recovered"
                         + (f" ({missing} missing)" if missing else "")
                         + (f"; recovered error {check.recovered_error_pct:+.3f} % vs true "
                            f"{check.true_error_pct:+.3f} % (class {accuracy_class})" if c.any()
                            else "") + where,
                  data=dict(expected=check.expected_count, recovered=check.recovered_count,
                            missing=missing))


def calibration_record(reference: MeterSpec, last_day: date) -> Record:
    """A reference device's calibration must still be valid on the last day it is relied on."""
    if reference.calibration_due is None:
        return fact("traceability.reference_calibration", reference.id, None, "days",
                    "no calibration certificate declared in the bench file")
    margin = (reference.calibration_due - last_day).days
    return simple_acceptance("traceability.reference_calibration", reference.id,
                             float(margin), "days left", low=0.0,
                             detail=f"certificate {reference.calibration_id} due "
                                    f"{reference.calibration_due.isoformat()}; run ends {last_day.isoformat()}")
