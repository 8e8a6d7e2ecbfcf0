"""The header check every CSV reader shares, with a hint for the commonest foreign format.

Spreadsheets in countries that write a decimal comma save "CSV" with semicolons between fields;
read as comma-separated, the whole header is one column and every required column looks
missing. Saying "missing column(s) meter, time, ..." sends the user looking for columns that
are there; saying "semicolon-separated" tells them what to change.
"""

from __future__ import annotations

from collections.abc import Sequence

from meterbench.core.errors import UserError


def require_columns(names: Sequence[str], wanted: Sequence[str], *, source: str,
                    field: str = "header (row 1)", expected: str | None = None) -> None:
    """Refuse a header lacking any of ``wanted``, naming them, or naming the semicolons."""
    missing = [c for c in wanted if c not in names]
    if not missing:
        return
    if len(names) == 1 and ";" in names[0]:
        raise UserError("the header is one column holding ';': a semicolon-separated file",
                        source=source, field=field,
                        expected="comma-separated values with a point as the decimal mark (save "
                        "as CSV with ',' separators: " + ",".join(wanted) + ")")
    raise UserError(f"missing column(s) {', '.join(missing)}", source=source, field=field,
                    expected=expected or ",".join(wanted))
