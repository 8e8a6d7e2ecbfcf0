"""How a verdict record is shown in a table, wherever a report lists records.

One column spec for the failures, the field acceptance, the lab's special tests and the list of
all records, so a record reads the same everywhere: its value in its unit's precision with the
unit in a column of its own (a value never wraps away from its unit), its limit, its expanded
uncertainty, its verdict and why (``detail``). A record without a value (a check that could not
run, an info record) says "not evaluated" and its detail says why.
"""

from __future__ import annotations

from typing import Any

from meterbench.reports import numbers
from meterbench.reports.page import Column


def _value(r: dict[str, Any]) -> str | None:
    return numbers.quantity(r.get("value"), r.get("unit"))


def _unit(r: dict[str, Any]) -> str | None:
    return r.get("unit") if r.get("value") is not None else None


def _limit(r: dict[str, Any]) -> str | None:
    return numbers.limit(r.get("low"), r.get("high"), r.get("unit"))


def _uncertainty(r: dict[str, Any]) -> str | None:
    return numbers.quantity(r.get("uncertainty"), r.get("unit"))


def outside_limit(r: dict[str, Any]) -> bool:
    """The record's value lies outside its limit (a highlighted value means that, and only that:
    a guarded verdict can fail a value inside its limit because of its U)."""
    value, low, high = r.get("value"), r.get("low"), r.get("high")
    if not isinstance(value, (int, float)) or value != value:
        return False
    return (low is not None and value < low) or (high is not None and value > high)


def u_above_target(r: dict[str, Any]) -> bool:
    """The record's U is above the target its plan set (``data.uncertainty_ok`` false)."""
    return (r.get("data") or {}).get("uncertainty_ok") is False


def record_columns(*, subject: bool = True, rule: bool = False, name: str = "check") -> list[Column]:
    cols = [Column(name, "name", kind="text")]
    if subject:
        cols.append(Column("subject", "subject", kind="code"))  # a meter id or a GSRN
    cols += [Column("value", _value, missing="not evaluated", emphasis=outside_limit),
             Column("unit", _unit, kind="text"),
             Column("limit", _limit, missing="—"),
             Column("U", _uncertainty, missing="—", emphasis=u_above_target)]
    if rule:
        cols.append(Column("decision rule", "rule", kind="text"))
    cols += [Column("verdict", "verdict", kind="verdict"),
             Column("why", "detail", kind="text")]
    return cols
