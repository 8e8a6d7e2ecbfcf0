"""ISO 2859-1 / MIL-STD-105E attribute sampling plans: code letters, single and double plans.

Sources (named because every number here decides a lot's fate):

* ISO 2859-1:1999 Table I (sample size code letters) and Table II-A (single sampling plans, normal
  inspection), transcribed with the arrows resolved into ``iso2859-1-normal.json``, shipped as
  package data (``bench/sampling/data``).
* Tables II-B (tightened single), II-C (reduced single), III-A/B/C (double) are encoded from
  **MIL-STD-105E (10 May 1989)**, the public equivalent of ISO 2859-1 and ANSI/ASQ Z1.4, and
  checked cell for cell against a looked-up copy of all six tables (AQLSchemes 1.7-1, J. Lawson,
  CRAN; see ``tests/sampling/test_iso2859_lookup.py`` and ``docs/sampling.md``). Where that copy
  and the diagonal model differ, the exceptions below say which one is followed and why.

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

from meterbench.core.errors import UserError

#: Code letters in table order. ``S`` (n = 3150) exists only in tightened Table II-B.
LETTERS: str = "ABCDEFGHJKLMNPQRS"
#: Sample size per code letter (ISO 2859-1 Table II-A; MIL-STD-105E Table II-A/II-B).
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

# Cells where the printed table breaks its diagonal: (severity, code letter, AQL) -> arrow.
# Tightened letter A at AQL 10 lies on the 0/1 diagonal, but Table II-B has no 0/1 plan for A
# (n = 2): the cell is a down arrow to letter D's 1/2 plan (n = 8). Two sources agree: NIBS
# "FMOC DPW AC-TABLE" Table 1-B (row A shows arrows only, no Re 1) and AQLSchemes 1.7-1
# (A at 10 -> n 8, 1/2).
_ARROW_EXCEPTIONS: dict[tuple[str, str, str], str] = {("tightened", "A", "10"): DOWN}

# Reduced single cells (code letter, AQL) that this project could not confirm: the diagonal model
# and the one full looked-up copy of Table II-C (AQLSchemes 1.7-1) disagree there, and that copy
# is itself irregular there (letter B: 2/4, 3/5, not plans of the standard). All are in the
# "nonconformities per 100 units" part (AQL >= 25) where the reduced sample is 2 units. Refused
# rather than guessed; use normal inspection for these.
_REDUCED_UNCONFIRMED: frozenset[tuple[str, str]] = frozenset(
    {("A", a) for a in ("25", "40", "65", "100", "150", "250", "400", "650", "1000")}
    | {("B", a) for a in ("40", "65", "100", "150", "250", "400", "650", "1000")}
    | {(letter, "1000") for letter in LETTERS[:16]})

# Double sampling for code letter A under normal inspection: Table III-A as looked up
# (AQLSchemes 1.7-1) gives no double plan anywhere in row A, also where the single table's arrow
# points to a lower letter (A at AQL 10 and 15): use the single plan there ("*" rule).
_SINGLE_ONLY_DOUBLE_ROWS: dict[str, str] = {"normal": "A"}

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
    # Table III-C, every ladder step confirmed against AQLSchemes 1.7-1 (14/17 and 21/24 added).
    "reduced": {(0, 2): ((0, 2), (0, 2)), (1, 3): ((0, 3), (0, 4)), (1, 4): ((0, 4), (1, 5)),
                (2, 5): ((0, 4), (3, 6)), (3, 6): ((1, 5), (4, 7)), (5, 8): ((2, 7), (6, 9)),
                (7, 10): ((3, 8), (8, 12)), (10, 13): ((5, 10), (12, 16)),
                (14, 17): ((7, 12), (18, 22)), (21, 24): ((11, 17), (26, 30))},
}

SOURCE_NORMAL = "ISO 2859-1 Table II-A"
# ISO 2859-1:1999 (foreword, "significant changes", quoted at pinzhi.org/thread-103021-1-1.html)
# changed the reduced plans (no gap between Ac and Re) and some double plans; it lists no change
# to the normal or tightened single plans. The reduced and double plans here are MIL-STD-105E's
# (= ANSI/ASQ Z1.4), and the table names say so.
SOURCE_TABLE = {
    ("normal", False): SOURCE_NORMAL,
    ("tightened", False): ("MIL-STD-105E Table II-B (= ANSI/ASQ Z1.4; ISO 2859-1:1999 "
                          "lists no change)"),
    ("reduced", False): "MIL-STD-105E Table II-C (= ANSI/ASQ Z1.4; not ISO 2859-1:1999, "
                        "which removed the Ac/Re gap)",
    ("normal", True): "MIL-STD-105E Table III-A (= ANSI/ASQ Z1.4; ISO 2859-1:1999 changed "
                      "some double plans)",
    ("tightened", True): "MIL-STD-105E Table III-B (= ANSI/ASQ Z1.4; ISO 2859-1:1999 changed "
                         "some double plans)",
    ("reduced", True): "MIL-STD-105E Table III-C (= ANSI/ASQ Z1.4; not ISO 2859-1:1999)",
}


@dataclass(frozen=True)
class AttributePlan:
    """One attribute sampling plan as it is applied to one lot.

    Single plans fill ``n ac re``; double plans fill ``n1 ac1 re1 n2 ac2 re2`` (Ac2/Re2 are on
    the cumulative count) and keep ``n = n1 + n2`` as the largest number inspected. A gap between
    Ac and Re (reduced inspection) means: a count in the gap accepts the lot but inspection goes
    back to normal (MIL-STD-105E Table II-C note). ``hundred_percent`` is set when n >= lot size:
    every unit is inspected (ISO 2859-1 arrow rule).
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
    text = resources.files("meterbench.sampling").joinpath("data/iso2859-1-normal.json").read_text()
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
    exception = _ARROW_EXCEPTIONS.get((inspection, LETTERS[i], AQL_SERIES[j]))
    if exception is not None:
        return exception
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

    Arrow rule (ISO 2859-1 Table II-A): use the first plan in the arrow's direction, **with that plan's
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
    if sev == "reduced" and (letter, a) in _REDUCED_UNCONFIRMED:
        raise UserError(f"reduced plan for code letter {letter} at AQL {a} not confirmed: the "
                        "looked-up copies of Table II-C disagree there", field="inspection",
                        expected="normal or tightened inspection for this lot size and AQL")
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


