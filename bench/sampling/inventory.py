"""The meter inventory: one CSV row per installed meter.

Columns (header names, any order; extra columns are kept in ``extra``):

=====================  ========  ===============================================================
column                 required  meaning
=====================  ========  ===============================================================
meter_id               yes       unique id (serial number)
model                  yes       manufacturer and type, e.g. ``Eastron SDM630``
class                  yes       MID accuracy class ``A``, ``B`` or ``C``
rating                 yes       current rating, e.g. ``0.25-5(80)A`` (compared as text)
production_year        yes       four-digit year
installation_date      yes       ``YYYY-MM-DD``
last_verification      no        ``YYYY-MM-DD`` of the last verification or passed sampling
location               yes       free text (site, address, charger id)
lot_id                 no        explicit lot; when every row has one, lots follow it
mid                    no        ``yes``/``no`` (default ``yes``): MID meter or national approval
technology             no        ``electronic`` (default) or ``electromechanical``
=====================  ========  ===============================================================

Installation and verification dates are calendar dates (``datetime.date``), not instants: due
dates are whole dates in the scheme's country, so no time zone applies.
"""

from __future__ import annotations

import calendar
import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from meterbench.core.bounded import MAX_CSV_BYTES, read_bytes_bounded
from meterbench.core.csvheader import require_columns
from meterbench.core.errors import UserError
from meterbench.core.outfiles import spreadsheet_cell

REQUIRED = ("meter_id", "model", "class", "rating", "production_year", "installation_date",
            "location")
OPTIONAL = ("last_verification", "lot_id", "mid", "technology")
CLASSES = ("A", "B", "C")
TECHNOLOGIES = ("electronic", "electromechanical")


@dataclass(frozen=True)
class Meter:
    meter_id: str
    model: str
    accuracy_class: str
    rating: str
    production_year: int
    installation_date: date
    location: str
    last_verification: date | None = None
    lot_id: str | None = None
    mid: bool = True
    technology: str = "electronic"
    extra: dict[str, str] = field(default_factory=dict, compare=False)
    #: the CSV row it came from (header = row 1), for messages; None when built in code
    row: int | None = field(default=None, compare=False)


_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def date_problem(text: str) -> str:
    """Why ``text`` is not a date: a well-formed YYYY-MM-DD naming a day that does not exist
    (2026-02-30) is told so, rather than "not a date (expected YYYY-MM-DD)" it already is."""
    m = _ISO_DAY.match(text.strip())
    if m:
        year, month, day = (int(g) for g in m.groups())
        if not 1 <= month <= 12:
            return f"{text.strip()}: there is no month {month}"
        days = calendar.monthrange(year, month)[1] if year >= 1 else 31
        if not 1 <= day <= days:
            return (f"{text.strip()}: no such day ({calendar.month_name[month]} {year} has "
                    f"{days} days)")
    return f"not a date: {text!r}"


def parse_date(text: str, *, source: str, field_name: str, row: int) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"row {row}: {date_problem(text)}", source=source, field=field_name,
                        expected="YYYY-MM-DD") from None


def undecodable(data: bytes, exc: UnicodeDecodeError) -> str:
    """Where a file stops being UTF-8: its line (= CSV row, header = 1) and the byte."""
    line = data[:exc.start].count(b"\n") + 1
    return f"line {line}: not UTF-8 text (byte {exc.start}, 0x{data[exc.start]:02x})"


def _yes_no(text: str, *, source: str, row: int) -> bool:
    t = text.strip().lower()
    if t in ("", "yes", "y", "true", "1"):
        return True
    if t in ("no", "n", "false", "0"):
        return False
    raise UserError(f"row {row}: {text!r} is not yes/no", source=source, field="mid",
                    expected="yes or no")


