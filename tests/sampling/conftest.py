"""Helpers for the sampling tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def run_cli(monkeypatch, capsys):
    """Run ``meterbench`` with only the sampling command registered (other areas' modules may
    not exist in this branch); returns (exit code, stdout, stderr)."""
    import meterbench.cli as cli

    monkeypatch.setattr(cli, "COMMAND_MODULES", ("meterbench.cli.sampling",))

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:  # argparse errors
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run
