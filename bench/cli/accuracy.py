"""``meterbench accuracy``: field acceptance from interval files, and a lab plan's durations.

``accuracy field OPERATOR.csv REFERENCE.csv`` judges an operator meter against the DSO's serial
reference meter from interval files (the output of ``meterbench intervals``): labelling first (a
shifted series is diagnosed, not failed as inaccurate), then bias with its confidence interval,
per-interval limits, completeness and, given delivery times, timeliness.

``accuracy plan BENCH`` prints, for a lab bench, every test point with the method that measures it
(pulse: meter pulses counted by the error calculator at its position; register: the energy
register against a reference gate), the pulses or gate time the planner needs for U ≤ 1/3 MPE,
and warns where the plan cannot reach it.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from datetime import date, time
from pathlib import Path
from typing import Any

from meterbench.accuracy.decision import RULES
from meterbench.accuracy.evaluate import limit_for
from meterbench.accuracy.field import (
    DEADLINE_PRESETS,
    FieldSettings,
    completeness_ok,
    field_acceptance,
    step_ok,
)
from meterbench.accuracy.job import LIMIT_BASES
from meterbench.accuracy.limits import IN_SERVICE_FACTOR
from meterbench.accuracy.planner import plan_dial, plan_gate, plan_pulses, plan_starting
from meterbench.accuracy.plans import plan_points, rising_then_falling
from meterbench.accuracy.register import register_step_kwh
from meterbench.cli.pipeline_csv import read_intervals
from meterbench.config.bench_file import CLASSES, load_bench
from meterbench.core.errors import UserError
from meterbench.core.outfiles import same_file
from meterbench.core.records import FAILING
from meterbench.core.timeutil import parse_iso
from meterbench.core.words import plural
from meterbench.instruments.registers import load_register_map
from meterbench.pipeline.localday import known_zone
from meterbench.run.folder import json_safe
from meterbench.run.lab_devices import meter_test_output
from meterbench.units import MS_PER_HOUR


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("accuracy", help="field acceptance from interval files; lab plan "
                              "durations", description=__doc__)
    sub = p.add_subparsers(dest="accuracy_command", metavar="ACTION")
    f = sub.add_parser("field", help="operator meter vs the DSO's reference meter from interval files")
    f.add_argument("operator", type=Path, metavar="OPERATOR",
                   help="intervals CSV (meterbench intervals), or DataHub message files: a .json/.xml "
                        "file or a folder of them (e.g. an outbox)")
    f.add_argument("reference", type=Path, metavar="REFERENCE", help="the same, for the reference meter")
    f.add_argument("--operator-class", required=True, choices=CLASSES)
    f.add_argument("--reference-class", required=True, choices=CLASSES)
    f.add_argument("--operator-meter", metavar="NAME", help="meter in OPERATOR.csv (if several)")
    f.add_argument("--reference-meter", metavar="NAME", help="meter in REFERENCE.csv (if several)")
    f.add_argument("--channel", default="energy.import", help="channel (default energy.import)")
    f.add_argument("--rule", default="simple", choices=RULES, help="ILAC-G8 decision rule")
    f.add_argument("--limit", default="mpe", choices=LIMIT_BASES,
                   help="MPE or the in-service limit (2 × MPE, country preset)")
    f.add_argument("--country", default="DK", choices=tuple(IN_SERVICE_FACTOR))
    f.add_argument("--step", type=float, default=0.001, metavar="KWH",
                   help="quantization of each interval value in both files, a finite kWh ≥ 0 "
                        "(default 0.001, the three decimals of a DataHub quantity; 0: the "
                        "values are exact, no quantization allowance)")
    f.add_argument("--completeness", type=float, default=100.0, metavar="PCT",
                   help="smallest acceptable share of intervals measured on both sides, a "
                        "percentage above 0 and at most 100 (default 100)")
    f.add_argument("--deadline", metavar="HH:MM|NO|NL",
                   help="daily delivery deadline, local time on the next day, or a preset")
    f.add_argument("--deliveries", type=Path, metavar="FILE.csv",
                   help="delivery times: columns day (YYYY-MM-DD, local) and delivered (ISO 8601)")
    f.add_argument("--timezone", default="Europe/Copenhagen",
                   help="IANA time zone of the local days (timeliness, labelling seasons; "
                        "default Europe/Copenhagen)")
    f.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    f.set_defaults(func=run_field)
    pl = sub.add_parser("plan", help="a lab bench's test points and planned gate times")
    pl.add_argument("bench", help="lab bench file or built-in name (e.g. sim-lab)")
    pl.add_argument("--register-kwh", type=float, default=None, metavar="KWH",
                    help="register value to plan the resolution for (default: the simulated "
                         "meter's, else 10000)")
    pl.add_argument("--method", choices=("pulse", "register"), default=None,
                    help="plan every point by this method (default: the bench's [lab.plan] "
                         "method, where a meter has a test output and an error calculator)")
    pl.add_argument("--json", action="store_true")
    pl.set_defaults(func=run_plan_cmd)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _is_message_input(path: Path) -> bool:
    """DataHub messages (a .json/.xml file or a folder of them) rather than an intervals CSV."""
    return path.is_dir() or path.suffix.lower() in (".json", ".xml")


def _message_series(path: Path, meter: str | None, option: str) -> tuple[str, Any, Any]:
    from meterbench.datahub.to_series import message_files, read_metering_points

    by_point = read_metering_points(message_files(path))
    names = sorted(by_point)
    if meter is None:
        if len(names) > 1:
            raise UserError(f"several metering points: {', '.join(names)}", source=str(path),
                            field=option, expected="one GSRN chosen with " + option)
        meter = names[0]
    if meter not in by_point:
        raise UserError(f"no metering point {meter!r}", source=str(path), field=option,
                        expected="one of " + ", ".join(names))
    return meter, by_point[meter].series, by_point[meter]


def _series(path: Path, meter: str | None, channel: str, option: str) -> tuple[str, Any, Any]:
    """(meter or GSRN, its interval series, what the messages held or None for a CSV)."""
    if _is_message_input(path):
        return _message_series(path, meter, option)
    rows = [r for r in read_intervals(path) if r.channel == channel]
    names = sorted({r.meter for r in rows})
    if not rows:
        raise UserError(f"no {channel} intervals", source=str(path), field="channel",
                        expected="rows of that channel")
    if meter is None:
        if len(names) > 1:
            raise UserError(f"several meters: {', '.join(names)}", source=str(path), field=option,
                            expected="one of them chosen with " + option)
        meter = names[0]
    pick = [r for r in rows if r.meter == meter]
    if not pick:
        raise UserError(f"no meter {meter!r}", source=str(path), field=option,
                        expected="one of " + ", ".join(names))
    return meter, pick[0].series, None


def _message_summary(reading: Any) -> dict[str, Any]:
    """What one side's messages held, for ``--json`` (see meterbench.datahub.counts)."""
    c = reading.counts
    return dict(gsrn=reading.gsrn, files=reading.files, declared=c.declared, measured=c.measured,
                estimated=c.estimated, incomplete_read_as_estimated=c.incomplete,
                calculated=c.calculated, not_available=c.not_available, absent=c.absent,
                undelivered=reading.undelivered, missing=reading.missing)


