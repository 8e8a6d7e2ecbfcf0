"""``meterbench daily`` on a day or run folder it cannot deliver from as it is."""

from __future__ import annotations

from pathlib import Path

import pytest

import meterbench.cli
from meterbench.run.session import BenchRun

from .helpers import TINY_BENCH, assert_one_line_error

CREATED = ["--created", "2026-06-02T06:00:00Z"]


def test_an_interrupted_day_is_not_delivered_as_if_it_were_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """The second call used to say "using the readings already in ...", deliver the part of the
    day acquired before Ctrl-C with the rest as missing, and exit 0."""
    monkeypatch.chdir(tmp_path)
    acquire = BenchRun.acquire

    def interrupted(self):
        acquire(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(BenchRun, "acquire", interrupted)
    args = ["daily", str(TINY_BENCH), "--date", "2026-06-01", *CREATED]
    assert meterbench.cli.main(args) == 130
    day = Path("runs") / "daily-tiny-2026-06-01"
    assert (day / "store.sqlite").is_file()
    capsys.readouterr()
    monkeypatch.setattr(BenchRun, "acquire", acquire)
    assert meterbench.cli.main(args) == 2
    out, err = capsys.readouterr()
    assert_one_line_error(err, str(day), "interrupted", "remove the folder")
    assert out == "" and err.count("\n") == 1 and not (day / "outbox").exists()


def test_a_finished_day_is_delivered_again_from_its_readings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["daily", str(TINY_BENCH), "--date", "2026-06-01", *CREATED]
    assert meterbench.cli.main(args) == 0
    first = capsys.readouterr().out
    monkeypatch.setattr(BenchRun, "acquire", lambda self: pytest.fail("polled twice"))
    assert meterbench.cli.main([*args, "--outbox", "again"]) == 0
    out, err = capsys.readouterr()
    assert "note: using the readings already in" in err
    assert first.splitlines()[-1].split(": ", 1)[1] == out.splitlines()[-1].split(": ", 1)[1]


def test_a_run_in_use_is_one_error_line_without_the_schema_note(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """While another command held the run folder, the "schema validation skipped" note came
    before the in-use error: two lines for one refusal."""
    import fcntl
    import os

    from .helpers import make_run

    monkeypatch.delenv("METERBENCH_DATAHUB_SCHEMAS", raising=False)
    run = make_run(TINY_BENCH, tmp_path / "L")
    fd = os.open(run / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as another acquisition would
        capsys.readouterr()
        assert meterbench.cli.main(["daily", str(TINY_BENCH), "--date", "2026-06-01", "--run",
                                    str(run), *CREATED]) == 2
    finally:
        os.close(fd)
    err = capsys.readouterr().err
    assert_one_line_error(err, str(run), "in use")
    assert err.count("\n") == 1, err
