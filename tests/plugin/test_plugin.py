"""The pytest plugin, tested with pytester: options, fixture lifetimes, skips, JUnit, shutdown."""

import json
import threading
import xml.etree.ElementTree as ET
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import meterbench.reports.html  # noqa: F401

# pytester's in-process runs drop modules first imported inside them; numpy refuses to be loaded
# twice, so everything heavy is imported here, once, before any run.
import meterbench.run.session  # noqa: F401
import meterbench.verdicts.checks  # noqa: F401

pytest_plugins = ["pytester"]
TINY = Path(__file__).with_name("tiny.toml")
PLUGIN_ARGS = ([] if any(ep.name == "meterbench" for ep in entry_points(group="pytest11"))
               else ["-p", "meterbench.fixtures.plugin"])


def run(pytester, *args):
    return pytester.runpytest_inprocess(*PLUGIN_ARGS, "-p", "no:cacheprovider", *args)


def run_here(pytester, *args):
    """Run the test files written in this pytester folder (explicit path: not the shipped suites)."""
    return run(pytester, str(pytester.path), *args)


def sim_threads():
    return [t for t in threading.enumerate() if t.name == "meterbench-sim" and t.is_alive()]


def test_options_are_listed_in_help(pytester):
    result = run(pytester, "--help")
    result.stdout.fnmatch_lines(["*meterbench bench options*", "*--bench=BENCH*", "*--bench-sim*",
                                 "*--run-dir=DIR*"])


def test_unknown_bench_is_a_usage_error_naming_it(pytester):
    result = run(pytester, "--bench", "no-such-bench")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown bench 'no-such-bench'*"])


def test_session_fixtures_are_made_once_and_the_run_folder_is_written(pytester, tmp_path):
    pytester.makepyfile(test_vendor="""
        SEEN = []

        def test_one(bench_run, bench_config, record):
            SEEN.append(id(bench_run))
            assert bench_config.name == "tiny"
            from meterbench.core.records import simple_acceptance
            record(simple_acceptance("vendor.my_check", "ev", 1.0, "x", high=2.0, name="my check"))

        def test_two(bench_run, analysis, main_meter, operator_meters, reference_meters):
            SEEN.append(id(bench_run))
            assert len(set(SEEN)) == 1
            assert main_meter.id == "main" and [m.id for m in operator_meters] == ["ev"]
            assert analysis.meters["ev"].quarter["energy.import"].series.total_kwh() > 10

        def test_parametrized(operator_meter, any_meter):
            assert operator_meter.role == "operator"
    """)
    out = tmp_path / "run"
    result = run_here(pytester, "--bench", str(TINY), "--run-dir", str(out), "-v")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["*test_parametrized[[]ev-main[]]*", f"*meterbench report: {out}*"])
    results = json.loads((out / "results.json").read_text())
    assert results["verdict"] == "pass"
    assert [r["name"] for r in results["records"]] == ["my check"]
    assert len(results["tests"]) == 5
    assert (out / "report.html").is_file() and (out / "store.sqlite").is_file()
    assert not sim_threads()


def test_no_bench_fixture_no_run(pytester, tmp_path):
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = run_here(pytester, "--run-dir", str(tmp_path / "never"))
    result.assert_outcomes(passed=1)
    assert not (tmp_path / "never").exists()


def test_junit_properties_carry_hash_versions_and_devices(pytester, tmp_path):
    pytester.makepyfile("def test_x(bench_run):\n    assert bench_run\n")
    xml = tmp_path / "junit.xml"
    result = run_here(pytester, "--bench", str(TINY), "--run-dir", str(tmp_path / "r"), f"--junitxml={xml}")
    result.assert_outcomes(passed=1)
    props = {p.get("name"): p.get("value") for p in ET.parse(xml).getroot().iter("property")}
    from meterbench.config.bench_file import load_bench
    assert props["meterbench.bench_sha256"] == load_bench(str(TINY)).sha256
    assert props["meterbench.version.meterbench"]
    assert props["meterbench.device.ev"].startswith("eastron_sdm630 class B (simulated, tcp 127.0.0.1:")


