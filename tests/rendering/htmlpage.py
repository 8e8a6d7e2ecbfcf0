"""A rendered report's HTML read back as a reader sees it: sections, their tables, cell texts and
classes (the standard library's parser; no browser)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class HCell:
    text: str
    tag: str
    classes: set[str]


@dataclass
class HTable:
    rows: list[list[HCell]] = field(default_factory=list)

    @property
    def header(self) -> list[HCell]:
        return self.rows[0] if self.rows and all(c.tag == "th" for c in self.rows[0]) else []

    @property
    def body(self) -> list[list[HCell]]:
        return self.rows[1:] if self.header else self.rows


@dataclass
class HSection:
    id: str
    title: str = ""
    tables: list[HTable] = field(default_factory=list)
    text: str = ""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[HSection] = []
        self.styles: list[str] = []
        self.header_text = ""
        self._cell: HCell | None = None
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        self._in.append(tag)
        if tag == "section":
            self.sections.append(HSection(a.get("id") or ""))
        elif tag == "table" and self.sections:
            self.sections[-1].tables.append(HTable())
        elif tag == "tr" and self.sections and self.sections[-1].tables:
            self.sections[-1].tables[-1].rows.append([])
        elif tag in ("td", "th") and self.sections and self.sections[-1].tables:
            self._cell = HCell("", tag, set((a.get("class") or "").split()))
            self.sections[-1].tables[-1].rows[-1].append(self._cell)
        elif tag == "code" and self._cell is not None:
            self._cell.classes.add("code")  # an identifier (GSRN, hash), not a quantity

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()
        if tag in ("td", "th") and self._cell is not None:
            self._cell.text = " ".join(self._cell.text.split())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if "style" in self._in:
            self.styles.append(data)
        if self._cell is not None:
            self._cell.text += data
        if self.sections and "section" in self._in:
            s = self.sections[-1]
            s.text += data
            if "h2" in self._in:
                s.title += data
        elif "header" in self._in:
            self.header_text += data


@dataclass
class HPage:
    sections: list[HSection]
    style: str
    header: str

    def section(self, sid: str) -> HSection:
        return next(s for s in self.sections if s.id == sid)

    @property
    def titles(self) -> list[str]:
        return [" ".join(s.title.split()) for s in self.sections]


def read_page(html: str) -> HPage:
    r = _Reader()
    r.feed(html)
    for s in r.sections:
        s.text = " ".join(s.text.split())
    return HPage(r.sections, "".join(r.styles), " ".join(r.header_text.split()))


NUMBER = re.compile(r"^[+\-−±≤≥=]?\s?\d+(\.\d+)?( … [+\-]?\d+(\.\d+)?)?$")
SCIENTIFIC = re.compile(r"\d[eE][+\-]?\d")
