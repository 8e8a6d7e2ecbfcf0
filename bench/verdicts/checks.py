"""Verdict records from a run's analysis: conformance, netting, field acceptance, ground truth.

Each function returns :class:`meterbench.core.records.Record` s; the shipped pytest suites assert on them and
the report renders them. Limits name their source; the decision rule is stated on every record.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np

from meterbench.accuracy.limits import mpe_pct
from meterbench.config.bench_file import MeterSpec
from meterbench.core.quality import Quality
from meterbench.core.records import Record, fact, simple_acceptance
from meterbench.run.analysis import Analysis, FieldPair, MeterAnalysis
from meterbench.verdicts.truth import TruthCheck

#: Relative steadiness below which two consecutive power samples count as one steady span.
STEADY_POWER_REL = 0.005
MS_PER_HOUR = 3_600_000


# ---- conformance with the executive order on remote-read meters (market.md) ---------------------
def separate_registers(ma: MeterAnalysis) -> Record:
    n_imp = len(ma.readings["energy.import"].values)
    n_exp = len(ma.readings["energy.export"].values)
    ok = n_imp > 0 and n_exp > 0
    return Record("conformance", "import and export registered separately", ma.spec.id,
                  float(min(n_imp, n_exp)), "readings", "pass" if ok else "fail", low=1.0,
                  rule="present / absent",
                  detail=f"{n_imp} import and {n_exp} export register readings")


def quarter_hour_values(ma: MeterAnalysis) -> Record:
    s = ma.quarter["energy.import"].series
    measured = s.count(Quality.MEASURED)
    pct = 100.0 * measured / len(s) if len(s) else 0.0
    return simple_acceptance("conformance", "15-minute values obtainable", ma.spec.id, pct, "%",
                             low=100.0, detail=f"{measured} of {len(s)} quarter-hours measured")


def monotonic_registers(ma: MeterAnalysis) -> Record:
    drops = 0
    for ch in ("energy.import", "energy.export"):
        v = ma.readings[ch].values
        drops += int(np.count_nonzero(np.diff(v) < 0))
    rollovers = sum(1 for e in ma.events if e.kind == "rollover")
    return simple_acceptance("conformance", "registers monotonic", ma.spec.id,
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
        return fact("conformance", "power consistent with energy", ma.spec.id, None, "%",
                    "no power readings")
    t = p.times_ms
    steady = np.abs(np.diff(p.values)) <= STEADY_POWER_REL * np.maximum(np.abs(p.values[:-1]), 1.0)
    steady &= p.values[:-1] > 0
    e_at = np.interp(t, e.times_ms, e.values)
    de = np.diff(e_at)[steady]
    pdt = (p.values[:-1][steady] * np.diff(t)[steady]) / MS_PER_HOUR / 1000.0
    if pdt.sum() <= 0:
        return fact("conformance", "power consistent with energy", ma.spec.id, None, "%",
                    "no steady consumption span")
    value = (de.sum() / pdt.sum() - 1.0) * 100.0
    q = float(np.spacing(np.float32(e.values.max())))
    limit = mpe_pct(ma.spec.accuracy_class) + 100.0 * q * steady.sum() / pdt.sum()
    return simple_acceptance("conformance", "power consistent with energy", ma.spec.id,
                             float(value), "%", low=-limit, high=limit,
                             detail=f"{int(steady.sum())} steady spans, {pdt.sum():.3f} kWh compared; "
                             f"limit = MPE class {ma.spec.accuracy_class} + quantization")


def clock_record(ma: MeterAnalysis, tolerance_ms: int) -> Record:
    """The meter's clock against the bench's, where the meter has one (market.md: remote-read
    meters keep time; the tolerance is a preset, default Flanders' 10 s)."""
    track = ma.clock
    if track is None:
        return fact("conformance", "clock within tolerance", ma.spec.id, None, "s",
                    f"model {ma.spec.model} has no clock register")
    jumps = len(track.events)
    return simple_acceptance(
        "conformance", "clock within tolerance", ma.spec.id, track.worst_ms / 1000.0, "s",
        high=tolerance_ms / 1000.0, uncertainty=float(np.max(track.uncertainty_ms)) / 1000.0,
        detail=f"largest |meter − bench| offset over {len(track.offset_ms)} polls; median offset "
               f"{track.median_ms / 1000:+.3f} s; {jumps} jump(s)")


def conformance_records(analysis: Analysis) -> list[Record]:
    out = []
    for ma in analysis.meters.values():
        out += [separate_registers(ma), quarter_hour_values(ma), monotonic_registers(ma),
                power_energy_consistency(ma)]
    return out


# ---- netting --------------------------------------------------------------------------------
def netting_records(analysis: Analysis) -> list[Record]:
    n = analysis.netting
    worst = float(np.nanmax(np.abs(np.concatenate([n.sum_check_import, n.sum_check_export]))))
    negatives = int(np.count_nonzero(n.virtual.negative_import))
    return [
        simple_acceptance("netting", "all points sum to the main meter", "virtual main point",
                          worst, "kWh", high=1e-9,
                          detail="max |virtual + Σ serial − main| over all intervals"),
        simple_acceptance("netting", "no negative residual consumption", "virtual main point",
                          float(negatives), "intervals", high=0.0,
                          detail=f"policy {n.virtual.policy}" + _causes(n.diagnosis.codes)),
    ]


def _causes(codes: list[str | None]) -> str:
    counts: dict[str, int] = {}
    for c in codes:
        if c:
            counts[c] = counts.get(c, 0) + 1
    if not counts:
        return ""
    return "; causes: " + ", ".join(f"{k.replace('_', ' ')} ({v})" for k, v in counts.items())


# ---- field acceptance -----------------------------------------------------------------------
def field_record(pair: FieldPair) -> Record:
    """Operator vs reference over the run: energy-weighted error with its uncertainty (k = 2).

    Limit: the operator meter's MPE for its class (metrology.md, Itr ≤ I ≤ Imax, +5…+30 °C).
    Uncertainty: the reference meter's own MPE taken as a rectangular distribution (u = MPE/√3)
    and the register quantization of both meters over the compared energy, expanded with k = 2.
    The quantization is each meter's *register* step at its largest reading (the pair's
    ``*_step_kwh``, from the register map's data type and scale), not the spacing of an interval
    value: the compared energies are differences of register readings.
    """
    c = pair.comparison
    mask = c.both_measured & np.isfinite(c.error_pct)
    err = c.energy_weighted_error_pct(mask)
    ref_kwh = float(c.reference_kwh[mask].sum())
    q_sum = pair.operator_step_kwh + pair.reference_step_kwh
    u_ref = mpe_pct(pair.reference.accuracy_class) / math.sqrt(3)
    u_q = 100.0 * q_sum / ref_kwh / math.sqrt(3) if ref_kwh > 0 else float("inf")
    u = 2.0 * math.hypot(u_ref, u_q)
    limit = mpe_pct(pair.operator.accuracy_class)
    rec = simple_acceptance("field", "operator vs reference energy error", pair.operator.id,
                            err, "%", low=-limit, high=limit, uncertainty=u,
                            detail=f"{int(mask.sum())} of {len(c.start_ms)} intervals measured on "
                            f"both; reference {pair.reference.id}; {ref_kwh:.3f} kWh compared",
                            data={"reference": pair.reference.id, "compared": int(mask.sum()),
                                  "expected": len(c.start_ms)})
    return rec


def completeness_record(ma: MeterAnalysis) -> Record:
    s = ma.quarter["energy.import"].series
    present = int(np.count_nonzero(s.quality != Quality.MISSING))
    return simple_acceptance("delivery", "no missing intervals", ma.spec.id,
                             float(len(s) - present), "intervals", high=0.0,
                             detail=f"{present} of {len(s)} quarter-hours have a value")


# ---- ground truth (simulated benches) --------------------------------------------------------
def truth_record(check: TruthCheck, accuracy_class: str) -> Record:
    c = check.checked
    worst = float(np.max(np.abs(check.deviation_kwh[c]) - check.allowed_kwh[c])) if c.any() else math.nan
    return Record("truth", "recovered intervals match the simulated truth", check.meter,
                  worst, "kWh over bound", "pass" if check.within else "fail", high=0.0,
                  rule="|recovered − true·(1+ε)| ≤ quantization + interpolation bound, per interval",
                  detail=f"{int(c.sum())} intervals; recovered error {check.recovered_error_pct:+.3f} % "
                         f"vs true {check.true_error_pct:+.3f} % (class {accuracy_class})")


def calibration_record(reference: MeterSpec, last_day: date) -> Record:
    """A reference device's calibration must still be valid on the last day it is relied on."""
    if reference.calibration_due is None:
        return fact("traceability", "reference calibration valid", reference.id, None, "days",
                    "no calibration certificate declared in the bench file")
    margin = (reference.calibration_due - last_day).days
    return simple_acceptance("traceability", "reference calibration valid", reference.id,
                             float(margin), "days left", low=0.0,
                             detail=f"certificate {reference.calibration_id} due "
                                    f"{reference.calibration_due.isoformat()}; run ends {last_day.isoformat()}")