def _deadline(text: str | None) -> time | None:
    if text is None:
        return None
    if text.upper() in DEADLINE_PRESETS:
        return DEADLINE_PRESETS[text.upper()]
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise UserError(f"not a deadline: {text!r}", field="--deadline",
                        expected="HH:MM or a preset: " + ", ".join(DEADLINE_PRESETS)) from None


def read_deliveries(path: Path) -> dict[date, int]:
    source = str(path)
    out: dict[date, int] = {}
    try:
        fh = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror}", source=source) from None
    with fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"day", "delivered"} <= set(reader.fieldnames):
            raise UserError("missing columns", source=source, field="header",
                            expected="day,delivered")
        for n, row in enumerate(reader, start=2):
            where = f"{source}: row {n}"
            try:
                day = date.fromisoformat((row["day"] or "").strip())
            except ValueError:
                raise UserError(f"not a date: {row['day']!r}", source=where, field="day",
                                expected="YYYY-MM-DD") from None
            out[day] = parse_iso(row["delivered"] or "", source=where, field="delivered")
    return out


def check_field_options(args: argparse.Namespace) -> None:
    """The numbers and the zone of ``accuracy field`` are ones its checks can use, else one
    line, exit 2, before any file is read.

    A completeness threshold above 100 % (or NaN) could never pass and one of 0 % could never
    fail; a negative, infinite or NaN quantization step has no meaning (0 means exact values);
    an unknown zone would end in a traceback where the local days are computed.
    """
    if not step_ok(args.step):
        raise UserError(f"{args.step:g} is not a quantization step", field="--step",
                        expected="a finite kWh ≥ 0, 0 for exact values")
    if not completeness_ok(args.completeness):
        raise UserError(f"{args.completeness:g} is not a share of intervals",
                        field="--completeness", expected="a percentage above 0 and at most 100")
    if not known_zone(args.timezone):
        raise UserError(f"unknown time zone {args.timezone!r}", field="--timezone",
                        expected="an IANA name like Europe/Copenhagen")
    # timeliness needs both: a deadline with no delivery times (or times with no deadline)
    # judges nothing, and the check would only say "not evaluated"
    if (args.deadline is None) != (args.deliveries is None):
        given, missing = (("--deadline", "--deliveries") if args.deliveries is None
                          else ("--deliveries", "--deadline"))
        raise UserError(f"{given} without {missing}: timeliness needs both", field=given,
                        expected=f"{missing} as well (or neither)")


