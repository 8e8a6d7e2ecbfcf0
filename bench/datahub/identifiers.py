"""GS1 identifiers: GLN (parties, 13 digits) and GSRN (metering points, 18 digits).

Lengths from the RSM-012 message description (sender/receiver "codingScheme A10 = GLN",
metering point "A10, 18-digit GSRN") and the GS1 General Specifications (GLN 13 digits, GSRN 18
digits). Both end with a GS1 mod-10 check digit (GS1 General Specifications, section 7.9 "Check
digit calculation").

Two levels of wrong, kept apart because they mean different things:

* :func:`identifier_problem`: the value cannot be that identifier at all - empty, a template
  placeholder such as ``{MeteringPointId}``, not digits, or the wrong number of digits. DataHub
  refuses such a message: a sender is a GLN only when it is 13 numeric characters (Energinet
  opengeh-edi, ``ActorNumber.IsGlnNumber``), and a metering point it does not know is rejected
  with E10 "the metering point does not exist" (Energinet opengeh-process-manager, BRS-021
  ``MeteringPointValidationRule``).
* :func:`check_digit_problem`: the right shape with a wrong check digit. Only a warning, because
  test benches routinely use made-up identifiers, and DataHub's GLN test does not look at it.
"""

from __future__ import annotations

import re

from meterbench.core.errors import UserError
from meterbench.core.gs1 import gs1_check_digit

GLN_DIGITS = 13
GSRN_DIGITS = 18
DIGITS = {"GLN": GLN_DIGITS, "GSRN": GSRN_DIGITS}

#: Template markers (``{MeteringPointId}``, ``${GLN}``, ``<gsrn>``, ``%s``, ``[GSRN]``): a value
#: that still holds one was never filled in.
_TEMPLATE = re.compile(r"[{}<>$%\[\]]")


def gs1_check_digit_ok(digits: str) -> bool:
    """True when the last digit is the GS1 mod-10 check digit of the others."""
    if not digits.isascii() or not digits.isdigit() or len(digits) < 2:
        return False
    return gs1_check_digit(digits[:-1]) == digits[-1]


def is_placeholder(value: str) -> bool:
    """A template marker, or one character repeated (``XXXXXXXXXXXXX``, ``000000000000000000``)."""
    text = value.strip()
    return bool(_TEMPLATE.search(text)) or (len(text) > 1 and len(set(text)) == 1)


def identifier_problem(value: str, kind: str) -> str | None:
    """Why ``value`` cannot be a ``kind`` ("GLN" or "GSRN"), or None when it has the right shape.

    One message per kind of mistake, checked in this order: empty, placeholder, not digits,
    wrong number of digits.
    """
    count = DIGITS[kind]
    if not value.strip():
        return f"{kind} is empty (expected {count} digits)"
    if is_placeholder(value):
        return f"{kind} {value!r} is a placeholder, not an identifier (expected {count} digits)"
    if not (value.isascii() and value.isdigit()):
        bad = next(c for c in value if not (c.isascii() and c.isdigit()))
        return f"{kind} {value!r} is not all digits ({bad!r} at position {value.index(bad) + 1}; " \
               f"expected {count} digits)"
    if len(value) != count:
        return f"{kind} {value!r} has {len(value)} digits (expected {count})"
    return None


def check_digit_problem(value: str, kind: str) -> str | None:
    """A wrong GS1 check digit on an identifier of the right shape (else None)."""
    if identifier_problem(value, kind) is not None or gs1_check_digit_ok(value):
        return None
    return (f"{kind} {value} has a wrong GS1 check digit {value[-1]} "
            f"(expected {gs1_check_digit(value[:-1])})")


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
