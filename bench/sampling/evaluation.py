"""Evaluation: per-meter results at the test points -> nonconforming meters -> lot decision.

Results CSV (the same shape the lab accuracy runs will produce), one row per meter and test point:

=================  ========  ==============================================================
column             required  meaning
=================  ========  ==============================================================
meter_id           yes       a meter of the selection (sample, second sample or spare)
test_point         yes       current and power factor, e.g. ``Iref PF1``, ``0.1Iref PF0.5i``
error_pct          yes       (E_meter − E_ref) / E_ref × 100 (MID Annex V point 3)
uncertainty_pct    no        expanded uncertainty U (k=2) of that error, in percent
=================  ========  ==============================================================

A meter is nonconforming when any of its test points is outside the in-service limit. Decision
rule (ILAC-G8:09/2019): ``simple`` acceptance (guard band 0) by default; ``guarded``
accepts a point only if |error| <= limit − U (needs ``uncertainty_pct``). The report states which.
Meters of the sample without any result count as not reached and are replaced by spares in order.
A meter with results at some but not all of the selection's test points is neither: it is refused
(:func:`missing_points`), because counting it as conforming would let a deleted failing row pass
the lot, and counting it as unreached would let a failing meter be swapped for a spare.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from meterbench.core.bounded import MAX_CSV_BYTES, read_bytes_bounded
from meterbench.core.csvheader import require_columns
from meterbench.core.errors import UserError
from meterbench.sampling.in_service_limits import in_service_limit

#: The periodic-verification points the lab measures unless the selection names others
#: (``select --test-points``): 0.1·Iref, Iref, 2·Iref at PF 1 and Iref at PF 0.5 inductive. A
#: project default (verification practice), recorded in every selection, not a regulatory number.
DEFAULT_TEST_POINTS: tuple[str, ...] = ("0.1Iref PF1", "Iref PF1", "2Iref PF1", "Iref PF0.5i")


def normalize_point(name: str) -> str:
    """A test point name as results are compared: inner whitespace collapsed to one space."""
    return " ".join(name.split())


@dataclass(frozen=True)
class PointResult:
    meter_id: str
    test_point: str
    error_pct: float
    uncertainty_pct: float | None
    row: int


def read_results_text(text: str, *, source: str = "<results>") -> list[PointResult]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    require_columns(header, ("meter_id", "test_point", "error_pct"), source=source,
                    field="header", expected="meter_id, test_point, error_pct[, uncertainty_pct]")
    reader.fieldnames = header
    out: list[PointResult] = []
    seen: dict[tuple[str, str], int] = {}
    for row_no, raw in enumerate(reader, start=2):
        if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
            continue
        mid = (raw.get("meter_id") or "").strip()
        tp = normalize_point(raw.get("test_point") or "")
        if not mid:
            raise UserError(f"row {row_no}: empty", source=source, field="meter_id",
                            expected="a meter id")
        if not tp:
            raise UserError(f"row {row_no}: empty", source=source, field="test_point",
                            expected="a test point like 'Iref PF1'")
        err = _number(raw.get("error_pct"), source=source, field="error_pct", row=row_no)
        unc_text = (raw.get("uncertainty_pct") or "").strip()
        unc = _number(unc_text, source=source, field="uncertainty_pct",
                      row=row_no) if unc_text else None
        if unc is not None and unc < 0:
            raise UserError(f"row {row_no}: negative uncertainty {unc}", source=source,
                            field="uncertainty_pct", expected=">= 0")
        if (mid, tp) in seen:
            raise UserError(f"row {row_no}: meter {mid} test point {tp!r} already in row "
                            f"{seen[(mid, tp)]}", source=source, field="test_point",
                            expected="one result per meter and test point")
        seen[(mid, tp)] = row_no
        out.append(PointResult(mid, tp, err, unc, row_no))
    return out


def _number(text: str | None, *, source: str, field: str, row: int) -> float:
    try:
        x = float((text or "").strip())
    except ValueError:
        raise UserError(f"row {row}: not a number: {text!r}", source=source, field=field,
                        expected="a decimal number like -0.42") from None
    if not math.isfinite(x):
        raise UserError(f"row {row}: {text!r}", source=source, field=field,
                        expected="a finite number")
    return x


def read_results(path: str | Path) -> list[PointResult]:
    p = Path(path)
    from meterbench.sampling.inventory import undecodable
    data = read_bytes_bounded(p, MAX_CSV_BYTES, what="results file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(undecodable(data, exc), source=str(p),
                        expected="a UTF-8 CSV file (save it as CSV UTF-8)") from None
    return read_results_text(text, source=str(p))


@dataclass(frozen=True)
class MeterVerdict:
    meter_id: str
    accuracy_class: str
    points: tuple[dict, ...]
    conforming: bool

    def to_dict(self) -> dict[str, object]:
        return {"meter_id": self.meter_id, "class": self.accuracy_class,
                "points": list(self.points), "conforming": self.conforming}


def judge_meter(meter_id: str, accuracy_class: str, results: Sequence[PointResult], *,
                limit_rule: str = "2xMPE", decision_rule: str = "simple",
                source: str | None = None) -> MeterVerdict:
    points = []
    for r in sorted(results, key=lambda r: r.row):
        limit = in_service_limit(accuracy_class, r.test_point, limit_rule, source=source)
        if decision_rule == "guarded":
            if r.uncertainty_pct is None:
                raise UserError(f"row {r.row}: guarded acceptance needs an uncertainty",
                                source=source, field="uncertainty_pct",
                                expected="U (k=2) in percent")
            acceptance = limit - r.uncertainty_pct
        elif decision_rule == "simple":
            acceptance = limit
        else:
            raise UserError(f"decision rule {decision_rule!r}", field="decision-rule",
                            expected="simple or guarded")
        ok = abs(r.error_pct) <= acceptance
        points.append({"test_point": r.test_point, "error_pct": r.error_pct,
                       "uncertainty_pct": r.uncertainty_pct, "limit_pct": limit,
                       "acceptance_limit_pct": acceptance, "conforming": ok})
    return MeterVerdict(meter_id, accuracy_class, tuple(points), all(p["conforming"] for p in points))


@dataclass(frozen=True)
class Drawn:
    """Which meters were actually tested, after replacing unreached ones by spares."""

    tested: tuple[str, ...]
    replaced: tuple[tuple[str, str], ...]   # (not reached, spare used)
    unused_results: tuple[str, ...]


def take_tested(order: Sequence[str], wanted: int, have: set[str], *, skip: int = 0,
                already: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """The first ``wanted`` meters in ``order`` (from ``skip``) that have results."""
    tested, missing = [], []
    for mid in order[skip:]:
        if len(tested) == wanted:
            break
        if mid in already:
            continue
        (tested if mid in have else missing).append(mid)
    return tested, missing


def group_by_meter(results: Sequence[PointResult]) -> dict[str, list[PointResult]]:
    out: dict[str, list[PointResult]] = defaultdict(list)
    for r in results:
        out[r.meter_id].append(r)
    return out


def missing_points(results: Sequence[PointResult], required: Sequence[str]) -> list[str]:
    """The ``required`` test points a meter has no result for, in the order required."""
    have = {r.test_point for r in results}
    return [tp for tp in required if tp not in have]