def test_hardware_tests_skip_on_a_simulated_bench_and_simulated_tests_on_a_real_one(pytester, tmp_path):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.hardware
        def test_real_only():
            pass

        @pytest.mark.simulated
        def test_sim_only():
            pass
    """)
    result = run_here(pytester, "--bench", str(TINY), "-rs", "--run-dir", str(tmp_path / "a"))
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*needs real hardware: the bench is simulated*"])
    real = tmp_path / "real.toml"
    real.write_text(TINY.read_text().replace("simulate = true", "simulate = false"))
    result = run_here(pytester, "--bench", str(real), "-rs", "--run-dir", str(tmp_path / "b"))
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*needs the simulated world's ground truth: the bench is real*"])
    result = run_here(pytester, "--bench", str(real), "--bench-sim", "-rs", "--run-dir", str(tmp_path / "c"))
    result.stdout.fnmatch_lines(["*needs real hardware: the bench is simulated*"])


def test_simulators_stop_and_results_are_written_after_a_failing_test(pytester, tmp_path):
    pytester.makepyfile("""
        def test_fails(bench_run):
            import threading
            assert any(t.name == "meterbench-sim" for t in threading.enumerate())
            assert False, "a verdict failed"
    """)
    out = tmp_path / "run"
    result = run_here(pytester, "--bench", str(TINY), "--run-dir", str(out))
    result.assert_outcomes(failed=1)
    assert not sim_threads()
    results = json.loads((out / "results.json").read_text())
    assert results["verdict"] == "fail"
    assert results["tests"][0]["outcome"] == "failed"
    # the failure's own message travels with it, into the results and the report's table
    assert "a verdict failed" in results["tests"][0]["reason"]
    assert "a verdict failed" in (out / "report.html").read_text()


def test_simulators_stop_after_keyboard_interrupt(pytester, tmp_path, monkeypatch, cli_env):
    """Ctrl-C in the middle of a suite: the run folder is still written and the process ends.

    Run in a subprocess: an in-process KeyboardInterrupt would stop this very test session.
    """
    pytester.makepyfile("""
        def test_interrupted(bench_run):
            raise KeyboardInterrupt

        def test_never_runs():
            pass
    """)
    out = tmp_path / "run"
    result = pytester.runpytest_subprocess(*PLUGIN_ARGS, "-p", "no:cacheprovider", str(pytester.path),
                                           "--bench", str(TINY), "--run-dir", str(out), timeout=120)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*"])
    results = json.loads((out / "results.json").read_text())  # what was acquired is kept and reported
    assert results["acquisition"]["polls_done"] > 0


def test_bench_with_no_test_paths_runs_the_shipped_suites(pytester, tmp_path):
    out = tmp_path / "run"
    result = run(pytester, "--bench", str(TINY), "--run-dir", str(out), "-q")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 10 and not outcomes.get("failed")
    names = {t["nodeid"].split("::")[0].rsplit("/", 1)[-1] for t in
             json.loads((out / "results.json").read_text())["tests"]}
    assert {"test_conformance.py", "test_field.py", "test_delivery.py", "test_truth.py"} <= names


def test_the_documented_vendor_example_runs(pytester, tmp_path):
    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "test_vendor_example.py"
    pytester.makepyfile(test_vendor_example=example.read_text())
    out = tmp_path / "run"
    result = run_here(pytester, "--bench", str(TINY), "--run-dir", str(out))
    result.assert_outcomes(passed=2)
    records = json.loads((out / "results.json").read_text())["records"]
    assert {r["stage"] for r in records} == {"vendor"}


def test_pytest_and_meterbench_run_reach_the_same_verdicts(pytester, tmp_path, cli_env):
    import subprocess
    import sys

    a, b = tmp_path / "pytest", tmp_path / "cli"
    result = run(pytester, "--bench", str(TINY), "--run-dir", str(a), "-q")
    assert result.ret == 0
    proc = subprocess.run([sys.executable, "-m", "meterbench", "run", str(TINY), "--out", str(b), "-q"],
                          capture_output=True, text=True, timeout=300, env=cli_env)
    assert proc.returncode == 0, proc.stderr[-2000:]

    def verdicts(folder):
        doc = json.loads((folder / "results.json").read_text())
        return sorted((r["id"], r["verdict"], r["value"]) for r in doc["records"])

    assert verdicts(a) == verdicts(b)
    assert len(verdicts(a)) >= 10


def test_an_unreachable_real_device_is_one_usage_error_not_a_test_error_each(pytester, tmp_path):
    import socket

    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nobody listens there now
    pytester.makepyfile("def test_a(bench_run):\n    pass\n\ndef test_b(bench_run):\n    pass\n")
    bench = tmp_path / "real.toml"
    bench.write_text(TINY.read_text().replace("simulate = true", "simulate = false").replace(
        'id = "main"\nrole = "main"',
        f'id = "main"\nrole = "main"\ntransport = {{ kind = "tcp", host = "127.0.0.1", port = {port} }}'))
    result = run_here(pytester, "--bench", str(bench), "--run-dir", str(tmp_path / "r"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    out = result.stdout.str() + result.stderr.str()
    assert f"cannot connect to 127.0.0.1:{port} for meter 'main'" in out
    assert not (tmp_path / "r").exists()


def test_a_project_s_testpaths_are_run_not_the_shipped_suites(pytester, tmp_path):
    """``pytest --bench B`` with no paths runs the project's own ``testpaths`` when it has them;
    only a project without them gets the shipped suites."""
    pytester.makeini("[pytest]\ntestpaths = mine\n")
    mine = pytester.mkpydir("mine")
    (mine / "test_vendor.py").write_text("def test_mine(bench_run):\n"
                                         "    assert bench_run.config.name == 'tiny'\n")
    # --bench=FILE: pytest looks for its rootdir among the command line's paths before it knows
    # the option, so "--bench FILE" would let the bench file's folder decide (docs/plugin.md)
    result = run(pytester, f"--bench={TINY}", "--run-dir", str(tmp_path / "run"), "-q")
    result.assert_outcomes(passed=1)
    tests = json.loads((tmp_path / "run" / "results.json").read_text())["tests"]
    assert [t["nodeid"] for t in tests] == ["mine/test_vendor.py::test_mine"]


def test_a_run_folder_it_may_not_write_is_one_environment_error(pytester, tmp_path):
    blocked = Path("/sys/meterbench-run")  # sysfs refuses mkdir (EPERM), even to root
    if not Path("/sys").is_dir():
        pytest.skip("no /sys here to refuse a folder")
    pytester.makepyfile(test_vendor="def test_one(bench_run):\n    pass\n"
                                    "def test_two(bench_run):\n    pass\n")
    result = run_here(pytester, "--bench", str(TINY), "--run-dir", str(blocked))
    assert result.ret == 3
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["*meterbench: environment error: *cannot create run folder*"])


def test_a_bench_under_pytest_xdist_is_refused_clearly(pytester, tmp_path):
    pytest.importorskip("xdist")
    pytester.makepyfile(test_vendor="def test_one(bench_run):\n    pass\n")
    result = run_here(pytester, "-n", "2", "--bench", str(TINY))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*a bench runs in one pytest process*"])
    # without --bench, a test that asks for a bench fails saying why (no INTERNALERROR)
    result = pytester.runpytest_subprocess(*PLUGIN_ARGS, "-p", "no:cacheprovider", "-n", "2",
                                           str(pytester.path))
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.assert_outcomes(errors=1)  # its fixture's setup
    result.stdout.fnmatch_lines(["*a bench runs in one pytest process*"])


def test_a_run_that_checked_nothing_fails_the_pytest_session(pytester, tmp_path):
    """pytest's status follows the verdict: an INCOMPLETE run (every selected test skipped once
    the bench ran) is not a green CI job."""
    result = run(pytester, f"--bench={TINY}", "--run-dir", str(tmp_path / "run"), "-k", "clock")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert json.loads((tmp_path / "run" / "results.json").read_text())["verdict"] == "incomplete"
