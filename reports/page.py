"""The page model every report is built as, and both editions (HTML, PDF) render.

A report is a :class:`Page` of :class:`Section` s, each a list of blocks: paragraphs, key/value
tables, data tables, figures and headings with a verdict badge. The run, lab and sampling reports
build a page from their documents (``run_page``, ``sampling_page``); ``html`` and ``pdf`` render
any page. So the PDF holds every section of the HTML page by construction, and one style serves
every report.

No field is ever empty: a key/value row without a value is left out by :func:`key_values` (or says
why it has none), and a table cell without a value is filled by its column's ``missing`` text
(:class:`Column`). The model refuses an empty string, so a renderer cannot print ``period:  to``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from meterbench.core.words import plural  # noqa: F401 - pages import it from here
from meterbench.reports import numbers

Align = Literal["left", "right"]
#: A verdict badge's classes: the verdicts of results.json, test outcomes and a lot's decision.
VERDICT_STYLES = ("pass", "fail", "conditional_pass", "conditional_fail", "info", "skipped",
                  "incomplete")


def _need_text(text: str, what: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{what} may not be empty (a field without a value says why)")


@dataclass(frozen=True)
class Badge:
    """A verdict shown as a coloured label; ``style`` is one of :data:`VERDICT_STYLES`."""

    style: str
    label: str

    def __post_init__(self) -> None:
        _need_text(self.label, "a badge")


def verdict_badge(verdict: str | None) -> Badge:
    """The badge of a verdict of results.json (``conditional_pass`` → "conditional pass")."""
    v = verdict or "info"
    return Badge(v if v in VERDICT_STYLES else "info", v.replace("_", " "))


def outcome_badge(outcome: str) -> Badge:
    """The badge of a pytest outcome."""
    style = {"passed": "pass", "failed": "fail", "error": "fail", "skipped": "skipped"}
    return Badge(style.get(outcome, "info"), outcome)


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, and how it is shown (a number right-aligned, code in monospace,
    a badge coloured by its verdict)."""

    text: str
    align: Align = "left"
    code: bool = False
    badge: Badge | None = None
    emphasis: bool = False  # a value outside its limit

    def __post_init__(self) -> None:
        _need_text(self.badge.label if self.badge else self.text, "a table cell")

    @property
    def css(self) -> str:
        """The HTML classes of the cell: ``num`` (right-aligned), ``bad`` (outside its limit)."""
        return " ".join(c for c, on in (("num", self.align == "right"), ("bad", self.emphasis)) if on)


