"""ISO 2859-1 / MIL-STD-105E attribute sampling plans: code letters, single and double plans.

Sources (named because every number here decides a lot's fate):

* Table I (code letters) and Table II-A (normal single) come from the shared domain file
  ``iso2859-1-normal.json``, shipped as package data (``bench/sampling/data``).
* Tables II-B (tightened single), II-C (reduced single), III-A/B/C (double) are encoded from
  **MIL-STD-105E (10 May 1989)**, the public equivalent of ISO 2859-1 and ANSI/ASQ Z1.4.

How the master tables are encoded: every MIL-STD-105E master table is a set of diagonals. With
``i`` the code-letter index (A=0 … R=15, S=16) and ``j`` the AQL index (0.010=0 … 1000=25), a
cell's content depends only on ``d = i + j``: a plan (Ac, Re) or an arrow (use the first plan
above or below in the same column). ``_LADDERS`` holds that ``d -> cell`` map per severity; the
test suite proves the model reproduces the shipped normal Table II-A cell for cell, and checks the
tightened/reduced/double cells against values looked up in public copies of the standard.
Plans with Ac >= 27 (the "nonconformities per 100 units" corner) exist only for code letters
A–E (n <= 13); elsewhere those cells are up-arrows, as in Table II-A.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources

from bench.errors import UserError

#: Code letters in table order. ``S`` (n = 3150) exists only in tightened Table II-B.
LETTERS: str = "ABCDEFGHJKLMNPQRS"
#: Sample size per code letter (sampling.md; MIL-STD-105E Table II-A/II-B).
SAMPLE_SIZES: dict[str, int] = dict(zip(
    LETTERS, (2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800, 1250, 2000, 3150),
    strict=True))
#: Reduced-inspection sample size per code letter (MIL-STD-105E Table II-C "sample size" column).
REDUCED_SAMPLE_SIZES: dict[str, int] = dict(zip(
    LETTERS[:16], (2, 2, 2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800), strict=True))

#: The AQL series of ISO 2859-1 / MIL-STD-105E (percent nonconforming up to 10, nonconformities
#: per 100 units above), as the table headers spell them.
AQL_SERIES: tuple[str, ...] = (
    "0.010", "0.015", "0.025", "0.040", "0.065", "0.10", "0.15", "0.25", "0.40", "0.65", "1.0",
    "1.5", "2.5", "4.0", "6.5", "10", "15", "25", "40", "65", "100", "150", "250", "400", "650",
    "1000")
LEVELS: tuple[str, ...] = ("S-1", "S-2", "S-3", "S-4", "I", "II", "III")
INSPECTIONS: tuple[str, ...] = ("normal", "tightened", "reduced")

UP, DOWN = "up", "down"
Cell = tuple[int, int] | str

# d -> (Ac, Re) or arrow.  Cells with d below the first key point DOWN, above the last point UP.
_LADDERS: dict[str, dict[int, Cell]] = {
    # MIL-STD-105E Table II-A (reproduces iso2859-1-normal.json exactly, see tests)
    "normal": {14: (0, 1), 15: UP, 16: DOWN, 17: (1, 2), 18: (2, 3), 19: (3, 4), 20: (5, 6),
               21: (7, 8), 22: (10, 11), 23: (14, 15), 24: (21, 22), 25: (30, 31), 26: (44, 45)},
    # MIL-STD-105E Table II-B: the 0/1 plan sits one AQL step tighter, then a two-cell down-arrow
    # to 1/2, and the tightened ladder 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42.
    "tightened": {15: (0, 1), 16: DOWN, 17: DOWN, 18: (1, 2), 19: (2, 3), 20: (3, 4),
                  21: (5, 6), 22: (8, 9), 23: (12, 13), 24: (18, 19), 25: (27, 28),
                  26: (41, 42)},
    # MIL-STD-105E Table II-C: reduced sample sizes; Ac and Re leave a gap (see note †).
    "reduced": {14: (0, 1), 15: UP, 16: DOWN, 17: (0, 2), 18: (1, 3), 19: (1, 4), 20: (2, 5),
                21: (3, 6), 22: (5, 8), 23: (7, 10), 24: (10, 13), 25: (14, 17), 26: (21, 24)},
}
_HIGH_AC_FIRST_D = 25          # plans at d >= 25 (Ac >= 27) only for letters A..E
_HIGH_AC_LAST_LETTER = LETTERS.index("E")

# Double sampling: the single plan (Ac, Re) of a cell -> ((Ac1, Re1), (Ac2, Re2)), cumulative.
# MIL-STD-105E Tables III-A (normal), III-B (tightened), III-C (reduced). A single 0/1 cell is
# marked "*" in those tables: use the single sampling plan.
_DOUBLE: dict[str, dict[tuple[int, int], tuple[tuple[int, int], tuple[int, int]]]] = {
    "normal": {(1, 2): ((0, 2), (1, 2)), (2, 3): ((0, 3), (3, 4)), (3, 4): ((1, 4), (4, 5)),
               (5, 6): ((2, 5), (6, 7)), (7, 8): ((3, 7), (8, 9)), (10, 11): ((5, 9), (12, 13)),
               (14, 15): ((7, 11), (18, 19)), (21, 22): ((11, 16), (26, 27)),
               (30, 31): ((17, 22), (37, 38)), (44, 45): ((25, 31), (56, 57))},
    "tightened": {(1, 2): ((0, 2), (1, 2)), (2, 3): ((0, 3), (3, 4)), (3, 4): ((1, 4), (4, 5)),
                  (5, 6): ((2, 5), (6, 7)), (8, 9): ((3, 7), (11, 12)),
                  (12, 13): ((6, 10), (15, 16)), (18, 19): ((9, 14), (23, 24)),
                  (27, 28): ((15, 20), (34, 35)), (41, 42): ((23, 29), (52, 53))},
    # Only the part of Table III-C this project could confirm; higher reduced plans raise.
    "reduced": {(0, 2): ((0, 2), (0, 2)), (1, 3): ((0, 3), (0, 4)), (1, 4): ((0, 4), (1, 5)),
                (2, 5): ((0, 4), (3, 6)), (3, 6): ((1, 5), (4, 7)), (5, 8): ((2, 7), (6, 9)),
                (7, 10): ((3, 8), (8, 12)), (10, 13): ((5, 10), (12, 16))},
}

SOURCE_NORMAL = "ISO 2859-1 Table II-A (shared domain iso2859-1-normal.json)"
SOURCE_TABLE = {
    ("normal", False): SOURCE_NORMAL,
    ("tightened", False): "MIL-STD-105E Table II-B (= ISO 2859-1 / ANSI/ASQ Z1.4)",
    ("reduced", False): "MIL-STD-105E Table II-C (= ISO 2859-1 / ANSI/ASQ Z1.4)",
    ("normal", True): "MIL-STD-105E Table III-A",
    ("tightened", True): "MIL-STD-105E Table III-B",
    ("reduced", True): "MIL-STD-105E Table III-C",
}


@dataclass(frozen=True)
class AttributePlan:
    """One attribute sampling plan as it is applied to one lot.

    Single plans fill ``n ac re``; double plans fill ``n1 ac1 re1 n2 ac2 re2`` (Ac2/Re2 are on
    the cumulative count) and keep ``n = n1 + n2`` as the largest number inspected. A gap between
    Ac and Re (reduced inspection) means: a count in the gap accepts the lot but inspection goes
    back to normal (MIL-STD-105E Table II-C note). ``hundred_percent`` is set when n >= lot size:
    every unit is inspected (ISO 2859-1 arrow rule, sampling.md).
    """

    standard: str
    table: str
    inspection: str
    level: str
    aql: str
    lot_size: int
    code: str
    n: int
    ac: int
    re: int
    double: bool = False
    n1: int | None = None
    ac1: int | None = None
    re1: int | None = None
    n2: int | None = None
    ac2: int | None = None
    re2: int | None = None
    hundred_percent: bool = False
    plan_code: str = ""   # letter whose row supplied the plan, after the arrows

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        if not self.double:
            for key in ("n1", "ac1", "re1", "n2", "ac2", "re2"):
                out.pop(key)
        return out


@cache
def _normal_table() -> dict[str, object]:
    text = resources.files("bench.sampling").joinpath("data/iso2859-1-normal.json").read_text()
    return json.loads(text)


def normalize_aql(value: str | float) -> str:
    """The table spelling of an AQL (``1`` -> ``"1.0"``, ``0.1`` -> ``"0.10"``), or UserError."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise UserError(f"AQL {value!r} is not a number", field="aql",
                        expected="one of " + ", ".join(AQL_SERIES)) from None
    for spelled in AQL_SERIES:
        if abs(float(spelled) - x) <= 1e-9 * max(1.0, x):
            return spelled
    raise UserError(f"AQL {value!r} is not in the ISO 2859-1 series", field="aql",
                    expected="one of " + ", ".join(AQL_SERIES))


