"""``meterbench sampling``: in-service sampling control of meter lots.

``plan`` prints an ISO 2859-1 (or scheme) plan, ``due`` lists the lots of an inventory and which
are due, ``select`` draws the sample and spares of one lot into a selection file, ``evaluate``
judges the lab results of a selection and decides the lot (exit 1 when rejected), ``report``
renders the HTML report of an evaluation. ``example`` writes the built-in example inventory and
``simulate`` produces simulated lab results for a selection (for trying the workflow).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from meterbench.core.bounded import MAX_CSV_BYTES, MAX_JSON_BYTES, read_bytes_bounded
from meterbench.core.errors import UserError
from meterbench.core.outfiles import (
    atomic_output,
    check_output_path,
    same_file,
    spreadsheet_cell,
)
from meterbench.core.words import plural

EXAMPLE = "example"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sampling", help="in-service sampling control of meter lots",
                              description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="sampling_command", metavar="ACTION")
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])

    def common_scheme(q: argparse.ArgumentParser) -> None:
        from meterbench.sampling.schemes import DEFAULT_SCHEME, SCHEMES
        q.add_argument("--scheme", default=DEFAULT_SCHEME, choices=sorted(SCHEMES),
                       help=f"country preset (default {DEFAULT_SCHEME})")
        q.add_argument("--first-years", type=int, help="years to the first sampling "
                       "(overrides the preset; required where the preset states none)")
        q.add_argument("--interval-years", type=int, help="years from a pass to the next "
                       "sampling (overrides the preset; required for dk-7y's next due date)")
        q.add_argument("--max-year-span", type=int, help="lot formation: production years at "
                       "most this far apart (overrides the preset)")

    def plan_options(q: argparse.ArgumentParser) -> None:
        q.add_argument("--aql", help="AQL from the ISO 2859-1 series, e.g. 1.0")
        q.add_argument("--level", default="II", help="inspection level S-1..S-4, I, II, III "
                       "(default II)")
        q.add_argument("--inspection", default=None, choices=("normal", "tightened", "reduced"),
                       help="severity (default normal, or the carried --state)")
        q.add_argument("--double", action="store_true", help="double sampling")
        q.add_argument("--method", default="attributes", choices=("attributes", "variables"))
        q.add_argument("--n", type=int, help="sample size (variables, de, nl)")
        q.add_argument("--k", type=float, help="s-method acceptability constant k")
        q.add_argument("--m", type=float, help="s-method maximum percent nonconforming M")
        q.add_argument("--confidence", type=float, default=0.95,
                       help="de: confidence of the >= 95 %% conforming test (default 0.95)")

    q = sub.add_parser("plan", help="print a sampling plan")
    q.add_argument("--lot-size", type=int, required=True)
    plan_options(q)
    common_scheme(q)
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_plan)

    q = sub.add_parser("due", help="lots of an inventory and which are due on a date")
    q.add_argument("inventory", help=f"inventory CSV, or '{EXAMPLE}' for the built-in one")
    q.add_argument("--on", required=True, help="date YYYY-MM-DD")
    q.add_argument("--all", action="store_true", help="list lots that are not due, too")
    common_scheme(q)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_due)

    q = sub.add_parser("select", help="draw the sample and spares of one lot")
    q.add_argument("inventory", help=f"inventory CSV, or '{EXAMPLE}'")
    q.add_argument("--lot", required=True, help="lot id (see 'sampling due')")
    plan_options(q)
    common_scheme(q)
    q.add_argument("--seed", help="selection seed (default: a fresh random one, recorded)")
    q.add_argument("--spares", type=int, help="number of spares (default 10 %% of n, >= 2)")
    q.add_argument("--test-points", help="comma-separated test points every tested meter must "
                   "have a result at (default: 0.1Iref PF1, Iref PF1, 2Iref PF1, Iref PF0.5i)")
    q.add_argument("--state", help="severity state JSON carried from the lot's last round")
    q.add_argument("--out", required=True, help="selection JSON to write")
    _add_overwrite(q)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_select)

    q = sub.add_parser("evaluate", help="judge lab results of a selection and decide the lot")
    q.add_argument("selection", help="selection JSON from 'sampling select'")
    q.add_argument("--results", required=True, help="results CSV: meter_id,test_point,"
                   "error_pct[,uncertainty_pct]")
    q.add_argument("--inventory", required=True, help=f"inventory CSV, or '{EXAMPLE}'")
    q.add_argument("--on", help="test date YYYY-MM-DD (default today, UTC)")
    q.add_argument("--interval-years", type=int, help="years to the next sampling after a pass")
    q.add_argument("--decision-rule", default="simple", choices=("simple", "guarded"))
    q.add_argument("--state", help="severity state JSON in (default: start on the plan's)")
    q.add_argument("--state-out", help="write the updated severity state JSON here")
    q.add_argument("--production-irregular", action="store_true",
                   help="switching: production not steady (leaves reduced inspection)")
    q.add_argument("--reduced-approved", action="store_true",
                   help="switching: the authority approves reduced inspection")
    q.add_argument("--out", help="evaluation JSON to write")
    q.add_argument("--report", help="HTML report to write")
    _add_overwrite(q)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_evaluate)

    q = sub.add_parser("report", help="render the HTML report of an evaluation JSON")
    q.add_argument("evaluation")
    q.add_argument("--inventory", help=f"inventory CSV or '{EXAMPLE}' for the population")
    q.add_argument("--out", required=True)
    _add_overwrite(q)
    q.set_defaults(func=cmd_report)

    q = sub.add_parser("example", help="write the built-in example inventory CSV")
    q.add_argument("out")
    _add_overwrite(q)
    q.set_defaults(func=cmd_example)

    q = sub.add_parser("simulate", help="simulated lab results for a selection (for trying)")
    q.add_argument("selection")
    q.add_argument("--inventory", required=True)
    q.add_argument("--bad-share", type=float, default=0.0, help="share of bad meters (0..1)")
    q.add_argument("--truth-seed", default="1")
    q.add_argument("--unreachable", type=int, default=0,
                   help="leave the first N sampled meters without results")
    q.add_argument("--out", required=True)
    _add_overwrite(q)
    q.set_defaults(func=cmd_simulate)


# --- helpers -------------------------------------------------------------------------------------

def _load_inventory(spec: str):
    from meterbench.sampling.example import example_inventory
    from meterbench.sampling.inventory import read_inventory
    return example_inventory() if spec == EXAMPLE else read_inventory(spec)


def _add_overwrite(q: argparse.ArgumentParser) -> None:
    q.add_argument("--overwrite", action="store_true",
                   help="replace an existing output file (never one of the command's inputs)")


def _inventory_name(spec: str) -> str:
    """How messages name the inventory: its path, or the built-in example's name."""
    return "example inventory" if spec == EXAMPLE else spec


