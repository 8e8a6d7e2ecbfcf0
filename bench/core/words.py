"""Counts that read as English in every message and page: ``1 meter``, ``2 meters``."""

from __future__ import annotations


def plural(n: int, noun: str, many: str | None = None) -> str:
    """``1 record``, ``2,330 records``: by default the noun's first word takes the s ("test in
    the suite" → "tests in the suite"); ``many`` gives the plural where that is wrong ("serial
    meter" → "serial meters", "day late" → "days late")."""
    if n == 1:
        return f"{n:,} {noun}"
    if many is not None:
        return f"{n:,} {many}"
    first, _, rest = noun.partition(" ")
    return f"{n:,} {first}s" + (f" {rest}" if rest else "")
