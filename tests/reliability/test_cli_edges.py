"""Issue 15's CLI edges, one test each (every one failed before the fix): a malformed
results.json, ``run -k`` selecting nothing, ``export`` feeding ``intervals``, a decimal comma, a
bench-file typo, a semicolon-separated CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

import meterbench.cli
from meterbench.core.gs1 import gs1_check_digit

from .helpers import TINY_BENCH, assert_one_line_error, make_run, tiny_bench_text


@pytest.mark.parametrize(("doc", "needle"), [
    ({"schema": "meterbench.results/1"}, "run: missing"),                       # KeyError 'run'
    ([{"schema": "meterbench.results/1"}], "not a meterbench results document"),  # AttributeError
    ({"schema": "meterbench.results/1", "run": {"id": "r", "bench": "b"},
      "records": [{"name": "check", "value": 1}]}, "records[0].verdict: missing"),  # 'verdict'
    ({"schema": "meterbench.results/1", "run": {"id": "r", "bench": "b", "software": ["x"]}},
     "run.software: expected a table"),
], ids=["no-run", "a-list", "record-without-verdict", "software-a-list"])
def test_report_on_a_malformed_results_file(doc: object, needle: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "results.json").write_text(json.dumps(doc))
    assert meterbench.cli.main(["report", str(tmp_path)]) == 2
    assert_one_line_error(capsys.readouterr().err, "results.json", needle)
    assert not (tmp_path / "report.html").exists()


def test_run_k_that_selects_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    assert meterbench.cli.main(["run", str(TINY_BENCH), "-k", "nothing_matches", "--out",
                                str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert_one_line_error(err, "-k nothing_matches", "selects none of the")
    assert not out.exists()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(TINY_BENCH, tmp_path_factory.mktemp("edge") / "run")


def test_export_is_read_by_intervals_as_it_is_over_the_bench_period(
        tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    exported = tmp_path / "readings.csv"
    assert meterbench.cli.main(["export", str(tiny_run), "--out", str(exported)]) == 0
    assert "note:" not in capsys.readouterr().err  # a finished run covers its bench period
    assert meterbench.cli.main(["intervals", str(exported), "--quiet"]) == 0
    got = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    doc = json.loads((tiny_run / "results.json").read_text())
    start = doc["run"]["period_start_utc"][:16] + "Z"
    by_series: dict[tuple[str, str], list[dict[str, str]]] = {}
    for r in got:
        by_series.setdefault((r["meter"], r["channel"]), []).append(r)
    assert set(by_series) == {(m, c) for m in ("main", "ev", "ev_ref")
                              for c in ("energy.import", "energy.export")}
    for rows in by_series.values():
        assert len(rows) == 96 and rows[0]["start"] == start  # the bench day, nothing before
        assert {r["quality"] for r in rows} == {"measured"}
    # ... and the same energies the run itself computed
    run_rows = {(r["meter"], r["channel"], r["start"]): float(r["quantity"])
                for r in csv.DictReader((tiny_run / "series" / "intervals.csv").open())}
    for r in got:
        assert abs(float(r["quantity"]) - run_rows[(r["meter"], r["channel"], r["start"])]) < 2e-3


def test_a_decimal_comma_is_not_read_as_an_integer(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "r.csv").write_text("meter,time,channel,value\n"
                                    "m1,2026-06-01T00:00:00Z,energy.import,1\n"
                                    "m1,2026-06-01T00:15:00Z,energy.import,1,5\n")
    assert meterbench.cli.main(["intervals", str(tmp_path / "r.csv")]) == 2
    assert_one_line_error(capsys.readouterr().err, "r.csv: row 3", "5 fields", "1.5, not 1,5")


@pytest.mark.parametrize(("old", "new", "field", "guess"), [
    ('class = "C"', 'clas = "C"', "meter[2].clas", "did you mean 'class'?"),
    ("[run]", "[runn]", "runn", "did you mean 'run'?"),
    ("mean_w = 300", "mean = 300", "load[1].mean", "did you mean 'mean_w'?"),
])
def test_a_typo_names_the_unknown_key_and_the_near_one(old: str, new: str, field: str, guess: str,
                                                       tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "b.toml").write_text(tiny_bench_text(**{old: new}))
    assert meterbench.cli.main(["run", str(tmp_path / "b.toml"), "--out", "o"]) == 2
    line = assert_one_line_error(capsys.readouterr().err, field, "unknown field", guess)
    assert "missing required field" not in line


@pytest.mark.parametrize("command", ["intervals", "sampling"])
def test_a_semicolon_separated_csv_gets_a_hint(command: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "x.csv"
    if command == "intervals":
        path.write_text("meter;time;channel;value\nm1;2026-06-01T00:15:00Z;energy.import;1,5\n")
        argv = ["intervals", str(path)]
    else:
        path.write_text("meter_id;model;class\nm1;x;B\n")
        argv = ["sampling", "due", str(path), "--on", "2026-06-01"]
    assert meterbench.cli.main(argv) == 2
    assert_one_line_error(capsys.readouterr().err, str(path), "semicolon-separated")


def test_output_into_a_pipe_closed_early_ends_quietly(cli_env: dict[str, str]) -> None:
    """``meterbench registry | head -0``: the reader is gone before the first line is written.

    Python ignores SIGPIPE, so the write raises BrokenPipeError (an OSError): it must end with
    status 0 and nothing on stderr, not as an environment error or a traceback.
    """
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "meterbench", "registry"], env=cli_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the child (still importing) writes anything
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert err == "", err


def test_a_closed_store_is_one_file_and_reading_it_leaves_nothing(tiny_run: Path,
                                                                  tmp_path: Path) -> None:
    """The writer folds its write-ahead log in on closing; a read-only export then cannot
    leave ``-wal``/``-shm`` files it has no right to remove."""
    def side_files() -> list[str]:
        return sorted(p.name for p in tiny_run.glob("store.sqlite-*"))

    assert side_files() == []
    assert meterbench.cli.main(["export", str(tiny_run), "--out", str(tmp_path / "r.csv")]) == 0
    assert side_files() == []


def test_daily_refuses_a_run_made_with_another_bench_file(tiny_run: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    """The run's readings would be delivered under this bench file's metering points: with
    another file (here one GSRN changed) they would go out under the wrong ones."""
    text = TINY_BENCH.read_text(encoding="utf-8")
    gsrn = next(line.split('"')[1] for line in text.splitlines() if line.startswith("gsrn"))
    other = tmp_path / "other.toml"
    body = gsrn[:-3] + ("99" if gsrn[-3:-1] != "99" else "98")
    other.write_text(text.replace(gsrn, body + gs1_check_digit(body)), encoding="utf-8")
    outbox = tmp_path / "outbox"
    assert meterbench.cli.main(["daily", str(other), "--date", "2026-06-01", "--run",
                                str(tiny_run), "--outbox", str(outbox)]) == 2
    assert_one_line_error(capsys.readouterr().err, str(tiny_run), "another bench file")
    assert not outbox.exists()
    assert meterbench.cli.main(["daily", str(TINY_BENCH), "--date", "2026-06-01", "--run",
                                str(tiny_run), "--outbox", str(outbox)]) == 0


def test_run_into_a_folder_daily_acquired_says_so(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    """A day ``meterbench daily`` acquired is a finished delivery, not a run that did not
    finish: the refusal says which it is."""
    from meterbench.config.bench_file import load_bench
    from meterbench.run.session import BenchRun

    day = tmp_path / "daily-tiny-2026-06-01"
    run = BenchRun(load_bench(str(TINY_BENCH)), day)
    try:
        run.start()
        run.acquire()
    finally:
        run.close()
    (day / "outbox" / "2026-06-01").mkdir(parents=True)
    assert meterbench.cli.main(["run", str(TINY_BENCH), "--out", str(day), "-q"]) == 2
    assert_one_line_error(capsys.readouterr().err, str(day), "a day 'meterbench daily' acquired")


def test_run_into_a_folder_the_machine_refuses_is_one_line_exit_3(
        capsys: pytest.CaptureFixture) -> None:
    """It used to start the suites and print a traceback per test (exit 1)."""
    if not Path("/sys").is_dir():
        pytest.skip("no /sys here to refuse a folder")
    target = Path("/sys/meterbench-run/deeper")  # sysfs refuses mkdir (EPERM), even to root
    assert meterbench.cli.main(["run", str(TINY_BENCH), "--out", str(target), "-q"]) == 3
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [
        f"meterbench: environment error: {target}: cannot create run folder: "
        "Operation not permitted"]
    assert "Traceback" not in captured.out


def test_run_whose_tests_all_skip_once_the_bench_ran_is_incomplete_not_a_refusal(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """-k clock selects tests that skip only once the bench is read (no clock register): the run
    folder exists by then, so it is kept and says INCOMPLETE (exit 1); it used to be refused with
    'no run folder was made' beside the folder it had made."""
    out = tmp_path / "run"
    assert meterbench.cli.main(["run", str(TINY_BENCH), "-k", "clock", "--out", str(out),
                                "-q"]) == 1
    assert "verdict: INCOMPLETE" in capsys.readouterr().out
    assert json.loads((out / "results.json").read_text())["verdict"] == "incomplete"