def check_not_self_comparison(operator: Path, op_name: str, reference: Path,
                              ref_name: str) -> None:
    """Refuse judging a meter against itself (the same meter of the same file or folder): every
    interval would agree with itself, so every check would pass whatever the meter measured."""
    if op_name == ref_name and same_file(operator, reference):
        raise UserError(f"operator and reference are the same meter {op_name!r} of the same file",
                        source=str(reference), field="--reference-meter",
                        expected="the reference meter: another meter of this file, or another "
                                 "file")


def run_field(args: argparse.Namespace) -> int:
    check_field_options(args)
    op_name, op, op_msgs = _series(args.operator, args.operator_meter, args.channel,
                                   "--operator-meter")
    ref_name, ref, ref_msgs = _series(args.reference, args.reference_meter, args.channel,
                                      "--reference-meter")
    check_not_self_comparison(args.operator, op_name, args.reference, ref_name)
    messages = {side: r for side, r in (("operator", op_msgs), ("reference", ref_msgs)) if r}
    if op.resolution_ms != ref.resolution_ms:
        raise UserError("the two files have different resolutions", source=str(args.reference),
                        field="resolution", expected="the operator file's resolution")
    settings = FieldSettings(operator_class=args.operator_class,
                             reference_class=args.reference_class, rule=args.rule,
                             limit_basis=args.limit, country=args.country,
                             operator_step_kwh=args.step, reference_step_kwh=args.step,
                             completeness_min_pct=args.completeness,
                             deadline=_deadline(args.deadline), zone=args.timezone)
    deliveries = read_deliveries(args.deliveries) if args.deliveries else None
    res = field_acceptance(op, ref, operator_id=op_name, reference_id=ref_name,
                           settings=settings, deliveries=deliveries)
    verdict = res.summary["verdict"]  # the pair's: the worst of its records
    if args.json:
        doc = {k: v for k, v in res.summary.items() if k != "points"}
        doc["records"] = [r.as_dict() for r in res.records]
        if messages:
            doc["messages"] = {side: _message_summary(r) for side, r in messages.items()}
        print(json.dumps(json_safe(doc), indent=2, allow_nan=False))
    else:
        s = res.summary
        print(f"{op_name} vs {ref_name}: {verdict.replace('_', ' ')} — {s['compared']:,} of "
              f"{plural(s['expected'], 'interval')} compared ({s['measured_both']:,} measured on "
              "both sides)")
        for side, reading in messages.items():
            print(f"  {side} messages: {reading.describe()}")
        for r in res.records:
            has_value = r.value is not None and math.isfinite(r.value)
            value = f" {r.value:.4g} {_unit_for(r.value, r.unit)}".rstrip() if has_value else ""
            u = f" ± {r.uncertainty:.3g}" if has_value and r.uncertainty is not None else ""
            print(f"  {r.verdict:16s} {r.name}:{value}{u} — {r.detail}")
    return 1 if verdict in FAILING else 0


#: Count units whose singular reads differently ("1 interval", "1 day late").
_SINGULAR_UNITS = {"intervals": "interval", "days late": "day late"}


def _unit_for(value: float, unit: str) -> str:
    return _SINGULAR_UNITS.get(unit, unit) if value == 1 else unit


def _register_test_rows(cfg: Any, m: Any, reg: float, step: float) -> list[dict[str, Any]]:
    """The plan's starting and register (dial) tests of one meter: they read the registers
    whatever the point method, so the register step sets how long they take and what they can
    tell (the same planners the run uses)."""
    plan, s, r = cfg.lab.plan, cfg.lab.plan.settings, m.rating
    rows: list[dict[str, Any]] = []
    base = dict(meter=m.id, pf="1", method="register", register_kwh=reg, step_kwh=step)
    if plan.starting:
        power = 3 * r.u_n * r.starting_current
        gate, warning = plan_starting(power, step_kwh=step, min_gate_ms=s.min_gate_ms,
                                      max_gate_ms=s.max_gate_ms)
        rows.append(dict(base, point="starting (Ist)", current_a=r.starting_current,
                         limit_pct=None, gate_s=gate / 1000,
                         energy_kwh=power * gate / MS_PER_HOUR / 1000, target_pct=None,
                         expected_u_pct=None, reachable=not warning, warning=warning))
    if plan.dial_kwh > 0:
        lim = limit_for(r, r.i_ref, basis=plan.limit_basis, country=plan.country, band=s.band,
                        pf="1", load="balanced", table=plan.table).pct
        d = plan_dial(3 * r.u_n * r.i_ref, lim, dial_kwh=plan.dial_kwh, step_kwh=step,
                      reference_accuracy_pct=cfg.lab.reference_accuracy_pct,
                      window_ms=s.timing_window_ms, fraction=s.uncertainty_fraction,
                      max_gate_ms=s.max_gate_ms)
        rows.append(dict(base, point="register (dial) test", current_a=r.i_ref, limit_pct=lim,
                         **d.as_dict()))
    return rows


