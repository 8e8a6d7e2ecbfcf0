"""The fourteen broken promises of the red-team pass, one test (or more) each; every test here
failed on the code before the fix. docs/reliability.md lists them next to the promise they keep.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import meterbench.cli
from meterbench.acquisition.longrun import run_acquisition
from meterbench.config.bench_file import load_bench
from meterbench.core.errors import UserError
from meterbench.core.quality import Quality
from meterbench.store.run_store import Store

from .helpers import (
    REPO_ROOT,
    TINY_BENCH,
    assert_one_line_error,
    cli_env,
    make_run,
    run_cli,
    tiny_bench_text,
)

ACQ_BENCH = (REPO_ROOT / "tests" / "acquire" / "benchfiles.py")
EV_GSRN = "571313100000000201"
MAIN = 'id = "main"\nrole = "main"\nmodel = "eastron_sdm630"\nclass = "B"\n'


def _acq_bench(tmp: Path, scale: float = 600) -> Path:
    """The acquisition tests' bench (scaled clock, 1-minute polls), at ``scale``."""
    spec = importlib.util.spec_from_file_location("acq_benchfiles", ACQ_BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = tmp / "acq.toml"
    path.write_text(module.BENCH.replace("scale = 600", f"scale = {scale}"))
    return path


def _acquire(bench: Path, out: Path, seconds: float, scale: float | None = None) -> None:
    run_acquisition(load_bench(str(bench)), out, duration_s=seconds, scale=scale,
                    install_signal_handlers=False)


def _can_mount() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True, check=False)
    return probe.returncode == 0


needs_mount = pytest.mark.skipif(not _can_mount(), reason="needs a private mount namespace "
                                 "(unshare -m, as root) to make a full or read-only file system")


def _in_namespace(script: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=cwd, env=cli_env(),
                          capture_output=True, text=True, timeout=timeout, check=False)


# ---- 1. a cycling load of zero length hung with unbounded memory -------------------------------
@pytest.mark.parametrize("command", ["run", "sim"])
def test_item01_zero_length_cycles_are_refused_not_looped(command: str, tmp_path: Path) -> None:
    text = TINY_BENCH.read_text() + ('\n[[load]]\nid = "hp"\nkind = "cycling"\npower_w = 2400\n'
                                     'on = "0s"\noff = "0s"\n')
    (tmp_path / "b.toml").write_text(text)
    argv = [command, "b.toml", *(["--out", "out"] if command == "run" else ["--duration", "1"])]
    proc = run_cli(*argv, cwd=tmp_path, timeout=60)  # before the fix: a hang (TimeoutExpired)
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, "load[2].on", "too short")
    assert not (tmp_path / "out").exists()


def test_item01_the_world_cannot_loop_on_zero_phases() -> None:
    from meterbench.instruments.sim.world import cycling_sessions

    with pytest.raises(ValueError, match="at least 1 s"):
        cycling_sessions(0, 3_600_000, np.random.default_rng(1), on_ms=0, off_ms=0)
    # the shortest allowed phases still advance time: a day of 1 s cycles ends
    got = cycling_sessions(0, 86_400_000, np.random.default_rng(1), on_ms=1000, off_ms=1000)
    assert 20_000 < len(got) <= 43_200 and all(b > a for a, b in got)


