"""Instrument settings and measurements declared as data, not written out per method.

In the spirit of pymeasure's ``Instrument.control``/``setting``/``measurement``: a driver class
lists its settings (name, SCPI command, unit, range, validator) as class attributes, and these
descriptors do the formatting, range checking, writing and parsing. Because they are data, the
documentation test can list every command a driver sends, and a value outside the declared range
is refused *before* anything reaches the instrument (:class:`SettingRangeError`).

Commands may contain ``{ch}``, filled from the :class:`Channel` the descriptor is read through
(e.g. the phase number of a three-phase source).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from meterbench.instruments.scpi.errors import ResponseError, SettingRangeError


class Validator(Protocol):
    expected: str

    def format(self, value: Any) -> str:
        """The value as program data; raise ``ValueError`` if it is not acceptable."""
        ...


@dataclass(frozen=True)
class InRange:
    """A real number in ``[low, high]``, sent with up to ``digits`` significant digits."""

    low: float
    high: float
    digits: int = 7

    @property
    def expected(self) -> str:
        return f"[{self.low:g}, {self.high:g}]"

    def format(self, value: Any) -> str:
        x = float(value)
        if not math.isfinite(x) or not (self.low <= x <= self.high):
            raise ValueError(self.expected)
        text = f"{x:.{self.digits}g}"
        return "0" if text == "-0" else text


@dataclass(frozen=True)
class IntRange:
    """A whole number in ``[low, high]`` (counts, timer fields), sent as NR1."""

    low: int
    high: int

    @property
    def expected(self) -> str:
        return f"a whole number in [{self.low}, {self.high}]"

    def format(self, value: Any) -> str:
        if isinstance(value, bool) or not float(value).is_integer():
            raise ValueError(self.expected)
        n = int(value)
        if not self.low <= n <= self.high:
            raise ValueError(self.expected)
        return str(n)


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of values, each sent as its program mnemonic (``True`` -> ``ON``)."""

    mnemonics: Mapping[Any, str]

    @property
    def expected(self) -> str:
        return "one of " + ", ".join(repr(k) for k in self.mnemonics)

    def format(self, value: Any) -> str:
        for key, mnemonic in self.mnemonics.items():
            if value == key and type(value) is type(key):
                return mnemonic
        raise ValueError(self.expected)


ON_OFF = OneOf({True: "ON", False: "OFF"})


@dataclass(frozen=True)
class Param:
    """One parameter of a setting: its name, unit and validator."""

    name: str
    unit: str
    validator: Validator


def parse_float(text: str) -> float:
    """An NR1/NR2/NR3 number. SCPI-99 Vol. 1 §7.2.1.5 sends NaN as 9.91E37 and +/-infinity as
    +/-9.9E37; those become float nan/inf so they cannot pass for a measurement."""
    x = float(text.strip())
    if x == 9.91e37:
        return math.nan
    if abs(x) == 9.9e37:
        return math.copysign(math.inf, x)
    return x


def parse_floats(text: str) -> list[float]:
    return [parse_float(part) for part in text.split(",")]


def parse_bool(text: str) -> bool:
    t = text.strip().upper()
    if t in ("1", "ON"):
        return True
    if t in ("0", "OFF"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


class _Host(Protocol):
    def write(self, command: str) -> None: ...

    def query(self, command: str) -> str: ...

    @property
    def placeholders(self) -> dict[str, object]: ...


class Setting:
    """A value the instrument is set to (and, if ``query`` is given, read back from).

    With one parameter the attribute is a scalar; with several it is a tuple in parameter order,
    sent as comma-separated program data (``SOUR:PHAS1:CURR:MHAR:HARM1 5,-60``).
    """

    def __init__(self, command: str, *params: Param, query: str | None = None,
                 parse: Callable[[str], Any] | None = None, doc: str = "") -> None:
        if not params:
            raise TypeError("a Setting needs at least one Param")
        self.command = command
        self.params = params
        self.query_command = query
        self.parse = parse or (parse_float if len(params) == 1 else parse_floats)
        self.doc = doc
        self.name = "?"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: _Host | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        if self.query_command is None:
            raise AttributeError(f"{self.name} is write-only")
        command = self.query_command.format(**obj.placeholders)
        reply = obj.query(command)
        try:
            value = self.parse(reply)
        except ValueError:
            raise ResponseError(command=command, response=reply, expected=self.name) from None
        if len(self.params) > 1:
            return tuple(value)
        return value

    def format(self, value: Any) -> str:
        """The program data for ``value`` (validated), without the header."""
        if len(self.params) == 1:
            values: tuple[Any, ...] = (value,)
        else:
            values = tuple(value) if isinstance(value, tuple | list) else (value,)
        if len(values) != len(self.params):
            raise SettingRangeError(self.name, "value", value,
                                    f"{len(self.params)} values ({', '.join(p.name for p in self.params)})")
        parts = []
        for param, v in zip(self.params, values, strict=True):
            try:
                parts.append(param.validator.format(v))
            except (ValueError, TypeError):
                unit = f" {param.unit}" if param.unit else ""
                raise SettingRangeError(self.name, param.name, v,
                                        param.validator.expected + unit) from None
        return ",".join(parts)

    def __set__(self, obj: _Host, value: Any) -> None:
        data = self.format(value)
        obj.write(f"{self.command.format(**obj.placeholders)} {data}")


class Measurement:
    """A read-only quantity: ``query`` answered with a value parsed by ``parse``."""

    def __init__(self, query: str, unit: str, *, parse: Callable[[str], Any] = parse_float,
                 doc: str = "") -> None:
        self.query_command = query
        self.unit = unit
        self.parse = parse
        self.doc = doc
        self.name = "?"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: _Host | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        command = self.query_command.format(**obj.placeholders)
        reply = obj.query(command)
        try:
            return self.parse(reply)
        except ValueError:
            raise ResponseError(command=command, response=reply, expected=self.name) from None

    def __set__(self, obj: object, value: Any) -> None:
        raise AttributeError(f"{self.name} is a measurement and cannot be set")


class Action:
    """A command without parameters (``:INTEGrate:STARt``), called like a method."""

    def __init__(self, command: str, *, doc: str = "") -> None:
        self.command = command
        self.doc = doc
        self.name = "?"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: _Host | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        command = self.command.format(**obj.placeholders)
        return lambda: obj.write(command)


Declared = Setting | Measurement | Action


def declared(cls: type) -> Iterator[tuple[str, Declared]]:
    """Every setting, measurement and action a class declares (its own and inherited)."""
    seen: set[str] = set()
    for klass in cls.__mro__:
        for name, attr in vars(klass).items():
            if name not in seen and isinstance(attr, Setting | Measurement | Action):
                seen.add(name)
                yield name, attr


class Channel:
    """A numbered part of an instrument (a phase, an input element) sharing its session."""

    def __init__(self, parent: _Host, ch: int | str) -> None:
        self.parent = parent
        self.ch = ch

    @property
    def placeholders(self) -> dict[str, object]:
        return {**self.parent.placeholders, "ch": self.ch}

    def write(self, command: str) -> None:
        self.parent.write(command)

    def query(self, command: str) -> str:
        return self.parent.query(command)
