"""Laying a page model out on A4 pages for the PDF edition: text measured, wrapped, paginated.

Pure layout: the result is a list of pages, each a list of drawing operations in points from the
page's top left corner (text pages), or a figure to draw on a page of its own. :mod:`pdf` draws
them. Text is measured with the font it is drawn with (matplotlib's text-to-path metrics), so a
table cell wraps inside its column instead of being cut off or running into the next one; a long
token (a SHA-256, a VISA resource) breaks between characters. Numbers never wrap.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

from meterbench.reports.page import (
    Badge,
    Cell,
    FigureBlock,
    Heading,
    KeyValues,
    Page,
    Paragraph,
    Table,
    VerdictLine,
)
from meterbench.reports.visible import visible

PORTRAIT = (595.28, 841.89)  # A4 in points
LANDSCAPE = (PORTRAIT[1], PORTRAIT[0])
LEFT = 42.0
TOP = 58.0
BOTTOM = 50.0
WIDTH = PORTRAIT[0] - 2 * LEFT
BODY = 8.5
TABLE = 7.0
MIN_TABLE = 5.0
PAD_X = 3.0
PAD_Y = 2.2
LEADING = 1.3
#: A long token breaks between characters when it is wider than this (a SHA-256 in a cell).
MAX_UNBROKEN = 110.0

TEXT = "#222222"
MUTED = "#66707a"
BAD = "#9b1c14"
RULE = "#d5dbe1"
HEADER_BG = "#eef1f5"
BADGE_COLORS = {"pass": ("#1b6b37", "#d7f0df"), "fail": ("#9b1c14", "#f8d7d5"),
                "conditional_pass": ("#56660f", "#eaf3c8"),
                "conditional_fail": ("#8a4b00", "#fde7c4"),
                "info": ("#44515e", "#e4e9ef"), "skipped": ("#44515e", "#e4e9ef")}


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # baseline
    text: str
    size: float
    bold: bool = False
    mono: bool = False
    color: str = TEXT
    right: bool = False  # x is the right edge
    badge: str | None = None  # badge style: drawn on its colour


@dataclass(frozen=True)
class Rule:
    x0: float
    x1: float
    y: float
    color: str = RULE
    width: float = 0.5


@dataclass(frozen=True)
class Box:
    x: float
    y: float  # top
    w: float
    h: float
    color: str = HEADER_BG


#: What "(page p)" is wrapped as: one word as wide as the widest page number a report reaches.
PAGE_SUFFIX = "(page_999)"


@dataclass(frozen=True)
class FigureRef:
    """"Figure n: caption (page p)", wrapped to the text width (``lines``; the page is
    appended to the last line once the figure pages are placed)."""

    x: float
    y: float  # the first line's baseline
    number: int
    lines: tuple[str, ...]
    size: float = BODY

    @property
    def height(self) -> float:
        return len(self.lines) * self.size * LEADING


@dataclass
class TextPage:
    ops: list = field(default_factory=list)


@dataclass
class FigurePage:
    number: int
    block: FigureBlock
    section: str


# ---- measuring and wrapping --------------------------------------------------------------------
_T2P = TextToPath()


@lru_cache(maxsize=50_000)
def text_width(text: str, size: float, bold: bool = False, mono: bool = False) -> float:
    """Width in points of ``text`` as drawn (DejaVu Sans or DejaVu Sans Mono)."""
    if not text:
        return 0.0
    prop = FontProperties(family="DejaVu Sans Mono" if mono else "DejaVu Sans",
                          weight="bold" if bold else "normal", size=size)
    width, _, _ = _T2P.get_text_width_height_descent(text, prop, ismath=False)
    return float(width)


def _break_token(token: str, width: float, size: float, bold: bool, mono: bool) -> list[str]:
    parts, current = [], ""
    for ch in token:
        if current and text_width(current + ch, size, bold, mono) > width:
            parts.append(current)
            current = ch
        else:
            current += ch
    return parts + ([current] if current else [])


def wrap(text: str, width: float, size: float, bold: bool = False, mono: bool = False) -> list[str]:
    """Greedy word wrap to ``width`` points; a word wider than the line breaks between
    characters. Explicit newlines are kept. Control and bidi characters are shown as
    ``⟨U+XXXX⟩`` (:func:`meterbench.reports.visible.visible`), as on the HTML page."""
    text = visible(text)
    lines: list[str] = []
    width += 0.01  # a word exactly as wide as its column fits
    space = text_width(" ", size, bold, mono)
    for para in text.split("\n"):
        current, used = "", 0.0
        for word in para.split():
            w = text_width(word, size, bold, mono)
            if w > width:
                pieces = _break_token(word, width, size, bold, mono)
            else:
                pieces = [word]
            for piece in pieces:
                pw = text_width(piece, size, bold, mono)
                if current and used + space + pw <= width:
                    current += " " + piece
                    used += space + pw
                else:
                    if current:
                        lines.append(current)
                    current, used = piece, pw
        lines.append(current)
    return lines or [""]


def _longest_word(text: str, size: float, bold: bool, mono: bool) -> float:
    return max((text_width(w, size, bold, mono) for w in text.split()), default=0.0)


# ---- the layout --------------------------------------------------------------------------------
class Layout:
    """Places blocks top to bottom on portrait pages; figures float to pages of their own right
    after the text page that refers to them."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.pages: list[TextPage | FigurePage] = []
        self.pending: list[FigurePage] = []
        self.figures = 0
        self.section = ""
        self._new_page()

    # pages
    def _new_page(self) -> None:
        if self.pages and isinstance(self.pages[-1], TextPage):
            self.pages += self.pending
            self.pending = []
        self.current = TextPage()
        self.pages.append(self.current)
        self.y = TOP

    def finish(self) -> list[TextPage | FigurePage]:
        self.pages += self.pending
        self.pending = []
        return [p for p in self.pages if not (isinstance(p, TextPage) and not p.ops)]

    def need(self, height: float) -> None:
        if self.y + height > PORTRAIT[1] - BOTTOM and self.y > TOP:
            self._new_page()

    def add(self, op: object) -> None:
        self.current.ops.append(op)

    # text
    def lines(self, text: str, size: float, *, bold: bool = False, color: str = TEXT,
              indent: float = 0.0, after: float = 4.0) -> None:
        lh = size * LEADING
        for line in wrap(text, WIDTH - indent, size, bold):
            self.need(lh)
            self.add(Text(LEFT + indent, self.y + size, line, size, bold=bold, color=color))
            self.y += lh
        self.y += after

    def title(self) -> None:
        self.lines(self.page.title, 16, bold=True, after=2)
        self.lines(" · ".join(self.page.subtitle), 8, color=MUTED, after=10)

    def section_title(self, title: str) -> None:
        self.section = title
        self.need(90)  # a title is never the last line of a page
        self.y += 6
        self.lines(title, 13, bold=True, after=1)
        self.add(Rule(LEFT, LEFT + WIDTH, self.y, color="#9aa5b1", width=0.8))
        self.y += 7

    def badge_run(self, badges: list[tuple[Badge, float, bool]], text: str = "",
                  lead: str = "") -> None:
        """An optional bold lead text, badges side by side (badge, size, bold), then text."""
        if lead and text_width(lead, 10, True) > WIDTH * 0.75:
            self.lines(lead, 10, bold=True, after=0)
            lead = ""
        x = LEFT + 2
        height = max([s for _, s, _ in badges] + [10.0 if lead else 0.0]) * 1.6
        self.need(height + 4)
        base = self.y + height * 0.72
        if lead:
            self.add(Text(LEFT, base, lead, 10, bold=True))
            x = LEFT + text_width(lead, 10, True) + 8
        for b, size, bold in badges:
            self.add(Text(x, base, b.label, size, bold=bold, badge=b.style,
                          color=BADGE_COLORS.get(b.style, BADGE_COLORS["info"])[0]))
            x += text_width(b.label, size, bold) + size * 1.4
        self.y += height + 3
        if text:
            self.lines(text, BODY)

    # blocks
    def block(self, b: object) -> None:
        if isinstance(b, Paragraph):
            self.lines(b.text, BODY - (1 if b.muted else 0), color=MUTED if b.muted else TEXT)
        elif isinstance(b, Heading):
            self.need(40)
            self.y += 4
            if b.badge:
                self.badge_run([(b.badge, 8, True)], lead=b.text)
            else:
                self.lines(b.text, 10, bold=True, after=3)
        elif isinstance(b, VerdictLine):
            self.badge_run([(b.badge, 15, True)] + [(c, 8.5, True) for c in b.counts], b.text)
        elif isinstance(b, KeyValues):
            self.key_values(b)
        elif isinstance(b, Table):
            self.table(b.headers, b.aligns, b.rows)
            if b.caption:
                self.lines(b.caption, BODY - 1, color=MUTED)
        elif isinstance(b, FigureBlock):
            self.figures += 1
            fig = FigurePage(self.figures, b, self.section)
            self.pending.append(fig)
            lines = wrap(f"Figure {fig.number}: {b.caption} {PAGE_SUFFIX}", WIDTH, BODY)
            lines[-1] = lines[-1].removesuffix(PAGE_SUFFIX).rstrip()
            ref = FigureRef(LEFT, self.y + BODY, fig.number, tuple(lines))
            self.need(ref.height)
            self.add(replace(ref, y=self.y + BODY))
            self.y += ref.height + 4

    def key_values(self, kv: KeyValues) -> None:
        keys = [k for k, _ in kv.rows]
        key_w = min(max((text_width(k, TABLE, True) for k in keys), default=40) + 2 * PAD_X, 150)
        self.table(("", ""), ("left", "left"), tuple((Cell(k), v) for k, v in kv.rows),
                   widths=[key_w, WIDTH - key_w], header=False, bold_first=True)

    def _widths(self, headers: tuple[str, ...], aligns: tuple[str, ...],
                rows: tuple[tuple[Cell, ...], ...], size: float) -> list[float] | None:
        n = len(headers)
        natural, minimum = [0.0] * n, [0.0] * n
        for j in range(n):
            head_nat = text_width(headers[j], size, True)
            head_min = _longest_word(headers[j], size, True, False)
            cells = [r[j] for r in rows]
            nat = max((_cell_width(c, size) for c in cells), default=0.0)
            if aligns[j] == "right" or all(c.badge for c in cells):
                mn = nat  # numbers and badges never wrap
            else:
                mn = min(max((_longest_word(c.text, size, False, c.code) for c in cells),
                             default=0.0), MAX_UNBROKEN)
            natural[j] = max(nat, head_nat) + 2 * PAD_X
            minimum[j] = max(mn, min(head_min, MAX_UNBROKEN)) + 2 * PAD_X
        if sum(natural) <= WIDTH:
            return natural
        spare = WIDTH - sum(minimum)
        if spare < 0:
            return None
        # columns that need little to fit whole get it first (a PF or a header stays on one
        # line); what is left is shared by the long texts in proportion to their length
        widths = list(minimum)
        order = sorted(range(n), key=lambda j: natural[j] - minimum[j])
        for k, j in enumerate(order):
            rest = order[k:]
            need = natural[j] - minimum[j]
            fair = spare * need / (sum(natural[i] - minimum[i] for i in rest) or 1.0)
            give = need if need <= spare / len(rest) else fair
            widths[j] += give
            spare -= give
        return widths

    def _fit(self, headers: tuple[str, ...], aligns: tuple[str, ...],
             rows: tuple[tuple[Cell, ...], ...]) -> tuple[list[float], float]:
        """Column widths and the font size at which the table fits the text width."""
        size = TABLE
        while True:
            widths = self._widths(headers, aligns, rows, size)
            if widths is not None:
                return widths, size
            if size <= MIN_TABLE:
                # the narrowest it gets: equal shares, text breaks between characters
                return [WIDTH / len(headers)] * len(headers), size
            size = round(size - 0.5, 1)

    @staticmethod
    def _wrap_row(row: tuple[Cell, ...], widths: list[float], size: float,
                  bold_first: bool) -> list[list[str]]:
        return [[c.badge.label] if c.badge else
                wrap(c.text, widths[j] - 2 * PAD_X, size, bold_first and j == 0, c.code)
                for j, c in enumerate(row)]

    @staticmethod
    def _header_height(headers: tuple[str, ...], widths: list[float], size: float) -> float:
        lines = max(len(wrap(h, w - 2 * PAD_X, size, True))
                    for h, w in zip(headers, widths, strict=True))
        return lines * size * LEADING + 2 * PAD_Y

    def table_start_height(self, t: Table) -> float:
        """The height of a table's header and first row: what a heading keeps with it."""
        widths, size = self._fit(t.headers, t.aligns, t.rows)
        first = (max(len(w) for w in self._wrap_row(t.rows[0], widths, size, False))
                 * size * LEADING + 2 * PAD_Y) if t.rows else 0.0
        return self._header_height(t.headers, widths, size) + first

    def table(self, headers: tuple[str, ...], aligns: tuple[str, ...],
              rows: tuple[tuple[Cell, ...], ...], *, widths: list[float] | None = None,
              header: bool = True, bold_first: bool = False) -> None:
        size = TABLE
        if widths is None:
            widths, size = self._fit(headers, aligns, rows)
        lh = size * LEADING
        xs = [LEFT + sum(widths[:j]) for j in range(len(widths))]
        first_row = (max(len(w) for w in self._wrap_row(rows[0], widths, size, bold_first))
                     * lh + 2 * PAD_Y) if rows else lh + 2 * PAD_Y

        def draw_header() -> None:
            wrapped = [wrap(h, w - 2 * PAD_X, size, True) for h, w in zip(headers, widths, strict=True)]
            height = max(len(w) for w in wrapped) * lh + 2 * PAD_Y
            self.need(height + first_row)  # a header never ends a page without its first row
            self.add(Box(LEFT, self.y, sum(widths), height))
            for j, lines in enumerate(wrapped):
                self._cell_lines(lines, xs[j], widths[j], aligns[j] == "right", size, True,
                                 False, TEXT)
            self.y += height

        if header:
            draw_header()
        for row in rows:
            wrapped = self._wrap_row(row, widths, size, bold_first)
            height = max(len(w) for w in wrapped) * lh + 2 * PAD_Y
            if self.y + height > PORTRAIT[1] - BOTTOM:
                self._new_page()
                if header:
                    draw_header()
            for j, c in enumerate(row):
                if c.badge:
                    pal = BADGE_COLORS.get(c.badge.style, BADGE_COLORS["info"])
                    self.add(Text(xs[j] + PAD_X + 1, self.y + PAD_Y + size, c.badge.label,
                                  size, bold=True, color=pal[0], badge=c.badge.style))
                    continue
                self._cell_lines(wrapped[j], xs[j], widths[j], c.align == "right", size,
                                 (bold_first and j == 0) or c.emphasis, c.code,
                                 BAD if c.emphasis else TEXT)
            self.y += height
            self.add(Rule(LEFT, LEFT + sum(widths), self.y))
        self.y += 6

    def _cell_lines(self, lines: list[str], x: float, w: float, right: bool, size: float,
                    bold: bool, mono: bool, color: str) -> None:
        for k, line in enumerate(lines):
            y = self.y + PAD_Y + size + k * size * LEADING
            if right:
                self.add(Text(x + w - PAD_X, y, line, size, bold=bold, mono=mono, color=color,
                              right=True))
            else:
                self.add(Text(x + PAD_X, y, line, size, bold=bold, mono=mono, color=color))


def _cell_width(c: Cell, size: float) -> float:
    if c.badge:
        return text_width(c.badge.label, size, True) + 4
    return text_width(c.text, size, c.emphasis, c.code)


def layout(page: Page) -> list[TextPage | FigurePage]:
    """Every section of the page, in order, on A4 pages; figures on pages of their own."""
    lay = Layout(page)
    lay.title()
    for section in page.sections:
        lay.section_title(section.title)
        blocks = section.blocks
        for i, block in enumerate(blocks):
            after = blocks[i + 1] if i + 1 < len(blocks) else None
            if isinstance(block, Heading) and isinstance(after, Table) and after.rows:
                lay.need(40 + lay.table_start_height(after))  # a heading stays with its table
            lay.block(block)
    if page.footer:
        lay.lines(page.footer, BODY - 1, color=MUTED)
    return lay.finish()