def check_register_kwh(value: float | None) -> None:
    """``--register-kwh`` is an energy a register can show: finite and ≥ 0 (a new meter reads 0),
    else one line, exit 2, before the bench is loaded."""
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise UserError(f"{value:g} is not a register value", field="--register-kwh",
                        expected="a finite energy in kWh ≥ 0 (the meter's import register)")


def check_register_holds(value: float | None, regmap: Any) -> None:
    """``--register-kwh`` fits the meter's energy register, checked with its codec (a float32
    register stops near 3.4·10³⁸; an integer one at its width times its scale)."""
    if value is None:
        return
    from meterbench.instruments.errors import CodecError

    try:
        regmap.channels["energy.import"].encode(value)
    except (CodecError, OverflowError) as exc:
        raise UserError(f"{value:g} kWh does not fit the {regmap.name} energy register: {exc}",
                        field="--register-kwh",
                        expected=f"a value the {regmap.name} import register can hold") from None


def run_plan_cmd(args: argparse.Namespace) -> int:
    check_register_kwh(args.register_kwh)
    cfg = load_bench(args.bench)
    if cfg.lab is None:
        raise UserError("not a lab bench", source=cfg.source, field="lab",
                        expected="a bench file with a [lab] section")
    plan = cfg.lab.plan
    s = plan.settings
    rows = []
    method = args.method or s.method
    for m in cfg.meters:
        sim = cfg.lab.sim_meters.get(m.id)
        reg = args.register_kwh if args.register_kwh is not None else (
            sim.import_kwh if sim is not None else 10_000.0)
        regmap = load_register_map(m.model)
        check_register_holds(args.register_kwh, regmap)
        step = register_step_kwh(regmap.channels["energy.import"], reg)
        output = meter_test_output(regmap, m.rating)
        counter = cfg.lab.error_calculator(m.id)
        pulsed = method == "pulse" and output is not None and counter is not None
        points = plan_points(plan.kind, m.rating, list(plan.custom_points))
        for point, direction in rising_then_falling(points):
            if direction != "rising":
                continue
            lim = limit_for(m.rating, point.current_a, basis=plan.limit_basis,
                            country=plan.country, band=s.band, pf=point.pf,
                            load="balanced" if len(point.phases) == 3 else "single_phase",
                            table=plan.table).pct
            common = dict(fraction=s.uncertainty_fraction, min_gate_ms=s.min_gate_ms,
                          max_gate_ms=s.max_gate_ms, margin=s.planning_margin,
                          reference_accuracy_pct=cfg.lab.reference_accuracy_pct)
            power = point.power_w(m.rating.u_n)
            if pulsed:
                assert output is not None and counter is not None
                g = plan_pulses(power, lim, meter_constant=output.constant_imp_per_kwh,
                                reference_constant=float(counter.options["reference_constant"]),
                                edge_u_ms=s.pulse_timing_ms, min_pulses=s.min_pulses, **common)
            else:
                g = plan_gate(power, lim, step_kwh=step, window_ms=s.timing_window_ms, **common)
            rows.append(dict(meter=m.id, point=point.name, current_a=point.current_a, pf=point.pf,
                             limit_pct=lim, method="pulse" if pulsed else "register",
                             register_kwh=reg, step_kwh=step, **g.as_dict()))
        rows += _register_test_rows(cfg, m, reg, step)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            flag = "" if r["reachable"] else f"  WARNING {r['warning']}"
            how = (f"{r['meter_pulses']:6d} pulses" if r["method"] == "pulse"
                   else "      register")
            u = ("" if r["expected_u_pct"] is None else
                 f"  U {r['expected_u_pct']:.3f} % (target {r['target_pct']:.3f} %)")
            print(f"{r['meter']:12s} {r['point']:26s} {how} gate {r['gate_s']:8.0f} s  "
                  f"{r['energy_kwh']:.4f} kWh{u}{flag}")
    return 1 if any(not r["reachable"] for r in rows) else 0

