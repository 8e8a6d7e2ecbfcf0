"""ISO 2859-1 / MIL-STD-105E plans: the shipped normal table, and tightened, reduced and double
plans against values looked up in public copies of the standard."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from meterbench.core.errors import UserError
from meterbench.sampling import iso2859, oc

#: ``<repo>/../shared/domain``: the shared domain notes, when they sit beside the repository.
SHARED_DOMAIN = Path(__file__).resolve().parents[2].parent / "shared" / "domain"
SHIPPED = json.loads(resources.files("meterbench.sampling").joinpath(
    "data/iso2859-1-normal.json").read_text())


def test_shipped_table_is_the_shared_domain_file():
    shared = SHARED_DOMAIN / "iso2859-1-normal.json"
    if not shared.exists():
        pytest.skip("shared/domain not beside the repository: nothing to compare with")
    assert json.loads(shared.read_text()) == SHIPPED


def _lot_sizes():
    for span in SHIPPED["code_letters"]:
        lo, _, hi = span.partition("-")
        lo_i = int(lo.rstrip("+"))
        yield span, lo_i
        yield span, int(hi) if hi else 10_000_000
        if hi:
            yield span, (lo_i + int(hi)) // 2


@pytest.mark.parametrize("level", iso2859.LEVELS)
def test_normal_single_plans_match_the_table_for_every_lot_size_level_and_aql(level):
    checked = 0
    for span, size in _lot_sizes():
        letter = SHIPPED["code_letters"][span][level]
        assert iso2859.code_letter(size, level) == letter, (span, size)
        for aql, (n, ac, re) in SHIPPED["normal_single"][letter].items():
            p = iso2859.single_plan(size, aql, level=level)
            assert (p.code, p.n, p.ac, p.re) == (letter, n, ac, re), (size, level, aql)
            assert p.hundred_percent == (n >= size)
            checked += 1
    assert checked == 15 * 3 * 26 - 26  # 15 spans, 3 sizes each (open span: 2), 26 AQLs


def test_the_diagonal_model_reproduces_table_ii_a_cell_for_cell():
    """The encoding used for II-B/II-C is proven on II-A, where the full table is given."""
    for letter in iso2859.LETTERS[:16]:
        for aql, (n, ac, re) in SHIPPED["normal_single"][letter].items():
            plan_letter, mac, mre = iso2859.resolve_cell("normal", letter, aql)
            assert (iso2859.SAMPLE_SIZES[plan_letter], mac, mre) == (n, ac, re), (letter, aql)


# MIL-STD-105E Table II-B as reproduced in NIBS "FMOC DPW AC-TABLE", Table 1-B (single tightened,
# derived from MIL-STD-105E; columns AQL 0.65 .. 15, rejection numbers; v = arrow down).
NIBS_TIGHTENED_RE = {
    "F": ("v", 1, "v", "v", 2, 3, 4, 6),
    "G": (1, "v", "v", 2, 3, 4, 6, 9),
    "J": ("v", 2, 3, 4, 6, 9, 13, 19),
    "K": (2, 3, 4, 6, 9, 13, 19, "^"),
    "L": (3, 4, 6, 9, 13, 19, "^", "^"),
}
NIBS_AQLS = ("0.65", "1.0", "1.5", "2.5", "4.0", "6.5", "10", "15")


@pytest.mark.parametrize("letter", sorted(NIBS_TIGHTENED_RE))
def test_tightened_cells_match_the_looked_up_table(letter):
    for aql, expected in zip(NIBS_AQLS, NIBS_TIGHTENED_RE[letter], strict=True):
        plan_letter, ac, re = iso2859.resolve_cell("tightened", letter, aql)
        if expected == "v":
            assert iso2859.LETTERS.index(plan_letter) > iso2859.LETTERS.index(letter), aql
        elif expected == "^":
            assert iso2859.LETTERS.index(plan_letter) < iso2859.LETTERS.index(letter), aql
        else:
            assert plan_letter == letter and re == expected and ac == re - 1, aql


def test_edge_cells_looked_up_in_the_aql_inspectors_rule_notes():
    """aqlinspectorsrule.com 'use for AQLs below 0.065' (ANSI and ISO versions):
    tightened 0.025 at Q and R -> n 3150, Ac 1 Re 2; normal 0.015 at R -> P, n 800, 0/1;
    reduced 0.015 at R -> P, n 315, 0/1; double normal 0.025 at R: first sample 0-2;
    double tightened 0.025 at Q and R: 2000 + 2000, 0-2 then 1-2."""
    for size, level in ((600_000, "II"), (600_000, "III")):   # Q and R
        p = iso2859.single_plan(size, "0.025", level=level, inspection="tightened")
        assert (p.n, p.ac, p.re) == (3150, 1, 2)
        d = iso2859.double_plan(size, "0.025", level=level, inspection="tightened")
        assert (d.n1, d.n2, d.ac1, d.re1, d.ac2, d.re2) == (2000, 2000, 0, 2, 1, 2)
    r_normal = iso2859.single_plan(600_000, "0.015", level="III")
    assert (r_normal.code, r_normal.plan_code, r_normal.n, r_normal.ac, r_normal.re) == \
        ("R", "P", 800, 0, 1)
    r_reduced = iso2859.single_plan(600_000, "0.015", level="III", inspection="reduced")
    assert (r_reduced.plan_code, r_reduced.n, r_reduced.ac, r_reduced.re) == ("P", 315, 0, 1)
    d = iso2859.double_plan(600_000, "0.025", level="III")
    assert (d.code, d.ac1, d.re1) == ("R", 0, 2)


def test_double_plans_where_the_single_plan_is_zero_one_fall_back_to_single():
    p = iso2859.double_plan(50, "1.0")           # normal single is 13/0/1
    assert not p.double and (p.n, p.ac, p.re) == (13, 0, 1)


def test_double_plan_shape_invariants():
    for sev in ("normal", "tightened", "reduced"):
        for size in (10, 100, 1000, 10_000, 100_000):
            for aql in ("0.65", "1.0", "2.5", "6.5"):
                d = iso2859.double_plan(size, aql, inspection=sev)   # III-C now complete
                if not d.double:
                    continue
                assert d.n1 == d.n2 and d.n == d.n1 + d.n2
                assert d.ac1 < d.re1 <= d.re2 and d.ac1 <= d.ac2 < d.re2
                if sev != "reduced":
                    assert d.re2 == d.ac2 + 1
                single = iso2859.single_plan(size, aql, inspection=sev)
                assert d.n1 < single.n   # each double sample is smaller than the single one


def test_tightened_is_stricter_and_reduced_lighter_than_normal_at_the_aql():
    for letter in iso2859.LETTERS[:16]:
        for aql in iso2859.AQL_SERIES[:16]:          # percent nonconforming part
            p = float(aql) / 100
            pl, _, re = iso2859.resolve_cell("normal", letter, aql)
            tl, _, tre = iso2859.resolve_cell("tightened", letter, aql)
            rl, _, rre = iso2859.resolve_cell("reduced", letter, aql)
            pa_n = oc.p_accept_single(iso2859.SAMPLE_SIZES[pl], re, p)
            pa_t = oc.p_accept_single(iso2859.SAMPLE_SIZES[tl], tre, p)
            pa_r = oc.p_accept_single(iso2859.REDUCED_SAMPLE_SIZES[rl], rre, p)
            assert pa_t <= pa_n + 1e-12 <= pa_r + 2e-12, (letter, aql)
            assert iso2859.REDUCED_SAMPLE_SIZES[rl] <= iso2859.SAMPLE_SIZES[pl]


def test_reduced_plans_keep_the_gap_of_table_ii_c():
    p = iso2859.single_plan(5000, "0.65", inspection="reduced")   # letter L, n 80
    assert (p.code, p.n, p.ac, p.re) == ("L", 80, 1, 4)


@pytest.mark.parametrize("bad", [("0.3",), ("abc",), ("1.2",)])
def test_aql_outside_the_series_is_a_user_error(bad):
    with pytest.raises(UserError, match="aql"):
        iso2859.single_plan(1000, bad[0])


def test_aql_spellings_are_normalised():
    assert iso2859.normalize_aql(1) == "1.0"
    assert iso2859.normalize_aql("0.1") == "0.10"
    assert iso2859.normalize_aql(1000.0) == "1000"


def test_bad_level_inspection_and_lot_size():
    with pytest.raises(UserError, match="level"):
        iso2859.single_plan(100, "1.0", level="IV")
    with pytest.raises(UserError, match="inspection"):
        iso2859.single_plan(100, "1.0", inspection="strict")
    with pytest.raises(UserError, match="lot-size"):
        iso2859.code_letter(1)
