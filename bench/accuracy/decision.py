"""Decision rules after ILAC-G8:09/2019 (Guidelines on Decision Rules and Statements of
Conformity), applied to a value with limits and U.

* ``simple``: simple acceptance, guard band w = 0: pass inside the tolerance, fail outside (up to
  50 % false-accept risk at the limit).
* ``guarded``: guarded acceptance with w = U: pass only inside the acceptance limit
  (tolerance − U), fail otherwise (binary; low false-accept risk, more false rejects).
* ``non_binary``: pass inside tolerance − U; conditional pass between tolerance − U and the
  tolerance; conditional fail between the tolerance and tolerance + U; fail beyond.

Every record states the rule it used (a conformity statement must, ILAC-G8:09/2019).
"""

from __future__ import annotations

import math

RULES = ("simple", "guarded", "non_binary")
RULE_TEXT = {
    "simple": "simple acceptance (ILAC-G8, w = 0)",
    "guarded": "guarded acceptance (ILAC-G8, w = U)",
    "non_binary": "non-binary (ILAC-G8, w = U: pass / conditional pass / conditional fail / fail)",
}


def _margin(value: float, low: float | None, high: float | None) -> float:
    """Distance inside the tolerance (positive) or outside it (negative), in value units."""
    m = math.inf
    if low is not None:
        m = min(m, value - low)
    if high is not None:
        m = min(m, high - value)
    return m


def decide(value: float, low: float | None, high: float | None, uncertainty: float,
           rule: str) -> str:
    """The verdict for ``value`` against ``[low, high]`` with expanded uncertainty ``U``."""
    if rule not in RULES:
        raise ValueError(f"unknown decision rule {rule!r} (expected one of {', '.join(RULES)})")
    if not math.isfinite(value):
        return "fail"
    u = uncertainty if math.isfinite(uncertainty) else math.inf
    m = _margin(value, low, high)
    if rule == "simple":
        return "pass" if m >= 0 else "fail"
    if rule == "guarded":
        return "pass" if m >= u else "fail"
    if m >= u:
        return "pass"
    if m >= 0:
        return "conditional_pass"
    if m >= -u:
        return "conditional_fail"
    return "fail"
