"""meterbench sim / report / daily through the real command line."""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meterbench.config.bench_file import load_bench

MB = [sys.executable, "-m", "meterbench"]
SCHEMAS = Path(__file__).resolve().parents[2].parent / "shared" / "datahub" / "schemas"


def test_sim_serves_the_bench_until_interrupted_and_other_clients_read_it():
    import asyncio

    from meterbench.instruments.modbus import ModbusMeter, TcpTransport
    from meterbench.instruments.registers import load_register_map

    proc = subprocess.Popen([*MB, "sim", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        endpoints = json.loads(proc.stdout.readline())
        assert {e["name"] for e in endpoints} == {m.id for m in load_bench("sim").meters}
        assert all(e["host"] == "127.0.0.1" and e["port"] > 0 for e in endpoints)

        async def read(ep):
            async with ModbusMeter(load_register_map(ep["model"]), TcpTransport(ep["host"], ep["port"]),
                                   ep["unit_id"]) as m:
                return (await m.read(["energy.import", "voltage.l1"])).values

        values = asyncio.run(read(endpoints[1]))
        assert values["energy.import"] >= load_bench("sim").meter("ev").sim.initial_import_kwh
        assert values["voltage.l1"] == pytest.approx(230.0)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_report_re_renders_a_run_from_its_folder(tmp_path):
    out = tmp_path / "run"
    tiny = Path(__file__).resolve().parents[1] / "plugin" / "tiny.toml"
    assert subprocess.run([*MB, "run", str(tiny), "--out", str(out), "-q", "-m", "field"],
                          capture_output=True, timeout=300).returncode == 0
    (out / "report.html").unlink()
    proc = subprocess.run([*MB, "report", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and (out / "report.html").is_file()
    copy = tmp_path / "moved"
    shutil.copytree(out, copy)  # a run folder is self-contained
    (copy / "report.html").unlink()
    assert subprocess.run([*MB, "report", str(copy)], capture_output=True, timeout=120).returncode == 0
    assert "virtual main point" in (copy / "report.html").read_text()


def test_report_on_a_folder_that_is_not_a_run_is_a_user_error(tmp_path):
    proc = subprocess.run([*MB, "report", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "results.json" in proc.stderr


@pytest.mark.slow
def test_daily_delivers_the_25_hour_day_as_valid_messages(tmp_path, cli_env):
    args = [*MB, "daily", "sim", "--date", "2026-10-25", "--format", "xml",
            "--created", "2026-10-26T06:00:00Z"]
    if SCHEMAS.is_dir():
        args += ["--schemas", str(SCHEMAS)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env=cli_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "100 values, 100 measured, 0 estimated, 0 missing" in proc.stdout
    assert "0 rejected" in proc.stdout
    files = sorted((tmp_path / "runs" / "daily-sim-2026-10-25" / "outbox" / "2026-10-25").glob("*.xml"))
    assert [f.name for f in files] == ["571313100000000201_2026-10-25.xml",
                                      "571313100000000300_2026-10-25.xml"]
    # a second call delivers again from the stored readings, byte for byte the same
    before = [f.read_bytes() for f in files]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env=cli_env)
    assert proc.returncode == 0 and "using the readings already" in proc.stderr
    assert [f.read_bytes() for f in files] == before


def test_daily_on_a_bad_date_is_a_user_error():
    proc = subprocess.run([*MB, "daily", "sim", "--date", "25/10/2026"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "--date" in proc.stderr and "Traceback" not in proc.stderr


def test_sim_serves_a_lab_where_the_source_drives_the_meters_under_test(cli_env):
    """`meterbench sim sim-lab`: set the simulated Fluke over SCPI, watch the meter count over Modbus."""
    import asyncio
    import time

    from meterbench.instruments.modbus import ModbusMeter, TcpTransport
    from meterbench.instruments.registers import load_register_map
    from meterbench.instruments.scpi.fluke6105a import Fluke6105A

    proc = subprocess.Popen([*MB, "sim", "sim-lab", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=cli_env)
    try:
        served = json.loads(proc.stdout.readline())
        ep = served["meters"][0]

        async def energy():
            async with ModbusMeter(load_register_map(ep["model"]), TcpTransport(ep["host"], ep["port"]),
                                   ep["unit_id"]) as m:
                return (await m.read(["energy.import"])).values["energy.import"]

        source = Fluke6105A.open(served["instruments"]["source"])
        try:
            before = asyncio.run(energy())
            time.sleep(0.3)
            assert asyncio.run(energy()) == before  # output off: nothing flows
            source.apply(voltage_v=(230.0, 230.0, 230.0), current_a=(20.0, 20.0, 20.0),
                         phi_deg=(0.0, 0.0, 0.0))
            source.output_on()
            t0 = time.monotonic()
            time.sleep(1.0)
            gained = asyncio.run(energy()) - before
            elapsed_h = (time.monotonic() - t0) / 3600
        finally:
            source.close()
        assert 0 < gained <= 3 * 230 * 20 / 1000 * (elapsed_h + 1 / 3600) * 1.05
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err


def test_daily_counts_a_day_without_readings_and_require_complete_fails_it(
        tmp_path, monkeypatch, capsys):
    """A day the store holds no reading of: all-A02 messages DataHub accepts, exit 0 with a
    warning; with --require-complete the same day fails (exit 1)."""
    import meterbench.cli

    monkeypatch.chdir(tmp_path)
    created = ["--created", "2026-06-02T06:00:00Z"]
    assert meterbench.cli.main(["daily", "sim", "--date", "2026-06-01", *created]) == 0
    run = str(tmp_path / "runs" / "daily-sim-2026-06-01")
    capsys.readouterr()
    assert meterbench.cli.main(["daily", "sim", "--date", "2026-06-02", "--run", run,
                                "--outbox", "o2", *created]) == 0
    out, err = capsys.readouterr()
    assert "0 rejected, 192 quarter-hour value(s) missing" in out
    assert "warning: 192 quarter-hour value(s) of 2026-06-02 are missing" in err
    assert meterbench.cli.main(["daily", "sim", "--date", "2026-06-02", "--run", run,
                                "--outbox", "o3", "--require-complete", *created]) == 1
    # the complete day passes the same requirement
    assert meterbench.cli.main(["daily", "sim", "--date", "2026-06-01", "--run", run,
                                "--outbox", "o4", "--require-complete", *created]) == 0


def test_help_texts_carry_no_documentation_markup(capsys):
    import argparse

    import meterbench.cli

    def every_parser(p):
        yield p
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    yield from every_parser(child)

    parsers = list(every_parser(meterbench.cli.build_parser()))
    assert len(parsers) > 15  # the subcommands and their own subcommands (fleet, datahub, ...)
    for p in parsers:
        assert "``" not in p.format_help(), p.prog


@pytest.mark.parametrize("duration", ["1s", "1", "PT1S"])
def test_sim_duration_reads_like_acquire(duration, cli_env):
    proc = subprocess.run([*MB, "sim", "--json", "--duration", duration], capture_output=True,
                          text=True, timeout=60, env=cli_env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[0])[0]["transport"] == "tcp"
    assert proc.stderr.strip().endswith("stopped")


def test_run_interrupted_exits_130_and_its_results_are_incomplete(tmp_path):
    """Ctrl-C is 130, and the run folder says what was measured until then with the verdict
    ``incomplete``: an interrupted run is never a pass. pytest reports a Ctrl-C and errors during
    collection with the same status (2): only a real interrupt may become 130."""
    out = tmp_path / "run"
    proc = subprocess.Popen([*MB, "run", "--out", str(out), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "running bench 'sim'" in proc.stderr.readline()
        time.sleep(0.5)  # inside the acquisition (about 2 s of the 3 s run on this bench)
    finally:
        proc.send_signal(signal.SIGINT)
        stdout, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    doc = json.loads((out / "results.json").read_text())
    assert doc["verdict"] == "incomplete"
    assert doc["summary"]["incomplete"].startswith("interrupted")
    assert "verdict: INCOMPLETE" in stdout
    acq = doc["acquisition"]  # what was counted until the interrupt, not zeros beside readings
    assert 0 < acq["polls_done"] <= acq["polls_scheduled"] and acq["readings"] > 0


def test_run_whose_suites_cannot_be_collected_is_an_environment_failure(tmp_path, monkeypatch):
    from meterbench.cli import main
    from meterbench.fixtures import plugin

    broken = tmp_path / "suites"
    shutil.copytree(plugin.SUITES_DIR, broken, ignore=shutil.ignore_patterns("__pycache__"))
    (broken / "test_truth.py").write_text("import a_module_that_is_not_installed\n")
    monkeypatch.setattr(plugin, "SUITES_DIR", broken)
    monkeypatch.setattr(plugin, "_in_suites", lambda path: False)  # a plain folder to pytest
    assert main(["run", "--out", str(tmp_path / "run"), "-q"]) == 3