# ---- 2. the daily job's folder escaped runs/ through the bench name ----------------------------
def test_item02_bench_name_cannot_move_the_daily_folder(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    cwd = tmp_path / "a" / "b"
    cwd.mkdir(parents=True)
    (cwd / "b.toml").write_text(tiny_bench_text(**{'name = "tiny"':
                                                   'name = "x/../../../ESCAPED"'}))
    monkeypatch.chdir(cwd)
    assert meterbench.cli.main(["daily", "b.toml", "--date", "2026-06-01",
                                "--created", "2026-06-02T06:00:00Z"]) in (0, 1)
    escaped = [p for p in tmp_path.rglob("*ESCAPED*") if (cwd / "runs") not in p.parents]
    assert escaped == []
    made = list((cwd / "runs").iterdir())
    assert len(made) == 1 and made[0].name.startswith("daily-x_") and (made[0] /
                                                                      "store.sqlite").is_file()


# ---- 3. two meters with one GSRN: one message overwrote the other -------------------------------
def test_item03_one_gsrn_twice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    text = tiny_bench_text(**{'class = "C"\n': f'class = "C"\ngsrn = "{EV_GSRN}"\n'})
    (tmp_path / "b.toml").write_text(text)
    assert meterbench.cli.main(["daily", str(tmp_path / "b.toml"), "--date", "2026-06-01"]) == 2
    assert_one_line_error(capsys.readouterr().err, "meter[2].gsrn", "also the GSRN of meter 'ev'")


def test_item03_an_outbox_never_writes_two_messages_over_each_other(tmp_path: Path) -> None:
    from meterbench.datahub import Intervals, MeteringPoint, build_messages
    from meterbench.datahub.run_export import write_messages

    q = 900_000
    start = 1_780_264_800_000  # 2026-05-31T22:00Z, a Copenhagen day
    ivs = [Intervals(m, "energy.import", "PT15M", [start + k * q for k in range(96)],
                     [0.5] * 96, [int(Quality.MEASURED)] * 96) for m in ("a", "b")]
    points = [MeteringPoint(EV_GSRN, "E17", "physical", "PT15M", m, "energy.import")
              for m in ("a", "b")]
    messages = build_messages(ivs, points, "5790000000005", "5790001330583", start)
    assert len(messages) == 2
    with pytest.raises(UserError, match="two messages for metering point"):
        write_messages(messages, "json", tmp_path / "outbox")
    assert list((tmp_path / "outbox").iterdir()) == []


# ---- 4. resuming after the bench period ended recorded no gap ----------------------------------
def test_item04_resume_after_the_period_records_the_downtime(tmp_path: Path) -> None:
    bench = _acq_bench(tmp_path, scale=20_000)  # the whole day passes in about 4.5 wall seconds
    out = tmp_path / "run"
    t0 = time.monotonic()
    _acquire(bench, out, 0.4)
    time.sleep(max(0.0, 6.0 - (time.monotonic() - t0)))  # the period (and its margin) is over
    _acquire(bench, out, 5.0)
    with Store(out / "store.sqlite") as s:
        stops = [e["detail"] for e in s.events("session_stopped")]
        gaps = s.events("gap")
    assert stops[-1] == "bench period already acquired"
    assert {g["meter"] for g in gaps} == {"main", "ev", "ev_ref"}
    assert all("not taken" in g["detail"] for g in gaps)


# ---- 5. run --out into an acquisition's folder wrote into its store ----------------------------
def test_item05_run_refuses_an_acquisition_folder(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "acq"
    _acquire(_acq_bench(tmp_path), out, 0.5)
    with Store(out / "store.sqlite") as s:
        before = s.reading_count()
    assert before > 0
    assert meterbench.cli.main(["run", str(TINY_BENCH), "--out", str(out)]) == 2
    assert_one_line_error(capsys.readouterr().err, str(out), "holds an acquisition made by "
                          "'meterbench acquire'")
    with Store(out / "store.sqlite") as s:
        assert s.reading_count() == before


# ---- 6. tiny inputs, huge memory ---------------------------------------------------------------
@pytest.mark.parametrize(("argv", "files", "needle"), [
    (["intervals", "r.csv"], {"r.csv": "meter,time,channel,value\n"
                              "m,1971-01-01T00:00:00Z,energy.import,1\n"
                              "m,2099-01-01T00:00:00Z,energy.import,2\n"}, "above the limit"),
    (["intervals", "/dev/zero"], {}, "larger than 128 MiB"),
    (["datahub", "validate", "/dev/zero"], {}, "larger than 50 MiB"),
], ids=["century-span", "intervals-dev-zero", "validate-dev-zero"])
def test_item06_work_is_bounded_whatever_stat_says(argv: list[str], files: dict[str, str],
                                                   needle: str, tmp_path: Path) -> None:
    import resource

    for name, text in files.items():
        (tmp_path / name).write_text(text)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "meterbench", *argv], cwd=tmp_path,
                          env=cli_env(), capture_output=True, text=True, timeout=120,
                          check=False, preexec_fn=limit)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert_one_line_error(proc.stderr, needle)
    assert time.monotonic() - t0 < 30
    assert sorted(os.listdir(tmp_path)) == sorted(files)  # nothing written


