"""Errors the user can fix.

A :class:`UserError` is a mistake in something the user gave us (a bench file, a CSV, a command
option). The CLI prints it as one line and exits with code 2, never with a traceback. Everything
else is a bug or an environment failure and keeps its traceback.

It shares its three facts (which file, which field, what was expected) and its one-line format
with the instruments layer's :class:`~meterbench.instruments.errors.ConfigError` (a broken register map or
fault description), of which it is a kind: the CLI catches that base class, so a user mistake
found deep in a driver or simulator reads the same as one found in the bench.
"""

from __future__ import annotations

from meterbench.instruments.errors import ConfigError


class UserError(ConfigError):
    """Bad input: says which file, which field, and what was expected."""