def _inventory_digest(spec: str) -> str:
    """SHA-256 of the inventory's bytes, recorded in the selection so that a mismatching
    inventory given to ``evaluate`` can be recognised as such."""
    import hashlib

    from meterbench.sampling.example import example_inventory_text
    data = (example_inventory_text().encode("utf-8") if spec == EXAMPLE else
            read_bytes_bounded(Path(spec), MAX_CSV_BYTES, what="inventory"))
    return hashlib.sha256(data).hexdigest()


def _scheme(args: argparse.Namespace):
    from meterbench.sampling.schemes import get_scheme
    return get_scheme(args.scheme, first_years=getattr(args, "first_years", None),
                      interval_years=getattr(args, "interval_years", None),
                      max_year_span=getattr(args, "max_year_span", None))


def _date(text: str, field: str) -> date:
    from meterbench.sampling.inventory import date_problem
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(date_problem(text), field=field, expected="YYYY-MM-DD") from None


def _read_json(path: str) -> dict:
    try:
        return json.loads(read_bytes_bounded(Path(path), MAX_JSON_BYTES, what="JSON file"))
    except (UnicodeDecodeError, RecursionError) as exc:
        raise UserError(f"not JSON: {exc}", source=path) from None
    except json.JSONDecodeError as exc:
        raise UserError(f"not JSON: {exc.msg} at line {exc.lineno}", source=path) from None


@dataclass(frozen=True)
class Output:
    """One file a command writes: where, what it is (for messages) and its whole text."""

    path: str
    what: str
    text: str
    may_replace: bool = False   # the documented in-place update (--state-out = --state)


