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

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")

    @property
    def id(self) -> str:
        return f"{self.stage}/{self.name}/{self.subject}"

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


def simple_acceptance(stage: str, name: str, subject: str, value: float, unit: str, *,
                      low: float | None = None, high: float | None = None,
                      uncertainty: float | None = None, detail: str = "",
                      data: dict[str, Any] | None = None) -> Record:
    """ILAC-G8 simple acceptance (guard band 0): pass when the measured value is inside the limits."""
    ok = math.isfinite(value) and within(value, low, high)
    return Record(stage, name, subject, value, unit, "pass" if ok else "fail", low, high,
                  uncertainty, "simple acceptance (ILAC-G8, w = 0)", detail, data or {})


def fact(stage: str, name: str, subject: str, value: float | None, unit: str, detail: str = "",
         data: dict[str, Any] | None = None) -> Record:
    return Record(stage, name, subject, value, unit, "info", detail=detail, data=data or {})
