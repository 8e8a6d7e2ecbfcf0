"""The fleet report's finding values read with what they count or measure."""

from __future__ import annotations

import math

import pytest

from meterbench.fleet import findings as K
from meterbench.reports.fleet_page import VALUE_TEXT, finding_value

#: Kinds whose findings carry no value (the day or the point is the finding).
WITHOUT_VALUE = {"missing_delivery", "dead"}


def test_every_kind_with_a_value_says_its_unit() -> None:
    assert set(K.KINDS) - WITHOUT_VALUE == set(VALUE_TEXT)


@pytest.mark.parametrize(("kind", "value", "text"), [
    ("meter_error", 4.0509, "+4.05 %"),
    ("meter_error", -3.5, "-3.50 %"),
    ("labelling", 1.0, "+1 h"),
    ("labelling", -1.0, "-1 h"),
    ("negative_residual", 4.0, "4 interval(s)"),
    ("conflicting_delivery", 12.0, "12 value(s) differ"),
    ("late_delivery", 2.25, "2.2 h late"),
    ("stuck", 0.196, "0.196 kWh"),
    ("swapped_channels", 97.4, "97 % export"),
])
def test_value_text(kind: str, value: float, text: str) -> None:
    assert finding_value({"kind": kind, "value": value}) == text


@pytest.mark.parametrize("value", [None, math.nan])
def test_no_value_is_no_text(value: float | None) -> None:
    assert finding_value({"kind": "meter_error", "value": value}) is None
