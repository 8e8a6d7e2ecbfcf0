"""The tightened, reduced and double ISO 2859-1 / MIL-STD-105E tables against looked-up copies.

Sources (values transcribed by hand; the tests compare, they never compute the expectation with
the code under test):

* ``data/mil_std_105e_aqlschemes.json``: every cell (16 code letters x 26 AQL columns, arrows
  followed) of Tables II-A/B/C and III-A/B/C as encoded in **AQLSchemes 1.7-1** (John Lawson,
  CRAN, GPL-2, tables from MIL-STD-105E), read in the menu-free copy
  github.com/fjgonzalezmgt/AQLSchemesCust, files R/AAZ14Single.R and R/AAZ14Double.R (commit
  c42ea7df9abdbc5d57b014cf5a5b3fb868cf98b0). Its normal table reproduces the shipped ISO Table
  II-A cell for cell (first test), which is why it is trusted as a reference for the others.
* NIBS "FMOC DPW AC-TABLE", Table 1-B (single tightened, developed from MIL-STD-105E Table II-B),
  http://www.nibs.org/FMOC/DPW_AC/AC-TABLE.ASC: rows A-E, AQL 0.65-15 (rows F-L are checked in
  test_iso2859.py).

Where the copy and this project differ, the difference is named in ``KNOWN_DIFFERENCES`` with
the reason, and the test asserts that it is exactly that difference (so neither side can drift).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

import pytest

from meterbench.core.errors import UserError
from meterbench.sampling import iso2859

DATA = Path(__file__).resolve().parent / "data" / "mil_std_105e_aqlschemes.json"
SHIPPED = json.loads(resources.files("meterbench.sampling").joinpath(
    "data/iso2859-1-normal.json").read_text())


@cache
def _source() -> dict:
    return json.loads(DATA.read_text())


def _cells(kind: str, severity: str) -> dict[tuple[str, str], tuple[int, ...] | None]:
    """{(code letter, AQL): numbers} of one looked-up table; None where it says 'use single'."""
    src = _source()
    out: dict[tuple[str, str], tuple[int, ...] | None] = {}
    for letter, row in src[kind][severity].items():
        for aql, text in zip(src["aql"], row.split(), strict=True):
            out[(letter, aql)] = None if text == "-" else tuple(int(x) for x in text.split("/"))
    return out


def _lot_for_letter(letter: str) -> tuple[int, str]:
    """A (lot size, inspection level) whose Table I code letter is ``letter``."""
    for span, letters in SHIPPED["code_letters"].items():
        for level, found in letters.items():
            if found == letter:
                return int(span.partition("-")[0].rstrip("+")), level
    raise AssertionError(f"Table I never gives {letter}")


ALL_CELLS = [(letter, aql) for letter in iso2859.LETTERS[:16] for aql in iso2859.AQL_SERIES]

# Reduced single cells that differ between the diagonal model and the copy: letters A and B with
# AQL >= 25 (the copy keeps the normal plans 1/2, 2/3 ... 30/31 in row A and has 2/4, 3/5 in row
# B, which are plans of neither ladder) and the AQL 1000 column (copy: 30/31 everywhere). With one
# irregular source and no second one, the project refuses these cells (UserError).
REDUCED_DISPUTED = (
    {("A", a) for a in ("25", "40", "65", "100", "150", "250", "400", "650", "1000")}
    | {("B", a) for a in ("40", "65", "100", "150", "250", "400", "650", "1000")}
    | {(letter, "1000") for letter in iso2859.LETTERS[:16]})

# Table III-A, AQL 100, letters L, M, N, P: the copy has Ac2 26 / Re2 26, which is no plan (the
# lot can be neither accepted nor rejected at 26). The same copy gives 26/27 for the same plan in
# the neighbouring letters K and Q of that column and everywhere else: a typing slip there.
DOUBLE_NORMAL_SOURCE_SLIPS = {("L", "100"), ("M", "100"), ("N", "100"), ("P", "100")}


def test_the_source_reproduces_the_shipped_iso_normal_table_cell_for_cell():
    """Calibration: the copy used below agrees with ISO 2859-1 Table II-A in all 416 cells."""
    src = _cells("single", "normal")
    for letter, aql in ALL_CELLS:
        assert src[(letter, aql)] == tuple(SHIPPED["normal_single"][letter][aql]), (letter, aql)


def test_tightened_single_matches_the_source_in_every_cell():
    src = _cells("single", "tightened")
    for letter, aql in ALL_CELLS:
        lot, level = _lot_for_letter(letter)
        p = iso2859.single_plan(lot, aql, level=level, inspection="tightened")
        assert p.code == letter
        assert (p.n, p.ac, p.re) == src[(letter, aql)], (letter, aql)


def test_tightened_edge_cells_named_in_the_brief():
    """R at AQL 0.015 (previously a guess) and A at 10 (the arrow exception)."""
    src = _cells("single", "tightened")
    assert src[("R", "0.015")] == (1250, 0, 1)            # Q's 0/1 plan, arrow up
    p = iso2859.single_plan(600_000, "0.015", level="III", inspection="tightened")
    assert (p.code, p.plan_code, p.n, p.ac, p.re) == ("R", "Q", 1250, 0, 1)
    assert src[("A", "10")] == (8, 1, 2)                  # no 0/1 plan for n = 2: D's 1/2
    p = iso2859.single_plan(5, "10", inspection="tightened")
    assert (p.code, p.plan_code, p.n, p.ac, p.re) == ("A", "D", 8, 1, 2)


# NIBS Table 1-B rows A-E, rejection numbers at AQL 0.65 ... 15; "v" = arrow (down).
NIBS_TIGHTENED_RE_TOP = {
    "A": ("v", "v", "v", "v", "v", "v", "v", "v"),
    "B": ("v", "v", "v", "v", "v", 1, "v", "v"),
    "C": ("v", "v", "v", "v", 1, "v", "v", 2),
    "D": ("v", "v", "v", 1, "v", "v", 2, 3),
    "E": ("v", "v", 1, "v", "v", 2, 3, 4),
}
NIBS_AQLS = ("0.65", "1.0", "1.5", "2.5", "4.0", "6.5", "10", "15")


@pytest.mark.parametrize("letter", sorted(NIBS_TIGHTENED_RE_TOP))
def test_tightened_top_rows_match_the_second_source(letter):
    for aql, expected in zip(NIBS_AQLS, NIBS_TIGHTENED_RE_TOP[letter], strict=True):
        plan_letter, ac, re = iso2859.resolve_cell("tightened", letter, aql)
        if expected == "v":
            assert iso2859.LETTERS.index(plan_letter) > iso2859.LETTERS.index(letter), aql
        else:
            assert (plan_letter, ac, re) == (letter, expected - 1, expected), aql


def test_reduced_single_matches_the_source_outside_the_refused_corner():
    src = _cells("single", "reduced")
    differing = set()
    for letter, aql in ALL_CELLS:
        plan_letter, ac, re = iso2859.resolve_cell("reduced", letter, aql)
        model = (iso2859.REDUCED_SAMPLE_SIZES[plan_letter], ac, re)
        if model != src[(letter, aql)]:
            differing.add((letter, aql))
        lot, level = _lot_for_letter(letter)
        if (letter, aql) in REDUCED_DISPUTED:
            with pytest.raises(UserError, match="not confirmed"):
                iso2859.single_plan(lot, aql, level=level, inspection="reduced")
        else:
            p = iso2859.single_plan(lot, aql, level=level, inspection="reduced")
            assert (p.n, p.ac, p.re) == src[(letter, aql)], (letter, aql)
    # The refusal list is exactly the disagreement: nothing confirmed is refused.
    assert differing == REDUCED_DISPUTED


def test_the_reduced_ladder_in_the_percent_range_is_the_sources():
    """Table II-C for AQL <= 10 (meter lots): the gapped ladder 0/1, 0/2, 1/3, 1/4, 2/5, 3/6,
    5/8, 7/10, 10/13 as the source prints it along letter R."""
    src = _cells("single", "reduced")
    ladder = [src[("R", a)][1:] for a in ("0.025", "0.040", "0.065", "0.10", "0.15", "0.25",
                                          "0.40", "0.65")]
    assert ladder == [(0, 2), (1, 3), (1, 4), (2, 5), (3, 6), (5, 8), (7, 10), (10, 13)]
    assert [iso2859.resolve_cell("reduced", "R", a)[1:] for a in
            ("0.025", "0.040", "0.065", "0.10", "0.15", "0.25", "0.40", "0.65")] == ladder


@pytest.mark.parametrize("severity", iso2859.INSPECTIONS)
def test_double_tables_match_the_source_in_every_cell(severity):
    src = _cells("double", severity)
    for letter, aql in ALL_CELLS:
        cell = iso2859.double_cell(severity, letter, aql)
        ours = None if cell is None else (cell.n_each, cell.ac1, cell.re1, cell.ac2, cell.re2)
        expected = src[(letter, aql)]
        if severity == "normal" and (letter, aql) in DOUBLE_NORMAL_SOURCE_SLIPS:
            assert expected == (8, 11, 16, 26, 26)        # the slip, exactly
            assert src[("K", aql)] == src[("Q", aql)] == (8, 11, 16, 26, 27)
            expected = (8, 11, 16, 26, 27)
        assert ours == expected, (severity, letter, aql)


def test_double_plans_through_the_lot_size_api():
    # Reduced 0/2 has a double form: letter H (lot 281-500, level II) at 0.65 -> J's 0/2 plan.
    d = iso2859.double_plan(400, "0.65", inspection="reduced")
    assert d.double and (d.n1, d.ac1, d.re1, d.n2, d.ac2, d.re2) == (20, 0, 2, 20, 0, 2)
    # Table III-C beyond Ac 10 / Re 13, now encoded: letter E (lot 51-90) at AQL 150 and 250.
    d = iso2859.double_plan(60, "150", inspection="reduced")
    assert (d.n1, d.ac1, d.re1, d.ac2, d.re2) == (3, 7, 12, 18, 22)
    d = iso2859.double_plan(60, "250", inspection="reduced")
    assert (d.n1, d.ac1, d.re1, d.ac2, d.re2) == (3, 11, 17, 26, 30)
    # Normal letter A (lot 2-8): Table III-A has no double plan in that row.
    p = iso2859.double_plan(5, "10")
    assert not p.double and (p.n, p.ac, p.re) == (5, 1, 2)
    # Tightened letter A at 10 follows the arrow to D: double 5 + 5, 0/2 then 1/2.
    d = iso2859.double_plan(5, "10", inspection="tightened")
    assert (d.plan_code, d.n1, d.ac1, d.re1, d.ac2, d.re2) == ("D", 5, 0, 2, 1, 2)


def test_every_single_to_double_ladder_step_appears_in_the_source():
    """Each (single Ac/Re) -> (double Ac1/Re1, Ac2/Re2) pair encoded here is printed in the copy,
    at a cell whose single plan is that Ac/Re."""
    for severity, pairs in iso2859._DOUBLE.items():
        single = _cells("single", severity)
        double = _cells("double", severity)
        for (ac, re), ((ac1, re1), (ac2, re2)) in pairs.items():
            seen = {double[k][1:] for k, v in single.items()
                    if v is not None and v[1:] == (ac, re) and double[k] is not None}
            assert (ac1, re1, ac2, re2) in seen, (severity, ac, re, seen)


@pytest.mark.parametrize("severity", iso2859.INSPECTIONS)
def test_every_double_cell_is_a_well_formed_plan_smaller_than_its_single(severity):
    sizes = iso2859.REDUCED_SAMPLE_SIZES if severity == "reduced" else iso2859.SAMPLE_SIZES
    for letter, aql in ALL_CELLS:
        cell = iso2859.double_cell(severity, letter, aql)
        if cell is None:
            continue
        single_letter, _, re = iso2859.resolve_cell(severity, letter, aql)
        assert cell.plan_code == single_letter
        assert cell.ac1 < cell.re1 <= cell.re2 and cell.ac1 <= cell.ac2 < cell.re2
        assert cell.re2 >= re      # the cumulative rejection number is never below the single Re
        assert cell.n_each < sizes[single_letter] < 2 * cell.n_each + 1 + sizes[single_letter]
