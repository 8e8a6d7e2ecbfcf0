"""The bench file: the built-in bench parses, and every mistake names file and field."""

import pytest

from meterbench.config.bench_file import builtin_names, load_bench
from meterbench.core.errors import UserError

SIM = load_bench("sim")


def write(tmp_path, text):
    p = tmp_path / "bench.toml"
    p.write_text(text, encoding="utf-8")
    return str(p)


def sim_text():
    from importlib import resources
    return resources.files("meterbench").joinpath("benches", "sim.toml").read_text("utf-8")


def test_builtin_sim_bench_describes_the_household():
    assert "sim" in builtin_names()
    assert SIM.simulate
    roles = {m.id: m.role for m in SIM.meters}
    assert roles == {"main": "main", "ev": "operator", "heat_pump": "operator", "ev_ref": "reference"}
    assert SIM.meter("ev_ref").reference_for == "ev"
    assert {m.accuracy_class for m in SIM.by_role("operator")} == {"B"}
    assert SIM.meter("ev_ref").accuracy_class == "C"
    assert SIM.run.end_ms - SIM.run.start_ms == 24 * 3_600_000  # a normal June day
    assert SIM.load("ev").power_w == 11000


def test_hash_identifies_the_file_text(tmp_path):
    path = write(tmp_path, sim_text())
    assert load_bench(path).sha256 == SIM.sha256
    path2 = write(tmp_path, sim_text().replace("seed = 20260601", "seed = 1"))
    assert load_bench(path2).sha256 != SIM.sha256


def test_dst_day_has_23_hours(tmp_path):
    cfg = load_bench(write(tmp_path, sim_text().replace('date = "2026-06-01"', 'date = "2026-03-29"')))
    assert cfg.run.end_ms - cfg.run.start_ms == 23 * 3_600_000


@pytest.mark.parametrize("change,field,words", [
    (("[bench]", "[bench\n"), None, "TOML syntax error"),
    (("seed = 20260601", "seed = 20260601\nsede = 3"), "sede", "unknown field"),
    (("seed = 20260601", 'seed = "x"'), "bench.seed", "wrong type"),
    (('class = "C"', 'class = "D"'), "class", "unknown value"),
    (('id = "heat_pump"\nrole', 'id = "ev"\nrole'), "meter[2].id", "duplicate meter id"),
    (('loads = ["ev"]\nsim = { error_pct = -0.6', 'loads = ["car"]\nsim = { error_pct = -0.6'),
     "loads", "unknown load"),
    (('gsrn = "571313100000000201"', 'gsrn = "571313100000000202"'), "gsrn", "not a valid GSRN"),
    (('reference_for = "ev"', 'reference_for = "main"'), "reference_for", "names"),
    (('poll_period = "1min"', 'poll_period = "1h"'), "run.poll_period", "out of range"),
    (('timezone = "Europe/Copenhagen"', 'timezone = "Mars/Olympus"'), "bench.timezone", "unknown time zone"),
])
def test_mistakes_name_file_and_field(tmp_path, change, field, words):
    old, new = change
    text = sim_text()
    assert old in text
    path = write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(UserError) as e:
        load_bench(path)
    msg = e.value.format()
    assert msg.startswith(path)
    assert words in msg
    if field:
        assert field in msg


def test_unknown_builtin_lists_the_known_ones():
    with pytest.raises(UserError, match="sim"):
        load_bench("no-such-bench")


def test_missing_file():
    with pytest.raises(UserError, match="not found"):
        load_bench("missing/bench.toml")
