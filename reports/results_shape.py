"""The shape of ``results.json`` that the renderers read, checked before anything is rendered.

A results document comes from a file: hand-edited, truncated, written by another version. The
renderers index into it (``results["run"]``, ``record["verdict"]``, ``run.software.items()``);
without this check a malformed file is a ``KeyError`` or ``AttributeError`` traceback. With it,
it is one line naming the field and what it should hold (``meterbench report`` exits 2), and
anything that still fails while rendering a document that passed is a bug, with its traceback.

Only what the renderers dereference is required; every other field stays optional, so documents
of any 1.x version (fields are only ever added) pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Kind:
    """A leaf: ``name`` for the message, ``types`` accepted (None accepted when ``nullable``)."""

    name: str
    types: tuple[type, ...]
    nullable: bool = True

    def problem(self, value: Any) -> str | None:
        if value is None and self.nullable:
            return None
        if isinstance(value, bool) and bool not in self.types:
            return self.name
        return None if isinstance(value, self.types) else self.name


@dataclass(frozen=True)
class Table:
    """A JSON object with these fields (``required`` must be present), others allowed."""

    fields: dict[str, Any]
    required: tuple[str, ...] = ()
    nullable: bool = False


@dataclass(frozen=True)
class ListOf:
    item: Any
    nullable: bool = False


@dataclass(frozen=True)
class MapOf:
    item: Any


TEXT = Kind("text", (str,))
NUMBER = Kind("a number", (int, float))
ANY = Kind("anything", (object,))
RECORD = Table({"verdict": Kind("text", (str,), nullable=False), "name": TEXT, "subject": TEXT,
                "value": ANY, "low": NUMBER, "high": NUMBER, "uncertainty": NUMBER,
                "unit": TEXT, "detail": TEXT, "data": Table({"kind": TEXT}, nullable=True)},
               required=("verdict",))

RESULTS = Table({
    "schema": Kind("text", (str,), nullable=False),
    "run": Table({"id": TEXT, "bench": TEXT, "software": MapOf(TEXT)}, required=("id", "bench")),
    "verdict": TEXT,
    "records": ListOf(RECORD),
    "tests": ListOf(Table({"nodeid": TEXT, "outcome": Kind("text", (str,), nullable=False)},
                          required=("outcome",))),
    "devices": ListOf(Table({"id": TEXT, "name": TEXT, "role": TEXT, "model": TEXT})),
    "events": ListOf(Table({"time": TEXT, "meter": TEXT, "kind": TEXT, "detail": TEXT})),
    "series": MapOf(TEXT),
    "field": ListOf(Table({"operator": Kind("text", (str,), nullable=False),
                           "records": ListOf(RECORD)}, required=("operator",))),
    "truth": ListOf(Table({"meter": TEXT})),
    "acquisition": Table({"meters": MapOf(Table({})), "success_pct": NUMBER}, nullable=True),
    "intervals": Table({"meters": ListOf(Table({"meter": TEXT, "channel": TEXT,
                                                "total_kwh": NUMBER}))}, nullable=True),
    "netting": Table({"serial": ListOf(TEXT), "diagnoses": ListOf(TEXT)}, nullable=True),
    "accuracy": Table({
        "lab": Table({"meters": ListOf(Table({"meter": TEXT, "records": ListOf(RECORD),
                                              "rating": Table({}, nullable=True)},
                                             required=("meter",)))}, nullable=True),
        "field": ListOf(Table({"operator": Kind("text", (str,), nullable=False),
                               "points": ListOf(Table({}))}, required=("operator",)),
                        nullable=True),
    }, nullable=True),
}, required=("schema", "run"))

_NAMES = {Table: "a table (JSON object)", ListOf: "a list", MapOf: "a table (JSON object)"}


def shape_problem(value: Any, spec: Any = RESULTS, where: str = "") -> str | None:
    """The first place ``value`` breaks ``spec``, as ``"field: expected ..."``; None if it fits."""
    here = where or "the document"
    if isinstance(spec, Kind):
        wrong = spec.problem(value)
        return None if wrong is None else f"{here}: expected {wrong}, got {_json_type(value)}"
    if value is None and getattr(spec, "nullable", False):
        return None
    if isinstance(spec, Table):
        if not isinstance(value, dict):
            return f"{here}: expected {_NAMES[Table]}, got {_json_type(value)}"
        for key in spec.required:
            if key not in value:
                return f"{_join(where, key)}: missing"
        for key, sub in spec.fields.items():
            if key in value:
                found = shape_problem(value[key], sub, _join(where, key))
                if found:
                    return found
        return None
    if isinstance(spec, ListOf | MapOf):
        container = list if isinstance(spec, ListOf) else dict
        if not isinstance(value, container):
            return f"{here}: expected {_NAMES[type(spec)]}, got {_json_type(value)}"
        items = (((f"{where}[{i}]", v) for i, v in enumerate(value)) if container is list
                 else ((_join(where, str(k)), v) for k, v in value.items()))
        return next((p for at, v in items if (p := shape_problem(v, spec.item, at))), None)
    raise TypeError(f"unknown spec {spec!r}")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "true/false", int: "a number", float: "a number", str: "text",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)
