"""Netting serial sub-meters against the main meter: the virtual main metering point.

DataHub settles a site with serial operator meters by a virtual point ``main − Σ serial
sub-meters`` per direction (shared domain notes market.md, "The setup being verified"), and the
sum of all points must equal what the physical main meter measured. A negative residual is a known
problem the bench must detect and explain, not hide; :func:`virtual_main_point` applies the chosen
policy and :func:`diagnose_negative_residuals` says why in plain words.

Quality of a residual: missing if the main meter or any sub-meter is missing in that interval
(the residual is then unknown), else the worst of the inputs (:func:`combine_strict`). A value
clamped to zero is *estimated* (A03): it is a substitute, and A03 is a quality DataHub accepts on
incoming data (market.md, BRS-021), whereas calculated (A06) is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from bench.pipeline.events import PipelineEvent
from bench.pipeline.quality_rules import combine_strict
from bench.quality import Quality
from bench.timeutil import format_minute_utc

#: Residuals above −0.0005 kWh are not called negative: that is half of DataHub's 0.001 kWh
#: quantity resolution (market.md), i.e. within rounding of settlement values.
DEFAULT_TOLERANCE_KWH = 0.0005

POLICY_REPORT = "report"
POLICY_CLAMP = "clamp"
POLICIES = (POLICY_REPORT, POLICY_CLAMP)

DIAG_PRODUCTION = "production_behind_main"
DIAG_MISALIGNED = "misaligned_timestamps"
DIAG_SUB_EXCEEDS = "sub_meter_exceeds_main"


@dataclass(frozen=True)
class PointFlows:
    """Import and export interval energies of one metering point (or many: leading axes)."""

    import_kwh: np.ndarray
    export_kwh: np.ndarray
    import_quality: np.ndarray
    export_quality: np.ndarray

    @classmethod
    def measured(cls, import_kwh: np.ndarray, export_kwh: np.ndarray | None = None) -> PointFlows:
        """Flows with measured quality everywhere a value is present (tests, simple callers)."""
        imp = np.asarray(import_kwh, dtype=np.float64)
        exp = np.zeros_like(imp) if export_kwh is None else np.asarray(export_kwh, np.float64)

        def q(a: np.ndarray) -> np.ndarray:
            return np.where(np.isnan(a), Quality.MISSING, Quality.MEASURED).astype(np.uint8)

        return cls(imp, exp, q(imp), q(exp))


@dataclass(frozen=True)
class VirtualPoint:
    """The virtual main point per direction and net, after the negative-residual policy.

    ``negative_*`` mark intervals whose residual is below −tolerance; ``clamped_*`` those the
    clamp policy set to zero (every residual below zero). The residual before the policy is
    :attr:`raw_import_kwh` / :attr:`raw_export_kwh`; only its clamped values are stored
    (``clamped_raw_*``, in row-major order of the clamped mask), so netting 100,000 sites does
    not carry two more full copies.
    """

    import_kwh: np.ndarray
    export_kwh: np.ndarray
    net_kwh: np.ndarray
    import_quality: np.ndarray
    export_quality: np.ndarray
    net_quality: np.ndarray
    negative_import: np.ndarray
    negative_export: np.ndarray
    clamped_import: np.ndarray
    clamped_export: np.ndarray
    clamped_raw_import: np.ndarray
    clamped_raw_export: np.ndarray
    policy: str

    @property
    def raw_import_kwh(self) -> np.ndarray:
        return _unclamp(self.import_kwh, self.clamped_import, self.clamped_raw_import)

    @property
    def raw_export_kwh(self) -> np.ndarray:
        return _unclamp(self.export_kwh, self.clamped_export, self.clamped_raw_export)


def _unclamp(value: np.ndarray, clamped: np.ndarray, raw: np.ndarray) -> np.ndarray:
    out = np.array(value, dtype=np.float64)
    out[clamped] = raw
    return out


def _sum_subs(values: np.ndarray, qualities: np.ndarray, sub_site: np.ndarray | None,
              n_sites: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Σ sub-meter energy per site and the strict quality of that sum.

    Many sites: a sparse site x sub-meter incidence matrix times the sub-meter rows sums each
    site's few rows in one pass (a NaN from a missing sub-meter stays NaN in its site). Quality:
    only the (usually few) non-measured entries are visited, worst code last so it wins.
    """
    v = np.asarray(values, dtype=np.float64)
    q = np.asarray(qualities, dtype=np.uint8)
    if sub_site is None:  # one site: subs on axis 0
        if v.shape[0] == 0:
            n = v.shape[1] if v.ndim == 2 else 0
            return np.zeros(n), np.full(n, Quality.MEASURED, dtype=np.uint8)
        return np.sum(v, axis=0), combine_strict(*q)  # a fresh array: _residual reuses it
    assert n_sites is not None
    site = np.asarray(sub_site, dtype=np.int64)
    incidence = sparse.csr_matrix((np.ones(len(site)), (site, np.arange(len(site)))),
                                  shape=(n_sites, len(site)))
    total = np.asarray(incidence @ v)
    quality = np.full(total.shape, Quality.MEASURED, dtype=np.uint8)
    not_measured = q != Quality.MEASURED
    if not_measured.any():
        rows, cols = np.nonzero(not_measured)
        codes = q[rows, cols]
        # worst last: each pass may overwrite a better code; one pass writes one value only,
        # so repeated indices within it are harmless
        for code in (Quality.ESTIMATED, Quality.CALCULATED, Quality.MISSING):
            hit = codes == code
            quality[site[rows[hit]], cols[hit]] = code
    return total, quality


