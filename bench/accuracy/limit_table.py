"""Error limits as data, with their sources: the MID table built in, a lab's own table loadable.

A limits file (TOML, documented in docs/accuracy.md) names its source and holds rows: which load a
row covers (``balanced``: single-phase meters and polyphase meters with balanced loads;
``single_phase``: a polyphase meter with current in one phase only; ``any``), a current range in
rated currents (``from`` inclusive, ``below`` exclusive or up to Imax), optionally the power
factors it covers, and per accuracy class one MPE (%) per temperature band. A row may cite its own
clause. ``[in_service.<country>]`` gives the multiple of the MPE that is the in-service limit there.

The built-in table is Directive 2014/32/EU Annex V Table 2 (``mid_limits.toml`` beside this
module). A lab testing against a standard's limits (EN 50470-3, IEC 62053-21/-22: tables that are
not public, so none is shipped) writes them in this format, citing the standard's table, and
names the file in its bench file; the verdicts then say that table and row.

Pure parsing and lookup: the file is read by :func:`load_limit_table`, everything else takes the
parsed :class:`LimitTable`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from meterbench.config.strict_toml import Table, load_toml
from meterbench.core.errors import UserError

LOADS = ("balanced", "single_phase", "any")
#: Power factor labels a row may list (the test plans' labels).
PF_LABELS = ("1", "0.5 ind", "0.8 cap")
RATED = ("Ist", "Imin", "Itr", "Iref", "Imax")
_CURRENT = re.compile(r"^\s*(?P<k>\d+(?:\.\d+)?)?\s*(?P<name>Ist|Imin|Itr|Iref|Imax)\s*$")
#: Relative slack when comparing a test current with a rated bound (ratings are written with a
#: few digits; 0.1 · Iref must fall on Itr).
_REL = 1e-9


@dataclass(frozen=True)
class Bound:
    """``k`` times a rated current (``0.1 Iref``)."""

    k: float
    name: str

    def amperes(self, rated: Mapping[str, float]) -> float:
        return self.k * rated[self.name]

    def __str__(self) -> str:
        return self.name if self.k == 1 else f"{self.k:g} {self.name}"


@dataclass(frozen=True)
class Band:
    name: str
    ranges: tuple[tuple[float, float], ...]

    def contains(self, temperature_c: float) -> bool:
        return any(lo <= temperature_c <= hi for lo, hi in self.ranges)


@dataclass(frozen=True)
class Row:
    load: str
    low: Bound
    below: Bound | None
    pfs: tuple[str, ...] | None
    mpe_pct: Mapping[str, tuple[float | None, ...]]
    source: str

    def covers(self, current_a: float, rated: Mapping[str, float], pf: str, load: str) -> bool:
        if self.load != "any" and self.load != load:
            return False
        if self.pfs is not None and pf not in self.pfs:
            return False
        if current_a < self.low.amperes(rated) * (1 - _REL):
            return False
        if self.below is not None:
            return current_a < self.below.amperes(rated) * (1 - _REL)
        return current_a <= rated["Imax"] * (1 + _REL)

    @property
    def current_range(self) -> str:
        return f"{self.low} ≤ I < {self.below}" if self.below else f"{self.low} ≤ I ≤ Imax"


@dataclass(frozen=True)
class InService:
    factor: float
    source: str


@dataclass(frozen=True)
class Found:
    """A limit found in a table: the MPE and where it stands."""

    pct: float
    table: str
    row: Row
    band: Band

    @property
    def citation(self) -> str:
        row = f": {self.row.source}" if self.row.source else ""  # a row may cite nothing more
        return f"{self.table}{row}; {self.band.name}"


class NoLimit(LookupError):
    """The table defines no limit for this class, current, power factor, load and band."""


@dataclass(frozen=True)
class LimitTable:
    name: str
    source: str
    classes: tuple[str, ...]
    bands: tuple[Band, ...]
    rows: tuple[Row, ...]
    in_service: Mapping[str, InService] = field(default_factory=dict)
    origin: str = ""

    def band_index(self, temperature_c: float) -> int:
        for index, band in enumerate(self.bands):
            if band.contains(temperature_c):
                return index
        raise ValueError(f"{temperature_c} °C is in none of the bands of {self.name}: "
                         + "; ".join(b.name for b in self.bands))

    def mpe(self, accuracy_class: str, current_a: float, rated: Mapping[str, float], *,
            pf: str = "1", load: str = "balanced", band: int = 0) -> Found:
        """The first row covering the point that defines the class's MPE in ``band``."""
        if accuracy_class not in self.classes:
            raise NoLimit(f"class {accuracy_class!r} is not in {self.name} "
                          f"({', '.join(self.classes)})")
        for row in self.rows:
            if not row.covers(current_a, rated, pf, load):
                continue
            values = row.mpe_pct.get(accuracy_class, ())
            value = values[band] if band < len(values) else None
            if value is None:
                raise NoLimit(f"{self.name} ({row.source}) gives no MPE for class "
                              f"{accuracy_class} in band {self.bands[band].name}")
            return Found(value, self.source, row, self.bands[band])
        raise NoLimit(f"{self.name} has no row for {current_a:g} A, PF {pf}, "
                      f"{load.replace('_', '-')} load")