def _inputs(*specs: str | None) -> tuple[Path, ...]:
    """The command's input files (``example`` and absent options are not files)."""
    return tuple(Path(s) for s in specs if s and s != EXAMPLE)




def write_outputs(outputs: Sequence[Output], *, inputs: tuple[Path, ...] = (),
                  overwrite: bool = False) -> None:
    """Write every output, or none: all are checked first (an input given as an output, an
    existing file without ``--overwrite``, two outputs on one path, a missing folder: exit 2),
    then each is written through :func:`atomic_output`, and the files are renamed into place only
    when all are written (a refused write is an environment failure, exit 3, leaving no file).

    A sampling output is a record (the drawn sample, the lot's decision): replacing one silently
    would let a sample be re-drawn until it is favourable, so an existing file needs
    ``--overwrite``, and a command's own input is never an output (``--state-out`` on the
    ``--state`` file is the one documented update)."""
    for k, out in enumerate(outputs):
        for other in outputs[:k]:
            if same_file(out.path, other.path):
                raise UserError(f"is also where the {other.what} goes", source=out.path,
                                expected=f"a separate path for the {out.what}")
        check_output_path(Path(out.path), what=out.what, inputs=inputs,
                          overwrite=overwrite or out.may_replace)
    with ExitStack() as stack:
        for out in outputs:
            tmp = stack.enter_context(atomic_output(Path(out.path), what=out.what, inputs=inputs,
                                                    overwrite=overwrite or out.may_replace))
            tmp.write_text(out.text, encoding="utf-8", newline="")


def _json_text(doc: dict) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


#: ISO 2859-1:1999 Table I (and every plan here) starts at lots of 2: a single meter is not a lot.
MIN_LOT_SIZE = 2


def _individual_note(size: int) -> str:
    return (f"a lot of at least {MIN_LOT_SIZE} meters (ISO 2859-1 Table I starts at "
            f"{MIN_LOT_SIZE}); test {'this meter' if size == 1 else 'its meters'} individually")


def _check_samplable(lot, inventory: str) -> None:
    """A lot too small for any plan is refused naming the inventory, the lot and what to do."""
    if lot.size < MIN_LOT_SIZE:
        raise UserError(f"lot {lot.lot_id} has {plural(lot.size, 'meter')}", source=inventory,
                        field="lot", expected=_individual_note(lot.size))


def _test_points(text: str | None, accuracy_class: str, limit_rule: str) -> tuple[str, ...]:
    """``--test-points`` as names the in-service limit understands (default: the periodic
    verification points), so that a typo is refused when the selection is drawn, not when the
    lab's results come back."""
    from meterbench.sampling.evaluation import DEFAULT_TEST_POINTS, normalize_point
    from meterbench.sampling.in_service_limits import in_service_limit
    if text is None:
        return DEFAULT_TEST_POINTS
    points = tuple(dict.fromkeys(normalize_point(p) for p in text.split(",") if p.strip()))
    if not points:
        raise UserError("no test point given", field="--test-points",
                        expected="comma-separated names like 'Iref PF1,2Iref PF1'")
    for tp in points:
        in_service_limit(accuracy_class, tp, limit_rule, source="--test-points")
    return points


def _plan(args: argparse.Namespace, scheme, lot_size: int, inspection: str) -> dict:
    from meterbench.sampling.workflow import make_plan
    return make_plan(scheme, lot_size, aql=args.aql, level=args.level, inspection=inspection,
                     double=args.double, method=args.method, n=args.n, k=args.k,
                     m_percent=args.m, confidence=args.confidence)


def _plan_line(plan: dict) -> str:
    if plan["kind"] == "attributes":
        if plan.get("double"):
            body = (f"n1={plan['n1']} Ac1={plan['ac1']} Re1={plan['re1']}  "
                    f"n2={plan['n2']} Ac2={plan['ac2']} Re2={plan['re2']} (cumulative)")
        else:
            body = f"n={plan['n']} Ac={plan['ac']} Re={plan['re']}"
        head = f"{plan['standard']} {plan['inspection']}"
        if plan.get("code") not in (None, "-"):
            head += f", level {plan['level']}, AQL {plan['aql']}, code letter {plan['code']}"
        return f"{head}: {body}" + (f"  (n >= lot size {plan['lot_size']}: inspect every meter)"
                                    if plan["hundred_percent"] else "")
    if plan["kind"] == "variables":
        return f"s-method: n={plan['n']} k={plan['k']:.3f} ({plan['source']})"
    if plan["kind"] == "conformity-95":
        return (f"MessEV >= 95 % conforming test: n={plan['n']}, confidence "
                f"{plan['confidence']:.0%}")
    return f"NL > 13 % faulty rule: n={plan['n']}"


