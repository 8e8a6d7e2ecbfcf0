"""Comparing result tables bit for bit (NaN equals NaN, floats by their bytes)."""

from __future__ import annotations

from typing import Any

from meterbench.fleet import layout as L


def assert_same_table(a: Any, b: Any) -> None:
    assert a.column_names == b.column_names
    assert a.num_rows == b.num_rows
    for name in a.column_names:
        if a.column(name).type in (L.pa().float64(), L.pa().float32()):
            x = a.column(name).to_numpy(zero_copy_only=False)
            y = b.column(name).to_numpy(zero_copy_only=False)
            assert x.tobytes() == y.tobytes(), name  # bit for bit, NaN included
        else:
            assert a.column(name).to_pylist() == b.column(name).to_pylist(), name
