"""``meterbench accuracy`` and the lab bench file: user errors name file and field."""

from __future__ import annotations

import json
import warnings
from importlib import resources
from pathlib import Path

import pytest

from meterbench.accuracy.field import FieldSettings
from meterbench.cli import main
from meterbench.cli.pipeline_csv import IntervalRow, write_intervals
from meterbench.config.bench_file import load_bench, parse_bench
from meterbench.config.strict_toml import load_toml
from meterbench.core.errors import UserError
from meterbench.core.timeutil import MS_PER_HOUR
from meterbench.pipeline.series import IntervalSeries

from .test_field import _operator, _reference


def _write(path, meter, series):
    with path.open("w", encoding="utf-8") as fh:
        write_intervals([IntervalRow(meter, "energy.import", series)], fh)
    return path


def test_cli_field_diagnoses_a_one_hour_shift_from_interval_files(tmp_path, capsys):
    ref = _reference()
    op = _write(tmp_path / "op.csv", "ev", _operator(ref, -0.6, shift_ms=MS_PER_HOUR))
    rf = _write(tmp_path / "ref.csv", "ev_ref", ref)
    code = main(["accuracy", "field", str(op), str(rf), "--operator-class", "B",
                 "--reference-class", "C", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1  # the labelling is wrong and must be fixed ...
    recs = {r["name"]: r for r in doc["records"]}
    assert recs["interval labelling"]["verdict"] == "fail"
    assert "labelled one hour late" in recs["interval labelling"]["detail"]
    assert recs["operator vs reference bias"]["verdict"] == "pass"  # ... but the meter is accurate
    assert doc["time_offset_s"] == 3600.0
    # the pair's verdict is the worst record's, as the exit code says (it used to be the bias's)
    assert doc["verdict"] == "fail"
    assert main(["accuracy", "field", str(op), str(rf), "--operator-class", "B",
                 "--reference-class", "C"]) == 1
    assert capsys.readouterr().out.startswith("ev vs ev_ref: fail — ")


def test_cli_field_text_and_deadline_preset(tmp_path, capsys):
    ref = _reference(days=2)
    op = _write(tmp_path / "op.csv", "ev", _operator(ref, 0.3))
    rf = _write(tmp_path / "ref.csv", "ev_ref", ref)
    deliveries = tmp_path / "deliveries.csv"
    deliveries.write_text("day,delivered\n2026-06-01,2026-06-02T05:00:00Z\n"
                          "2026-06-02,2026-06-03T04:59:00Z\n")
    code = main(["accuracy", "field", str(op), str(rf), "--operator-class", "B",
                 "--reference-class", "C", "--deadline", "NO", "--deliveries", str(deliveries)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "delivered on time" in out and "2 of 2 days on time" in out
    # every line names a value or says why there is none, never an empty field before the dash
    assert not [line for line in out.splitlines() if ":  —" in line or ": —  " in line], out
    # without delivery times the timeliness line says why it was not evaluated, with no value
    main(["accuracy", "field", str(op), str(rf), "--operator-class", "B",
          "--reference-class", "C"])
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "delivered on time" in x)
    assert "delivered on time: — not evaluated" in line, line


def test_cli_field_bad_deliveries_file_is_a_user_error(tmp_path, capsys):
    ref = _reference(days=1)
    rf = _write(tmp_path / "ref.csv", "r", ref)
    op = _write(tmp_path / "op.csv", "ev", _operator(ref, 0.3))
    bad = tmp_path / "d.csv"
    bad.write_text("day,delivered\nyesterday,2026-06-02T05:00:00Z\n")
    code = main(["accuracy", "field", str(op), str(rf), "--operator-class", "B",
                 "--reference-class", "C", "--deadline", "10:00", "--deliveries", str(bad)])
    assert code == 2
    err = capsys.readouterr().err
    assert "d.csv: row 2: day" in err and "YYYY-MM-DD" in err


@pytest.mark.parametrize("option, value, needles", [
    ("--timezone", "Mars/Base", ("--timezone: unknown time zone 'Mars/Base'", "IANA")),
    ("--completeness", "150", ("--completeness: 150 ", "at most 100")),
    ("--completeness", "nan", ("--completeness: nan ",)),
    ("--completeness", "inf", ("--completeness: inf ",)),
    ("--completeness", "0", ("--completeness: 0 ", "above 0")),
    ("--completeness", "-5", ("--completeness: -5 ",)),
    ("--step", "-0.001", ("--step: -0.001 ", "≥ 0")),
    ("--step", "nan", ("--step: nan ",)),
    ("--step", "inf", ("--step: inf ",)),
])
def test_cli_field_options_a_check_cannot_use_are_one_line_user_errors(tmp_path, capsys, option,
                                                                      value, needles):
    """An unknown zone ended in a ZoneInfoNotFoundError traceback (exit 1); a completeness of
    150 % or NaN (a check that can never pass) and of 0 % (one that can never fail) ran."""
    ref = _reference(days=1)
    op = _write(tmp_path / "op.csv", "ev", _operator(ref, 0.3))
    rf = _write(tmp_path / "ref.csv", "ev_ref", ref)
    before = sorted(tmp_path.iterdir())
    code = main(["accuracy", "field", str(op), str(rf), "--operator-class", "B",
                 "--reference-class", "C", option, value])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert all(n in lines[0] for n in needles), lines[0]
    assert sorted(tmp_path.iterdir()) == before


def test_cli_field_step_zero_means_exact_values_without_warnings(tmp_path, capsys):
    """``--step 0`` with intervals of zero energy on the reference printed numpy's "invalid value
    encountered in divide"; exact values get the classes' MPE alone as their limit."""
    ref = _reference(days=1)
    qty = ref.quantity.copy()
    qty[:10] = 0.0
    ref = IntervalSeries(ref.start_ms, qty, ref.quality, ref.resolution_ms)
    op = _write(tmp_path / "op.csv", "ev", _operator(ref, 0.3))
    rf = _write(tmp_path / "ref.csv", "ev_ref", ref)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code = main(["accuracy", "field", str(op), str(rf), "--operator-class", "B",
                     "--reference-class", "C", "--step", "0", "--json"])
    captured = capsys.readouterr()
    assert code == 0 and captured.err == "", captured.err
    doc = json.loads(captured.out)
    assert doc["compared"] == 96 - 10
    bias = next(r for r in doc["records"] if r["check"] == "field.bias")
    assert bias["data"]["u_quantization_pct"] == 0.0


def test_field_settings_refuse_thresholds_that_cannot_judge():
    for bad in (dict(completeness_min_pct=150.0), dict(completeness_min_pct=float("nan")),
                dict(completeness_min_pct=0.0), dict(operator_step_kwh=-0.001),
                dict(reference_step_kwh=float("inf")), dict(zone="Mars/Base")):
        with pytest.raises(ValueError):
            FieldSettings("B", "C", **bad)
    FieldSettings("B", "C", operator_step_kwh=0.0, reference_step_kwh=0.0)


def test_cli_field_refuses_a_meter_compared_with_itself(tmp_path, capsys):
    """``--operator-meter ev --reference-meter ev`` on one file passed every check silently."""
    ref = _reference(days=1)
    both = tmp_path / "both.csv"
    with both.open("w", encoding="utf-8") as fh:
        write_intervals([IntervalRow("ev", "energy.import", _operator(ref, 0.3)),
                         IntervalRow("ev_ref", "energy.import", ref)], fh)
    for argv in (["--operator-meter", "ev", "--reference-meter", "ev"],
                 ["--operator-meter", "ev_ref", "--reference-meter", "ev_ref"]):
        code = main(["accuracy", "field", str(both), str(tmp_path / "." / "both.csv"),
                     "--operator-class", "B", "--reference-class", "C", *argv])
        captured = capsys.readouterr()
        assert code == 2 and captured.out == ""
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and "both.csv: --reference-meter" in lines[0], captured.err
        assert "same meter" in lines[0]
    # two meters of one file are a pair
    assert main(["accuracy", "field", str(both), str(both), "--operator-class", "B",
                 "--reference-class", "C", "--operator-meter", "ev",
                 "--reference-meter", "ev_ref"]) == 0
    capsys.readouterr()


def test_cli_field_with_nothing_compared_fails_and_prints_no_nan(tmp_path, capsys):
    ref = _reference(days=1)
    later = IntervalSeries(ref.start_ms + 7 * 24 * MS_PER_HOUR, ref.quantity, ref.quality,
                           ref.resolution_ms)
    op = _write(tmp_path / "op.csv", "ev", later)
    rf = _write(tmp_path / "ref.csv", "ev_ref", ref)
    code = main(["accuracy", "field", str(op), str(rf), "--operator-class", "B",
                 "--reference-class", "C"])
    out = capsys.readouterr().out
    assert code == 1 and "nan" not in out.lower(), out
    assert out.startswith("ev vs ev_ref: fail — 0 of 96 intervals compared")
    assert not [line for line in out.splitlines() if line.lstrip().startswith("pass ")], out


def test_cli_plan_warns_when_the_register_is_too_coarse(capsys):
    assert main(["accuracy", "plan", "sim-lab"]) == 0
    assert "pulses gate" in capsys.readouterr().out  # sim-lab's points: the pulse method
    # the pulse method's points do not care about the register; the register tests (starting,
    # dial) and the register method do
    assert main(["accuracy", "plan", "sim-lab", "--register-kwh", "900000", "--json"]) == 1
    rows = json.loads(capsys.readouterr().out)
    warned = {r["point"] for r in rows if not r["reachable"]}
    assert warned and warned <= {"starting (Ist)", "register (dial) test"}
    assert main(["accuracy", "plan", "sim-lab", "--register-kwh", "900000", "--method",
                 "register", "--json"]) == 1
    rows = json.loads(capsys.readouterr().out)
    # float32 near 9e5 kWh has a 0.0625 kWh step (IEEE 754 binary32): low-current points cannot make it
    assert any(not r["reachable"] and "capped" in r["warning"] for r in rows)
    assert rows[0]["step_kwh"] == 0.0625


def _sim_lab_data():
    text = resources.files("meterbench").joinpath("benches", "sim-lab.toml").read_text("utf-8")
    return load_toml(Path("sim-lab.toml"), text)


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["meter"][0]["rating"].update(i_ref=6.0), "meter[0].rating.i_ref"),
    (lambda d: d["meter"][0].update(role="operator"), "lab.meter"),
    (lambda d: d["meter"][1].pop("rating"), "lab.meter"),
    (lambda d: d["lab"]["plan"].update(rule="lenient"), "lab.plan.rule"),
    (lambda d: d["lab"]["plan"].update(kind="custom"), "lab.plan.points"),
    (lambda d: d["lab"]["plan"].update(temperature_c=90.0), "lab.plan.temperature_c"),
    (lambda d: d["lab"]["sim"][0].update(meter="nobody"), "lab.sim[0].meter"),
    (lambda d: d["instrument"][1]["sim"].update(error_pct=0.05), "instrument[1].sim.error_pct"),
    (lambda d: d["instrument"][1].update(driver="acme9000"), "instrument[1].driver"),
    (lambda d: d["instrument"][1].update(role="source"), "instrument[1].role"),
    (lambda d: d["instrument"][0].update(role="reference"), "instrument[0].role"),
    (lambda d: d["instrument"].pop(1), "instrument"),
    (lambda d: d["instrument"][1].pop("accuracy_pct"), "instrument[1].accuracy_pct"),
    (lambda d: d["instrument"][1].update(accuracy_pct=0.0), "instrument[1].accuracy_pct"),
    (lambda d: d["instrument"][0].update(colour="red"), "instrument[0].colour"),
    (lambda d: d["lab"].update(source="TCPIP::1.2.3.4::5025::SOCKET"), "lab.source"),
    (lambda d: d["lab"].update(reference_accuracy_pct=0.02), "lab.reference_accuracy_pct"),
    (lambda d: d["lab"]["plan"].update(points=[{"current": "0.1 Iref"}]), "lab.plan.points"),
    (lambda d: [m["rating"].update(i_max=40.0) for m in d["meter"]], "meter[*].rating.i_max"),
])
def test_lab_bench_file_errors_name_the_field(mutate, field):
    data = _sim_lab_data()
    mutate(data)
    with pytest.raises(UserError) as exc:
        parse_bench(data, source="lab.toml")
    assert exc.value.source == "lab.toml"
    assert exc.value.field == field, exc.value.format()


