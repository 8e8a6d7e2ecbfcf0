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
        elif L.pa().types.is_list(a.column(name).type) and \
                L.pa().types.is_floating(a.column(name).type.value_type):
            x, y = a.column(name).combine_chunks(), b.column(name).combine_chunks()
            assert x.is_null().to_pylist() == y.is_null().to_pylist(), name
            assert x.value_lengths().to_pylist() == y.value_lengths().to_pylist(), name
            assert (x.flatten().to_numpy(zero_copy_only=False).tobytes()
                    == y.flatten().to_numpy(zero_copy_only=False).tobytes()), name
        else:
            assert a.column(name).to_pylist() == b.column(name).to_pylist(), name