def _check_level(level: str) -> str:
    lv = level.strip().upper()
    if lv not in LEVELS:
        raise UserError(f"inspection level {level!r} unknown", field="level",
                        expected="one of " + ", ".join(LEVELS))
    return lv


def _check_inspection(inspection: str) -> str:
    sev = inspection.strip().lower()
    if sev not in INSPECTIONS:
        raise UserError(f"inspection {inspection!r} unknown", field="inspection",
                        expected="one of " + ", ".join(INSPECTIONS))
    return sev


def code_letter(lot_size: int, level: str = "II") -> str:
    """ISO 2859-1 Table I: the sample-size code letter for a lot size and inspection level."""
    lv = _check_level(level)
    if not isinstance(lot_size, int) or lot_size < 2:
        raise UserError(f"lot size {lot_size!r} too small", field="lot-size",
                        expected="an integer >= 2")
    for span, letters in _normal_table()["code_letters"].items():  # type: ignore[union-attr]
        lo_text, _, hi_text = span.partition("-")
        lo = int(lo_text.rstrip("+"))
        hi = int(hi_text) if hi_text else None
        if lot_size >= lo and (hi is None or lot_size <= hi):
            return letters[lv]
    raise AssertionError(f"Table I has no row for lot size {lot_size}")  # table covers 2..inf


