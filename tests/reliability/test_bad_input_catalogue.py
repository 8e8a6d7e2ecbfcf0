"""The bad-input catalogue: bench values, command options, files and devices that a careless user
or an attacker gives, each answered with one line on stderr, exit 2, no traceback, no folder
created, and bounded memory.

Every case runs through ``meterbench.cli.main`` in one child process under a 1 GiB address-space
limit (``catalogue_child.py``: the limit is set before numpy and scipy are imported, which take
about 380 MB of address space; a case that needed more would fail with MemoryError and show up
here as a traceback). A representative subset also runs as ``python -m meterbench`` in a child
process of its own under the same limit: the exact path a user takes.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import TINY_BENCH, cli_env, tiny_bench_text

CHILD = Path(__file__).with_name("catalogue_child.py")
LIMIT = 1 << 30
EV_GSRN = "571313100000000201"
MAIN = 'id = "main"\nrole = "main"\nmodel = "eastron_sdm630"\nclass = "B"\n'
REF = 'reference_for = "ev"\nmodel = "eastron_sdm630"\nclass = "C"\n'


def bench(**repl: str) -> str:
    return tiny_bench_text(**repl)


def add_to_main(text: str) -> str:
    return bench(**{MAIN: MAIN + text + "\n"})


def add_load(text: str) -> str:
    return TINY_BENCH.read_text(encoding="utf-8") + "\n[[load]]\n" + text + "\n"


#: id -> (argv with {d} for the case folder, files to write, needles of the error line)
BENCH_CASES: dict[str, tuple[str | bytes, tuple[str, ...]]] = {
    "seed_negative": (bench(**{"seed = 7": "seed = -1"}), ("bench.seed", "out of range")),
    "mean_negative": (bench(**{"mean_w = 300": "mean_w = -300"}), ("load[1].mean_w",)),
    "mean_nan": (bench(**{"mean_w = 300": "mean_w = nan"}), ("load[1].mean_w", "not a finite")),
    "peak_below_mean": (bench(**{"peak_w = 1200": "peak_w = 100"}), ("load[1].peak_w",
                                                                     "below the mean")),
    "power_nan": (bench(**{"power_w = 7400": "power_w = nan"}), ("load[0].power_w",)),
    "power_inf": (bench(**{"power_w = 7400": "power_w = inf"}), ("load[0].power_w",)),
    "power_negative": (bench(**{"power_w = 7400": "power_w = -7400"}), ("load[0].power_w",)),
    "error_pct_minus_150": (bench(**{"error_pct = 0.5": "error_pct = -150.0"}),
                            ("meter[1].sim.error_pct",)),
    "error_pct_nan": (bench(**{"error_pct = 0.5": "error_pct = nan"}),
                      ("meter[1].sim.error_pct",)),
    "initial_import_1e30": (bench(**{"error_pct = 0.5": "initial_import_kwh = 1e30"}),
                            ("meter[1].sim.initial_import_kwh", "steps of")),
    "initial_import_negative": (bench(**{"error_pct = 0.5": "initial_import_kwh = -1.0"}),
                                ("meter[1].sim.initial_import_kwh",)),
    "rollover_zero": (add_to_main("rollover_kwh = 0"), ("meter[0].rollover_kwh",)),
    "initial_above_rollover": (bench(**{"error_pct = 0.5": "initial_import_kwh = 200.0",
                                        'gsrn = "571313100000000201"':
                                        'gsrn = "571313100000000201"\nrollover_kwh = 100'}),
                               ("meter[1].sim.initial_import_kwh", "rollover")),
    "max_power_negative": (add_to_main("max_power_w = -1"), ("meter[0].max_power_w",)),
    "baud_zero": (add_to_main('transport = { kind = "rtu", device = "/dev/ttyUSB9", baud = 0 }'),
                  ("meter[0].transport.baud",)),
    "timeout_negative": (add_to_main('transport = { kind = "tcp", timeout = -1.0 }'),
                         ("meter[0].transport.timeout",)),
    "timeout_nan": (add_to_main('transport = { kind = "tcp", timeout = nan }'),
                    ("meter[0].transport.timeout",)),
    "timeout_a_billion_seconds": (add_to_main('transport = { kind = "tcp", timeout = 1e9 }'),
                                  ("meter[0].transport.timeout",)),
    "date_year_1": (bench(**{'date = "2026-06-01"': 'date = "0001-01-01"'}),
                    ("run.date", "supported range")),
    "date_year_9999": (bench(**{'date = "2026-06-01"': 'date = "9999-12-31"'}),
                       ("run.date", "supported range")),
    "cycling_zero_phases": (add_load('id = "hp"\nkind = "cycling"\npower_w = 2000\non = "0s"\n'
                                     'off = "0s"'), ("load[2].on", "too short")),
    "cycling_too_many_switchings": (add_load('id = "hp"\nkind = "cycling"\npower_w = 2000\n'
                                             'on = "1s"\noff = "1s"').replace(
        'poll_period = "5min"', 'poll_period = "5min"\ndays = 366'), ("load[2].on", "switches")),
    "session_in_the_skipped_hour": (bench(**{'date = "2026-06-01"': 'date = "2026-03-29"',
                                             '[["08:00", "09:30"]]': '[["02:30", "03:10"]]'}),
                                    ("load[0].sessions[0]", "does not exist")),
    "scale_1e-300": (bench(**{'poll_period = "5min"': 'poll_period = "5min"\nclock = "scaled"\n'
                              'scale = 1e-300'}), ("run.scale",)),
    "scale_nan": (bench(**{'poll_period = "5min"': 'poll_period = "5min"\nscale = nan'}),
                  ("run.scale",)),
    "duplicate_gsrn": (bench(**{REF: REF + f'gsrn = "{EV_GSRN}"\n'}),
                       ("meter[2].gsrn", "also the GSRN of meter 'ev'")),
    "virtual_point_gsrn_of_a_meter": (TINY_BENCH.read_text(encoding="utf-8")
                                      + f'\n[datahub]\nvirtual_main_gsrn = "{EV_GSRN}"\n',
                                      ("meter[1].gsrn", "datahub.virtual_main_gsrn")),
    "virtual_point_gsrn_invalid": (TINY_BENCH.read_text(encoding="utf-8")
                                   + '\n[datahub]\nvirtual_main_gsrn = "123"\n',
                                   ("datahub.virtual_main_gsrn", "not a valid GSRN")),
    "clock_drift_1e9_ppm": (bench(**{"error_pct = 0.5": "clock_drift_ppm = 1e9"}),
                            ("meter[1].sim.clock_drift_ppm",)),
    "clock_offset_inf": (bench(**{"error_pct = 0.5": "clock_offset_s = inf"}),
                         ("meter[1].sim.clock_offset_s",)),
    "arrays_nested_100000_deep": ("x = " + "[" * 100_000 + "]" * 100_000 + "\n",
                                  ("nested too deeply",)),
    "bench_file_of_2_mib": ("# padding\n" * 200_000, ("larger than 1 MiB",)),
    "typo_clas": (bench(**{'class = "C"': 'clas = "C"'}),
                  ("meter[2].clas", "did you mean 'class'")),
    "typo_runn": (bench(**{"[run]": "[runn]"}), ("runn", "did you mean 'run'")),
    "calibration_due_year_1": (bench(**{REF: REF + 'calibration = { id = "C1", due = '
                                        '"0001-01-01" }\n'}),
                               ("meter[2].calibration.due", "supported range")),
}

READINGS = "meter,time,channel,value\n"
INTERVALS = ("meter,channel,start,resolution,quantity,quality\n"
             "ev,energy.import,2026-06-01T00:00Z,PT15M,0.5,measured\n"
             "ev_ref,energy.import,2026-06-01T00:00Z,PT15M,0.5,measured\n")
FIELD = ["accuracy", "field", "i.csv", "i.csv", "--operator-class", "B", "--reference-class", "C",
         "--operator-meter", "ev", "--reference-meter", "ev_ref"]
STORE_RUN = "run"  # a run folder with a small store, made by the fixture


def _cases() -> dict[str, tuple[list[str], dict[str, str | bytes], int, tuple[str, ...]]]:
    cases: dict[str, tuple[list[str], dict[str, str | bytes], int, tuple[str, ...]]] = {}
    for name, (text, needles) in BENCH_CASES.items():
        cases["bench:" + name] = (["run", "b.toml", "--out", "out"], {"b.toml": text}, 2,
                                  ("b.toml", *needles))
    tiny = {"b.toml": TINY_BENCH.read_text(encoding="utf-8")}
    cases.update({
        "bench:bench_file_is_dev_zero": (["run", "/dev/zero", "--out", "out"], {}, 2,
                                         ("/dev/zero", "larger than 1 MiB")),
        "option:acquire_scale_nan": (["acquire", "b.toml", "--scale", "nan", "--out", "out"],
                                     tiny, 2, ("--scale", "out of range")),
        "option:acquire_scale_inf": (["acquire", "b.toml", "--scale", "inf", "--out", "out"],
                                     tiny, 2, ("--scale",)),
        "option:acquire_scale_negative": (["acquire", "b.toml", "--scale", "-1", "--out", "out"],
                                          tiny, 2, ("--scale",)),
        "option:acquire_scale_1e-300": (["acquire", "b.toml", "--scale", "1e-300", "--out",
                                         "out"], tiny, 2, ("--scale",)),
        "option:acquire_duration_zero": (["acquire", "b.toml", "--duration", "0s", "--out",
                                          "out"], tiny, 2, ("--duration", "positive")),
        "option:acquire_duration_words": (["acquire", "b.toml", "--duration", "a while",
                                           "--out", "out"], tiny, 2,
                                          ("--duration", "not a duration")),
        "option:sim_duration_words": (["sim", "b.toml", "--duration", "soon"], tiny, 2,
                                      ("--duration", "90s, 30min")),
        "option:run_k_selects_nothing": (["run", "b.toml", "-k", "nothing_matches", "--out",
                                          "out"], tiny, 2, ("-k nothing_matches",
                                                            "selects none")),
        "option:run_m_not_an_expression": (["run", "b.toml", "-m", "field and", "--out", "out"],
                                           tiny, 2, ("-m field and", "not a valid expression")),
        "option:run_k_and_m_select_nothing": (["run", "b.toml", "-k", "clock", "-m", "field",
                                               "--out", "out"], tiny, 2,
                                              ("-k clock -m field", "selects none")),
        "option:run_m_all_skipped": (["run", "b.toml", "-m", "lab", "--out", "out"], tiny, 2,
                                     ("-m lab", "every selected test skipped", "no [lab]")),
        "option:intervals_out_is_its_input": (["intervals", "r.csv", "--out", "r.csv"],
                                              {"r.csv": READINGS + "m,2026-06-01T00:00:00Z,"
                                               "energy.import,1\n"}, 2,
                                              ("r.csv", "is also this command's input")),
        "option:intervals_start_year_9999": (["intervals", "r.csv", "--start",
                                              "9999-12-31T00:00:00Z"],
                                             {"r.csv": READINGS + "m,2026-06-01T00:00:00Z,"
                                              "energy.import,1\n"}, 2,
                                             ("--start", "supported range")),
        "option:daily_lab_bench": (["daily", "sim-lab", "--date", "2026-06-01"], {}, 2,
                                    ("meter[*].gsrn", "no metering point to deliver")),
        "option:daily_date_year_1": (["daily", "b.toml", "--date", "0001-01-01"], tiny, 2,
                                     ("--date", "supported range")),
        "option:daily_outbox_is_a_file": (["daily", "b.toml", "--date", "2026-06-01",
                                           "--outbox", "f"], {**tiny, "f": "x"}, 2,
                                          ("--outbox", "is a file")),
        "option:datahub_export_out_is_a_file": (["datahub", "export", ".", "--out", "f"],
                                                {"f": "x"}, 2, ("--out", "is a file")),
        "option:export_out_is_a_directory": (["export", STORE_RUN, "--out", "d"], {"d/x": "x"},
                                             2, ("is a directory",)),
        "option:export_out_in_a_missing_folder": (["export", STORE_RUN, "--out", "no/r.csv"], {},
                                                  2, ("does not exist",)),
        "option:export_over_the_store": (["export", STORE_RUN, "--out",
                                          f"{STORE_RUN}/store.sqlite"], {}, 2,
                                         ("would write over a file of the run folder",)),
        "option:field_deadline_without_deliveries": ([*FIELD, "--deadline", "NO"],
                                                     {"i.csv": INTERVALS}, 2,
                                                     ("--deadline", "without --deliveries")),
        "option:field_timezone_unknown": ([*FIELD, "--timezone", "Mars/Base"],
                                          {"i.csv": INTERVALS}, 2,
                                          ("--timezone", "unknown time zone 'Mars/Base'")),
        "option:field_completeness_150": ([*FIELD, "--completeness", "150"], {"i.csv": INTERVALS},
                                          2, ("--completeness", "at most 100")),
        "option:field_completeness_nan": ([*FIELD, "--completeness", "nan"], {"i.csv": INTERVALS},
                                          2, ("--completeness", "nan")),
        "option:field_meter_against_itself": ([*FIELD[:-1], "ev"], {"i.csv": INTERVALS}, 2,
                                              ("i.csv: --reference-meter", "same meter")),
        "option:argparse_unknown_option": (["intervals", "r.csv", "--colour", "red"], {}, 2,
                                           ("unrecognized arguments",)),
        "file:readings_decimal_comma": (["intervals", "r.csv"], {"r.csv": READINGS +
                                        "m1,2026-06-01T00:15:00Z,energy.import,1,5\n"}, 2,
                                        ("r.csv: row 2", "5 fields", "decimal mark")),
        "file:readings_semicolons": (["intervals", "r.csv"], {"r.csv": "meter;time;channel;value\n"
                                     "m1;2026-06-01T00:15:00Z;energy.import;1,5\n"}, 2,
                                     ("semicolon-separated",)),
        "file:readings_a_century_apart": (["intervals", "r.csv"], {"r.csv": READINGS +
                                          "m,1971-01-01T00:00:00Z,energy.import,1\n"
                                          "m,2099-01-01T00:00:00Z,energy.import,2\n"}, 2,
                                          ("r.csv", "above the limit of 2,000,000")),
        "file:reading_in_year_9999": (["intervals", "r.csv"], {"r.csv": READINGS +
                                      "m,2026-06-01T00:00:00Z,energy.import,1\n"
                                      "m,9999-12-31T23:59:00Z,energy.import,2\n"}, 2,
                                      ("r.csv: row 3", "supported range")),
        "file:reading_in_year_1": (["intervals", "r.csv"], {"r.csv": READINGS +
                                   "m,0001-01-01T00:00:00+01:00,energy.import,1\n"}, 2,
                                   ("r.csv: row 2", "supported range")),
        "file:report_results_is_a_list": (["report", "."], {"results.json": "[]"}, 2,
                                          ("not a meterbench results document",)),
        "file:report_results_without_run": (["report", "."], {"results.json": json.dumps(
            {"schema": "meterbench.results/1"})}, 2, ("run: missing",)),
        "file:report_record_without_verdict": (["report", "."], {"results.json": json.dumps(
            {"schema": "meterbench.results/1", "run": {"id": "r", "bench": "b"},
             "records": [{"name": "x"}]})}, 2, ("records[0].verdict: missing",)),
        "file:report_records_is_a_table": (["report", "."], {"results.json": json.dumps(
            {"schema": "meterbench.results/1", "run": {"id": "r", "bench": "b"},
             "records": {"a": 1}})}, 2, ("records: expected a list",)),
        "file:inventory_semicolons": (["sampling", "due", "inv.csv", "--on", "2026-06-01"],
                                      {"inv.csv": "meter_id;model;class\nm1;x;B\n"}, 2,
                                      ("semicolon-separated",)),
        "device:intervals_dev_zero": (["intervals", "/dev/zero"], {}, 2,
                                      ("/dev/zero", "larger than 128 MiB")),
        "device:datahub_validate_dev_zero": (["datahub", "validate", "/dev/zero"], {}, 2,
                                             ("/dev/zero", "larger than 50 MiB")),
        "device:inventory_dev_zero": (["sampling", "due", "/dev/zero", "--on", "2026-06-01"], {},
                                      2, ("/dev/zero", "larger than 128 MiB")),
        "device:align_dev_zero": (["align", "/dev/zero", "/dev/zero"], {}, 2, ("/dev/zero",)),
    })
    return cases


CASES = _cases()
#: Run again each as ``python -m meterbench`` in a process of its own (same limit).
REAL_PROCESS = ("bench:seed_negative", "bench:bench_file_of_2_mib", "option:acquire_scale_nan",
                "file:readings_a_century_apart", "device:intervals_dev_zero",
                "device:datahub_validate_dev_zero")


def _make_store_run(folder: Path) -> None:
    from meterbench.store.run_store import Store

    folder.mkdir()
    with Store(folder / "store.sqlite") as s:
        for k in range(50):
            s.add_reading("m", "energy.import", k * 60_000, k * 60_000, float(k), tick_ms=k * 60_000)


def _prepare(root: Path) -> list[dict[str, object]]:
    out = []
    for i, (case, (argv, files, _, _)) in enumerate(CASES.items()):
        d = root / f"c{i:03d}"
        d.mkdir()
        for name, content in files.items():
            (d / name).parent.mkdir(parents=True, exist_ok=True)
            data = content if isinstance(content, bytes) else content.encode()
            (d / name).write_bytes(data)
        if STORE_RUN in argv or any(STORE_RUN + "/" in a for a in argv):
            _make_store_run(d / STORE_RUN)
        out.append({"id": case, "argv": argv, "cwd": str(d)})
    return out


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    root = tmp_path_factory.mktemp("catalogue")
    cases = _prepare(root)
    (root / "cases.json").write_text(json.dumps(cases))
    proc = subprocess.run([sys.executable, str(CHILD), str(root / "cases.json"),
                           str(root / "results.json")], env=cli_env(), capture_output=True,
                          text=True, timeout=600, check=False, cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((root / "results.json").read_text())


def test_the_catalogue_has_at_least_40_new_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_exit_2_no_folder(case: str,
                                                outcomes: dict[str, dict[str, object]]) -> None:
    _, _, code, needles = CASES[case]
    got = outcomes[case]
    stderr = str(got["stderr"])
    assert "Traceback" not in stderr and "MemoryError" not in stderr, stderr
    assert got["code"] == code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("meterbench: error: "), stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert got["created"] == [], f"left behind: {got['created']}"


def test_the_whole_catalogue_ran_within_the_address_space_limit(
        outcomes: dict[str, dict[str, object]]) -> None:
    assert 0 < int(outcomes["__peak__"]["vm_peak"]) <= LIMIT  # type: ignore[arg-type]


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


@pytest.mark.parametrize("case", REAL_PROCESS)
def test_bad_input_through_the_real_command(case: str, tmp_path: Path) -> None:
    argv, files, code, needles = CASES[case]
    for name, content in files.items():
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    proc = subprocess.run([sys.executable, "-m", "meterbench", *argv], cwd=tmp_path,
                          env=cli_env(), capture_output=True, text=True, timeout=120,
                          check=False, preexec_fn=_limited)
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("meterbench: error: "), proc.stderr
    assert all(n in lines[0] for n in needles), lines[0]
    assert sorted(os.listdir(tmp_path)) == sorted(files)
