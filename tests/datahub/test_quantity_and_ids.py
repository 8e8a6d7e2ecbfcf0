"""Rounding float kWh to the wire's 3 decimals, and GS1 identifiers."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterbench.core.errors import UserError
from meterbench.datahub.identifiers import gs1_check_digit_ok, require_gln, require_gsrn
from meterbench.datahub.quantity import (
    decimal_places,
    format_quantity,
    integer_digits,
    kwh_to_quantity,
)


@pytest.mark.parametrize(("kwh", "expected"), [
    (1.0, "1.000"), (0.0005, "0.001"), (0.0015, "0.002"), (2.675, "2.675"), (1.2345, "1.235"),
    (1.23449, "1.234"), (-0.0004, "0.000"), (-1.2345, "-1.235"), (12345678.9, "12345678.900"),
])
def test_rounds_half_up_on_the_shown_decimal(kwh: float, expected: str) -> None:
    # 0.0005 and 1.2345 are just below .5 in binary; the bench rounds the value the user sees.
    assert format_quantity(kwh_to_quantity(kwh)) == expected


@pytest.mark.parametrize("kwh", [math.nan, math.inf, -math.inf])
def test_non_finite_is_no_quantity(kwh: float) -> None:
    assert kwh_to_quantity(kwh) is None


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_rounding_is_within_half_a_unit_and_has_three_decimals(kwh: float) -> None:
    q = kwh_to_quantity(kwh)
    assert q is not None
    assert q.as_tuple().exponent == -3
    assert abs(q - Decimal(repr(kwh))) <= Decimal("0.0005")
    assert str(q) != "-0.000"


def test_decimal_places_and_integer_digits_count_the_value() -> None:
    assert decimal_places(Decimal("1.5000")) == 1
    assert decimal_places(Decimal("1.2345")) == 4
    assert decimal_places(Decimal("100")) == 0
    assert integer_digits(Decimal("0.5")) == 1
    assert integer_digits(Decimal("9999999999.999")) == 10
    assert integer_digits(Decimal("-12345678901")) == 11
    assert integer_digits(Decimal("0.000")) == 1 and integer_digits(Decimal("1E+3")) == 4
    assert decimal_places(Decimal("1E+3")) == 0 and decimal_places(Decimal("0.0010")) == 3
    # no decimal context rounding: 40 significant digits keep their 37 decimals
    assert decimal_places(Decimal("123." + "4" * 37)) == 37
    # a hostile exponent is counted, not expanded into a billion characters
    assert integer_digits(Decimal("1E+999999999")) == 1_000_000_000
    assert decimal_places(Decimal("1E-999999999")) == 999_999_999


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_digit_counts_agree_with_the_printed_number(q: Decimal) -> None:
    text = format(q, "f").lstrip("-")
    whole, _, fraction = text.partition(".")
    assert integer_digits(q) == max(1, len(whole.lstrip("0")))
    assert decimal_places(q) == len(fraction.rstrip("0"))


@pytest.mark.parametrize("known_good", ["9780306406157", "4006381333931", "5790000000005"])
def test_gs1_check_digit_accepts_published_examples(known_good: str) -> None:
    # 978-0-306-40615-7 (ISBN-13 example) and 4006381333931 (EAN-13) use the same GS1 mod-10.
    assert gs1_check_digit_ok(known_good)


@given(st.text(alphabet="0123456789", min_size=12, max_size=17))
def test_exactly_one_check_digit_fits(body: str) -> None:
    assert sum(gs1_check_digit_ok(body + str(d)) for d in range(10)) == 1


@pytest.mark.parametrize("bad", ["579000000000", "57900000000050", "579000000000x", 5.79e12, None,
                                 "５７９００００００００００５"])
def test_gln_must_be_13_ascii_digits(bad: object) -> None:
    with pytest.raises(UserError, match="GLN"):
        require_gln(bad, source="results.json", field="datahub.sender_gln")


def test_gsrn_must_be_18_digits() -> None:
    assert require_gsrn("571313180000000005") == "571313180000000005"
    with pytest.raises(UserError, match="expected 18 digits"):
        require_gsrn("../../etc/passwd")
