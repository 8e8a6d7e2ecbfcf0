"""One sampling round as plain documents: plan -> selection -> evaluation -> report document.

Documents are JSON-able dicts so that a round can be saved between steps (the selection goes to
the field team, the results come back from the lab weeks later) and re-rendered by ``reports``
without importing the bench.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date

from meterbench import __version__
from meterbench.core.errors import UserError
from meterbench.sampling import criteria, iso2859, oc, variables
from meterbench.sampling.evaluation import (
    DEFAULT_TEST_POINTS,
    PointResult,
    group_by_meter,
    judge_meter,
    missing_points,
    normalize_point,
    take_tested,
)
from meterbench.sampling.in_service_limits import LIMIT_RULES
from meterbench.sampling.inventory import Meter
from meterbench.sampling.lots import Lot
from meterbench.sampling.schemes import Scheme, next_due_after_pass
from meterbench.sampling.selection import default_spares, new_seed, select
from meterbench.sampling.switching import LotOutcome, SeverityState, next_state

SELECTION_KIND = "meterbench.sampling.selection"
EVALUATION_KIND = "meterbench.sampling.evaluation"


def make_plan(scheme: Scheme, lot_size: int, *, aql: str | None = None, level: str = "II",
              inspection: str = "normal", double: bool = False, method: str = "attributes",
              n: int | None = None, k: float | None = None, m_percent: float | None = None,
              confidence: float = 0.95) -> dict:
    """The plan a scheme applies to a lot of ``lot_size`` meters, as a document."""
    if method == "variables":
        if n is None:
            raise UserError("the variables method needs a sample size", field="n",
                            expected="--n, e.g. 35 (ANSI Z1.9 sizes: "
                            + ", ".join(map(str, variables.Z19_SAMPLE_SIZES)) + ")")
        a = iso2859.normalize_aql(aql) if aql is not None else None
        vp = variables.variables_plan(n, aql=a, k=k, m_percent=m_percent)
        return {"kind": "variables", **vp.to_dict(), "lot_size": lot_size,
                "hundred_percent": n >= lot_size}
    if method != "attributes":
        raise UserError(f"method {method!r}", field="method", expected="attributes or variables")
    if scheme.decision == "fr-annex7":
        return {"kind": "attributes", **criteria.french_plan(
            lot_size, tightened=inspection == "tightened")}
    if scheme.decision in ("de-95", "nl-13"):
        if n is None and aql is None:
            floor = criteria.german_minimum_n(confidence) if scheme.decision == "de-95" else 1
            raise UserError(f"scheme {scheme.name} fixes no sample size", field="n",
                            expected=f"--n (at least {floor} to be able to pass) or --aql for "
                            "the ISO 2859-1 sample size")
        size = n if n is not None else iso2859.plan(lot_size, aql, level=level,
                                                    inspection=inspection).n
        kind = "conformity-95" if scheme.decision == "de-95" else "share-13"
        out = {"kind": kind, "n": size, "lot_size": lot_size, "hundred_percent": size >= lot_size}
        if kind == "conformity-95":
            out.update(confidence=confidence, share=criteria.GERMAN_CONFORMING_SHARE,
                       table="MessEV §35 >= 95 % conforming, exact one-sided binomial test")
        else:
            out.update(share=criteria.DUTCH_MAX_FAULTY_SHARE, table="NL > 13 % faulty rule")
        return out
    if aql is None:
        raise UserError(f"scheme {scheme.name} uses ISO 2859-1 but states no AQL", field="aql",
                        expected="--aql from the ISO 2859-1 series, agreed with the authority")
    p = iso2859.plan(lot_size, aql, level=level, inspection=inspection, double=double)
    return {"kind": "attributes", **p.to_dict()}


def plan_with_oc(plan: dict) -> dict:
    """Attach the OC curve and its 95 % / 10 % acceptance points to an attribute plan."""
    if plan["kind"] != "attributes" or "oc" in plan:
        return plan
    curve = oc.oc_curve(plan)
    return {**plan, "oc": {**curve, "p95_percent": 100 * oc.quality_at(plan, 0.95),
                           "p10_percent": 100 * oc.quality_at(plan, 0.10),
                           "model": "type B (binomial)"}}


def make_selection(*, scheme: Scheme, lot: Lot, plan: dict, seed: str | None = None,
                   spares: int | None = None, inventory_name: str = "",
                   state: SeverityState | None = None,
                   test_points: Sequence[str] = DEFAULT_TEST_POINTS,
                   inventory_sha256: str | None = None) -> dict:
    """The selection document: the lot, its plan, the drawn meters and the test points every
    tested meter must have a result at (``evaluate`` refuses a meter with fewer)."""
    seed = seed or new_seed()
    n1 = plan.get("n1") or plan["n"]
    n2 = plan.get("n2") or 0
    k = default_spares(n1 + n2) if spares is None else spares
    sel = select([m.meter_id for m in lot.meters], n1, seed=seed, spares=k, n2=n2)
    return {"kind": SELECTION_KIND, "version": 1, "software": f"meterbench {__version__}",
            "inventory": inventory_name, "inventory_sha256": inventory_sha256, "scheme": scheme.to_dict(), "lot": lot.summary(),
            "plan": plan_with_oc(plan), "selection": sel.to_dict(),
            "test_points": [normalize_point(tp) for tp in test_points],
            "severity_state": state.to_dict() if state else None}


def _check_selection(doc: dict, source: str) -> None:
    if not isinstance(doc, dict) or doc.get("kind") != SELECTION_KIND:
        raise UserError("not a selection document", source=source, field="kind",
                        expected=f"{SELECTION_KIND!r}, as written by 'meterbench sampling select'")


def check_inventory_matches(doc: dict, meters: dict[str, Meter], *, inventory_source: str,
                            selection_source: str) -> None:
    """Every meter the selection drew is in the inventory, as the lot it was drawn from (model,
    rating, class). A mismatch is the inventory's fault, not the results': say so."""
    lot = doc["lot"]
    sel = doc["selection"]
    for mid in list(sel["sample"]) + list(sel["second_sample"]) + list(sel["spares"]):
        m = meters.get(mid)
        problem = ("is not in it" if m is None else
                   f"is {m.model} {m.rating} class {m.accuracy_class} there, the lot is "
                   f"{lot.get('model')} {lot.get('rating')} class {lot.get('class')}"
                   if (m.model, m.rating, m.accuracy_class) != (lot.get("model"), lot.get("rating"),
                                                                lot.get("class")) else None)
        if problem:
            digest = doc.get("inventory_sha256")
            raise UserError(f"does not match the selection {selection_source}: meter {mid} of lot "
                            f"{lot.get('lot_id')} {problem}", source=inventory_source,
                            field="meter_id", expected="the inventory the selection was drawn "
                            "from" + (f" (SHA-256 {digest[:16]}…)" if digest else ""))


def check_installed(tested: Sequence[str], meters: dict[str, Meter], tested_on: date, *,
                    inventory_source: str = "the inventory") -> None:
    """Every tested meter was installed on or before the test date: in-service sampling of a
    meter that was not yet in service is a wrong date (``--on``) or a wrong inventory."""
    late = [m for m in tested if meters[m].installation_date > tested_on]
    if late:
        first = meters[late[0]]
        raise UserError(f"test date {tested_on} is before the installation of tested meter "
                        f"{first.meter_id} ({first.installation_date}"
                        + (f", {inventory_source} row {first.row}" if first.row else "")
                        + (f", and {len(late) - 1} more" if len(late) > 1 else "") + ")",
                        field="--on", expected="the date the meters were tested, on or after "
                        "every tested meter's installation_date")


def selection_digest(doc: dict) -> str:
    """SHA-256 of the lot id and the drawn meters (canonical JSON): what identifies one round."""
    key = {"lot_id": doc["lot"]["lot_id"], "selection": doc["selection"]}
    return hashlib.sha256(json.dumps(key, sort_keys=True, ensure_ascii=False)
                          .encode("utf-8")).hexdigest()


def required_points(doc: dict) -> list[str]:
    """The test points every tested meter needs: the selection's, or (a selection written before
    they were recorded) the default periodic-verification points."""
    points = doc.get("test_points")
    return [normalize_point(str(tp)) for tp in points] if points else list(DEFAULT_TEST_POINTS)


def check_complete(tested: Sequence[str], by_meter: dict[str, list[PointResult]],
                   required: Sequence[str], *, results_source: str) -> None:
    """Every tested meter has a result at every required point. A meter with some results is not
    "not reached" (that needs no result at all), and a missing point is not a pass."""
    for mid in tested:
        gone = missing_points(by_meter[mid], required)
        if gone:
            raise UserError(f"meter {mid} has no result at {', '.join(gone)}",
                            source=results_source, field="test_point",
                            expected="a result at every test point of the selection ("
                            + ", ".join(required) + ") for every tested meter; a meter with no "
                            "result at all counts as not reached")


def _refuse_lot_counted_this_round(state: SeverityState | None, lot_id: str, tested_on: date,
                                   source: str) -> None:
    """A lot is counted once per sampling round, however often it is drawn: a selection of a
    lot the state already counts, tested before that round's next due date (or on the same day
    when the round set none), is refused. A re-draw with another seed would otherwise count one
    lot twice and climb the switching score."""
    for r in state.rounds if state else ():
        if r.get("lot_id") != lot_id:
            continue
        due = r.get("next_due") or ""
        same_round = tested_on.isoformat() < due if due else tested_on.isoformat() == r.get(
            "tested_on")
        if same_round:
            until = f" and is next due on {due}" if due else ""
            raise UserError(f"lot {lot_id} is already counted in this state: tested on "
                            f"{r.get('tested_on')} (seed {r.get('seed')}){until}",
                            source=source, field="rounds",
                            expected="the state from before that round (or no --state): a lot "
                            "is counted once per sampling round, whatever its seed")


def evaluate_round(doc: dict, results: Sequence[PointResult], meters: dict[str, Meter], *,
                   scheme: Scheme, tested_on: date, decision_rule: str = "simple",
                   state: SeverityState | None = None, production_steady: bool = True,
                   reduced_approved: bool = False, source: str = "<selection>",
                   results_source: str = "<results>", state_source: str | None = None,
                   inventory_source: str = "the inventory") -> dict:
    """Judge the tested meters and decide the lot. Returns the evaluation document.

    A carried ``state`` that already counts this selection is refused: the switching rules count
    lots, and one lot evaluated twice is still one lot."""
    _check_selection(doc, source)
    digest = selection_digest(doc)
    seen = state.counted(digest) if state else None
    if seen:
        raise UserError(f"this selection (lot {seen.get('lot_id')}, seed {seen.get('seed')}) "
                        f"is already counted in this state (tested on {seen.get('tested_on')})",
                        source=state_source or source, field="rounds",
                        expected="the state from before that evaluation (or no --state), or a "
                        "new selection: a lot is counted once")
    _refuse_lot_counted_this_round(state, str(doc["lot"]["lot_id"]), tested_on,
                                   state_source or source)
    plan = doc["plan"]
    sel = doc["selection"]
    by_meter = group_by_meter(results)
    drawn = list(sel["sample"]) + list(sel["second_sample"]) + list(sel["spares"])
    strangers = sorted(set(by_meter) - set(drawn))
    if strangers:
        raise UserError(f"results for meters that were not drawn: {', '.join(strangers[:5])}",
                        source=results_source, field="meter_id",
                        expected="only meters of the selection (sample or spares)")
    check_inventory_matches(doc, meters, inventory_source=inventory_source,
                            selection_source=source)
    have = set(by_meter)
    first_order = list(sel["sample"]) + list(sel["spares"])
    double = bool(plan.get("double"))
    n_first = plan.get("n1") if double else plan["n"]
    n_first = min(n_first, len(drawn))
    tested, missing = take_tested(first_order, n_first, have)
    if len(tested) < n_first:
        raise UserError(f"results for {len(tested)} meter{'' if len(tested) == 1 else 's'}, "
                        f"the plan needs {n_first}",
                        source=results_source, field="meter_id",
                        expected=f"{n_first} tested meters (sample, then spares in order)")
    required = required_points(doc)
    check_complete(tested, by_meter, required, results_source=results_source)
    check_installed(tested, meters, tested_on, inventory_source=inventory_source)
    limit_rule = scheme.limit
    verdicts = {mid: judge_meter(mid, meters[mid].accuracy_class, by_meter[mid],
                                 limit_rule=limit_rule, decision_rule=decision_rule,
                                 source=results_source) for mid in have}
    d1 = sum(not verdicts[m].conforming for m in tested)
    second: list[str] = []
    decision: dict
    kind = plan["kind"]
    if kind == "attributes" and double:
        if d1 <= plan["ac1"]:
            decision = _attr_decision(d1, plan["ac1"], plan["re1"], stage="first sample")
        elif d1 >= plan["re1"]:
            decision = _attr_decision(d1, plan["ac1"], plan["re1"], stage="first sample")
        else:
            order2 = list(sel["second_sample"]) + list(sel["spares"])
            second, missing2 = take_tested(order2, plan["n2"], have, already=tested)
            missing += missing2
            if len(second) < plan["n2"]:
                raise UserError(f"{d1} nonconforming in the first sample: the second sample of "
                                f"{plan['n2']} is needed, results for {len(second)}",
                                source=results_source, field="meter_id",
                                expected="results for the second sample")
            check_complete(second, by_meter, required, results_source=results_source)
            d = d1 + sum(not verdicts[m].conforming for m in second)
            decision = _attr_decision(d, plan["ac2"], plan["re2"], stage="cumulative")
            decision["first_sample_nonconforming"] = d1
    elif kind == "attributes":
        decision = _attr_decision(d1, plan["ac"], plan["re"], stage="single")
    elif kind == "conformity-95":
        t = criteria.german_conformity_test(len(tested), d1, confidence=plan["confidence"])
        decision = {"nonconforming": d1, "accepted": t.accepted, "gap": False,
                    "upper_bound_percent": 100 * t.upper_bound, "statement": t.statement}
    elif kind == "share-13":
        dd = criteria.dutch_decision(len(tested), d1)
        decision = {"nonconforming": d1, "accepted": dd["accepted"], "gap": False,
                    "share_percent": 100 * dd["share"], "statement": dd["rule"]}
    elif kind == "variables":
        decision = _variables_decision(tested, by_meter, meters, plan, limit_rule)
        decision["nonconforming"] = d1
    else:
        raise UserError(f"plan kind {kind!r}", source=source, field="plan.kind",
                        expected="attributes, variables, conformity-95, share-13")
    accepted = bool(decision["accepted"])
    lot_meta = doc["lot"]
    consequence: dict[str, object]
    if accepted:
        nxt = next_due_after_pass(scheme, tested_on, mid=meters[tested[0]].mid)
        consequence = {"action": "lot stays in service",
                       "next_due": nxt.isoformat() if nxt else None,
                       "next_due_note": None if nxt else
                       f"{scheme.name} sets the next interval from the result: give "
                       "--interval-years"}
    else:
        consequence = {"action": scheme.on_failure, "next_due": None}
    new_state = None
    switching_reason = None
    if kind == "attributes" and plan.get("standard") == "ISO 2859-1":
        st = state or SeverityState(inspection=plan["inspection"])
        if st.inspection != plan["inspection"]:
            raise UserError(f"the plan is {plan['inspection']} but the carried severity state is "
                            f"{st.inspection}", source=source, field="inspection",
                            expected="a selection drawn with the inspection of the state "
                            "(select --state without --inspection)")
        outcome = LotOutcome(accepted=accepted, gap=bool(decision.get("gap")),
                             score_credit=_score_credit(plan, decision, d1),
                             small_ac=(not double and plan["ac"] <= 1))
        ns, switching_reason = next_state(st, outcome, production_steady=production_steady,
                                          reduced_approved=reduced_approved)
        new_state = ns.with_round({
            "lot_id": str(doc["lot"]["lot_id"]), "seed": str(sel.get("seed")),
            "selection_sha256": digest, "tested_on": tested_on.isoformat(),
            "verdict": "accepted" if accepted else "rejected",
            "next_due": str(consequence.get("next_due") or "")}).to_dict()
    tested_all = tested + second
    replaced, ignored = spare_use(sel, tested_all, missing, have)
    return {
        "kind": EVALUATION_KIND, "version": 1, "software": f"meterbench {__version__}",
        "tested_on": tested_on.isoformat(), "lot": lot_meta, "scheme": doc["scheme"],
        "plan": plan, "selection": sel,
        "decision_rule": {"name": decision_rule,
                          "text": "simple acceptance (guard band 0, ILAC-G8:09/2019)"
                          if decision_rule == "simple" else
                          "guarded acceptance: |error| <= limit - U (ILAC-G8:09/2019)"},
        "limit_rule": LIMIT_RULES[limit_rule],
        "tested": tested_all, "not_reached": missing, "replaced": replaced,
        "ignored_results": [{"meter_id": m, "role": role,
                             "conforming": verdicts[m].conforming} for m, role in ignored],
        "meters": [verdicts[m].to_dict() for m in tested_all],
        "decision": {**decision, "accepted": accepted,
                     "verdict": "accepted" if accepted else "rejected"},
        "consequence": consequence,
        "selection_sha256": digest,
        "severity_state": new_state, "switching": switching_reason,
    }


def spare_use(sel: dict, tested: Sequence[str], missing: Sequence[str],
              have: set[str]) -> tuple[list[dict[str, str]], list[tuple[str, str]]]:
    """Which spare replaced which unreached meter (both in drawing order), and the meters whose
    results were not counted, with why (``unused spare`` or ``second sample not needed``).

    Results beyond the plan's sample are not counted whatever they say: the plan's risks hold
    for the randomly drawn sample, and choosing which extra results count would bias it."""
    spares = set(sel["spares"])
    used = [m for m in tested if m in spares]
    unreached = [m for m in missing if m not in spares]
    replaced = [{"not_reached": a, "spare": b} for a, b in zip(unreached, used, strict=False)]
    counted = set(tested)
    ignored = [(m, "unused spare" if m in spares else "second sample not needed")
               for m in list(sel["sample"]) + list(sel["second_sample"]) + list(sel["spares"])
               if m in have and m not in counted]
    return replaced, ignored


def _attr_decision(d: int, ac: int, re: int, *, stage: str) -> dict:
    if d <= ac:
        return {"nonconforming": d, "accepted": True, "gap": False, "stage": stage,
                "statement": f"{d} nonconforming <= Ac {ac}: accept"}
    if d >= re:
        return {"nonconforming": d, "accepted": False, "gap": False, "stage": stage,
                "statement": f"{d} nonconforming >= Re {re}: reject"}
    return {"nonconforming": d, "accepted": True, "gap": True, "stage": stage,
            "statement": f"Ac {ac} < {d} nonconforming < Re {re}: accept the lot, but reinstate "
            "normal inspection (MIL-STD-105E Table II-C note)"}


def _score_credit(plan: dict, decision: dict, d1: int) -> bool:
    """Would the lot also pass one AQL step tighter (ISO 2859-1:1999 9.3.3.2)?"""
    if not decision["accepted"] or decision.get("gap"):
        return False
    if plan.get("double"):
        return decision.get("stage") == "first sample"
    j = iso2859.AQL_SERIES.index(plan["aql"])
    if j == 0:
        return False
    _, ac_tighter, _ = iso2859.resolve_cell("normal", plan["plan_code"],
                                            iso2859.AQL_SERIES[j - 1])
    return decision["nonconforming"] <= ac_tighter


def _variables_decision(tested: Sequence[str], by_meter: dict, meters: dict[str, Meter],
                        plan: dict, limit_rule: str) -> dict:
    from meterbench.sampling.in_service_limits import in_service_limit

    per_point: dict[str, list[float]] = {}
    classes = {meters[m].accuracy_class for m in tested}
    if len(classes) != 1:
        raise UserError("the s-method needs one accuracy class in the sample", field="class",
                        expected="a uniform lot")
    cls = classes.pop()
    for mid in tested:
        for r in by_meter[mid]:
            per_point.setdefault(r.test_point, []).append(r.error_pct)
    points = []
    for tp, values in sorted(per_point.items()):
        if len(values) != len(tested):
            raise UserError(f"test point {tp!r} has {len(values)} results for {len(tested)} "
                            "meters", field="test_point", expected="every meter at every point")
        limit = in_service_limit(cls, tp, limit_rule)
        r = variables.s_method(values, -limit, limit, plan["k"])
        points.append({"test_point": tp, "limit_pct": limit, "mean": r.mean, "s": r.s,
                       "q_upper": r.q_upper, "q_lower": r.q_lower, "k": r.k,
                       "accepted": r.accepted})
    ok = all(p["accepted"] for p in points)
    return {"accepted": ok, "gap": False, "points": points,
            "statement": f"s-method with k = {plan['k']:.3f} at every test point: "
            + ("all pass" if ok else "a test point fails")}
