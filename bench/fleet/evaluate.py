"""Score a screen against a synthetic fleet's ground truth (``truth.parquet``).

The truth comes from the generator's injections, never from the screen, so the score is an
independent check. Per fault kind: recall (injected faults found) and precision (findings of the
matching kind that are injected faults). Period faults are matched per metering point, day
faults per metering point and local day. Meter errors: recall over the meters whose true error
exceeds their in-service limit, and the false-positive rate over all other serial meters. PV
sites: the share of their negative-residual intervals the screen calls production behind the
main meter (sites whose serial meters carry a fault of their own are left out).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from meterbench.fleet import faults as F
from meterbench.fleet import findings as K

#: (truth kind, finding kind, finding causes that count, matched per day?)
MATCHES: tuple[tuple[str, str, tuple[str, ...] | None, bool], ...] = (
    (F.SHIFT, K.LABELLING, ("shift", "interval_end"), False),
    (F.SUMMER_ONLY, K.LABELLING, ("summer_only",), False),
    (F.SWAP, K.SWAPPED, None, False),
    (F.STUCK, K.STUCK, None, True),
    (F.DEAD, K.DEAD, None, True),
    (F.MISSING_DAY, K.MISSING, None, True),
    (F.CONFLICT, K.CONFLICT, None, True),
)


def _keys(rows: list[dict[str, Any]], per_day: bool) -> set[tuple[str, Any]]:
    return {(r["gsrn"], r["day"] if per_day else None) for r in rows}


def _shift_matches(row: dict[str, Any], want: float) -> bool:
    """The shift the screen observed equals the injected one in every season it saw.

    A period with no daylight-saving day (or none without it) leaves that season's shift
    unobserved (NaN); only the observed components are compared, and at least one must be.
    """
    seen = [v for v in (row["winter_shift_h"], row["summer_shift_h"])
            if v is not None and np.isfinite(v)]
    return bool(seen) and all(v == want for v in seen)


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def score(findings: Any, truth: Any, errors: Any) -> dict[str, Any]:
    """Recall and precision per fault kind, meter-error detection, PV explanation."""
    f_rows = findings.to_pylist()
    t_rows = truth.to_pylist()
    out: dict[str, Any] = {"kinds": {}}
    for t_kind, f_kind, causes, per_day in MATCHES:
        injected = _keys([r for r in t_rows if r["kind"] == t_kind], per_day)
        if t_kind == F.SHIFT:
            want = {r["gsrn"]: r["value"] for r in t_rows if r["kind"] == t_kind}
            found = {(r["gsrn"], None) for r in f_rows if r["kind"] == f_kind
                     and r["cause"] in causes and r["gsrn"] in want
                     and _shift_matches(r, want[r["gsrn"]])}
            claimed = _keys([r for r in f_rows if r["kind"] == f_kind
                             and r["cause"] in causes], per_day)
        else:
            claimed = _keys([r for r in f_rows if r["kind"] == f_kind
                             and (causes is None or r["cause"] in causes)], per_day)
            found = claimed & injected
        hits = len(found & injected)
        out["kinds"][t_kind] = {
            "injected": len(injected), "found": hits, "findings": len(claimed),
            "recall": _ratio(hits, len(injected)),
            "precision": _ratio(len(claimed & injected) if t_kind != F.SHIFT else hits,
                                len(claimed))}
    out["meter_error"] = _meter_error_score(t_rows, errors)
    out["pv"] = _pv_score(f_rows, t_rows)
    out["mislabelled"] = {kind: _mislabelled_score(f_rows, t_rows, kind)
                          for kind in (F.SHIFT, F.SUMMER_ONLY)}
    return out


def _mislabelled_score(f_rows: list[dict[str, Any]], t_rows: list[dict[str, Any]], kind: str
                       ) -> dict[str, Any]:
    """How the negative residuals of sites whose only fault is a serial meter labelled at the
    wrong time (``kind``: a shift all year, or in summer time only) are explained: they are
    caused by that labelling, so ``misaligned_timestamps`` is the right cause."""
    labelled = {r["site"] for r in t_rows if r["kind"] == kind}
    # production, another period fault, or a day whose values are wrong (stuck, a conflicting
    # second delivery) would explain negatives of their own
    other = {r["site"] for r in t_rows if r["kind"] in (F.PV, F.STUCK, F.CONFLICT)
             or (r["kind"] in F.PERIOD_FAULTS and r["kind"] != kind)}
    sites = labelled - other
    by_cause: dict[str, int] = {}
    for r in f_rows:
        if r["kind"] == K.NEGATIVE and r["site"] in sites:
            by_cause[r["cause"]] = by_cause.get(r["cause"], 0) + int(r["value"])
    total = sum(by_cause.values())
    return {"sites": len(sites), "intervals_by_cause": by_cause,
            "misaligned_share": _ratio(by_cause.get("misaligned_timestamps", 0), total)}


def _meter_error_score(t_rows: list[dict[str, Any]], errors: Any) -> dict[str, Any]:
    # the screen measures a serial meter against the main meter: (1 + e_j) / (1 + e_main) − 1
    accuracy = [r for r in t_rows if r["kind"] == F.ACCURACY]
    gsrns = {r["gsrn"] for r in errors.to_pylist()}
    main_err = {r["site"]: r["value"] for r in accuracy if r["gsrn"] not in gsrns}
    true_err = {r["gsrn"]: ((1 + r["value"] / 100) / (1 + main_err.get(r["site"], 0.0) / 100)
                            - 1) * 100 for r in accuracy if r["gsrn"] in gsrns}
    faulty_other = {r["gsrn"] for r in t_rows if r["kind"] in (F.SHIFT, F.SUMMER_ONLY, F.SWAP)}
    est = {r["gsrn"]: r for r in errors.to_pylist()}
    positives, negatives, at3 = set(), set(), set()
    for g, e in true_err.items():
        if g in faulty_other or g not in est:
            continue
        limit = est[g]["limit_pct"]
        if abs(e) > limit:
            positives.add(g)
        else:
            negatives.add(g)
        if abs(e) >= 3.0:
            at3.add(g)
    flagged = {g for g, r in est.items() if r["status"] == "exceeds"}
    residual = np.array([est[g]["error_pct"] - true_err[g] for g in positives | negatives
                         if np.isfinite(est[g]["error_pct"])])
    covered = [est[g]["low_pct"] <= true_err[g] <= est[g]["high_pct"]
               for g in positives | negatives if np.isfinite(est[g]["error_pct"])]
    return {"beyond_limit": len(positives), "within_limit": len(negatives),
            "recall": _ratio(len(flagged & positives), len(positives)),
            "false_positive_rate": _ratio(len(flagged & negatives), len(negatives)),
            "at_least_3pct": len(at3),
            "recall_at_least_3pct": _ratio(len(flagged & at3), len(at3)),
            "estimate_minus_truth_sd_pct": float(residual.std()) if len(residual) else None,
            "ci95_coverage": _ratio(int(sum(covered)), len(covered)),
            "not_estimated": sum(1 for g in positives | negatives
                                 if est[g]["status"] == "not_estimated"),
            "inconclusive_beyond_limit": sum(1 for g in positives
                                             if est[g]["status"] == "inconclusive"),
            "inconclusive_within_limit": sum(1 for g in negatives
                                             if est[g]["status"] == "inconclusive"),
            "passed_beyond_limit": sum(1 for g in positives if est[g]["status"] == "within")}


def _pv_score(f_rows: list[dict[str, Any]], t_rows: list[dict[str, Any]]) -> dict[str, Any]:
    pv_sites = {r["site"] for r in t_rows if r["kind"] == F.PV}
    faulty = {r["site"] for r in t_rows if r["kind"] in F.PERIOD_FAULTS + (F.STUCK, F.DEAD)
              or r["kind"] == F.CONFLICT}
    clean = pv_sites - faulty
    by_cause: dict[str, int] = {}
    sites_neg: set[str] = set()
    unexplained: set[str] = set()
    for r in f_rows:
        if r["kind"] != K.NEGATIVE or r["site"] not in clean:
            continue
        sites_neg.add(r["site"])
        by_cause[r["cause"]] = by_cause.get(r["cause"], 0) + int(r["value"])
        if r["cause"] != "production_behind_main":
            unexplained.add(r["site"])
    total = sum(by_cause.values())
    return {"pv_sites": len(pv_sites), "clean_pv_sites": len(clean),
            "with_negative_residuals": len(sites_neg),
            "intervals_by_cause": by_cause,
            "explained_share": _ratio(by_cause.get("production_behind_main", 0), total),
            "sites_not_fully_explained": sorted(unexplained)[:20],
            "sites_not_fully_explained_count": len(unexplained)}