def test_custom_plan_points_parse():
    data = _sim_lab_data()
    data["lab"]["plan"].update(kind="custom", points=[
        {"current": "0.1 Iref", "pf": "0.5 ind"}, {"current": 7.5, "phases": "L2"}])
    cfg = parse_bench(data, source="lab.toml")
    assert cfg.lab.plan.kind == "custom" and len(cfg.lab.plan.custom_points) == 2


def test_builtin_benches_parse():
    assert load_bench("sim-lab").lab.plan.kind == "initial"
    assert load_bench("sim").lab is None


@pytest.mark.parametrize("value, words", [
    ("1e40", "does not fit the Eastron SDM630 energy register"),  # float32 overflows
    ("nan", "is not a register value"),
    ("inf", "is not a register value"),
    ("-5", "is not a register value"),
])
def test_cli_plan_refuses_a_register_value_no_register_can_hold(capsys, value, words):
    assert main(["accuracy", "plan", "sim-lab", f"--register-kwh={value}"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "--register-kwh" in err[0] and words in err[0], err
    assert "Traceback" not in captured.err and not captured.out


def test_cli_plan_takes_a_new_meters_zero_register():
    assert main(["accuracy", "plan", "sim-lab", "--register-kwh", "0", "--json"]) == 0


def test_field_counts_read_as_english_in_the_text_output():
    from meterbench.cli.accuracy import _unit_for
    from meterbench.core.words import plural

    assert _unit_for(1.0, "intervals") == "interval" and _unit_for(2.0, "intervals") == "intervals"
    assert _unit_for(1.0, "days late") == "day late" and _unit_for(1.0, "%") == "%"
    assert plural(1, "interval") == "1 interval" and plural(96, "interval") == "96 intervals"
