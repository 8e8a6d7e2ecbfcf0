"""The plugin is installed everywhere meterbench is: it must stay out of runs that did not ask
for a bench, and it must say clearly when a test asks for something its bench cannot give."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .test_plugin import TINY, run, run_here, sim_threads

pytest_plugins = ["pytester"]

UNRELATED = """
import pytest

@pytest.mark.hardware
def test_hardware():
    pass

@pytest.mark.simulated
def test_simulated():
    pass

@pytest.mark.lab
def test_lab():
    pass

@pytest.mark.field
def test_field():
    pass

def test_own_fixtures(clock, record, analysis):
    assert (clock, record, analysis) == ("my clock", "my record", "my analysis")
"""

OWN_CONFTEST = """
import pytest

@pytest.fixture
def clock():
    return "my clock"

@pytest.fixture
def record():
    return "my record"

@pytest.fixture
def analysis():
    return "my analysis"
"""


@pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")  # theirs, unregistered
def test_an_unrelated_projects_marked_tests_run_untouched(pytester, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pytester.makeconftest(OWN_CONFTEST)
    pytester.makepyfile(test_theirs=UNRELATED)
    result = run_here(pytester, "-rs", "-p", "no:warnings")
    result.assert_outcomes(passed=5)  # nothing skipped, nothing parametrized, their fixtures win
    assert "needs real hardware" not in result.stdout.str()
    assert not (tmp_path / "runs").exists() and not sim_threads()


def test_markers_are_only_registered_when_a_bench_is_asked_for(pytester):
    plain = run(pytester, "--markers").stdout.str()
    assert "@pytest.mark.hardware" not in plain and "@pytest.mark.lab:" not in plain
    asked = run(pytester, "--markers", "--bench", str(TINY)).stdout.str()
    assert "@pytest.mark.hardware" in asked and "@pytest.mark.lab:" in asked


def test_importing_the_plugin_costs_only_pytest(tmp_path):
    code = ("import sys, meterbench.fixtures.plugin; "
            "print(sorted(m for m in ('numpy', 'scipy', 'pymodbus', 'pyvisa', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert out.strip() == "[]"


DUT = "def test_x(meter_under_test, reference_meter):\n    assert {verdict}\n"


@pytest.mark.parametrize("verdict, ret", [("False", pytest.ExitCode.TESTS_FAILED),
                                          ("True", pytest.ExitCode.OK)])
def test_meter_under_test_and_its_reference_on_the_field_bench(pytester, tmp_path, verdict, ret):
    pytester.makepyfile(test_dut=DUT.format(verdict=verdict) + (
        "    assert meter_under_test.role == 'operator'\n"
        "    assert reference_meter.role == 'reference'\n"
        "    assert reference_meter.reference_for == meter_under_test.id\n"))
    result = run_here(pytester, "--bench", "sim", "--run-dir", str(tmp_path / "r"), "-v")
    assert result.ret == ret
    # the sim bench: operator meters ev and hp; only ev has the DSO's reference meter (ev_ref)
    result.stdout.fnmatch_lines(["*test_x[[]ev-vs-ev_ref[]]*"])
    assert (result.parseoutcomes().get("failed", 0) + result.parseoutcomes().get("passed", 0)) == 1


def test_meter_under_test_and_reference_meter_on_the_lab_bench(pytester, tmp_path):
    pytester.makepyfile(test_dut="""
        def test_x(meter_under_test, reference_meter):
            assert meter_under_test.role == "mut" and meter_under_test.rating is not None
            assert reference_meter.accuracy_pct == 0.02          # the lab's reference standard
            assert reference_meter.identify().manufacturer == "YOKOGAWA"
    """)
    result = run_here(pytester, "--bench", "sim-lab", "--run-dir", str(tmp_path / "r"), "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_x[[]mut_good[]]*", "*test_x[[]mut_outside[]]*"])


@pytest.mark.parametrize("fixture", ["power_source", "lab_records", "reference_standard"])
def test_a_lab_fixture_on_a_field_bench_is_a_usage_error(pytester, tmp_path, fixture):
    pytester.makepyfile(f"def test_x({fixture}):\n    pass\n")
    result = run_here(pytester, "--bench", str(TINY), "--run-dir", str(tmp_path / "r"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert f"fixture {fixture!r} cannot be provided by bench 'tiny'" in err
    assert "a lab bench" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("source", [
    "import pytest\n\n@pytest.fixture\ndef mine(power_source):\n    return power_source\n\n"
    "def test_x(mine):\n    pass\n",
    "import pytest\n\n@pytest.mark.usefixtures('power_source')\ndef test_x():\n    pass\n",
    "def test_x(power_source, lab):\n    pass\n",
])
def test_the_usage_error_names_what_the_test_asked_for_not_its_dependencies(pytester, tmp_path,
                                                                              source):
    pytester.makepyfile(source)  # power_source needs the lab fixture: name power_source
    result = run_here(pytester, "--bench", str(TINY), "--run-dir", str(tmp_path / "r"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "fixture 'power_source' cannot be provided by bench 'tiny'" in result.stderr.str()


def test_a_field_fixture_on_a_lab_bench_is_a_usage_error(pytester, tmp_path):
    pytester.makepyfile("def test_x(analysis):\n    pass\n")
    result = run_here(pytester, "--bench", "sim-lab", "--run-dir", str(tmp_path / "r"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "fixture 'analysis' cannot be provided by bench 'sim-lab'" in result.stderr.str()


def test_a_reference_meter_the_bench_lacks_is_a_usage_error_not_a_skip(pytester, tmp_path):
    bench = tmp_path / "noref.toml"
    text = TINY.read_text()
    bench.write_text(text[:text.index('[[meter]]\nid = "ev_ref"')])
    pytester.makepyfile("def test_x(meter_under_test, reference_meter):\n    assert False\n")
    result = run_here(pytester, "--bench", str(bench), "--run-dir", str(tmp_path / "r"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "fixture 'meter_under_test' cannot be provided by bench 'tiny'" in err
    assert "no operator meter with a reference meter" in err


def test_the_shipped_suites_still_select_themselves_on_a_lab_bench(pytester, tmp_path):
    out = tmp_path / "run"
    result = run(pytester, "--bench", "sim-lab", "--run-dir", str(out), "-q", "-rs")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 4 and outcomes.get("skipped", 0) >= 4
    result.stdout.fnmatch_lines(["*field suite: bench 'sim-lab' is a lab bench*"])
    import json

    doc = json.loads((out / "results.json").read_text())
    # the terminal's counts and the results' counts are the same counts (issue 15: they differed)
    by_outcome = doc["summary"]["tests"]["by_outcome"]
    assert by_outcome.get("passed", 0) == outcomes.get("passed", 0)
    assert by_outcome.get("skipped", 0) == outcomes.get("skipped", 0)
    assert by_outcome.get("failed", 0) == outcomes.get("failed", 0)
    assert doc["summary"]["tests"]["total"] == sum(outcomes.get(k, 0) for k in
                                                   ("passed", "skipped", "failed", "errors"))
    reason = doc["summary"]["tests"]["skipped"][0]["reason"]
    from markupsafe import escape  # what the report's templates escape with

    page = (out / "report.html").read_text()
    assert str(escape(reason)) in page  # every skip's reason is on the page


def test_a_run_refused_while_starting_leaves_no_folder(pytester, tmp_path):
    """A user error while the devices start (here: the simulated devices cannot be served) is one
    usage error, and the run folder made for the run is removed again."""
    pytester.makeconftest("""
        import pytest
        from meterbench.core.errors import UserError
        from meterbench.run import field_run

        @pytest.fixture(autouse=True, scope="session")
        def _refuse_devices():
            saved = field_run.FieldRun.start
            def refuse(self, now_ms):
                raise UserError("port 1502 is in use", field="meter[0].transport.port")
            field_run.FieldRun.start = refuse
            yield
            field_run.FieldRun.start = saved
    """)
    pytester.makepyfile("def test_x(bench_run):\n    pass\n")
    out = tmp_path / "run"
    result = run_here(pytester, "--bench", str(TINY), "--run-dir", str(out))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "port 1502 is in use" in result.stdout.str() + result.stderr.str()
    assert not out.exists()
