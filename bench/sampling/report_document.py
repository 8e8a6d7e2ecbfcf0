"""The plain, JSON-able document the HTML sampling report renders (``meterbench.reports.sampling``).

The bench computes everything here (population, lots, due status, OC points, verdicts); the
report only lays it out, so a saved document can be re-rendered without the bench.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

from meterbench.sampling.inventory import Meter
from meterbench.sampling.lots import form_lots
from meterbench.sampling.schemes import due_status, get_scheme, lot_rule_text


def report_document(evaluation: dict, meters: Sequence[Meter] | None = None) -> dict:
    scheme_doc = evaluation["scheme"]
    doc = {
        "title": f"Sampling control of lot {evaluation['lot']['lot_id']}",
        "software": evaluation.get("software"),
        "tested_on": evaluation["tested_on"],
        "scheme": scheme_doc,
        "lot": evaluation["lot"],
        "plan": evaluation["plan"],
        "selection": evaluation["selection"],
        "tested": evaluation["tested"],
        "not_reached": evaluation["not_reached"],
        "replaced": evaluation.get("replaced") or [],
        "ignored_results": evaluation.get("ignored_results") or [],
        "meters": evaluation["meters"],
        "decision": evaluation["decision"],
        "decision_rule": evaluation["decision_rule"],
        "limit_rule": evaluation["limit_rule"],
        "consequence": evaluation["consequence"],
        "severity_state": evaluation.get("severity_state"),
        "switching": evaluation.get("switching"),
        "population": None,
        "lots": [],
    }
    if meters:
        scheme = get_scheme(scheme_doc["name"], max_year_span=scheme_doc.get("max_year_span"))
        on = date.fromisoformat(evaluation["tested_on"])
        lots = form_lots(meters, max_year_span=scheme.max_year_span, year_basis=scheme.year_basis)
        doc["population"] = {
            "meters": len(meters),
            "by_model": dict(Counter(m.model for m in meters).most_common()),
            "by_class": dict(sorted(Counter(m.accuracy_class for m in meters).items())),
            "lot_rule": lot_rule_text(scheme),
        }
        doc["lots"] = [due_status(scheme, lot, on).to_dict() for lot in lots]
    return doc