def _meter(raw: dict[str, str], *, source: str, row: int) -> Meter:
    for name in REQUIRED:
        if not (raw.get(name) or "").strip():
            raise UserError(f"row {row}: empty", source=source, field=name,
                            expected="a value in every row")
    cls = raw["class"].strip().upper()
    if cls not in CLASSES:
        raise UserError(f"row {row}: class {raw['class']!r} unknown", source=source,
                        field="class", expected="A, B or C (MID)")
    year_text = raw["production_year"].strip()
    if not (year_text.isascii() and year_text.isdigit() and len(year_text) == 4):
        raise UserError(f"row {row}: production year {year_text!r}", source=source,
                        field="production_year", expected="a four-digit year")
    installed = parse_date(raw["installation_date"], source=source,
                           field_name="installation_date", row=row)
    if installed.year < int(year_text):
        raise UserError(f"row {row}: installed {installed} before production year {year_text}",
                        source=source, field="installation_date",
                        expected="a date in or after the production year")
    last_text = (raw.get("last_verification") or "").strip()
    last = parse_date(last_text, source=source, field_name="last_verification",
                      row=row) if last_text else None
    if last is not None and last.year < int(year_text):
        raise UserError(f"row {row}: verified {last} before production year {year_text}",
                        source=source, field="last_verification",
                        expected="a date in or after the production year")
    tech = (raw.get("technology") or "electronic").strip().lower() or "electronic"
    if tech not in TECHNOLOGIES:
        raise UserError(f"row {row}: technology {tech!r}", source=source, field="technology",
                        expected=" or ".join(TECHNOLOGIES))
    extra = {k: v for k, v in raw.items() if k not in REQUIRED + OPTIONAL and k is not None}
    return Meter(meter_id=raw["meter_id"].strip(), model=raw["model"].strip(),
                 accuracy_class=cls, rating=raw["rating"].strip(),
                 production_year=int(year_text), installation_date=installed,
                 location=raw["location"].strip(), last_verification=last,
                 lot_id=(raw.get("lot_id") or "").strip() or None,
                 mid=_yes_no(raw.get("mid") or "", source=source, row=row), technology=tech,
                 extra=extra, row=row)


def check_not_after(meters: Iterable[Meter], on: date, *, source: str, option: str) -> None:
    """No meter was verified after ``on``: a verification in the future of the date the command
    works on is a typo (a wrong year), and it would start the lot's next interval from it."""
    for m in meters:
        if m.last_verification is not None and m.last_verification > on:
            where = f"row {m.row}: " if m.row else ""
            raise UserError(f"{where}meter {m.meter_id} verified {m.last_verification}, after "
                            f"{option} {on}", source=source, field="last_verification",
                            expected=f"a date on or before {option} {on}")


def read_inventory_text(text: str, *, source: str = "<inventory>") -> list[Meter]:
    """Parse inventory CSV text. Row numbers in errors count the header as row 1."""
    try:
        return _read_inventory_rows(text, source=source)
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        raise UserError(f"not valid CSV: {exc}", source=source,
                        expected="comma-separated values") from None


def _read_inventory_rows(text: str, *, source: str) -> list[Meter]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    require_columns(header, REQUIRED, source=source, field="header",
                    expected="columns " + ", ".join(REQUIRED))
    reader.fieldnames = header
    meters: list[Meter] = []
    seen: dict[str, int] = {}
    for row_no, raw in enumerate(reader, start=2):
        if None in raw:
            raise UserError(f"row {row_no}: more fields than the header", source=source,
                            field="row", expected=f"{len(header)} fields")
        if not any((v or "").strip() for v in raw.values()):
            continue
        m = _meter(raw, source=source, row=row_no)
        if m.meter_id in seen:
            raise UserError(f"row {row_no}: meter id {m.meter_id!r} already in row "
                            f"{seen[m.meter_id]}", source=source, field="meter_id",
                            expected="unique meter ids")
        seen[m.meter_id] = row_no
        meters.append(m)
    if not meters:
        raise UserError("no meters", source=source, expected="at least one data row")
    return meters


def read_inventory(path: str | Path) -> list[Meter]:
    p = Path(path)
    data = read_bytes_bounded(p, MAX_CSV_BYTES, what="inventory")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(undecodable(data, exc), source=str(p),
                        expected="a UTF-8 CSV file (save it as CSV UTF-8)") from None
    return read_inventory_text(text, source=str(p))


def write_inventory(meters: Iterable[Meter], path: str | Path) -> None:
    cols = list(REQUIRED[:6]) + ["last_verification", "location", "lot_id", "mid", "technology"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for m in meters:
            w.writerow([spreadsheet_cell(c) for c in (
                m.meter_id, m.model, m.accuracy_class, m.rating, m.production_year,
                m.installation_date.isoformat(),
                m.last_verification.isoformat() if m.last_verification else "",
                m.location, m.lot_id or "", "yes" if m.mid else "no", m.technology)])
