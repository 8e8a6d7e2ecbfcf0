"""Errors the user can fix.

A :class:`UserError` is a mistake in something the user gave us (a bench file, a CSV, a command
option). The CLI prints it as one line and exits with code 2, never with a traceback. Everything
else is a bug or an environment failure and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input: says which file, which field, and what was expected."""

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None,
                 expected: str | None = None) -> None:
        self.message = message
        self.source = source
        self.field = field
        self.expected = expected
        super().__init__(self.format())

    def format(self) -> str:
        parts = []
        if self.source:
            parts.append(str(self.source))
        if self.field:
            parts.append(self.field)
        where = ": ".join(parts)
        text = f"{where}: {self.message}" if where else self.message
        if self.expected:
            text += f" (expected {self.expected})"
        return text
