"""Strict reading of TOML tables: unknown keys, wrong types and values outside their physical
range are user errors, not surprises.

A bench file is a contract between a lab and its verdicts; a misspelt key silently ignored is a
test that did not run, and a NaN power or a negative baud rate accepted here surfaces hours later as
a traceback or a false verdict. Every accessor names the file and the dotted field path in its
error, and a table that declares its keys reports a typo as the unknown key it is, with the near
key suggested, before anything complains that the intended key is missing.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meterbench.core.bounded import read_text_bounded
from meterbench.core.errors import UserError

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               list: "an array", dict: "a table"}
#: A bench file or register map larger than this is not a description someone wrote: refused
#: before parsing (design limit, docs/bench-file.md "Limits").
MAX_TOML_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Range:
    """The values a number may take: ``lo``/``hi`` inclusive unless ``*_open``; always finite."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False

    def contains(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            return False
        return not (self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi))

    def describe(self) -> str:
        """``"a number > 0"``, ``"between 1 and 247"``: the ``expected`` part of the error."""
        lo = None if self.lo is None else f"{'>' if self.lo_open else '≥'} {_num(self.lo)}"
        hi = None if self.hi is None else f"{'<' if self.hi_open else '≤'} {_num(self.hi)}"
        if lo and hi:
            return f"a finite number {lo} and {hi}"
        return f"a finite number {lo or hi}" if (lo or hi) else "a finite number"


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() and abs(x) >= 1000 else f"{x:g}"


#: Ranges shared by many fields.
POSITIVE = Range(0.0, lo_open=True)
NON_NEGATIVE = Range(0.0)
FINITE = Range()


def load_toml(path: Path, text: str | None = None) -> dict[str, Any]:
    if text is None:
        text = read_text_bounded(path, MAX_TOML_BYTES, what="file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"TOML syntax error: {exc}", source=str(path)) from None
    except RecursionError:  # arrays nested thousands deep: tomllib recurses once per level
        raise UserError("TOML nested too deeply", source=str(path),
                        expected="tables and arrays nested a few levels deep") from None


def near(key: str, candidates: set[str] | list[str]) -> str | None:
    """The candidate a typo most likely meant (``clas`` → ``class``), or None."""
    found = difflib.get_close_matches(key, sorted(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


class Table:
    """A TOML table being read, that remembers which keys were used."""

    def __init__(self, data: Any, source: str, path: str, *,
                 doc: str = "docs/bench-file.md") -> None:
        if not isinstance(data, dict):
            raise UserError(f"must be a table, got {type(data).__name__}", source=source,
                            field=path or None)
        self.data = data
        self.source = source
        self.path = path
        #: Where the file's format is documented (named when a required field is missing): a
        #: limits file or register map read with this class is not a bench file.
        self.doc = doc
        self._used: set[str] = set()
        self._known: frozenset[str] | None = None

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str, expected: str | None = None) -> UserError:
        return UserError(message, source=self.source, field=self.field(key), expected=expected)

    def declare(self, *keys: str) -> Table:
        """The keys this table may hold; any other key is refused now, naming the near one.

        Called before the first ``get``, so ``clas = "B"`` is reported as an unknown ``clas``
        (did you mean ``class``?) rather than as a missing ``class``.
        """
        self._known = frozenset(keys)
        for key in sorted(set(self.data) - self._known, key=str):
            raise self._unknown(str(key), self._known)
        return self

    def _unknown(self, key: str, allowed: set[str] | frozenset[str]) -> UserError:
        guess = near(key, set(allowed))
        if guess is not None:
            return self.error(key, f"unknown field (did you mean {guess!r}?)",
                              expected="one of " + ", ".join(sorted(allowed)))
        return self.error(key, "unknown field",
                          expected="one of " + ", ".join(sorted(allowed)) if allowed else None)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., *,
            choices: tuple[Any, ...] | None = None, within: Range | None = None) -> Any:
        """The value of ``key``, checked for type, choice and range.

        Every number must be finite (TOML spells ``nan`` and ``inf``; no bench quantity is either);
        ``within`` narrows it to the field's physical or supported range.
        """
        self._used.add(key)
        if key not in self.data:
            if default is ...:
                what = {dict: "a table", list: "an array", str: "a string", bool: "true or false",
                        int: "a whole number", float: "a number"}
                names = [what.get(k, k.__name__) for k in (kind if isinstance(kind, tuple)
                                                            else (kind,))]
                raise self.error(key, "missing required field",
                                 expected=f"{key} = {' or '.join(names)} ({self.doc})")
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
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(key, f"{value} is not a finite number",
                             expected=(within or FINITE).describe())
        if within is not None and isinstance(value, int | float) and not within.contains(value):
            raise self.error(key, f"{value!r} is out of range", expected=within.describe())
        return value

    def table(self, key: str, default: Any = ...) -> Table | None:
        if key not in self.data and default is None:
            self._used.add(key)
            return None
        return Table(self.get(key, dict, default), self.source, self.field(key), doc=self.doc)

    def tables(self, key: str) -> list[Table]:
        items = self.get(key, list, [])
        return [Table(item, self.source, f"{self.field(key)}[{i}]", doc=self.doc)
                for i, item in enumerate(items)]

    def finish(self) -> None:
        """Refuse keys nobody asked for (typos, fields from a newer version)."""
        unknown = sorted(set(self.data) - self._used, key=str)
        if unknown:
            raise self._unknown(str(unknown[0]), self._known or self._used)
