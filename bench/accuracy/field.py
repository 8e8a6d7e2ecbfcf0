"""Field acceptance: the operator's meter against the DSO's serial reference meter, interval by interval.

Input is two interval series (from a run's store via the pipeline, or imported from the interval
CSV of ``meterbench intervals``). The verdict is built in this order, because a labelling error
must never be judged as inaccuracy:

1. **labelling** (:func:`meterbench.pipeline.labelling.diagnose_labelling`): if the operator's labels are
   shifted (e.g. one hour late), the report says so and the comparison uses the corrected labels;
   the labelling itself gets a failing record (a data error, not a metering error);
2. **per-interval errors** with quantization-aware limits: |op − ref| / ref ≤ MPE_op + MPE_ref +
   (q_op + q_ref) / ref, both meters may err within their class and each value is quantized;
3. **bias**: Σ(op − ref) / Σref with a 95 % confidence interval from the interval scatter (ratio
   estimator, Student t), and an expanded uncertainty that adds the reference meter's own class
   (rectangular, MPE/√3) and the quantization; its coverage factor is Student's t at 95.45 % for
   the Welch–Satterthwaite degrees of freedom (the scatter term has n − 1, the rectangular ones
   ∞; GUM JCGM 100:2008 G.4, :mod:`meterbench.accuracy.uncertainty`); judged with the chosen
   decision rule against the operator's MPE (or the in-service limit);
4. **completeness**: intervals measured on both sides out of those expected;
5. **timeliness**: each local day's delivery time against a configurable deadline (optional);
6. **clock offset** from register readings when they are available (a run's store), by
   :func:`meterbench.pipeline.alignment.estimate_clock`, stated as a fact with its uncertainty.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from scipy import stats

from meterbench.accuracy.decision import RULE_TEXT, decide
from meterbench.accuracy.limits import in_service_limit_pct, mpe_pct
from meterbench.accuracy.uncertainty import coverage_factor, dof_json, effective_dof
from meterbench.core.records import Record, fact, record, simple_acceptance
from meterbench.core.timeutil import format_iso_utc, from_ms, to_ms
from meterbench.core.words import plural
from meterbench.pipeline.alignment import AlignmentError, estimate_clock
from meterbench.pipeline.compare import IntervalComparison, compare_intervals
from meterbench.pipeline.labelling import (
    LabellingDiagnosis,
    apply_label_correction,
    diagnose_labelling,
)
from meterbench.pipeline.localday import known_zone
from meterbench.pipeline.series import IntervalSeries
from meterbench.reports import numbers

STAGE = "field"
#: Timeliness presets: local time of day on the day after the delivered day. NO: Elhubstandard
#: 2.1 (previous day's values by 07:00); NL: Informatiecode elektriciteit en gas 6.2.2.2 (telemetry
#: values before 10:00 the next calendar day).
DEADLINE_PRESETS: dict[str, time] = {"NO": time(7, 0), "NL": time(10, 0)}


def completeness_ok(pct: float) -> bool:
    """A completeness threshold a check can use: above 0 % (0 could never fail) and at most
    100 % (more could never pass)."""
    return math.isfinite(pct) and 0 < pct <= 100


def step_ok(kwh: float) -> bool:
    """A quantization step: a finite energy ≥ 0 (0 for exact values)."""
    return math.isfinite(kwh) and kwh >= 0


@dataclass(frozen=True)
class FieldSettings:
    operator_class: str
    reference_class: str
    rule: str = "simple"
    limit_basis: str = "mpe"          # "mpe" | "in_service"
    country: str = "DK"
    operator_step_kwh: float = 0.001  # interval values with 3 decimals (Energinet BRS-021)
    reference_step_kwh: float = 0.001
    completeness_min_pct: float = 100.0
    deadline: time | None = None      # local time on the next day
    zone: str = "Europe/Copenhagen"

    def __post_init__(self) -> None:
        """Refuse settings whose checks could not be made or could never pass or fail: a
        completeness threshold outside (0, 100] %, a negative or non-finite quantization step
        (0 is allowed: exact values), an unknown time zone. Callers that take these from a user
        check them first and name the option (``meterbench accuracy field``)."""
        if not completeness_ok(self.completeness_min_pct):
            raise ValueError(f"completeness_min_pct {self.completeness_min_pct!r} is not in (0, 100]")
        for name in ("operator_step_kwh", "reference_step_kwh"):
            step = getattr(self, name)
            if not step_ok(step):
                raise ValueError(f"{name} {step!r} is not a finite energy ≥ 0")
        if not known_zone(self.zone):
            raise ValueError(f"unknown time zone {self.zone!r}")

    @property
    def limit_pct(self) -> float:
        if self.limit_basis == "in_service":
            return in_service_limit_pct(self.operator_class, country=self.country)
        return mpe_pct(self.operator_class)

    @property
    def limit_text(self) -> str:
        if self.limit_basis == "in_service":
            return (f"in-service limit {self.country}: 2 × MPE class {self.operator_class} "
                    "(BEK 582/2018 §11 / MessEV §22)")
        return f"MPE class {self.operator_class} (2014/32/EU Annex V Table 2, Itr…Imax, +5…+30 °C)"


@dataclass
class FieldResult:
    operator: str
    reference: str
    records: list[Record]
    comparison: IntervalComparison
    labelling: LabellingDiagnosis | None
    interval_limit_pct: np.ndarray
    summary: dict[str, Any] = field(default_factory=dict)


#: A pair's record verdicts, worst first (ILAC-G8: conditional fail counts as failed, conditional
#: pass as passed with a warning). ``info`` records state facts and judge nothing.
_WORST_FIRST = ("fail", "conditional_fail", "conditional_pass", "pass")


def pair_verdict(records: Sequence[Record]) -> str:
    """The operator/reference pair's verdict: the worst verdict among its records.

    The pair is accepted only when every check on it is: a labelling error, missing intervals or
    intervals outside their limits fail the pair even when the bias is within the MPE (the CLI's
    exit code, ``--json``, results.json and the report's badge all show this one verdict). With
    no judged record at all nothing shows the meter acceptable, so the pair fails.
    """
    judged = {r.verdict for r in records}
    return next((v for v in _WORST_FIRST if v in judged), "fail")


def bias_with_ci(op: np.ndarray, ref: np.ndarray) -> tuple[float, float, float]:
    """(bias %, standard uncertainty %, 95 % CI half-width %) of Σ(op−ref)/Σref.

    Ratio estimator r = Σop/Σref; residuals e_k = op_k − r·ref_k; var(r) ≈ n/(n−1)·Σe²/(Σref)².
    """
    n = len(ref)
    total = float(ref.sum())
    if n < 2 or total <= 0:
        return (float("nan"),) * 3  # type: ignore[return-value]
    r = float(op.sum()) / total
    resid = op - r * ref
    u = math.sqrt(n / (n - 1) * float(np.sum(resid**2))) / total * 100.0
    half = float(stats.t.ppf(0.975, n - 1)) * u
    return (r - 1.0) * 100.0, u, half


def interval_limits_pct(ref_kwh: np.ndarray, s: FieldSettings) -> np.ndarray:
    """Each interval's limit, %: both classes' MPE plus both quantization steps relative to the
    reference's energy.

    An interval without energy on the reference has no relative limit (+inf): it is not compared
    (its error is undefined), and dividing there would warn, or give NaN with exact values
    (steps of 0).
    """
    ref = np.abs(np.asarray(ref_kwh, dtype=float))
    with_energy = ref > 0
    q = np.full(ref.shape, np.inf)
    np.divide(100.0 * (s.operator_step_kwh + s.reference_step_kwh), ref, out=q, where=with_energy)
    return mpe_pct(s.operator_class) + mpe_pct(s.reference_class) + q


_NUMBER_WORDS = {1: "one", 2: "two", 3: "three"}


def shift_words(shift_ms: int) -> str:
    """``3_600_000`` → "labelled one hour late"; negative shifts are early."""
    minutes = abs(shift_ms) // 60_000
    if minutes % 60 == 0:
        h = minutes // 60
        amount = f"{_NUMBER_WORDS.get(h, str(h))} hour{'s' if h != 1 else ''}"
    else:
        amount = f"{minutes} minutes"
    return f"labelled {amount} {'late' if shift_ms > 0 else 'early'}"


def _labelling_record(diag: LabellingDiagnosis | None, operator: str, why: str = "") -> Record:
    if diag is None:
        return fact("field.labelling", operator, None, "", f"not checked: {why}")
    shift_s = diag.winter_shift_ms if diag.winter_shift_ms is not None else diag.summer_shift_ms
    data = diag.as_record()
    if diag.is_error:
        return record("field.labelling", operator, (shift_s or 0) / 1000.0, "s", "fail",
                      low=0.0, high=0.0, rule="labels must be interval starts in UTC (RSM-012)",
                      detail=f"operator values {shift_words(shift_s or 0)} ({diag.text}); "
                             f"correction: {diag.correction}; accuracy is judged on the corrected "
                             "labels, so this is a labelling error, not an inaccurate meter",
                      data=data)
    if diag.kind == "none":
        return record("field.labelling", operator, 0.0, "s", "pass", low=0.0, high=0.0,
                      rule="labels must be interval starts in UTC (RSM-012)", detail=diag.text,
                      data=data)
    return fact("field.labelling", operator, None, "", diag.text, data)


def _timeliness(deliveries: Mapping[date, int] | None, s: FieldSettings, operator: str,
                days: list[date]) -> Record:
    if s.deadline is None or deliveries is None:
        return fact("field.timeliness", operator, None, "days late",
                    "not evaluated: no deadline or no delivery times given")
    tz = ZoneInfo(s.zone)
    late = []
    for d in days:
        due = to_ms(datetime.combine(d + timedelta(days=1), s.deadline, tzinfo=tz))
        got = deliveries.get(d)
        if got is None or got > due:
            late.append(d)
    detail = (f"deadline {s.deadline.strftime('%H:%M')} local on the next day; "
              f"{len(days) - len(late)} of {plural(len(days), 'day')} on time"
              + (f"; late or missing: {', '.join(x.isoformat() for x in late[:10])}" if late else ""))
    return simple_acceptance("field.timeliness", operator, float(len(late)), "days late",
                             high=0.0, detail=detail)


Readings = tuple[np.ndarray, np.ndarray]  # (times epoch ms, cumulative kWh)


def clock_offset_record(operator: Readings, reference: Readings, operator_id: str) -> Record:
    """The operator's time offset from register readings (:func:`estimate_clock`), as a fact."""
    try:
        a = estimate_clock(operator[0], operator[1], reference[0], reference[1])
    except AlignmentError as exc:
        return fact("field.time_offset", operator_id, None, "s",
                    f"not determined: {exc}")
    return record("field.time_offset", operator_id, a.offset_ms / 1000.0, "s",
                  "info", uncertainty=a.offset_uncertainty_ms / 1000.0,
                  rule="cross-correlation of register increments (meterbench.pipeline.alignment)",
                  detail=a.describe(),
                  data=dict(drift_ppm=a.drift_ppm, drift_u_ppm=a.drift_uncertainty_ppm))


#: Intervals the bias needs: its confidence interval comes from the scatter, n − 1 degrees of
#: freedom.
MIN_BIAS_INTERVALS = 2


def _bias_record(op: np.ndarray, ref: np.ndarray, s: FieldSettings, operator_id: str,
                 reference_id: str) -> Record:
    """The bias Σ(op − ref)/Σref over the compared intervals, with its CI and U, judged by the
    rule against the operator's limit.

    With fewer than :data:`MIN_BIAS_INTERVALS` compared intervals (or no energy on the
    reference) there is no bias to judge: the record fails without a value and says why (as a lab
    point whose error calculator never finished does), because nothing shows the meter accurate;
    it never prints NaN.
    """
    limit = s.limit_pct
    n = len(ref)
    ref_total = float(ref.sum())
    bias, u_stat, half = bias_with_ci(op, ref)
    if n < MIN_BIAS_INTERVALS or not math.isfinite(bias):
        return record("field.bias", operator_id, None, "%", "fail", low=-limit, high=limit,
                      rule=RULE_TEXT[s.rule],
                      detail=f"not evaluated: {plural(n, 'interval')} with energy on "
                             f"both meters compared ({ref_total:.3f} kWh on the reference "
                             f"{reference_id}), at least {MIN_BIAS_INTERVALS} needed for the bias "
                             f"and its confidence interval; nothing shows the meter within "
                             f"{s.limit_text}",
                      data=dict(reference=reference_id, compared=n))
    u_refmeter = mpe_pct(s.reference_class) / math.sqrt(3.0)
    u_q = (100.0 * math.sqrt(n) * math.hypot(s.operator_step_kwh, s.reference_step_kwh)
           / math.sqrt(3.0) / ref_total)
    dof = effective_dof([(u_stat, n - 1), (u_refmeter, math.inf), (u_q, math.inf)])
    k = coverage_factor(dof)
    u_exp = k * math.sqrt(u_stat**2 + u_refmeter**2 + u_q**2)
    return record("field.bias", operator_id, bias, "%", decide(bias, -limit, limit, u_exp, s.rule),
                  low=-limit, high=limit, uncertainty=u_exp, rule=RULE_TEXT[s.rule],
                  detail=f"{n} intervals, {ref_total:.3f} kWh on the reference {reference_id}; "
                         f"95 % CI {bias - half:+.3f} … {bias + half:+.3f} % (scatter); U includes "
                         f"the reference's class {s.reference_class} and quantization, "
                         f"k = {k:.3g} (ν_eff {numbers.dof(dof)}); {s.limit_text}",
                  data=dict(ci95_low=bias - half, ci95_high=bias + half, u_scatter_pct=u_stat,
                            u_reference_meter_pct=u_refmeter, u_quantization_pct=u_q,
                            dof_eff=dof_json(dof), k=k, reference=reference_id, compared=n))


def _interval_limits_record(outside: int, compared: int, measured_both: int, s: FieldSettings,
                            operator_id: str) -> Record:
    """How many compared intervals lie outside their quantization-aware limit (must be 0).

    "0 outside" of 0 compared is no evidence: with nothing compared the record fails without a
    value and says why, instead of passing on nothing.
    """
    rule = (f"per interval |error| ≤ MPE {s.operator_class} + MPE {s.reference_class} "
            "+ (q_op + q_ref)/ref")
    if not compared:
        return record("field.interval_limits", operator_id, None, "intervals", "fail", high=0.0,
                      rule="simple acceptance (ILAC-G8, w = 0)",
                      detail=f"not evaluated: no interval with energy on both meters to compare "
                             f"({measured_both} measured on both sides); {rule}")
    return simple_acceptance("field.interval_limits", operator_id, float(outside), "intervals",
                             high=0.0, detail=f"{rule}; {plural(compared, 'interval')} compared")


def field_acceptance(operator: IntervalSeries, reference: IntervalSeries, *, operator_id: str,
                     reference_id: str, settings: FieldSettings,
                     deliveries: Mapping[date, int] | None = None,
                     readings: tuple[Readings, Readings] | None = None) -> FieldResult:
    """Every field record for one operator/reference pair, and a summary for results.json."""
    s = settings
    try:
        diag: LabellingDiagnosis | None = diagnose_labelling(operator, reference, zone=s.zone)
        why = ""
    except ValueError as exc:
        diag, why = None, str(exc)
    used = apply_label_correction(operator, diag) if diag is not None and diag.is_error else operator
    c = compare_intervals(used, reference)
    mask = c.both_measured & np.isfinite(c.error_pct) & (c.reference_kwh > 0)
    lim_k = interval_limits_pct(c.reference_kwh, s)
    outside = int((mask & (np.abs(np.nan_to_num(c.error_pct)) > lim_k)).sum())
    op, ref = c.operator_kwh[mask], c.reference_kwh[mask]
    ref_total = float(ref.sum())
    limit = s.limit_pct
    bias_rec = _bias_record(op, ref, s, operator_id, reference_id)
    compared = int(mask.sum())
    expected = len(reference)
    measured_both = int(c.both_measured.sum())
    completeness = 100.0 * measured_both / expected if expected else 0.0
    tz = ZoneInfo(s.zone)
    days = sorted({from_ms(int(t)).astimezone(tz).date() for t in reference.start_ms})
    records = [
        _labelling_record(diag, operator_id, why),
        bias_rec,
        _interval_limits_record(outside, compared, measured_both, s, operator_id),
        simple_acceptance("field.completeness", operator_id, completeness, "%",
                          low=s.completeness_min_pct,
                          detail=f"{measured_both} of {expected} intervals measured on both sides"),
        _timeliness(deliveries, s, operator_id, days),
    ]
    clock_offset_s = None
    if readings is not None:
        rec = clock_offset_record(readings[0], readings[1], operator_id)
        records.append(rec)
        clock_offset_s = rec.value
    offset_s = None
    if diag is not None and diag.is_error:
        offset_s = (diag.winter_shift_ms if diag.winter_shift_ms is not None
                    else diag.summer_shift_ms or 0) / 1000.0
    summary = dict(
        operator=operator_id, reference=reference_id, expected=expected,
        measured_both=measured_both, compared=compared, completeness_pct=completeness,
        operator_kwh=float(op.sum()), reference_kwh=ref_total,
        bias_pct=bias_rec.value,
        bias_ci95=([bias_rec.data["ci95_low"], bias_rec.data["ci95_high"]]
                   if bias_rec.value is not None else None),
        bias_u_pct=bias_rec.uncertainty, bias_k=bias_rec.data.get("k"),
        bias_dof_eff=bias_rec.data.get("dof_eff"), limit_pct=limit,
        limit_basis=s.limit_text, rule=RULE_TEXT[s.rule], verdict=pair_verdict(records),
        outside=outside if compared else None,
        labelling=diag.as_record() if diag is not None else {"kind": "unchecked", "text": why},
        time_offset_s=offset_s or 0.0, clock_offset_s=clock_offset_s,
        period=[format_iso_utc(int(reference.start_ms[0])), format_iso_utc(reference.end_ms)]
        if len(reference) else None,
        points=[dict(start=format_iso_utc(int(t)), reference_kwh=float(r), operator_kwh=float(o),
                     error_pct=float(e), limit_pct=float(lk))
                for t, r, o, e, lk in zip(c.start_ms[mask], c.reference_kwh[mask],
                                          c.operator_kwh[mask], c.error_pct[mask], lim_k[mask],
                                          strict=True)])
    return FieldResult(operator_id, reference_id, records, c, diag, lim_k, summary)