@dataclass(frozen=True)
class DoubleCell:
    """One cell of Tables III-A/B/C after the arrows: the plan of ``plan_code``'s row."""

    plan_code: str
    n_each: int
    ac1: int
    re1: int
    ac2: int
    re2: int


def double_cell(inspection: str, letter: str, aql: str) -> DoubleCell | None:
    """Table III-A/B/C for a code letter and AQL column, or None where the table says "use the
    corresponding single sampling plan".

    The double plan sits in the cell of the single plan the arrows lead to, with Ac/Re from the
    single -> double ladder of ``_DOUBLE``. Each of the two samples has the size of the code letter
    one step smaller than the single plan's (e.g. single K n = 125, double K 80 + 80); reduced
    sizes already run two letters behind, so three behind the normal series. The rows whose
    single sample cannot be split (A; reduced A-C) are "*": use the single plan.
    """
    sev = _check_inspection(inspection)
    a = normalize_aql(aql)
    plan_letter, ac, re = resolve_cell(sev, letter, a)
    if (ac, re) == (0, 1) or letter in _SINGLE_ONLY_DOUBLE_ROWS.get(sev, ""):
        return None
    i = LETTERS.index(plan_letter)
    shift = 3 if sev == "reduced" else 1
    if i < shift:
        return None
    (ac1, re1), (ac2, re2) = _DOUBLE[sev][(ac, re)]   # every ladder step is encoded (tests)
    return DoubleCell(plan_letter, SAMPLE_SIZES[LETTERS[i - shift]], ac1, re1, ac2, re2)


def double_plan(lot_size: int, aql: str | float, *, level: str = "II",
                inspection: str = "normal") -> AttributePlan:
    """The ISO 2859-1 double sampling plan (MIL-STD-105E Tables III-A/B/C).

    Where the double table says "use the corresponding single sampling plan" (a single 0/1 plan,
    the smallest rows) that single plan is returned (``double`` is False), so the caller never
    gets a made-up double plan. A reduced 0/2 plan does have a double form (0/2, then 0/2).
    """
    single = single_plan(lot_size, aql, level=level, inspection=inspection)
    cell = double_cell(single.inspection, single.code, single.aql)
    if cell is None:
        return single
    each = cell.n_each
    return AttributePlan(
        standard="ISO 2859-1", table=SOURCE_TABLE[(single.inspection, True)],
        inspection=single.inspection, level=single.level, aql=single.aql, lot_size=lot_size,
        code=single.code, n=2 * each, ac=cell.ac2, re=cell.re2, double=True, n1=each,
        ac1=cell.ac1, re1=cell.re1, n2=each, ac2=cell.ac2, re2=cell.re2,
        hundred_percent=2 * each >= lot_size, plan_code=cell.plan_code)


def plan(lot_size: int, aql: str | float, *, level: str = "II", inspection: str = "normal",
         double: bool = False) -> AttributePlan:
    """Single or double ISO 2859-1 plan: the entry point the CLI and the schemes use."""
    if double:
        return double_plan(lot_size, aql, level=level, inspection=inspection)
    return single_plan(lot_size, aql, level=level, inspection=inspection)