# --- commands ------------------------------------------------------------------------------------

def cmd_plan(args: argparse.Namespace) -> int:
    from meterbench.sampling.workflow import plan_with_oc
    if args.lot_size is None or args.lot_size < 2:
        raise UserError(f"lot size {args.lot_size}", field="--lot-size", expected=">= 2")
    plan = plan_with_oc(_plan(args, _scheme(args), args.lot_size, args.inspection or "normal"))
    if args.json:
        out = {k: v for k, v in plan.items() if k != "oc"}
        if "oc" in plan:
            out["oc_points"] = {k: plan["oc"][k] for k in ("p95_percent", "p10_percent")}
        print(json.dumps(out, indent=1))
        return 0
    print(f"lot size {args.lot_size}: {_plan_line(plan)}")
    if "table" in plan:
        print(f"  table: {plan['table']}")
    if "oc" in plan:
        print(f"  OC: accepts 95 % of lots at {plan['oc']['p95_percent']:.3g} % nonconforming, "
              f"10 % at {plan['oc']['p10_percent']:.3g} % ({plan['oc']['model']})")
    return 0


def cmd_due(args: argparse.Namespace) -> int:
    from meterbench.sampling.inventory import check_not_after
    from meterbench.sampling.lots import form_lots
    from meterbench.sampling.schemes import due_status, lot_rule_text
    scheme = _scheme(args)
    on = _date(args.on, "--on")
    meters = _load_inventory(args.inventory)
    check_not_after(meters, on, source=_inventory_name(args.inventory), option="--on")
    lots = form_lots(meters, max_year_span=scheme.max_year_span, year_basis=scheme.year_basis)
    statuses = [due_status(scheme, lot, on) for lot in lots]
    if args.json:
        print(json.dumps({"scheme": scheme.name, "on": on.isoformat(), "meters": len(meters),
                          "lots": [s.to_dict() for s in statuses]}, indent=1))
        return 0
    print(f"{plural(len(meters), 'meter')} in {plural(len(lots), 'lot')}; scheme "
          f"{scheme.name}: {scheme.title}")
    print(f"lot rule: {lot_rule_text(scheme)}")
    shown = [s for s in statuses if s.due or args.all]
    for s in shown:
        mark = "DUE " if s.due else "    "
        y0, y1 = s.lot.production_years
        years = f"{y0}" if y0 == y1 else f"{y0}-{y1}"
        note = ("  (too few to sample: test individually)" if s.lot.size < MIN_LOT_SIZE
                else "")
        print(f"{mark}{s.lot.lot_id:<44} {s.lot.size:>6} {'meter ' if s.lot.size == 1 else 'meters'}  {years}  "
              f"due {s.due_date or '?'}  {s.reason}{note}")
    n_due = sum(s.due for s in statuses)
    print(f"{n_due} of {len(lots)} lots due on {on}")
    return 0


