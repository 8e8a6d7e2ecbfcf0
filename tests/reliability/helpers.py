"""Shared helpers of the reliability tests: run the real CLI and judge its error line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_BENCH = REPO_ROOT / "tests" / "plugin" / "tiny.toml"


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("MPLBACKEND", "Agg")
    return env


def run_cli(*argv: str, cwd: Path, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """``python -m meterbench ARGV`` in a child process: the exact path a user takes."""
    return subprocess.run([sys.executable, "-m", "meterbench", *argv], cwd=cwd, env=cli_env(),
                          capture_output=True, text=True, timeout=timeout, check=False)


def assert_one_line_error(stderr: str, *needles: str) -> str:
    """The user-error contract: one ``meterbench: error:`` line naming what it must, no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if ln.startswith("meterbench: error:")]
    assert len(lines) == 1, stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def tiny_bench_text(**replacements: str) -> str:
    """The tiny test bench's TOML with literal text replaced (each must occur)."""
    text = TINY_BENCH.read_text(encoding="utf-8")
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def edit(text: str, old: str, new: str, count: int = 1) -> str:
    assert old in text, old
    return text.replace(old, new, count)




def make_run(bench: Path, out: Path) -> Path:
    """A finished run folder of ``bench`` (simulated): started, acquired, written, closed."""
    from meterbench.config.bench_file import load_bench
    from meterbench.run.session import BenchRun

    run = BenchRun(load_bench(str(bench)), out)
    try:
        run.start()
        run.acquire()
        run.write()
    finally:
        run.close()
    return out
