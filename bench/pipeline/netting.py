"""Netting serial sub-meters against the main meter: the virtual main metering point.

DataHub settles a site with serial operator meters by a virtual point ``main − Σ serial
sub-meters`` per direction (a DataHub virtual metering point; no public clause cited), and the
sum of all points must equal what the physical main meter measured. A negative residual is a known
problem the bench must detect and explain, not hide; :func:`virtual_main_point` applies the chosen
policy and :func:`meterbench.pipeline.negative_residuals.diagnose_negative_residuals` says why in
plain words.

Quality of a residual: missing if the main meter or any sub-meter is missing in that interval
(the residual is then unknown), else the worst of the inputs (:func:`combine_strict`).

Negative residuals and the clamp policy, decided from what DataHub receives. DataHub keeps
quantities with 3 decimals and rejects a negative one (Energinet BRS-021 business validation;
opengeh-measurements stores ``DecimalType(18, 3)``); the bench rounds each value once, half away
from zero, when it builds the message (:mod:`meterbench.datahub.quantity`). So:

* a residual is **negative** when it would be delivered as a negative quantity: at most
  −0.0005 kWh (it rounds to −0.001 or below); ``tolerance_kwh`` moves that threshold;
* the clamp policy sets **every** residual below zero to 0 (a settlement value cannot be
  negative), and marks it **estimated** (A03, a substitute DataHub accepts on incoming data,
  whereas A06 calculated is not) exactly when the clamp changes the value DataHub receives, i.e.
  the residual is at most −0.0005 kWh. A residual between −0.0005 and 0 rounds to 0.000 anyway:
  the delivered value is the measured one, so it keeps its quality (and is recorded in
  ``clamped_*`` all the same, so :func:`sum_check` shows the energy the clamp added).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from meterbench.core.quality import Quality
from meterbench.pipeline.quality_rules import combine_strict

#: Half of DataHub's 0.001 kWh quantity resolution (BRS-021: at most 3 decimals): a value at
#: most −0.0005 kWh is delivered as −0.001 or below (rounded half away from zero), a value above it
#: as 0.000.
DELIVERED_HALF_STEP_KWH = 0.0005
#: Residuals above −0.0005 kWh are not called negative: they are delivered as 0.000.
DEFAULT_TOLERANCE_KWH = DELIVERED_HALF_STEP_KWH

POLICY_REPORT = "report"
POLICY_CLAMP = "clamp"
POLICIES = (POLICY_REPORT, POLICY_CLAMP)

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

    ``negative_*`` mark intervals whose residual is at most −tolerance; ``clamped_*`` those the
    clamp policy set to zero (every residual below zero; estimated only when at most −0.0005 kWh,
    see the module docstring). The residual before the policy is
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


#: Sites per block in the many-site path: keeps every temporary in cache, so netting 100,000
#: sites touches main memory about once per output.
_SITE_BLOCK = 2048


def _sum_one_site(values: np.ndarray, qualities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ of one site's sub-meters (axis 0) and the strict quality of that sum."""
    v = np.asarray(values, dtype=np.float64)
    q = np.asarray(qualities, dtype=np.uint8)
    if v.shape[0] == 0:
        n = v.shape[1] if v.ndim == 2 else 0
        return np.zeros(n), np.full(n, Quality.MEASURED, dtype=np.uint8)
    return np.sum(v, axis=0), combine_strict(*q)


