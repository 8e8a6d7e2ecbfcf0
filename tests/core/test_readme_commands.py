"""README's two commands stay true: CI runs the test command exactly as README gives it."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _command_after(marker: str) -> str:
    lines = (REPO / "README.md").read_text().splitlines()
    return lines[lines.index(marker) + 1].strip()


def test_ci_runs_readmes_test_command_verbatim():
    test_cmd = _command_after("# 2. Install and run the tests:")
    assert "tox -e test" in test_cmd
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert test_cmd in ci


def test_first_command_installs_and_runs_the_main_job():
    main_cmd = _command_after("# 1. Install and run the main job on the built-in simulated bench "
                              "(a Danish household, one day):")
    assert main_cmd.endswith("meterbench run") and "pip install ." in main_cmd