def parse_bound(text: str) -> Bound:
    m = _CURRENT.match(text)
    if not m:
        raise ValueError(f"not a rated current: {text!r}")
    return Bound(float(m.group("k") or 1.0), m.group("name"))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _row(tab: Table, classes: tuple[str, ...], n_bands: int) -> Row:
    load = tab.get("load", str, "any", choices=LOADS)
    try:
        low = parse_bound(tab.get("from", str))
        below_text = tab.get("below", str, None)
        below = parse_bound(below_text) if below_text is not None else None
    except ValueError as exc:
        raise tab.error("from", str(exc), expected="a rated current like Imin, Itr, "
                        "0.05 Iref, Imax") from None
    pfs_raw = tab.get("pf", list, None)
    if pfs_raw is not None and (not pfs_raw or any(p not in PF_LABELS for p in pfs_raw)):
        raise tab.error("pf", f"bad power factors {pfs_raw!r}",
                        expected="a list of " + ", ".join(repr(p) for p in PF_LABELS))
    mpe_tab = tab.table("mpe_pct")
    assert mpe_tab is not None
    mpe: dict[str, tuple[float | None, ...]] = {}
    for cls in list(mpe_tab.data):
        if cls not in classes:
            raise mpe_tab.error(cls, "class not listed in the file's classes",
                                expected="one of " + ", ".join(classes))
        raw = mpe_tab.get(cls, (float, list))
        values = [raw] if _number(raw) else raw
        if not values or len(values) > n_bands or not all(
                _number(v) and v > 0 for v in values):
            raise mpe_tab.error(cls, f"bad MPE {raw!r}", expected=f"a positive number, or one "
                                f"per temperature band (at most {n_bands})")
        # a single number holds in every band; a list gives the bands in order (missing trailing
        # bands: no limit defined there)
        mpe[cls] = (float(raw),) * n_bands if _number(raw) else tuple(float(v) for v in values)
    mpe_tab.finish()
    source = _citation(tab, "the row's own citation (or no source: the file's)", required=False)
    tab.finish()
    return Row(load, low, below, tuple(pfs_raw) if pfs_raw is not None else None, mpe, source)


#: Where the limits file's format is documented (named in its errors).
LIMITS_DOC = 'docs/accuracy.md, "Limits files"'


def _citation(tab: Table, expected: str, *, required: bool = True) -> str:
    """A ``source`` that cites something: every number of a limits file must name where it comes
    from (a verdict's limit basis quotes it), so a blank one is refused like a missing one."""
    text = tab.get("source", str, ... if required else None)
    if text is None:
        return ""
    if not text.strip():
        raise tab.error("source", "empty", expected=f"{expected} ({LIMITS_DOC})")
    return text


def parse_limit_table(data: dict[str, Any], source: str) -> LimitTable:
    """A limits file's parsed TOML as a :class:`LimitTable` (every error names the field)."""
    top = Table(data, source, "", doc=LIMITS_DOC)
    name = top.get("name", str)
    cited = _citation(top, "the standard and table the limits come from")
    classes = tuple(top.get("classes", list))
    if not classes or not all(isinstance(c, str) and c for c in classes):
        raise top.error("classes", "not a list of class names", expected='e.g. ["A", "B", "C"]')
    bands = []
    for b in top.tables("band"):
        ranges = b.get("ranges", list)
        if not ranges or not all(isinstance(r, list) and len(r) == 2 and all(map(_number, r))
                                 and r[0] < r[1] for r in ranges):
            raise b.error("ranges", f"bad ranges {ranges!r}", expected="[[low, high], ...] in °C")
        bands.append(Band(b.get("name", str), tuple((float(lo), float(hi)) for lo, hi in ranges)))
        b.finish()
    if not bands:
        bands = [Band("any temperature", ((-math.inf, math.inf),))]
    rows = tuple(_row(t, classes, len(bands)) for t in top.tables("row"))
    if not rows:
        raise top.error("row", "no rows", expected="[[row]] tables with from, mpe_pct, source")
    in_service = {}
    services = top.table("in_service", None)
    if services is not None:
        for country in list(services.data):
            t = services.table(country)
            assert t is not None
            factor = t.get("factor", float)
            if not factor >= 1:
                raise t.error("factor", f"{factor} is below 1", expected="a multiple ≥ 1 of the MPE")
            in_service[country] = InService(factor, _citation(
                t, "the regulation that sets the in-service factor, e.g. \"BEK nr. 582 of 28 May "
                   "2018 §11\""))
            t.finish()
        services.finish()
    top.finish()
    return LimitTable(name=name, source=cited, classes=classes, bands=tuple(bands), rows=rows,
                      in_service=in_service, origin=source)


def load_limit_table(path: str | Path) -> LimitTable:
    """A lab's limits file."""
    p = Path(path)
    return parse_limit_table(load_toml(p), str(p))


def builtin_mid_table() -> LimitTable:
    """Directive 2014/32/EU Annex V Table 2, from ``mid_limits.toml``."""
    text = resources.files("meterbench.accuracy").joinpath("mid_limits.toml").read_text("utf-8")
    try:
        return parse_limit_table(load_toml(Path("mid_limits.toml"), text), "mid_limits.toml")
    except UserError as exc:  # a broken shipped table is a bug, not a user mistake
        raise RuntimeError(f"built-in MID limits table: {exc}") from exc
