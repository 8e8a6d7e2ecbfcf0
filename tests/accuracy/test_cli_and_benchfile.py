"""``meterbench accuracy`` and the lab bench file: user errors name file and field."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from meterbench.cli import main
from meterbench.cli.pipeline_csv import IntervalRow, write_intervals
from meterbench.config.bench_file import load_bench, parse_bench
from meterbench.config.strict_toml import load_toml
from meterbench.core.errors import UserError
from meterbench.core.timeutil import MS_PER_HOUR

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
    bad = tmp_path / "d.csv"
    bad.write_text("day,delivered\nyesterday,2026-06-02T05:00:00Z\n")
    code = main(["accuracy", "field", str(rf), str(rf), "--operator-class", "B",
                 "--reference-class", "C", "--deadline", "10:00", "--deliveries", str(bad)])
    assert code == 2
    err = capsys.readouterr().err
    assert "d.csv: row 2: day" in err and "YYYY-MM-DD" in err


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
