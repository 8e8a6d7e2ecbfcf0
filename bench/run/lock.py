"""A run folder's lock: one writing command at a time, and a refusal that names the holder.

``acquire``, ``run``, ``daily`` and ``export`` into a run folder hold this lock for as long as they
write it. Two acquisitions of one bench would poll every meter twice (double traffic on a real
bus) and both call themselves the first session; a ``run`` writing into a folder being acquired
mixes two runs in one store. The second command is refused with one line naming the process that
holds the folder.

The lock is an advisory ``flock`` on ``RUN/.lock``, which also holds the holder's pid, command and
start time. The kernel releases it when the holder dies however it dies (SIGKILL, power cut), so a
stale lock file left by a dead process is simply taken over. Within one process the lock is
re-entrant (the ``run`` command and the bench run it starts are one writer).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from meterbench.core.errors import EnvironmentFailure, UserError, environment_failure

LOCK_FILE = ".lock"
_held: dict[str, RunLock] = {}


class RunLock:
    """A held lock on one run folder; :meth:`release` (or leaving the ``with``) gives it up."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self._depth = 1

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is None:
            return
        self._depth -= 1
        if self._depth > 0:
            return
        _held.pop(_key(self.path), None)
        with contextlib.suppress(OSError):
            (self.path / LOCK_FILE).unlink()  # still holding it: no one can lock the old file
        os.close(self._fd)  # releases the flock
        self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _key(path: Path) -> str:
    return str(Path(path).resolve())


def _holder(lock_path: Path) -> str:
    try:
        text = lock_path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return text.splitlines()[0] if text else "another process"


def lock_run_dir(run_dir: Path, command: str | None = None) -> RunLock:
    """Take ``run_dir``'s lock (the folder must exist), or refuse naming who holds it."""
    run_dir = Path(run_dir)
    held = _held.get(_key(run_dir))
    if held is not None and held.held:
        held._depth += 1
        return held
    lock_path = run_dir / LOCK_FILE
    what = command or "meterbench " + " ".join(sys.argv[1:2])
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            failure = environment_failure(exc, str(run_dir))
            if failure is None:
                raise
            raise EnvironmentFailure(f"cannot lock the run folder: {failure.message}",
                                     source=str(run_dir)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(f"run folder is in use by {_holder(lock_path)}", source=str(run_dir),
                            expected="one command at a time per run folder: wait for it to "
                            "finish, stop it, or use another folder") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock_path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the previous holder removed the file while we opened it: lock the new one
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    os.ftruncate(fd, 0)
    os.write(fd, f"process {os.getpid()} ({what}, since {since})\n".encode())
    lock = RunLock(run_dir, fd)
    _held[_key(run_dir)] = lock
    return lock


@contextlib.contextmanager
def locked(run_dir: Path, command: str | None = None) -> Iterator[RunLock]:
    lock = lock_run_dir(run_dir, command)
    try:
        yield lock
    finally:
        lock.release()
