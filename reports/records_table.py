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


def _outside(r: dict[str, Any]) -> bool:
    return r.get("verdict") in ("fail", "conditional_fail")


def record_columns(*, subject: bool = True, rule: bool = False, name: str = "check") -> list[Column]:
    cols = [Column(name, "name", kind="text")]
    if subject:
        cols.append(Column("subject", "subject", kind="code"))  # a meter id or a GSRN
    cols += [Column("value", _value, missing="not evaluated", emphasis=_outside),
             Column("unit", _unit, kind="text"),
             Column("limit", _limit, missing="—"),
             Column("U", _uncertainty, missing="—")]
    if rule:
        cols.append(Column("decision rule", "rule", kind="text"))
    cols += [Column("verdict", "verdict", kind="verdict"),
             Column("why", "detail", kind="text")]
    return cols
