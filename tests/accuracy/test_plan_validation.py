"""A lab plan that would make a test meaningless, or two records out of one, is refused when the
bench file is loaded (one line naming file and field, exit 2, nothing created)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from meterbench.accuracy.evaluate import Limit, point_records
from meterbench.accuracy.executor import Measurement
from meterbench.accuracy.planner import DurationPlan
from meterbench.accuracy.plans import TestPoint, plan_points
from meterbench.cli import main
from meterbench.config.bench_file import parse_bench
from meterbench.config.strict_toml import load_toml
from meterbench.core.errors import UserError

from .labkit import RATING_B


def _sim_lab_data():
    text = resources.files("meterbench").joinpath("benches", "sim-lab.toml").read_text("utf-8")
    return load_toml(Path("sim-lab.toml"), text)


def _refused(data) -> UserError:
    with pytest.raises(UserError) as exc:
        parse_bench(data, source="lab.toml")
    assert exc.value.source == "lab.toml"
    return exc.value


@pytest.mark.parametrize("points, bad", [
    # two given names alike (the reviewer's case: 0.1 Iref and Imax merged into one record)
    ([{"current": "0.1 Iref", "pf": "1", "name": "check"},
      {"current": "Imax", "pf": "1", "name": "check"}], 1),
    # a given name equal to the name another point is given by its current, PF and phases
    ([{"current": "Iref", "pf": "1"}, {"current": "Imax", "pf": "1", "name": "Iref PF 1"}], 1),
    ([{"current": "Imax", "pf": "1", "name": "Iref PF 1"}, {"current": "Iref", "pf": "1"}], 1),
    # the same point twice: its runs would be four, paired as two
    ([{"current": "Iref"}, {"current": "Imax"}, {"current": "Iref"}], 2),
])
def test_duplicate_point_names_are_refused_naming_the_point(points, bad):
    data = _sim_lab_data()
    data["lab"]["plan"].update(kind="custom", points=points)
    err = _refused(data)
    assert err.field == f"lab.plan.points[{bad}].name", err.format()
    assert "unique" in err.expected


def test_plan_points_refuses_duplicate_names_for_api_callers():
    with pytest.raises(ValueError, match="unique"):
        plan_points("custom", RATING_B, [{"current": "0.1 Iref", "name": "check"},
                                         {"current": "Imax", "name": "check"}])


def _run(point: TestPoint, direction: str, error_pct: float) -> Measurement:
    ref = 1.0
    return Measurement(meter="m", point=point, direction=direction,
                       meter_kwh=ref * (1 + error_pct / 100), reference_kwh=ref, gate_ms=60_000,
                       window_ms=1.0, step_kwh=1e-6,
                       plan=DurationPlan(60_000, ref, 0.667, 0.03, True))


def test_point_records_never_merge_two_points_by_name():
    """Even if two different points reach the evaluation with one name, they stay two records
    (the failing one is not averaged away)."""
    low = TestPoint("check", 0.5)
    high = TestPoint("check", 20.0)
    runs = [_run(low, "rising", 2.887), _run(high, "rising", 0.29),
            _run(high, "falling", 0.29), _run(low, "falling", 2.887)]
    recs = point_records(runs, limit=lambda m, p: Limit(2.0, "test"),
                         reference_accuracy_pct=0.02, rule="non_binary")
    assert len(recs) == 2
    by_current = {r.data["current_a"]: r for r in recs}
    assert by_current[0.5].verdict == "fail" and by_current[0.5].value == pytest.approx(2.887)
    assert by_current[20.0].verdict == "pass"


def test_cli_refuses_duplicate_names_before_creating_a_run_folder(tmp_path, capsys):
    bench = tmp_path / "dup.toml"
    text = resources.files("meterbench").joinpath("benches", "sim-lab.toml").read_text("utf-8")
    text = text.replace('kind = "initial"', 'kind = "custom"\npoints = [{ current = "0.1 Iref", '
                        'pf = "1", name = "check" }, { current = "Imax", pf = "1", '
                        'name = "check" }]')
    bench.write_text(text)
    out = tmp_path / "runs"
    assert main(["run", str(bench), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lab.plan.points[1].name" in err[0], err
    assert not out.exists()


@pytest.mark.parametrize("constant", [0.0, -1_000_000.0])
def test_a_reference_constant_that_is_not_positive_is_refused_at_load(constant):
    data = _sim_lab_data()
    data["instrument"][2]["reference_constant"] = constant
    err = _refused(data)
    assert err.field == "instrument[2].reference_constant", err.format()
    assert "> 0" in err.expected


@pytest.mark.parametrize("command", [["accuracy", "plan"], ["run"]])
def test_a_zero_reference_constant_is_one_line_and_no_run_folder(tmp_path, capsys, command):
    bench = tmp_path / "lab.toml"
    text = resources.files("meterbench").joinpath("benches", "sim-lab.toml").read_text("utf-8")
    bench.write_text(text.replace("reference_constant = 1000000.0  #",
                                  "reference_constant = 0.0  #"))
    out = tmp_path / "runs"
    extra = ["--out", str(out)] if command == ["run"] else []
    assert main([*command, str(bench), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "instrument[2].reference_constant" in err[0], err
    assert not out.exists()


@pytest.mark.parametrize("key, value, field", [
    ("creep_duration", "0s", "lab.plan.creep_duration"),    # the no-load test could never fail
    ("creep_duration", "PT0S", "lab.plan.creep_duration"),
    ("dial_kwh", -1.0, "lab.plan.dial_kwh"),                 # the dial test silently vanished
    ("dial_kwh", -1e-9, "lab.plan.dial_kwh"),
])
def test_plan_values_that_make_a_test_meaningless_are_refused(key, value, field):
    data = _sim_lab_data()
    data["lab"]["plan"][key] = value
    err = _refused(data)
    assert err.field == field, err.format()
    assert err.expected


def test_point_names_that_differ_only_in_spaces_are_the_same_name():
    data = _sim_lab_data()
    data["lab"]["plan"].update(kind="custom", points=[
        {"current": "0.1 Iref", "pf": "1", "name": "x"},
        {"current": "Imax", "pf": "1", "name": "x "}])
    err = _refused(data)
    assert err.field == "lab.plan.points[1].name", err.format()


def test_a_zero_creep_duration_is_accepted_when_there_is_no_no_load_test():
    data = _sim_lab_data()
    data["lab"]["plan"].update(creep=False, creep_duration="0s")
    assert parse_bench(data, source="lab.toml").lab.plan.creep is False


def test_dial_kwh_zero_means_no_register_test():
    data = _sim_lab_data()
    data["lab"]["plan"]["dial_kwh"] = 0.0
    assert parse_bench(data, source="lab.toml").lab.plan.dial_kwh == 0.0


def _one_line(data) -> str:
    return _refused(data).format()


def test_an_invalid_custom_current_says_what_is_expected_once():
    data = _sim_lab_data()
    data["lab"]["plan"].update(kind="custom", points=[{"current": "half of Iref"}])
    text = _one_line(data)
    assert "lab.plan.points[0].current" in text and text.count("(expected") == 1, text


@pytest.mark.parametrize("update, field", [
    ({"points": [{"current": "Iref"}]}, "lab.plan.points"),          # kind = "initial"
    ({"min_gate": "60s", "max_gate": "30s"}, "lab.plan.max_gate"),
])
def test_plan_errors_say_what_was_expected(update, field):
    data = _sim_lab_data()
    data["lab"]["plan"].update(update)
    err = _refused(data)
    assert err.field == field and err.expected, err.format()


def test_a_limits_directory_is_not_called_missing(tmp_path):
    data = _sim_lab_data()
    data["lab"]["plan"]["limits"] = "."
    with pytest.raises(UserError) as exc:
        parse_bench(data, source=str(tmp_path / "lab.toml"))
    assert exc.value.field == "lab.plan.limits"
    assert "is a directory" in exc.value.message and "not found" not in exc.value.message
