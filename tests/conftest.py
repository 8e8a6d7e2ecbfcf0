"""Shared test configuration."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Energinet's official DataHub schemas, beside a checkout in CI only (never in the project):
#: tests that need them skip with a reason when the folder is absent. The commands find them
#: through the environment variable a user would set.
SHARED_SCHEMAS = REPO_ROOT.parent / "shared" / "datahub" / "schemas"
if (SHARED_SCHEMAS / "json").is_dir() and (SHARED_SCHEMAS / "xml").is_dir():
    os.environ.setdefault("METERBENCH_DATAHUB_SCHEMAS", str(SHARED_SCHEMAS))


@pytest.fixture
def cli_env() -> dict[str, str]:
    """Environment for running ``python -m meterbench`` in a child process (the installed package:
    the repository's folders are not importable by their own names)."""
    return dict(os.environ)