# ---- 7. NaN, infinite, stopped and negative clocks ---------------------------------------------
@pytest.mark.parametrize("scale", ["nan", "inf", "1e-300", "-1"])
def test_item07_acquire_scale_is_checked_before_anything(scale: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    assert meterbench.cli.main(["acquire", str(_acq_bench(tmp_path)), "--scale", scale,
                                "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert_one_line_error(err, "--scale")
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


# ---- 8. tracebacks instead of one-line errors (more in test_bad_input_catalogue.py) -----------
@pytest.mark.parametrize(("old", "new", "field"), [
    ("seed = 7", "seed = -1", "bench.seed"),
    ("mean_w = 300", "mean_w = -450", "load[1].mean_w"),
    (MAIN, MAIN + 'transport = { kind = "rtu", device = "/dev/ttyUSB9", baud = 0 }\n',
     "meter[0].transport.baud"),
    (MAIN, MAIN + "max_power_w = -1\n", "meter[0].max_power_w"),
    (MAIN, MAIN + "rollover_kwh = 0\n", "meter[0].rollover_kwh"),
    ('date = "2026-06-01"', 'date = "0001-01-01"', "run.date"),
    ('date = "2026-06-01"', 'date = "9999-12-31"', "run.date"),
])
def test_item08_bad_values_are_one_line_before_any_folder(old: str, new: str, field: str,
                                                          tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "b.toml").write_text(tiny_bench_text(**{old: new}))
    out = tmp_path / "out"
    assert meterbench.cli.main(["run", str(tmp_path / "b.toml"), "--out", str(out)]) == 2
    assert_one_line_error(capsys.readouterr().err, field)
    assert not out.exists()


def test_item08_deep_nesting_and_a_reading_in_year_9999(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "deep.toml").write_text("x = " + "[" * 50_000 + "]" * 50_000 + "\n")
    assert meterbench.cli.main(["run", str(tmp_path / "deep.toml"), "--out", "o"]) == 2
    assert_one_line_error(capsys.readouterr().err, "nested too deeply")
    (tmp_path / "r.csv").write_text("meter,time,channel,value\nm,2026-06-01T00:00:00Z,"
                                    "energy.import,1\nm,9999-12-31T23:59:00Z,energy.import,2\n")
    assert meterbench.cli.main(["intervals", str(tmp_path / "r.csv")]) == 2
    assert_one_line_error(capsys.readouterr().err, "row 3", "supported range")


# ---- 9. I/O errors: exit 3, one line, no temporary files, the session closed -------------------
@needs_mount
def test_item09_disk_full_during_acquire(tmp_path: Path) -> None:
    bench = _acq_bench(tmp_path, scale=6000)  # fills the disk in a few seconds
    (tmp_path / "m").mkdir()
    py = sys.executable
    script = (f"mount -t tmpfs -o size=768k tmpfs m && {py} -m meterbench acquire {bench} --out "
              "m/run --duration 60s --status-interval 100 2>err; echo EXIT=$?; "
              f"{py} -c \"import json, sqlite3; db = sqlite3.connect('file:m/run/store.sqlite?"
              "mode=ro', uri=True); print('EVENTS=' + json.dumps(db.execute('SELECT kind, detail "
              "FROM events ORDER BY rowid').fetchall())); print('READINGS=%d' % db.execute("
              "'SELECT count(*) FROM readings').fetchone()[0])\"; ls -a m/run; cat err >&2")
    proc = _in_namespace(script, tmp_path)
    assert "EXIT=3" in proc.stdout, proc.stdout + proc.stderr
    env_lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("meterbench:")
                 and "error" in ln]
    assert len(env_lines) == 1 and env_lines[0].startswith("meterbench: environment error:")
    assert "Traceback" not in proc.stderr and "disk is full" in env_lines[0]
    events = json.loads(proc.stdout.split("EVENTS=")[1].splitlines()[0])
    assert events[-1][0] == "session_stopped" and "disk is full" in events[-1][1]
    assert int(proc.stdout.split("READINGS=")[1].splitlines()[0]) > 0  # kept
    assert ".tmp" not in proc.stdout


def _store_run(folder: Path, n: int) -> None:
    folder.mkdir(parents=True)
    with Store(folder / "store.sqlite") as s:
        for k in range(n):
            s.add_reading("m", "energy.import", k * 1000, k * 1000, float(k), tick_ms=k * 1000)


@needs_mount
@pytest.mark.parametrize("medium", ["full", "read-only"])
def test_item09_export_to_a_full_or_read_only_medium(medium: str, tmp_path: Path) -> None:
    _store_run(tmp_path / "run", 20_000)
    (tmp_path / "m").mkdir()
    mount = ("mount -t tmpfs -o size=64k tmpfs m" if medium == "full" else
             "mount -t tmpfs -o size=1m,ro tmpfs m")
    script = (f"{mount} && {sys.executable} -m meterbench export run --all --out m/r.csv; "
              "echo EXIT=$?; ls -a m")
    proc = _in_namespace(script, tmp_path)
    assert "EXIT=3" in proc.stdout, proc.stdout + proc.stderr
    assert_one_line_error(proc.stderr.replace("environment error", "error"), "m/r.csv")
    assert "r.csv" not in proc.stdout  # neither the file nor its .tmp


@pytest.mark.parametrize(("argv", "needle"), [
    (["datahub", "export", "RUN", "--out", "FILE"], "--out"),
    (["daily", "BENCH", "--date", "2026-06-01", "--outbox", "FILE"], "--outbox"),
    (["export", "RUN", "--out", "DIR"], "is a directory"),
    (["export", "RUN", "--out", "NOWHERE/r.csv"], "does not exist"),
])
def test_item09_outputs_that_cannot_be_written_are_one_line(argv: list[str], needle: str,
                                                            tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    _store_run(tmp_path / "run", 10)
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    subst = {"RUN": str(tmp_path / "run"), "FILE": str(tmp_path / "file"),
             "DIR": str(tmp_path / "dir"), "BENCH": str(TINY_BENCH),
             "NOWHERE/r.csv": str(tmp_path / "nowhere" / "r.csv")}
    assert meterbench.cli.main([subst.get(a, a) for a in argv]) == 2
    assert_one_line_error(capsys.readouterr().err, needle)
    assert not list(tmp_path.rglob("*.tmp")) and not (tmp_path / "run" / "outbox").exists()


# ---- 10. two acquisitions of one folder --------------------------------------------------------
def test_item10_a_second_writer_is_refused_naming_the_first(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    bench = _acq_bench(tmp_path)
    out = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-m", "meterbench", "acquire", str(bench), "--out",
                              str(out), "--duration", "60s", "--log-commits"], env=cli_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert first.stderr is not None
        for line in first.stderr:  # wait until it acquires
            if line.startswith("commit:"):
                break
        for argv in (["acquire", str(bench), "--out", str(out), "--duration", "1s"],
                     ["export", str(out)]):
            assert meterbench.cli.main(argv) == 2
            assert_one_line_error(capsys.readouterr().err, str(out),
                                  f"in use by process {first.pid}")
    finally:
        first.send_signal(signal.SIGKILL)  # dies holding the lock: the lock file stays behind
        first.wait(timeout=10)
    assert (out / ".lock").exists()
    # the dead holder's lock is taken over: the folder resumes
    assert meterbench.cli.main(["acquire", str(bench), "--out", str(out), "--duration",
                                "0.5s"]) == 0
    assert not (out / ".lock").exists()


# ---- 11. a run folder on read-only media ---------------------------------------------------------
@needs_mount
def test_item11_export_from_read_only_media(tmp_path: Path) -> None:
    _store_run(tmp_path / "run", 500)
    (tmp_path / "ro").mkdir()
    script = (f"mount --bind run ro && mount -o remount,bind,ro ro && {sys.executable} -m "
              "meterbench export ro --all --out r.csv; echo EXIT=$?")
    proc = _in_namespace(script, tmp_path)
    assert "EXIT=0" in proc.stdout, proc.stdout + proc.stderr
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert len(rows) == 500 and rows[-1]["value"] == "499.0"


# ---- 12. an export over the store replaced it ---------------------------------------------------
def test_item12_export_never_writes_over_the_store(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    _store_run(tmp_path / "run", 100)
    store = tmp_path / "run" / "store.sqlite"
    before = store.read_bytes()
    for out in (store, tmp_path / "run" / "." / "store.sqlite"):
        assert meterbench.cli.main(["export", str(tmp_path / "run"), "--out", str(out)]) == 2
        assert_one_line_error(capsys.readouterr().err, "would write over a file of the run folder")
    link = tmp_path / "innocent.csv"
    os.link(store, link)  # a hard link elsewhere to the store is the store
    assert meterbench.cli.main(["export", str(tmp_path / "run"), "--out", str(link)]) == 2
    capsys.readouterr()
    assert store.read_bytes() == before


# ---- 13. physically impossible bench values -----------------------------------------------------
@pytest.mark.parametrize(("old", "new", "field"), [
    ("power_w = 7400", "power_w = nan", "load[0].power_w"),
    ("power_w = 7400", "power_w = inf", "load[0].power_w"),
    ("power_w = 7400", "power_w = -7400", "load[0].power_w"),
    ("error_pct = 0.5", "error_pct = -150.0", "meter[1].sim.error_pct"),
    ("error_pct = 0.5", "initial_import_kwh = 1e30", "meter[1].sim.initial_import_kwh"),
    ("peak_w = 1200", "peak_w = 100", "load[1].peak_w"),
    (MAIN, MAIN + 'transport = { kind = "tcp", timeout = -1.0 }\n', "meter[0].transport.timeout"),
    (MAIN, MAIN + 'transport = { kind = "tcp", timeout = nan }\n', "meter[0].transport.timeout"),
])
def test_item13_impossible_values_are_refused(old: str, new: str, field: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "b.toml").write_text(tiny_bench_text(**{old: new}))
    assert meterbench.cli.main(["run", str(tmp_path / "b.toml"), "--out", "o"]) == 2
    assert_one_line_error(capsys.readouterr().err, field)


def test_item13_a_session_in_the_hour_the_clocks_skip(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    """Before: the world failed to build mid-run ("session ends before it starts")."""
    (tmp_path / "b.toml").write_text(tiny_bench_text(**{
        'date = "2026-06-01"': 'date = "2026-03-29"',
        '[["08:00", "09:30"]]': '[["02:30", "03:10"]]'}))
    assert meterbench.cli.main(["run", str(tmp_path / "b.toml"), "--out", "o"]) == 2
    assert_one_line_error(capsys.readouterr().err, "load[0].sessions[0]", "does not exist")


# ---- 14. minor ones ------------------------------------------------------------------------------
def _readings(rows: list[tuple[str, str, str, str]], flag: bool = False) -> str:
    head = "meter,time,channel,value" + (",flag" if flag else "")
    return "\n".join([head, *(",".join(r) for r in rows)]) + "\n"


def _intervals(tmp_path: Path, text: str, *argv: str,
               capsys: pytest.CaptureFixture) -> tuple[list[dict[str, str]], str]:
    (tmp_path / "r.csv").write_text(text)
    assert meterbench.cli.main(["intervals", str(tmp_path / "r.csv"), *argv]) == 0
    out = capsys.readouterr()
    return list(csv.DictReader(io.StringIO(out.out))), out.err


def test_item14a_a_75_second_outage_reaches_interval_quality(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture
                                                             ) -> None:
    """1-minute polls, the polls at 00:14 and 00:15 failed (75 s without an answer): readings
    4 minutes apart bracket the 00:15 boundary, within the default 5-minute --max-gap, so the
    interval stage alone calls both quarters measured; the failed polls make them estimated."""
    rows = []
    for m in range(0, 31):
        t = f"2026-06-01T00:{m:02d}:00Z"
        if m in (14, 15):
            rows.append(("m", t, "energy.import", "", "poll_failed"))
        else:
            rows.append(("m", t, "energy.import", f"{100 + m / 60:.6f}", ""))
    got, err = _intervals(tmp_path, _readings(rows, flag=True), capsys=capsys)  # type: ignore[arg-type]
    assert [(r["start"][-6:], r["quality"]) for r in got] == [
        ("00:00Z", "estimated"), ("00:15Z", "estimated")]
    assert "not watched" in err
    assert abs(sum(float(r["quantity"]) for r in got) - 0.5) < 1e-3  # energy kept


def test_item14a_run_analysis_carries_failed_polls(tmp_path: Path) -> None:
    from meterbench.run.analysis import analyse_meter
    from meterbench.store.run_store import Series

    cfg = load_bench(str(TINY_BENCH))
    spec = cfg.meter("ev")
    t = np.arange(cfg.run.start_ms - 600_000, cfg.run.end_ms + 600_000, 300_000, dtype=np.int64)
    keep = t != cfg.run.start_ms + 3_600_000  # one failed poll at 01:00 local
    s = Series(t[keep], (t[keep] - t[0]) / 3.6e9, np.zeros(keep.sum(), dtype=np.int64))
    readings = {"energy.import": s, "energy.export": Series(s.times_ms, s.values * 0, s.rtt_ms)}
    plain = analyse_meter(spec, readings, cfg.run.start_ms, cfg.run.end_ms, cfg.run.poll_ms)
    assert (plain.quarter["energy.import"].series.quality == Quality.MEASURED).all()
    outage = {"energy.import": np.array([cfg.run.start_ms + 3_600_000])}
    marked = analyse_meter(spec, readings, cfg.run.start_ms, cfg.run.end_ms, cfg.run.poll_ms,
                           outages=outage)
    q = marked.quarter["energy.import"].series.quality
    assert (q == Quality.ESTIMATED).sum() == 2 and (q == Quality.MEASURED).sum() == len(q) - 2


def test_item14b_a_glitch_reading_is_not_a_reset_plus_measured_energy(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rows = [("m", f"2026-06-01T00:{m:02d}:00Z", "energy.import",
             "996.000000" if m == 20 else f"{1000 + m / 60:.6f}") for m in range(0, 46)]
    got, err = _intervals(tmp_path, _readings(rows), capsys=capsys)
    assert [r["quality"] for r in got] == ["measured"] * 3
    assert max(float(r["quantity"]) for r in got) < 0.3  # no +4 kWh interval
    assert "glitch" not in err or "misread" in err


def test_item14b_the_rating_bounds_plausible_power() -> None:
    from meterbench.config.bench_file import load_bench as load

    text = (REPO_ROOT / "bench" / "benches" / "sim-lab.toml").read_text()
    assert "rating" in text
    cfg = load("sim-lab")
    rated = [m for m in cfg.meters if m.rating is not None and m.max_power_w is None]
    assert rated
    for m in rated:
        r = m.rating
        assert m.plausible_power_w in (r.i_max * r.u_n, 3 * r.i_max * r.u_n)


def test_item14c_acquire_errors_are_one_line(tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    bench = _acq_bench(tmp_path)
    out = tmp_path / "run"
    _acquire(bench, out, 0.3)
    assert meterbench.cli.main(["acquire", str(bench), "--out", str(out), "--scale", "60",
                                "--duration", "1s"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err  # before: "acquiring ..." then the error
    assert_one_line_error(err, "--scale")


def test_item14d_control_and_bidi_characters_are_visible_in_reports() -> None:
    """Every report (run, lab, sampling) renders through one environment, and its PDF edition
    through one wrapping function: both show the characters."""
    from meterbench.reports.html import environment
    from meterbench.reports.pdf_layout import wrap

    hostile = "ev\x00il\u202etxt.exe"
    html = environment().from_string("<p>{{ v }}</p>").render(v=hostile)
    assert "\x00" not in html and "\u202e" not in html
    assert "ev⟨U+0000⟩il⟨U+202E⟩txt.exe" in html
    pdf_lines = wrap(hostile, 400.0, 9.0)
    assert "".join(pdf_lines) == "ev⟨U+0000⟩il⟨U+202E⟩txt.exe"


def test_item14d_a_run_report_shows_them(tmp_path: Path) -> None:
    from meterbench.reports.html import render_html

    text = tiny_bench_text(**{'name = "tiny"': 'name = "t\\u0000i\\u202eny"'})
    (tmp_path / "b.toml").write_text(text)
    make_run(tmp_path / "b.toml", tmp_path / "run")
    html = render_html(tmp_path / "run").read_text(encoding="utf-8")
    assert "\x00" not in html and "\u202e" not in html and "t⟨U+0000⟩i⟨U+202E⟩ny" in html


def test_item14e_csv_cells_cannot_become_spreadsheet_formulas(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    hostile = "=cmd|' /C calc'!A0"
    rows = [(f'"{hostile}"', f"2026-06-01T00:{m:02d}:00Z", "energy.import", f"{m / 60:.6f}")
            for m in range(0, 31)]
    got, _ = _intervals(tmp_path, _readings(rows), capsys=capsys)
    assert {r["meter"] for r in got} == {"'" + hostile}
    assert all(not r["meter"].startswith(("=", "+", "-", "@")) for r in got)
    # and read back by meterbench as it was
    from meterbench.cli.pipeline_csv import read_intervals

    out = tmp_path / "iv.csv"
    assert meterbench.cli.main(["intervals", str(tmp_path / "r.csv"), "--out", str(out)]) == 0
    assert {r.meter for r in read_intervals(out)} == {hostile}


@pytest.mark.parametrize(("rows", "needle"), [
    (["2026-01-01T00:00Z", "2026-01-01T00:15Z", "2026-01-01T00:15Z"],
     "start 2026-01-01T00:15Z twice (rows 3 and 4)"),
    (["2026-01-01T00:00Z", "2026-01-01T00:30Z"],
     "nothing between 2026-01-01T00:00Z (row 2) and 2026-01-01T00:30Z (row 3)"),
])
def test_an_irregular_interval_series_names_its_rows(tmp_path: Path, rows: list[str],
                                                     needle: str) -> None:
    from meterbench.cli.pipeline_csv import read_intervals

    path = tmp_path / "i.csv"
    path.write_text("meter,channel,start,resolution,quantity,quality\n" + "".join(
        f"m1,energy.import,{r},PT15M,0.1,measured\n" for r in rows))
    with pytest.raises(UserError, match=re.escape(needle)):
        read_intervals(path)