def _sum_by_site(v: np.ndarray, q: np.ndarray, site: np.ndarray, n_sites: int,
                 all_measured: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Σ sub-meter rows per site (``site`` = each row's site, ``0..n_sites-1``) and its quality.

    A sparse site x sub-meter incidence matrix times the rows sums each site's few rows in one
    pass (a NaN from a missing sub-meter stays NaN in its site). Quality: only the non-measured
    entries are visited, worst code last so it wins (nothing to visit when ``all_measured``).
    """
    n_rows = len(site)
    if n_rows and np.all(site[1:] >= site[:-1]):  # rows grouped by site: build CSR directly
        indptr = np.searchsorted(site, np.arange(n_sites + 1), side="left")
        incidence = sparse.csr_matrix((np.ones(n_rows), np.arange(n_rows), indptr),
                                      shape=(n_sites, n_rows))
    else:
        incidence = sparse.csr_matrix((np.ones(n_rows), (site, np.arange(n_rows))),
                                      shape=(n_sites, n_rows))
    total = np.asarray(incidence @ v)
    quality = np.full(total.shape, Quality.MEASURED, dtype=np.uint8)
    if all_measured:
        return total, quality
    not_measured = q != Quality.MEASURED
    if not_measured.any():
        rows, cols = np.nonzero(not_measured)
        codes = q[rows, cols]
        # one pass writes one value only, so repeated indices within it are harmless
        for code in (Quality.ESTIMATED, Quality.CALCULATED, Quality.MISSING):
            hit = codes == code
            quality[site[rows[hit]], cols[hit]] = code
    return total, quality


@dataclass(frozen=True)
class _Out:
    """Output arrays (or views of one block of them) the netting kernel writes into."""

    imp: np.ndarray
    exp: np.ndarray
    net: np.ndarray
    qi: np.ndarray
    qe: np.ndarray
    qn: np.ndarray
    neg_i: np.ndarray
    neg_e: np.ndarray
    cl_i: np.ndarray
    cl_e: np.ndarray

    @classmethod
    def empty(cls, shape: tuple[int, ...]) -> _Out:
        f = [np.empty(shape) for _ in range(3)]
        q = [np.empty(shape, dtype=np.uint8) for _ in range(3)]
        b = [np.empty(shape, dtype=bool) for _ in range(4)]
        return cls(*f, *q, *b)

    def block(self, s0: int, s1: int) -> _Out:
        return _Out(*(getattr(self, f)[s0:s1] for f in self.__dataclass_fields__))


def _residual_into(out_v: np.ndarray, out_q: np.ndarray, main_v: np.ndarray, main_q: np.ndarray,
                   sub_total: np.ndarray, sub_q: np.ndarray, all_measured: bool) -> None:
    """``main − Σ subs`` and its strict quality into the outputs; NaN where missing."""
    np.subtract(np.asarray(main_v, dtype=np.float64), sub_total, out=out_v)
    if all_measured:  # the common case: no quality arithmetic needed
        out_q.fill(Quality.MEASURED)
        return
    out_q[...] = combine_strict(main_q, sub_q)
    missing = out_q == Quality.MISSING
    if missing.any():
        out_v[missing] = np.nan


def _policy_into(value: np.ndarray, quality: np.ndarray, negative: np.ndarray,
                 clamped: np.ndarray, policy: str, tolerance_kwh: float,
                 all_measured: bool = False) -> np.ndarray:
    """Flag negatives and, under the clamp policy, clamp in place; returns the raw clamped.

    A clamped value is estimated when the clamp changes what DataHub receives (the residual is
    at most −0.0005 kWh); with the default tolerance that is exactly the negative mask."""
    np.less_equal(value, -tolerance_kwh, out=negative)
    if policy != POLICY_CLAMP:
        clamped[...] = False
        return np.zeros(0)
    substituted = (negative if tolerance_kwh == DELIVERED_HALF_STEP_KWH
                   else value <= -DELIVERED_HALF_STEP_KWH)
    np.less(value, 0.0, out=clamped)  # also tiny in-tolerance negatives: settlement is >= 0
    raw_at_clamped = value[clamped]
    np.maximum(value, 0.0, out=value)  # NaN (missing) stays NaN
    # a substitute is at best estimated; a calculated input stays calculated
    if all_measured:  # measured 1 + True = estimated 2
        np.add(substituted, np.uint8(Quality.MEASURED), out=quality, casting="unsafe")
    else:
        quality[substituted & (quality == Quality.MEASURED)] = Quality.ESTIMATED
    return raw_at_clamped


def _net_into(out: _Out, main: PointFlows, sums: tuple[np.ndarray, np.ndarray, np.ndarray,
                                                       np.ndarray],
              policy: str, tolerance_kwh: float, all_measured: bool = False
              ) -> tuple[np.ndarray, np.ndarray]:
    """Net one block into ``out``; returns the raw import/export values that were clamped.

    ``all_measured``: every input quality is measured, so results are measured or (clamped)
    estimated and the worst of two is their maximum code.
    """
    si, sqi, se, sqe = sums
    _residual_into(out.imp, out.qi, main.import_kwh, main.import_quality, si, sqi, all_measured)
    _residual_into(out.exp, out.qe, main.export_kwh, main.export_quality, se, sqe, all_measured)
    raw_i = _policy_into(out.imp, out.qi, out.neg_i, out.cl_i, policy, tolerance_kwh,
                         all_measured)
    raw_e = _policy_into(out.exp, out.qe, out.neg_e, out.cl_e, policy, tolerance_kwh,
                         all_measured)
    np.subtract(out.imp, out.exp, out=out.net)
    if all_measured:
        np.maximum(out.qi, out.qe, out=out.qn)
    else:
        out.qn[...] = combine_strict(out.qi, out.qe)
    return raw_i, raw_e


def _all_measured(*qualities: np.ndarray) -> bool:
    """Every code is measured (two reductions per array, no temporary mask)."""
    for q in qualities:
        a = np.asarray(q)
        if a.size and not (int(a.min()) == Quality.MEASURED == int(a.max())):
            return False
    return True


def _rows(flows: PointFlows, rows: slice | np.ndarray) -> PointFlows:
    return PointFlows(np.asarray(flows.import_kwh)[rows], np.asarray(flows.export_kwh)[rows],
                      np.asarray(flows.import_quality)[rows],
                      np.asarray(flows.export_quality)[rows])


def _point(out: _Out, raw_i: np.ndarray, raw_e: np.ndarray, policy: str) -> VirtualPoint:
    return VirtualPoint(out.imp, out.exp, out.net, out.qi, out.qe, out.qn, out.neg_i, out.neg_e,
                        out.cl_i, out.cl_e, raw_i, raw_e, policy)


def virtual_main_point(main: PointFlows, subs: PointFlows, *, sub_site: np.ndarray | None = None,
                       n_sites: int | None = None, policy: str = POLICY_REPORT,
                       tolerance_kwh: float = DEFAULT_TOLERANCE_KWH) -> VirtualPoint:
    """``main − Σ subs`` per direction and net.

    One site: ``main`` arrays have shape ``(n,)`` and ``subs`` ``(n_subs, n)``. Many sites:
    ``main`` is ``(n_sites, n)``, ``subs`` is ``(n_subs_total, n)`` and ``sub_site`` gives each
    sub-meter's site row (any order; sorted is fastest). ``policy`` is ``"report"`` (keep
    negative residuals, flag them) or ``"clamp"`` (set every residual below zero to zero, flag
    it, quality estimated where that changes the delivered 3-decimal value).
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown negative-residual policy {policy!r}; expected one of {POLICIES}")
    main_i = np.asarray(main.import_kwh, dtype=np.float64)
    out = _Out.empty(main_i.shape)
    if sub_site is None:
        sums = (*_sum_one_site(subs.import_kwh, subs.import_quality),
                *_sum_one_site(subs.export_kwh, subs.export_quality))
        return _point(out, *_net_into(out, main, sums, policy, tolerance_kwh), policy)

    site = np.asarray(sub_site, dtype=np.int64)
    if n_sites is None:
        n_sites = main_i.shape[0]
    is_sorted = bool(np.all(site[1:] >= site[:-1])) if len(site) else True
    order = None if is_sorted else np.argsort(site, kind="stable")
    site_sorted = site if order is None else site[order]
    row_start = np.searchsorted(site_sorted, np.arange(n_sites + 1), side="left")
    all_measured = _all_measured(main.import_quality, main.export_quality, subs.import_quality,
                                 subs.export_quality)
    raw_i: list[np.ndarray] = []
    raw_e: list[np.ndarray] = []
    for s0 in range(0, n_sites, _SITE_BLOCK):  # blocks keep temporaries in cache
        s1 = min(s0 + _SITE_BLOCK, n_sites)
        r0, r1 = int(row_start[s0]), int(row_start[s1])
        block = _rows(subs, slice(r0, r1) if order is None else order[r0:r1])
        local = site_sorted[r0:r1] - s0
        sums = (*_sum_by_site(np.asarray(block.import_kwh, np.float64),
                              np.asarray(block.import_quality, np.uint8), local, s1 - s0,
                              all_measured),
                *_sum_by_site(np.asarray(block.export_kwh, np.float64),
                              np.asarray(block.export_quality, np.uint8), local, s1 - s0,
                              all_measured))
        ri, re = _net_into(out.block(s0, s1), _rows(main, slice(s0, s1)), sums, policy,
                           tolerance_kwh, all_measured)
        raw_i.append(ri)
        raw_e.append(re)
    return _point(out, np.concatenate(raw_i) if raw_i else np.zeros(0),
                  np.concatenate(raw_e) if raw_e else np.zeros(0), policy)


def sum_check(main: PointFlows, virtual: VirtualPoint, subs: PointFlows, *,
              sub_site: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-interval ``(virtual + Σ subs) − main`` for import and export.

    Zero up to float precision under the report policy; under the clamp policy it shows exactly
    the energy the clamp added, so nothing disappears unnoticed. Many sites: pass ``sub_site``
    as for :func:`virtual_main_point`.
    """
    main_i = np.asarray(main.import_kwh, dtype=np.float64)
    main_e = np.asarray(main.export_kwh, dtype=np.float64)
    if sub_site is None:
        si, _ = _sum_one_site(subs.import_kwh, subs.import_quality)
        se, _ = _sum_one_site(subs.export_kwh, subs.export_quality)
    else:
        site = np.asarray(sub_site, dtype=np.int64)
        si, _ = _sum_by_site(np.asarray(subs.import_kwh, np.float64),
                             np.asarray(subs.import_quality, np.uint8), site, main_i.shape[0])
        se, _ = _sum_by_site(np.asarray(subs.export_kwh, np.float64),
                             np.asarray(subs.export_quality, np.uint8), site, main_i.shape[0])
    return virtual.import_kwh + si - main_i, virtual.export_kwh + se - main_e
