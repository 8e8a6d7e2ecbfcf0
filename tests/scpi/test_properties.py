"""Declared settings: formatting, range checks, and parsing (hypothesis for the number paths)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterbench.instruments.scpi.base import Identity, parse_error_entry
from meterbench.instruments.scpi.errors import ResponseError, SettingRangeError
from meterbench.instruments.scpi.fluke6105a import Fluke6105A, PowerStandardPhase
from meterbench.instruments.scpi.properties import ON_OFF, InRange, declared, parse_float
from meterbench.instruments.scpi.yokogawa_wt1800 import YokogawaWT1800


@given(st.floats(min_value=-1008, max_value=1008, allow_nan=False))
def test_in_range_values_survive_the_wire_to_seven_digits(x: float) -> None:
    text = InRange(-1008, 1008).format(x)
    assert " " not in text and "," not in text
    assert math.isclose(float(text), x, rel_tol=5e-7, abs_tol=1e-300)


@given(st.one_of(st.floats(min_value=21.0, exclude_min=True, allow_nan=False),
                 st.floats(max_value=0.0, exclude_max=True, allow_nan=False),
                 st.just(math.nan)))
def test_out_of_range_values_are_refused(x: float) -> None:
    with pytest.raises(ValueError):
        InRange(0.0, 21.0).format(x)


def test_on_off_is_strictly_boolean() -> None:
    assert ON_OFF.format(True) == "ON" and ON_OFF.format(False) == "OFF"
    with pytest.raises(ValueError):
        ON_OFF.format(1)


def test_setting_with_wrong_arity_says_what_it_needs() -> None:
    with pytest.raises(SettingRangeError, match="amplitude, angle"):
        PowerStandardPhase.voltage.format(230.0)
    assert PowerStandardPhase.voltage.format((230.0, -120.0)) == "230,-120"


@pytest.mark.parametrize(("text", "expected"), [
    ("9.91E+37", math.nan), ("9.9E+37", math.inf), ("-9.9E37", -math.inf), ("2.3E+02", 230.0)])
def test_scpi_special_numbers(text: str, expected: float) -> None:
    value = parse_float(text)
    assert (math.isnan(value) and math.isnan(expected)) or value == expected


@pytest.mark.parametrize(("text", "code", "message"), [
    ('0,"No error"', 0, "No error"), ('-222,"Data out of range"', -222, "Data out of range"),
    ('+113,"Undefined header"', 113, "Undefined header"), ("-100,Command error", -100,
                                                           "Command error")])
def test_error_entries_parse(text: str, code: int, message: str) -> None:
    entry = parse_error_entry(text)
    assert (entry.code, entry.message) == (code, message)


def test_identity_needs_four_fields() -> None:
    with pytest.raises(ResponseError):
        Identity.parse("FLUKE,6105A")


def test_declared_lists_settings_of_both_drivers() -> None:
    source = dict(declared(Fluke6105A))
    reference = dict(declared(YokogawaWT1800))
    assert {"frequency_hz", "output_enabled"} <= set(source)
    assert {"integration_start", "integration_stop", "integration_reset", "integration_state",
            "numeric_values"} <= set(reference)


def test_whole_number_settings_refuse_fractions() -> None:
    with pytest.raises(SettingRangeError):
        YokogawaWT1800.integration_timer.format((1.5, 0, 0))
    assert YokogawaWT1800.integration_timer.format((1, 30, 0)) == "1,30,0"
    with pytest.raises(SettingRangeError):
        YokogawaWT1800.numeric_count.format(0)
