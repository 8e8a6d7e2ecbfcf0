"""GS1 identifiers used by DataHub: GLN (13 digits, parties) and GSRN (18 digits, metering points)."""

from __future__ import annotations


def gs1_check_digit(body: str) -> str:
    """GS1 mod-10 check digit: weights 3,1,3,… from the rightmost digit of the body."""
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def is_valid_gs1(number: str, length: int) -> bool:
    return (len(number) == length and number.isascii() and number.isdigit()
            and gs1_check_digit(number[:-1]) == number[-1])
