"""Errors the user can fix, and failures of the machine the bench runs on.

A :class:`UserError` is a mistake in something the user gave us (a bench file, a CSV, a command
option). The CLI prints it as one line and exits with code 2, never with a traceback.

An :class:`EnvironmentFailure` is the machine refusing a write or a read that the input was right
to ask for: a full disk, a read-only medium, a permission. The CLI prints it as one line and exits
with code 3, after whoever raised it has closed what it had open (the store's session ends with a
``session_stopped`` record, temporary files are removed). Everything else is a bug and keeps its
traceback.

:class:`UserError` shares its three facts (which file, which field, what was expected) and its
one-line format with the instruments layer's :class:`~meterbench.instruments.errors.ConfigError`
(a broken register map or fault description), of which it is a kind: the CLI catches that base
class, so a user mistake found deep in a driver or simulator reads the same as one found in the
bench.
"""

from __future__ import annotations

import errno
import sqlite3

from meterbench.instruments.errors import ConfigError

#: Exit codes of every command (docs/running.md).
EXIT_OK, EXIT_VERDICT_FAILED, EXIT_USER_ERROR, EXIT_ENVIRONMENT = 0, 1, 2, 3

#: ``errno`` values that mean the machine, not the input or the code: no space, no quota, file
#: too large for a limit, read-only file system, no permission, an I/O error of the device.
ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS,
                                errno.EACCES, errno.EPERM, errno.EIO})
#: SQLite's words for the same conditions (it does not expose errno).
_SQLITE_ENVIRONMENT = ("disk is full", "disk i/o error", "readonly database",
                       "unable to open database file", "database or disk is full")


class UserError(ConfigError):
    """Bad input: says which file, which field, and what was expected."""


class EnvironmentFailure(Exception):
    """The machine refused: one line naming the file and the reason (exit 3)."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.message = message
        self.source = source
        super().__init__(self.format())

    def format(self) -> str:
        return f"{self.source}: {self.message}" if self.source else self.message


def environment_failure(exc: BaseException, source: str | None = None) -> EnvironmentFailure | None:
    """``exc`` as an :class:`EnvironmentFailure` when it is one (by errno, or SQLite's message),
    else None (a bug: let it keep its traceback)."""
    if isinstance(exc, EnvironmentFailure):
        return exc
    if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS:
        where = source or exc.filename
        return EnvironmentFailure(exc.strerror or str(exc), source=str(where) if where else None)
    if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
        text = str(exc).lower()
        if any(words in text for words in _SQLITE_ENVIRONMENT):
            return EnvironmentFailure(str(exc), source=source)
    return None