def _residual(main_v: np.ndarray, main_q: np.ndarray, sub_total: np.ndarray,
              sub_q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q = combine_strict(main_q, sub_q)
    r = np.subtract(np.asarray(main_v, dtype=np.float64), sub_total, out=sub_total)
    missing = q == Quality.MISSING
    if missing.any():
        r[missing] = np.nan
    return r, q


def _apply_policy(residual: np.ndarray, quality: np.ndarray, policy: str, tolerance_kwh: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(value, quality, negative, clamped, raw values at clamped) — clamps ``residual`` in place."""
    negative = residual < -tolerance_kwh
    if policy != POLICY_CLAMP:
        return residual, quality, negative, np.zeros_like(negative), np.zeros(0)
    clamped = residual < 0  # also the tiny in-tolerance negatives: settlement values are >= 0
    raw_at_clamped = residual[clamped]
    residual[clamped] = 0.0
    # a substitute is at best estimated; a calculated input stays calculated
    q = np.where(negative & (quality == Quality.MEASURED), np.uint8(Quality.ESTIMATED), quality)
    return residual, q, negative, clamped, raw_at_clamped


def virtual_main_point(main: PointFlows, subs: PointFlows, *, sub_site: np.ndarray | None = None,
                       n_sites: int | None = None, policy: str = POLICY_REPORT,
                       tolerance_kwh: float = DEFAULT_TOLERANCE_KWH) -> VirtualPoint:
    """``main − Σ subs`` per direction and net.

    One site: ``main`` arrays have shape ``(n,)`` and ``subs`` ``(n_subs, n)``. Many sites:
    ``main`` is ``(n_sites, n)``, ``subs`` is ``(n_subs_total, n)`` and ``sub_site`` gives each
    sub-meter's site row. ``policy`` is ``"report"`` (keep negative residuals, flag them) or
    ``"clamp"`` (set them to zero, flag them, quality estimated).
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown negative-residual policy {policy!r}; expected one of {POLICIES}")
    if sub_site is not None and n_sites is None:
        n_sites = np.asarray(main.import_kwh).shape[0]
    si, sqi = _sum_subs(subs.import_kwh, subs.import_quality, sub_site, n_sites)
    se, sqe = _sum_subs(subs.export_kwh, subs.export_quality, sub_site, n_sites)
    raw_i, q_i = _residual(main.import_kwh, main.import_quality, si, sqi)
    raw_e, q_e = _residual(main.export_kwh, main.export_quality, se, sqe)
    imp, qi, neg_i, cl_i, raw_cl_i = _apply_policy(raw_i, q_i, policy, tolerance_kwh)
    exp, qe, neg_e, cl_e, raw_cl_e = _apply_policy(raw_e, q_e, policy, tolerance_kwh)
    net = imp - exp
    q_net = combine_strict(qi, qe)
    return VirtualPoint(imp, exp, net, qi, qe, q_net, neg_i, neg_e, cl_i, cl_e, raw_cl_i,
                        raw_cl_e, policy)


def sum_check(main: PointFlows, virtual: VirtualPoint, subs: PointFlows, *,
              sub_site: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-interval ``(virtual + Σ subs) − main`` for import and export.

    Zero up to float precision under the report policy; under the clamp policy it shows exactly
    the energy the clamp added, so nothing disappears unnoticed. Many sites: pass ``sub_site``
    as for :func:`virtual_main_point`.
    """
    main_i = np.asarray(main.import_kwh, dtype=np.float64)
    n_sites = main_i.shape[0] if sub_site is not None else None
    si, _ = _sum_subs(subs.import_kwh, subs.import_quality, sub_site, n_sites)
    se, _ = _sum_subs(subs.export_kwh, subs.export_quality, sub_site, n_sites)
    return (virtual.import_kwh + si - main_i,
            virtual.export_kwh + se - np.asarray(main.export_kwh, dtype=np.float64))


@dataclass(frozen=True)
class NegativeResidualDiagnosis:
    """Why an interval's residual is negative: a code per interval and plain-words events."""

    codes: list[str | None]
    events: list[PipelineEvent]


def _best_shift(main_imp: np.ndarray, subs_imp: np.ndarray, max_shift: int, tolerance: float
                ) -> tuple[int, int, int, int]:
    """The one-sub whole-interval shift that removes most negative residuals.

    Returns (sub index or -1, shift, negatives before, negatives after), both counts taken over
    the intervals the shift keeps (so edge intervals pushed out do not count as "fixed").
    """
    base = main_imp - np.sum(subs_imp, axis=0)
    best = (-1, 0, 0, 0)
    best_gain = 0
    n = len(base)
    for j in range(subs_imp.shape[0]):
        others = base + subs_imp[j]
        for s in range(-max_shift, max_shift + 1):
            if s == 0 or abs(s) >= n:
                continue
            keep = slice(0, n - s) if s > 0 else slice(-s, n)
            moved = subs_imp[j][s:] if s > 0 else subs_imp[j][:s]
            before = int(np.count_nonzero(base[keep] < -tolerance))
            after = int(np.count_nonzero(others[keep] - moved < -tolerance))
            if before - after > best_gain:
                best, best_gain = (j, s, before, after), before - after
    return best


def diagnose_negative_residuals(main: PointFlows, subs: PointFlows, virtual: VirtualPoint,
                                start_ms: np.ndarray, resolution_ms: int, *,
                                sub_names: Sequence[str] | None = None,
                                max_shift_intervals: int = 4,
                                tolerance_kwh: float = DEFAULT_TOLERANCE_KWH,
                                site: str | None = None) -> NegativeResidualDiagnosis:
    """Explain each negative import residual of one site.

    In order: the main meter exported in that interval (production behind the main meter, which
    cannot be netted against a serial consumption point); shifting one sub-meter by whole
    intervals (up to ``max_shift_intervals``) removes most negatives (misaligned timestamps);
    otherwise the sub-meters read more than the main meter.
    """
    neg = np.flatnonzero(virtual.negative_import)
    raw = virtual.raw_import_kwh
    n = len(virtual.raw_import_kwh)
    codes: list[str | None] = [None] * n
    events: list[PipelineEvent] = []
    if not len(neg):
        return NegativeResidualDiagnosis(codes, events)
    subs_imp = np.nan_to_num(np.atleast_2d(np.asarray(subs.import_kwh, dtype=np.float64)))
    main_imp = np.nan_to_num(np.asarray(main.import_kwh, dtype=np.float64))
    main_exp = np.nan_to_num(np.asarray(main.export_kwh, dtype=np.float64))
    names = list(sub_names) if sub_names else [f"sub-meter {j + 1}" for j in
                                               range(subs_imp.shape[0])]
    j, shift, before, left = _best_shift(main_imp, subs_imp, max_shift_intervals, tolerance_kwh)
    shift_explains = j >= 0 and left <= before // 2
    minutes = resolution_ms / 60_000
    for k in neg.tolist():
        t = format_minute_utc(int(start_ms[k]))
        sub_sum = float(subs_imp[:, k].sum())
        if main_exp[k] > tolerance_kwh:
            codes[k] = DIAG_PRODUCTION
            text = (f"{t}: residual {raw[k]:.3f} kWh: the main meter exported "
                    f"{main_exp[k]:.3f} kWh in this interval while the serial meters imported "
                    f"{sub_sum:.3f} kWh: production behind the main meter, which cannot be netted "
                    f"against a serial consumption point")
        elif shift_explains:
            codes[k] = DIAG_MISALIGNED
            direction = "late" if shift > 0 else "early"
            text = (f"{t}: residual {raw[k]:.3f} kWh: {names[j]} looks "
                    f"labelled {abs(shift)} interval(s) ({abs(shift) * minutes:g} min) {direction}: "
                    f"moving its values {abs(shift) * minutes:g} min "
                    f"{'earlier' if shift > 0 else 'later'} leaves {left} negative interval(s) "
                    f"instead of {before}: misaligned timestamps")
        else:
            codes[k] = DIAG_SUB_EXCEEDS
            worst = int(np.argmax(subs_imp[:, k]))
            text = (f"{t}: residual {raw[k]:.3f} kWh: the serial meters "
                    f"imported {sub_sum:.3f} kWh, more than the main meter's "
                    f"{main_imp[k]:.3f} kWh (largest: {names[worst]}, "
                    f"{subs_imp[worst, k]:.3f} kWh): a sub-meter reading more than the main meter")
        action = ("clamped to 0, quality estimated" if virtual.policy == POLICY_CLAMP
                  else "reported, value kept")
        events.append(PipelineEvent("negative_residual", int(start_ms[k]),
                                    int(start_ms[k]) + resolution_ms, f"{text} ({action})",
                                    meter=site, channel="energy.import"))
    return NegativeResidualDiagnosis(codes, events)
