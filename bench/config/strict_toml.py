"""Strict reading of TOML tables: unknown keys and wrong types are user errors, not surprises.

A bench file is a contract between a lab and its verdicts; a misspelt key silently ignored is a
test that did not run. Every accessor names the file and the dotted field path in its error.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from meterbench.core.errors import UserError

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               list: "an array", dict: "a table"}


def load_toml(path: Path, text: str | None = None) -> dict[str, Any]:
    try:
        raw = text if text is not None else path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError("file not found", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read file: {exc}", source=str(path)) from None
    try:
        return tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"TOML syntax error: {exc}", source=str(path)) from None


class Table:
    """A TOML table being read, that remembers which keys were used."""

    def __init__(self, data: Any, source: str, path: str) -> None:
        if not isinstance(data, dict):
            raise UserError(f"must be a table, got {type(data).__name__}", source=source,
                            field=path or None)
        self.data = data
        self.source = source
        self.path = path
        self._used: set[str] = set()

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str, expected: str | None = None) -> UserError:
        return UserError(message, source=self.source, field=self.field(key), expected=expected)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., *,
            choices: tuple[Any, ...] | None = None) -> Any:
        self._used.add(key)
        if key not in self.data:
            if default is ...:
                raise self.error(key, "missing required field")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            raise self.error(key, f"wrong type {type(value).__name__}", expected=names)
        if choices is not None and value not in choices:
            raise self.error(key, f"unknown value {value!r}",
                             expected="one of " + ", ".join(map(str, choices)))
        return value

    def table(self, key: str, default: Any = ...) -> Table | None:
        if key not in self.data and default is None:
            self._used.add(key)
            return None
        return Table(self.get(key, dict, default), self.source, self.field(key))

    def tables(self, key: str) -> list[Table]:
        items = self.get(key, list, [])
        return [Table(item, self.source, f"{self.field(key)}[{i}]") for i, item in enumerate(items)]

    def finish(self) -> None:
        """Refuse keys nobody asked for (typos, fields from a newer version)."""
        unknown = sorted(set(self.data) - self._used)
        if unknown:
            raise self.error(unknown[0], "unknown field",
                             expected="one of " + ", ".join(sorted(self._used)) if self._used else None)
