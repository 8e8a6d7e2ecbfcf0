"""Shared test configuration."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cli_env() -> dict[str, str]:
    """Environment for running ``python -m meterbench`` in a child process (the installed package:
    the repository's folders are not importable by their own names)."""
    return dict(os.environ)
