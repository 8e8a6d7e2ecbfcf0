"""Hypothesis strategies for the fuzz tests: TOML-shaped data and mutations of valid documents."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, time
from typing import Any

from hypothesis import strategies as st

_SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "0", "-1", "1e400", "nan", "../../etc/passwd", "2026-06-01",
                     "2026-06-01T00:00:00Z", "5min", "PT15M", "eastron_sdm630", "main",
                     "operator", "reference", "tcp", "rtu", "B", "²⁰²⁰", "\x00"]),
    st.dates(min_value=date(1, 1, 1)),
    st.datetimes(timezones=st.sampled_from([UTC, None])),
    st.times(),
)

#: Any value a TOML document can hold (tables, arrays, scalars incl. dates and times).
TOML_VALUES: st.SearchStrategy[Any] = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, document: Any, max_edits: int = 3) -> Any:
    """``document`` with a few nodes replaced, deleted or given an extra key."""
    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, max_edits))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        if not path:
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent[path[-1]], dict):
            parent[path[-1]][draw(st.text(max_size=8))] = draw(TOML_VALUES)
        else:
            parent[path[-1]] = draw(TOML_VALUES)
    return doc


__all__ = ["TOML_VALUES", "mutated", "date", "datetime", "time"]
