"""The benchmark scripts compare like with like (issue 15): what each side runs, how often and
with which statistic, not how fast (speed is measured by the scripts, never asserted in tests)."""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(f"meterbench_benchmark_{name}",
                                                  REPO_ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_pipeline_benchmark_times_both_sides_alike_on_the_quality_path(monkeypatch, capsys):
    bench = _load("pipeline")
    calls: list[tuple[str, int, tuple]] = []
    real_timed = bench.timed

    def spy(fn, *args, repeat):
        calls.append((getattr(fn, "__name__", ""), repeat, args))
        return real_timed(fn, *args, repeat=repeat)

    monkeypatch.setattr(bench, "timed", spy)
    monkeypatch.setattr(sys, "argv", ["pipeline.py", "--meters", "30", "--sites", "400",
                                      "--repeat", "2"])
    assert bench.main() == 0
    out = capsys.readouterr().out
    by_name = {name: (repeat, args) for name, repeat, args in calls}
    assert {repeat for _, repeat, _ in calls} == {2}  # every side: the same number of runs
    pandas_args = by_name["pandas_baseline"][1]
    # pandas arrives imported: the import is not inside the timed function
    assert isinstance(pandas_args[0], types.ModuleType) and pandas_args[0].__name__ == "pandas"
    assert "import" not in bench.pandas_baseline.__code__.co_names
    assert "best of 2 pandas runs / best of 2 numpy runs" in out
    # netting is timed on the quality path: estimated and missing values come out of it
    net = re.search(r"residuals: ([\d,]+) negative, ([\d,]+) estimated, ([\d,]+) missing", out)
    assert net and all(int(g.replace(",", "")) > 0 for g in net.groups())
    assert "virtual_main_point, quality path" in out
    ratios = [line for line in out.splitlines() if re.search(r"\d+\.\d+x (wall|CPU)", line)]
    assert len(ratios) == 2  # pandas ratio and quality/all-measured ratio, each explained
    for line in ratios:
        following = out.splitlines()[out.splitlines().index(line) + 1]
        assert following.strip().startswith("= best of 2")


def test_modbus_benchmark_baseline_has_as_many_connections_as_the_driver(monkeypatch, capsys):
    pytest.importorskip("psutil")
    bench = _load("modbus_throughput")
    made: list[int] = []
    real_client = bench.AsyncModbusTcpClient

    class CountingClient(real_client):  # type: ignore[misc, valid-type]
        def __init__(self, host, port, **kw):
            made.append(port)
            super().__init__(host, port=port, **kw)

    monkeypatch.setattr(bench, "AsyncModbusTcpClient", CountingClient)
    assert bench.main(["--seconds", "0.2", "--rounds", "2", "--meters", "3", "--skip-rtu"]) == 0
    out = capsys.readouterr().out
    # each of the two rounds opens three bare connections for the three meters
    assert len(made) == 6 and len(set(made[:3])) == 3 and sorted(made[:3]) == sorted(made[3:])
    row = next(line.split() for line in out.splitlines() if line.split()[:1] == ["3"])
    bare, rate, ratio = float(row[1]), float(row[2]), float(row[3])
    assert ratio == pytest.approx(rate / bare, abs=0.006)
    assert "both with the same number of concurrent connections" in out
    assert "best of 2 alternating rounds" in out