def _cell(inspection: str, i: int, j: int) -> Cell:
    ladder = _LADDERS[inspection]
    d = i + j
    if d < min(ladder):
        return DOWN
    if d > max(ladder):
        return UP
    if d >= _HIGH_AC_FIRST_D and i > _HIGH_AC_LAST_LETTER:
        return UP
    return ladder[d]


def _rows(inspection: str) -> int:
    return len(LETTERS) if inspection == "tightened" else len(LETTERS) - 1


def resolve_cell(inspection: str, letter: str, aql: str) -> tuple[str, int, int]:
    """Follow the arrows of a master table to the plan used: (plan letter, Ac, Re).

    Arrow rule (sampling.md): use the first plan in the arrow's direction, **with that plan's
    sample size**. At the table's edge an arrow that finds no plan turns round (MIL-STD-105E
    Table II-A: code letter R at AQL 0.015 uses the 0/1 plan of P, n = 800).
    """
    j = AQL_SERIES.index(aql)
    i0 = LETTERS.index(letter)
    rows = _rows(inspection)
    first = _cell(inspection, i0, j)
    if isinstance(first, tuple):
        return letter, first[0], first[1]
    step = 1 if first == DOWN else -1
    for direction in (step, -step):
        i = i0 + direction
        while 0 <= i < rows:
            c = _cell(inspection, i, j)
            if isinstance(c, tuple):
                return LETTERS[i], c[0], c[1]
            i += direction
    raise AssertionError(f"no plan in column {aql} of the {inspection} table")


def single_plan(lot_size: int, aql: str | float, *, level: str = "II",
                inspection: str = "normal") -> AttributePlan:
    """The ISO 2859-1 single sampling plan for a lot (normal, tightened or reduced)."""
    sev = _check_inspection(inspection)
    lv = _check_level(level)
    a = normalize_aql(aql)
    letter = code_letter(lot_size, lv)
    if sev == "normal":
        n, ac, re = _normal_table()["normal_single"][letter][a]  # type: ignore[index]
        plan_letter = next(k for k, v in SAMPLE_SIZES.items() if v == n)
    else:
        plan_letter, ac, re = resolve_cell(sev, letter, a)
        sizes = REDUCED_SAMPLE_SIZES if sev == "reduced" else SAMPLE_SIZES
        n = sizes[plan_letter]
    return AttributePlan(
        standard="ISO 2859-1", table=SOURCE_TABLE[(sev, False)], inspection=sev, level=lv,
        aql=a, lot_size=lot_size, code=letter, n=int(n), ac=int(ac), re=int(re),
        hundred_percent=n >= lot_size, plan_code=plan_letter)


def double_plan(lot_size: int, aql: str | float, *, level: str = "II",
                inspection: str = "normal") -> AttributePlan:
    """The ISO 2859-1 double sampling plan (MIL-STD-105E Tables III-A/B/C).

    Where the single table has a 0/1 plan, the double table says "use the corresponding single
    sampling plan": that single plan is returned (``double`` is False) so the caller never gets a
    made-up double plan. Each of the two samples has the size of the code letter one step
    smaller than the single plan's (MIL-STD-105E: e.g. single K n = 125, double K 80 + 80).
    """
    single = single_plan(lot_size, aql, level=level, inspection=inspection)
    if single.ac == 0:
        return single
    key = (single.ac, single.re)
    table = _DOUBLE[single.inspection]
    if key not in table:
        raise UserError(f"no double {single.inspection} plan encoded for single plan "
                        f"Ac {single.ac} Re {single.re}", field="double",
                        expected="single sampling for this AQL and lot size")
    (ac1, re1), (ac2, re2) = table[key]
    i = LETTERS.index(single.plan_code)
    # The double sample size is the single size one code letter smaller in the same series
    # (reduced sizes already run two letters behind, so three behind the normal series). The
    # smallest rows (A; reduced A-C) are marked "*" in Tables III-A/B/C: use the single plan.
    shift = 3 if single.inspection == "reduced" else 1
    if i < shift:
        return single
    each = SAMPLE_SIZES[LETTERS[i - shift]]
    return AttributePlan(
        standard="ISO 2859-1", table=SOURCE_TABLE[(single.inspection, True)],
        inspection=single.inspection, level=single.level, aql=single.aql, lot_size=lot_size,
        code=single.code, n=2 * each, ac=ac2, re=re2, double=True, n1=each, ac1=ac1, re1=re1,
        n2=each, ac2=ac2, re2=re2, hundred_percent=2 * each >= lot_size,
        plan_code=single.plan_code)


def plan(lot_size: int, aql: str | float, *, level: str = "II", inspection: str = "normal",
         double: bool = False) -> AttributePlan:
    """Single or double ISO 2859-1 plan: the entry point the CLI and the schemes use."""
    if double:
        return double_plan(lot_size, aql, level=level, inspection=inspection)
    return single_plan(lot_size, aql, level=level, inspection=inspection)
