"""``meterbench acquire`` and ``meterbench export`` through the real CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meterbench.acquisition.engine import MeterStats
from meterbench.acquisition.status import StatusDisplay
from meterbench.cli import main
from meterbench.store.run_store import Store

from .benchfiles import BENCH

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "meterbench", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO,
                            env=dict(os.environ))


@pytest.fixture(scope="module")
def acquired(tmp_path_factory):
    """A run stopped by SIGTERM after its first commit."""
    tmp = tmp_path_factory.mktemp("acq")
    bench = tmp / "acq.toml"
    bench.write_text(BENCH)
    out = tmp / "run"
    proc = cli("acquire", str(bench), "--out", str(out), "--log-commits")
    assert proc.stderr is not None
    lines = []
    deadline = time.monotonic() + 30
    for line in proc.stderr:  # read until the first commit
        lines.append(line)
        if line.startswith("commit:") or time.monotonic() > deadline:
            break
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    stdout, rest = proc.communicate(timeout=30)
    return dict(bench=bench, out=out, code=proc.returncode, stderr="".join(lines) + rest,
                stdout=stdout)


def test_sigterm_stops_cleanly_with_a_summary(acquired):
    assert acquired["code"] == 0, acquired["stderr"]
    assert "stopped (signal SIGTERM)" in acquired["stderr"]
    assert f"run: {acquired['out']}" in acquired["stdout"]
    with Store(acquired["out"] / "store.sqlite") as s:
        kinds = [e["kind"] for e in s.events()]
        assert kinds[0] == "session_started" and kinds[-1] == "session_stopped"
        assert s.events("session_stopped")[0]["detail"] == "signal SIGTERM"
        meta = s.meta()
        assert meta["bench"]["sha256"] and "simulate = true" in meta["bench"]["text"]
        assert meta["software"]["meterbench"]
        assert meta["acquire_clock"]["scale"] == 600
        n = s.reading_count()
    doc = json.loads((acquired["out"] / "acquisition.json").read_text())
    session = doc["sessions"][0]
    assert session["reason"] == "signal SIGTERM" and doc["readings"] == n
    assert session["totals"]["ok"] * 3 == n  # every answered poll stored, 3 channels each


def test_status_lines_in_a_log_say_when(tmp_path, capsys):
    """The log-mode status line had no time (``acquire: 3 meters: ...``) though the docs show
    ``acquire: 2026-06-01T08:15:00Z 4 meters: ...``."""
    import re

    bench = tmp_path / "acq.toml"
    bench.write_text(BENCH)
    assert main(["acquire", str(bench), "--out", str(tmp_path / "run"), "--duration", "1s"]) == 0
    err = capsys.readouterr().err  # not a terminal: the log form
    assert re.search(r"^acquire: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ 3 meters: \d+/\d+ polls ok",
                     err, re.M), err


def test_export_csv_and_parquet_hold_every_reading(acquired, tmp_path):
    out = acquired["out"]
    assert main(["export", str(out), "--format", "csv", "--all",
                 "--out", str(tmp_path / "r.csv")]) == 0
    with Store(out / "store.sqlite") as s:
        n = s.reading_count()
        first = next(s.iter_readings())[0]
    rows = list(csv.DictReader(open(tmp_path / "r.csv", encoding="utf-8")))
    assert len(rows) == n
    assert list(rows[0]) == ["meter", "time", "channel", "value", "flag", "tick_utc",
                             "request_utc", "response_utc"]
    assert rows[0]["meter"] == first[0] and float(rows[0]["value"]) == first[5]
    assert rows[0]["tick_utc"].endswith("Z")
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow (the 'export' extra) not installed")
    assert main(["export", str(out), "--format", "parquet", "--all"]) == 0
    table = pq.read_table(out / "readings.parquet")
    assert table.num_rows == n
    assert str(table.schema.field("tick_utc").type) == "timestamp[ms, tz=UTC]"
    assert table.column("value").to_pylist()[0] == first[5]


def test_export_without_pyarrow_is_a_clear_user_error(acquired, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import fails as if not installed
    assert main(["export", str(acquired["out"]), "--format", "parquet"]) == 2
    err = capsys.readouterr().err
    assert "needs pyarrow" in err and "meterbench[export]" in err


def test_export_of_a_folder_without_store(tmp_path, capsys):
    assert main(["export", str(tmp_path)]) == 2
    assert "no store.sqlite" in capsys.readouterr().err


def test_resume_with_another_bench_file_is_refused(acquired, tmp_path, capsys):
    other = tmp_path / "other.toml"
    other.write_text(BENCH.replace("seed = 7", "seed = 8"))
    assert main(["acquire", str(other), "--out", str(acquired["out"]), "--duration", "1s"]) == 2
    assert "different bench file" in capsys.readouterr().err


def test_resume_cannot_change_the_clock_scale(acquired, capsys):
    code = main(["acquire", str(acquired["bench"]), "--out", str(acquired["out"]),
                 "--duration", "1s", "--scale", "60"])
    assert code == 2
    assert "scale 600" in capsys.readouterr().err


def test_bad_duration_is_a_user_error(acquired, capsys):
    assert main(["acquire", str(acquired["bench"]), "--duration", "soon"]) == 2
    assert "--duration" in capsys.readouterr().err


def _stats():
    ok, bad = MeterStats(), MeterStats()
    for k in range(10):
        ok.polls += 1
        ok.ok += 1
        ok.lateness_ms.append(10 + k)
        ok.last_value = 1234.5
    bad.polls, bad.errors, bad.consecutive_failures = 4, 4, 4
    bad.last_error = "ModbusTimeoutError: unit 1: no answer"
    return {"good": ok, "bad": bad}


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1"])
def test_a_status_interval_that_is_not_a_positive_number_is_refused(value, tmp_path, capsys):
    """NaN was accepted, and 0 was refused without saying what was expected."""
    out = tmp_path / "run"
    assert main(["acquire", "sim", "--out", str(out), "--status-interval", value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--status-interval" in err
    assert "(expected a positive number of seconds" in err
    assert not out.exists()


def test_a_folder_given_as_the_bench_says_what_was_expected(tmp_path, capsys):
    folder = tmp_path / "RH"
    folder.mkdir()
    assert main(["acquire", str(folder), "--out", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a directory, not a bench file (expected " in err


def test_status_log_lines_when_not_a_terminal():
    buf = io.StringIO()
    show = StatusDisplay(buf, tty=False, log_interval_s=0.0)
    show(_stats())
    text = buf.getvalue()
    assert "2 meters: 10/14 polls ok (71.43 %)" in text
    assert "acquire: bad failing for 4 polls: ModbusTimeoutError" in text
    assert "\x1b[" not in text  # no terminal control codes in a log


def test_status_table_redrawn_in_place_on_a_terminal():
    buf = io.StringIO()
    show = StatusDisplay(buf, tty=True)
    show(_stats())
    show(_stats())
    first, second = buf.getvalue().split("\x1b[J")[1:3]
    assert "\x1b[4F" in buf.getvalue()  # cursor back up over the 4 lines drawn
    lines = first.splitlines()
    assert lines[1].startswith("meter") and "last error" in lines[1]
    assert lines[2].startswith("bad") and "ModbusTimeoutError" in lines[2]  # failing first
    assert lines[3].startswith("good") and "1234.500" in lines[3] and "100.00" in lines[3]


def test_a_fresh_real_acquisition_refuses_an_absent_serial_device(tmp_path, capsys):
    bench = tmp_path / "real.toml"
    missing = tmp_path / "ttyUSB9"
    assert "simulate = true" in BENCH and 'role = "main"' in BENCH
    bench.write_text(BENCH.replace("simulate = true", "simulate = false").replace(
        'role = "main"', f'role = "main"\ntransport = {{ kind = "rtu", device = "{missing}" }}', 1))
    out = tmp_path / "run"
    code = main(["acquire", str(bench), "--out", str(out), "--duration", "1s"])
    err = capsys.readouterr().err
    assert code == 2 and f"serial device {missing}" in err
    assert not out.exists()  # nothing created for an acquisition that never started


def test_export_of_a_run_stopped_early_says_the_period_is_not_covered(acquired, tmp_path,
                                                                      capsys):
    """Stopped after its first commit, the run holds readings for a sliver of its bench period
    at most: the default export says which spans differ and how to get every reading."""
    assert main(["export", str(acquired["out"]), "--out", str(tmp_path / "r.csv")]) == 0
    err = capsys.readouterr().err
    note = next(line for line in err.splitlines() if line.startswith("note:"))
    assert "the bench period is" in note and "the readings span" in note, note
    assert ("not been reached yet; --all" in note or "stopped before the period's end" in note), note
    assert main(["export", str(acquired["out"]), "--all", "--out", str(tmp_path / "a.csv")]) == 0
    assert "note:" not in capsys.readouterr().err  # --all is not cut to the period
