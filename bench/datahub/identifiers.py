"""GS1 identifiers: GLN (parties, 13 digits) and GSRN (metering points, 18 digits).

Lengths from RSM-012 (sender/receiver codingScheme A10 = GLN, metering point A10 = 18-digit
GSRN) and the GS1 General Specifications (GLN 13 digits, GSRN 18 digits). Both end with a GS1
mod-10 check digit (GS1 General Specifications, section 7.9 "Check digit calculation"): the bench
reports a wrong one as a warning, because test benches routinely use made-up identifiers.
"""

from __future__ import annotations

import re

from meterbench.core.errors import UserError

GLN_DIGITS = 13
GSRN_DIGITS = 18


def gs1_check_digit_ok(digits: str) -> bool:
    """True when the last digit is the GS1 mod-10 check digit of the others."""
    if not digits.isascii() or not digits.isdigit() or len(digits) < 2:
        return False
    body = [int(c) for c in digits[:-1]]
    # weights 3,1,3,1,... from the rightmost body digit (GS1 General Specifications 7.9.1)
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == int(digits[-1])


def require_digits(value: object, count: int, *, what: str, source: str | None = None,
                   field: str | None = None) -> str:
    """``value`` as a string of exactly ``count`` ASCII digits, or a UserError saying so."""
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
    if text is None or not re.fullmatch(rf"[0-9]{{{count}}}", text):
        raise UserError(f"bad {what} {value!r}", source=source, field=field,
                        expected=f"{count} digits")
    return text


def require_gln(value: object, *, source: str | None = None, field: str | None = None) -> str:
    return require_digits(value, GLN_DIGITS, what="GLN", source=source, field=field)


def require_gsrn(value: object, *, source: str | None = None, field: str | None = None) -> str:
    return require_digits(value, GSRN_DIGITS, what="GSRN", source=source, field=field)
