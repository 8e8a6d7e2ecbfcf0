"""Records, not prints: every check the bench makes is a record with its evidence.

A record carries the value, the limits, the unit, the expanded uncertainty (k = 2), the decision
rule and the verdict, so a report can render it and a lab can sign it without recomputing
anything. Verdicts follow ILAC-G8 vocabulary (pass, conditional_pass, conditional_fail, fail);
``info`` marks a record that states a fact without a limit.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from meterbench.core.checks import check

VERDICTS = ("pass", "conditional_pass", "conditional_fail", "fail", "info")
FAILING = ("fail", "conditional_fail")


@dataclass
class Record:
    stage: str
    name: str
    subject: str
    value: float | None
    unit: str
    verdict: str
    low: float | None = None
    high: float | None = None
    uncertainty: float | None = None
    rule: str | None = None
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    #: The stable id of the check (``meterbench.core.checks``): what code looks records up by.
    check: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")
        if not self.check:
            raise ValueError(f"record {self.name!r} names no check id")

    @property
    def id(self) -> str:
        """Unique within a run: the check, its subject, and the item (a lab point's name) when
        the check has one record per item."""
        return f"{self.check}/{self.subject}" + (f"/{self.name}" if self.item else "")

    @property
    def item(self) -> bool:
        return check(self.check).per_item

    @property
    def failed(self) -> bool:
        return self.verdict in FAILING

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["id"] = self.id
        if isinstance(self.value, float) and not math.isfinite(self.value):
            d["value"] = None
        return d


def within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def record(check_id: str, subject: str, value: float | None, unit: str, verdict: str, *,
           name: str | None = None, **kw: Any) -> Record:
    """A record of a check: stage and display name come from the catalog (``name`` overrides the
    display name, e.g. a lab point's)."""
    c = check(check_id)
    return Record(c.stage, name or c.title, subject, value, unit, verdict, check=check_id, **kw)


def simple_acceptance(check_id: str, subject: str, value: float, unit: str, *,
                      low: float | None = None, high: float | None = None,
                      uncertainty: float | None = None, detail: str = "", name: str | None = None,
                      data: dict[str, Any] | None = None) -> Record:
    """ILAC-G8 simple acceptance (guard band 0): pass when the measured value is inside the limits."""
    ok = math.isfinite(value) and within(value, low, high)
    return record(check_id, subject, value, unit, "pass" if ok else "fail", name=name, low=low,
                  high=high, uncertainty=uncertainty, rule="simple acceptance (ILAC-G8, w = 0)",
                  detail=detail, data=data or {})


def fact(check_id: str, subject: str, value: float | None, unit: str, detail: str = "",
         data: dict[str, Any] | None = None, *, name: str | None = None) -> Record:
    """A record stating what was found, without a limit (verdict ``info``), e.g. why a check
    could not be made."""
    return record(check_id, subject, value, unit, "info", name=name, detail=detail,
                  data=data or {})