def cmd_select(args: argparse.Namespace) -> int:
    from meterbench.sampling.lots import find_lot, form_lots
    from meterbench.sampling.switching import SeverityState
    from meterbench.sampling.workflow import make_selection
    scheme = _scheme(args)
    meters = _load_inventory(args.inventory)
    lots = form_lots(meters, max_year_span=scheme.max_year_span, year_basis=scheme.year_basis)
    lot = find_lot(lots, args.lot)
    _check_samplable(lot, args.inventory)
    state = None
    if args.state:
        state = SeverityState.from_dict(_read_json(args.state), source=args.state)
        if state.inspection == "discontinued":
            raise UserError("inspection of this lot stream is discontinued", source=args.state,
                            expected="corrective action before sampling again")
    inspection = args.inspection or (state.inspection if state else "normal")
    plan = _plan(args, scheme, lot.size, inspection)
    points = _test_points(args.test_points, lot.accuracy_class, scheme.limit)
    doc = make_selection(scheme=scheme, lot=lot, plan=plan, seed=args.seed, spares=args.spares,
                         inventory_name="built-in example" if args.inventory == EXAMPLE
                         else Path(args.inventory).name, state=state, test_points=points,
                         inventory_sha256=_inventory_digest(args.inventory))
    write_outputs([Output(args.out, "selection", _json_text(doc))],
                  inputs=_inputs(args.inventory, args.state), overwrite=args.overwrite)
    if args.json:
        print(json.dumps({k: doc[k] for k in ("lot", "selection")}, indent=1))
        return 0
    sel = doc["selection"]
    print(f"lot {lot.lot_id}: {lot.size} meters; {_plan_line(plan)}")
    print(f"seed {sel['seed']}; method: {sel['method']}")
    print(f"sample ({len(sel['sample'])}): {' '.join(sel['sample'][:12])}"
          + (" ..." if len(sel["sample"]) > 12 else ""))
    if sel["second_sample"]:
        print(f"second sample ({len(sel['second_sample'])}), only if the first is undecided")
    print(f"spares ({len(sel['spares'])}): {' '.join(sel['spares'])}")
    print(f"wrote {args.out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from meterbench.sampling.evaluation import read_results
    from meterbench.sampling.inventory import check_not_after
    from meterbench.sampling.schemes import get_scheme
    from meterbench.sampling.switching import SeverityState
    from meterbench.sampling.workflow import evaluate_round
    doc = _read_json(args.selection)
    scheme_name = (doc.get("scheme") or {}).get("name") if isinstance(doc, dict) else None
    if not scheme_name:
        raise UserError("no scheme in the selection", source=args.selection, field="scheme",
                        expected="a selection written by 'meterbench sampling select'")
    base = doc["scheme"]
    scheme = get_scheme(scheme_name, interval_years=args.interval_years)
    if args.interval_years is None and base.get("after_pass_years_mid") is not None:
        from dataclasses import replace
        scheme = replace(scheme, after_pass_years_mid=base["after_pass_years_mid"],
                         after_pass_years_non_mid=base["after_pass_years_non_mid"],
                         second_after_pass=base.get("second_after_pass"))
    meters = {m.meter_id: m for m in _load_inventory(args.inventory)}
    results = read_results(args.results)
    state = None
    if args.state:
        state = SeverityState.from_dict(_read_json(args.state), source=args.state)
    elif doc.get("severity_state"):
        state = SeverityState.from_dict(doc["severity_state"], source=args.selection)
    tested_on = _date(args.on, "--on") if args.on else date.today()
    sel = doc.get("selection") or {}
    drawn = [meters[m] for k in ("sample", "second_sample", "spares") for m in sel.get(k) or []
             if m in meters]
    check_not_after(drawn, tested_on, source=_inventory_name(args.inventory),
                    option="--on" if args.on else "today")
    ev = evaluate_round(doc, results, meters, scheme=scheme, tested_on=tested_on,
                        decision_rule=args.decision_rule, state=state,
                        production_steady=not args.production_irregular,
                        reduced_approved=args.reduced_approved, source=args.selection,
                        results_source=args.results,
                        state_source=args.state or f"{args.selection} (severity_state)",
                        inventory_source=_inventory_name(args.inventory))
    outputs = []
    if args.out:
        outputs.append(Output(args.out, "evaluation", _json_text(ev)))
    if args.report:
        outputs.append(Output(args.report, "report", _report_html(ev, args.inventory)))
    if args.state_out and ev["severity_state"] is not None:
        in_place = bool(args.state) and same_file(args.state_out, args.state)
        outputs.append(Output(args.state_out, "severity state", _json_text(ev["severity_state"]),
                              may_replace=in_place))
    inputs = _inputs(args.selection, args.results, args.inventory)
    state_in = _inputs(args.state)
    if state_in and not (args.state_out and same_file(args.state_out, args.state)):
        inputs += state_in
    write_outputs(outputs, inputs=inputs, overwrite=args.overwrite)
    if args.json:
        print(json.dumps(ev, indent=1))
    else:
        d = ev["decision"]
        print(f"lot {ev['lot']['lot_id']}: {len(ev['tested'])} meters tested, "
              f"{d.get('nonconforming')} nonconforming ({ev['limit_rule']}; "
              f"{ev['decision_rule']['text']})")
        for line in _spare_lines(ev):
            print(line)
        print(f"decision: {d['verdict'].upper()}: {d['statement']}")
        c = ev["consequence"]
        print(f"consequence: {c['action']}" + (f"; next sampling due {c['next_due']}"
                                                if c.get("next_due") else ""))
        if c.get("next_due_note"):
            print(f"  note: {c['next_due_note']}")
        if ev["switching"]:
            print(f"inspection severity: {ev['severity_state']['inspection']} "
                  f"({ev['switching']})")
    return 0 if ev["decision"]["accepted"] else 1


def _spare_lines(ev: dict) -> list[str]:
    """What happened to unreached meters and to results the plan did not need."""
    lines = []
    pairs = ev.get("replaced") or []
    if pairs:
        lines.append("not reached, replaced by spares: "
                     + ", ".join(f"{p['not_reached']} -> {p['spare']}" for p in pairs))
    spares_missing = [m for m in ev["not_reached"]
                      if m not in {p["not_reached"] for p in pairs}]
    if spares_missing:
        lines.append(f"spares without results (skipped): {' '.join(spares_missing)}")
    ignored = ev.get("ignored_results") or []
    if ignored:
        outside = sum(not r["conforming"] for r in ignored)
        roles = sorted({"unused spares" if r["role"] == "unused spare" else r["role"]
                        for r in ignored})
        lines.append(f"results of {plural(len(ignored), 'meter')} not counted ("
                     + "; ".join(roles) + "): " + " ".join(r["meter_id"] for r in ignored)
                     + (f"; {outside} of them outside the limit" if outside else "")
                     + "; only the sample and the spares that replaced unreached meters count")
    return lines


def _report_html(ev: dict, inventory: str | None) -> str:
    """The HTML report of an evaluation, as text (written with the command's other outputs)."""
    from meterbench.reports.sampling import render_sampling_html
    from meterbench.sampling.report_document import report_document
    meters = _load_inventory(inventory) if inventory else None
    return render_sampling_html(report_document(ev, meters))


def cmd_report(args: argparse.Namespace) -> int:
    ev = _read_json(args.evaluation)
    if not isinstance(ev, dict) or ev.get("kind") != "meterbench.sampling.evaluation":
        raise UserError("not an evaluation document", source=args.evaluation, field="kind",
                        expected="the --out JSON of 'meterbench sampling evaluate'")
    write_outputs([Output(args.out, "report", _report_html(ev, args.inventory))],
                  inputs=_inputs(args.evaluation, args.inventory), overwrite=args.overwrite)
    print(f"wrote {args.out}")
    return 0


def cmd_example(args: argparse.Namespace) -> int:
    from meterbench.sampling.example import example_inventory_text
    write_outputs([Output(args.out, "inventory", example_inventory_text())],
                  overwrite=args.overwrite)
    print(f"wrote {args.out}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from meterbench.sampling.example import simulate_results
    if not 0 <= args.bad_share <= 1:
        raise UserError(f"bad share {args.bad_share}", field="--bad-share", expected="0..1")
    doc = _read_json(args.selection)
    sel = doc.get("selection") if isinstance(doc, dict) else None
    if not sel:
        raise UserError("not a selection document", source=args.selection, field="selection")
    meters = {m.meter_id: m for m in _load_inventory(args.inventory)}
    ids = list(sel["sample"]) + list(sel["second_sample"]) + list(sel["spares"])
    from meterbench.sampling.workflow import check_inventory_matches
    check_inventory_matches(doc, meters, inventory_source=_inventory_name(args.inventory),
                            selection_source=args.selection)
    from meterbench.sampling.workflow import required_points
    rows = simulate_results([meters[i] for i in ids], bad_share=args.bad_share,
                            test_points=required_points(doc),
                            truth_seed=args.truth_seed,
                            unreachable=set(sel["sample"][:args.unreachable]))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["meter_id", "test_point", "error_pct", "uncertainty_pct"])
    w.writeheader()
    w.writerows({k: spreadsheet_cell(v) for k, v in r.items()} for r in rows)
    write_outputs([Output(args.out, "results file", buf.getvalue())],
                  inputs=_inputs(args.selection, args.inventory), overwrite=args.overwrite)
    print(f"wrote {len(rows)} results for {len({r['meter_id'] for r in rows})} meters to "
          f"{args.out}", file=sys.stdout)
    return 0