@dataclass(frozen=True)
class Paragraph:
    kind = "paragraph"
    text: str
    muted: bool = False

    def __post_init__(self) -> None:
        _need_text(self.text, "a paragraph")


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a section, optionally with the verdict of what it heads."""

    kind = "heading"
    text: str
    badge: Badge | None = None


@dataclass(frozen=True)
class VerdictLine:
    """The big verdict and the counts beside it (every count from ``summary``)."""

    kind = "verdict"
    badge: Badge
    counts: tuple[Badge, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class KeyValues:
    kind = "keyvalues"
    rows: tuple[tuple[str, Cell], ...]


@dataclass(frozen=True)
class Table:
    """A data table: headers (units in them) with their alignment, and rows of cells."""

    kind = "table"
    headers: tuple[str, ...]
    aligns: tuple[Align, ...]
    rows: tuple[tuple[Cell, ...], ...]
    caption: str = ""

    def __post_init__(self) -> None:
        if len(self.headers) != len(self.aligns):
            raise ValueError("one alignment per header")
        for row in self.rows:
            if len(row) != len(self.headers):
                raise ValueError(f"a row of {len(row)} cells under {len(self.headers)} headers")


@dataclass(frozen=True)
class FigureBlock:
    """A figure, drawn on demand (``build`` returns a matplotlib Figure): the HTML edition embeds
    it as PNG, the PDF edition draws it as vectors on a page of its own."""

    kind = "figure"
    key: str
    alt: str
    caption: str
    build: Callable[[], Any] = field(compare=False, repr=False)


Block = Paragraph | Heading | VerdictLine | KeyValues | Table | FigureBlock


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Page:
    title: str
    subtitle: tuple[str, ...]
    sections: tuple[Section, ...]
    footer: str = ""

    def figures(self) -> list[FigureBlock]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, FigureBlock)]


# ---- building blocks ---------------------------------------------------------------------------
def text_cell(value: Any, missing: str = "—", *, code: bool = False) -> Cell:
    text = "" if value is None else str(value)
    return Cell(text if text.strip() else missing, code=code and bool(text.strip()))


def num_cell(text: str | None, missing: str = "n/a", *, emphasis: bool = False) -> Cell:
    return Cell(text if text else missing, align="right", emphasis=emphasis)


def key_values(rows: Iterable[tuple[str, Any]]) -> KeyValues:
    """A key/value table; rows whose value is None or empty are left out (a row that must be
    shown without a value passes the reason as its value)."""
    out = []
    for key, value in rows:
        if value is None:
            continue
        cell = value if isinstance(value, Cell) else Cell(str(value)) if str(value).strip() else None
        if cell is not None:
            out.append((key, cell))
    return KeyValues(tuple(out))


@dataclass(frozen=True)
class Column:
    """One column of a data table, in one line: its header and unit, where its value comes from,
    and how it is printed.

    ``value`` is a key of the row (dotted for nested dicts: ``data.current_a``) or a function of
    the row. ``unit`` goes into the header (``error (%)``); ``decimals`` fixes the precision
    (default: the unit's, :mod:`numbers`); ``kind`` is ``number``, ``text``, ``code`` or
    ``verdict`` (a verdict of results.json, or a :class:`Badge`). An ``optional`` column is left out when no row has a value for it, so a key
    another part of the bench adds to its records shows up by adding one line here.
    """

    header: str
    value: str | Callable[[Any], Any]
    unit: str = ""
    kind: Literal["number", "text", "code", "verdict"] = "number"
    decimals: int | None = None
    signed: bool = False
    optional: bool = False
    missing: str | Callable[[Any], str] | None = None  # text for no value (or a function of the row)
    emphasis: Callable[[Any], bool] | None = None

    @property
    def title(self) -> str:
        return f"{self.header} ({self.unit})" if self.unit else self.header

    def raw(self, row: Any) -> Any:
        if callable(self.value):
            return self.value(row)
        out = row
        for part in self.value.split("."):
            out = out.get(part) if isinstance(out, dict) else None
        return out

    def _missing(self, row: Any, default: str) -> str:
        if callable(self.missing):
            return self.missing(row)
        return self.missing or default

    def cell(self, row: Any) -> Cell:
        raw = self.raw(row)
        if self.kind == "verdict":
            badge = raw if isinstance(raw, Badge) else (
                verdict_badge(raw) if raw else Badge("info", "no verdict"))
            return Cell(badge.label, badge=badge)
        if self.kind in ("text", "code"):
            return text_cell(raw, self._missing(row, "—"), code=self.kind == "code")
        if isinstance(raw, str):  # a number results.json carries as text ("inf")
            text = numbers.fixed(raw, 0)
        elif self.decimals is not None:
            text = numbers.fixed(raw, self.decimals, signed=self.signed)
        else:
            text = numbers.quantity(raw, self.unit, signed=self.signed)
        return num_cell(text, self._missing(row, "n/a"),
                        emphasis=bool(self.emphasis and raw is not None and self.emphasis(row)))


def table(columns: Sequence[Column], rows: Iterable[Any], caption: str = "") -> Table:
    """A data table from a column spec: optional columns without any value are left out."""
    rows = list(rows)
    cols = [c for c in columns if not c.optional or any(c.raw(r) is not None for r in rows)]
    return Table(headers=tuple(c.title for c in cols),
                 aligns=tuple("right" if c.kind == "number" else "left" for c in cols),
                 rows=tuple(tuple(c.cell(r) for c in cols) for r in rows), caption=caption)
