"""Limits as data: the MID table with its rows and sources, the single-phase-load row, in-service
factors per country, and a lab's own limits file in a bench file (errors name file and field).

The numbers in the lab files below are invented for these tests (no standard's table is quoted):
what is tested is that a lab's table is read, cited and applied, not its values.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from meterbench.accuracy.evaluate import limit_for
from meterbench.accuracy.limit_table import NoLimit, load_limit_table
from meterbench.accuracy.limits import mid_table, mpe_pct, temperature_band
from meterbench.accuracy.plans import TestPoint
from meterbench.config.bench_file import parse_bench
from meterbench.config.strict_toml import load_toml
from meterbench.core.errors import UserError

from .labkit import RATING_B


def test_mid_table_rows_carry_their_source():
    t = mid_table()
    assert t.source == "Directive 2014/32/EU Annex V (MI-003) point 3 Table 2"
    assert [b.name for b in t.bands][0] == "+5..+30 °C"
    assert all(r.source for r in t.rows)
    # Table 2 as the Directive prints it, balanced load, every band
    assert [mpe_pct("B", below_itr=True, band=b) for b in range(4)] == [2.0, 2.5, 3.5, 4.0]
    assert [mpe_pct("C", band=b) for b in range(4)] == [0.7, 1.0, 1.3, 1.5]
    assert temperature_band(23.0) == 0 and temperature_band(35.0) == 1


@pytest.mark.parametrize("cls, expected", [("A", 4.0), ("B", 2.5), ("C", 1.0)])
def test_a_polyphase_meter_with_a_single_phase_load_has_its_own_row(cls, expected):
    rating = type(RATING_B)(**{**RATING_B.as_dict(), "accuracy_class": cls, "i_st": None,
                               "meter_constant_imp_per_kwh": None})
    lim = limit_for(rating, 5.0, load="single_phase", pf="0.5 ind")
    assert lim.pct == expected
    assert "polyphase meter operating with single-phase load" in lim.basis
    assert limit_for(rating, 5.0).pct == mpe_pct(cls)  # the balanced row is unchanged


def test_the_single_phase_row_is_not_guessed_where_it_was_not_checked():
    with pytest.raises(NoLimit, match="no MPE for class B"):
        limit_for(RATING_B, 5.0, load="single_phase", band=1)
    with pytest.raises(NoLimit, match="no row"):  # Table 2 has it from Itr only
        limit_for(RATING_B, 0.3, load="single_phase")


def test_in_service_factor_comes_from_the_table_with_its_source():
    lim = limit_for(RATING_B, 5.0, basis="in_service", country="DK", load="single_phase")
    assert lim.pct == 5.0 and "BEK nr. 582 of 28 May 2018 §11" in lim.basis
    with pytest.raises(NoLimit, match="no in-service factor"):
        limit_for(RATING_B, 5.0, basis="in_service", country="FR")


LAB_TABLE = """
name = "lab test table"
source = "values invented for a test (not a standard)"
classes = ["1", "B"]

[[row]]
load = "any"
pf = ["1"]
from = "Imin"
below = "Itr"
mpe_pct = { "1" = 1.5, B = 1.9 }
source = "row 1"

[[row]]
load = "any"
from = "Itr"
mpe_pct = { "1" = 1.0, B = 1.1 }
source = "row 2"

[[row]]
load = "any"
pf = ["0.5 ind", "0.8 cap"]
from = "Imin"
below = "Itr"
mpe_pct = { "1" = 1.7, B = 2.1 }
source = "row 3"

[in_service.XX]
factor = 3.0
source = "an invented rule"
"""


def _bench(tmp_path: Path, table: str | None, *, cls: str = "B", **plan) -> dict:
    text = resources.files("meterbench").joinpath("benches", "sim-lab.toml").read_text("utf-8")
    data = load_toml(Path("sim-lab.toml"), text)
    if table is not None:
        (tmp_path / "limits.toml").write_text(table, encoding="utf-8")
        data["lab"]["plan"]["limits"] = "limits.toml"
    data["lab"]["plan"].update(plan)
    for m in data["meter"]:
        m["class"] = cls
        if cls not in ("A", "B", "C"):
            m["rating"]["i_st"] = 0.02
    return data


def test_a_lab_limits_file_is_applied_and_cited(tmp_path):
    cfg = parse_bench(_bench(tmp_path, LAB_TABLE, cls="1"), source=str(tmp_path / "lab.toml"))
    plan, mut = cfg.lab.plan, cfg.meters[0]
    assert plan.table.name == "lab test table"
    assert plan.as_dict()["limits"]["file"].endswith("limits.toml")
    lim = plan.limit(type("M", (), {"rating": mut.rating})(), TestPoint("x", 0.25, "0.5 ind"))
    assert lim.pct == 1.7 and "row 3" in lim.basis and "values invented" in lim.basis
    assert plan.limit(type("M", (), {"rating": mut.rating})(), 5.0).pct == 1.0
    service = parse_bench(_bench(tmp_path, LAB_TABLE, limit="in_service", country="XX"),
                          source=str(tmp_path / "lab.toml"))
    b_meter = type("M", (), {"rating": service.meters[0].rating})()
    lim = service.lab.plan.limit(b_meter, 5.0)  # class B: 3 × 1.1 %
    assert lim.pct == pytest.approx(3.3) and "an invented rule" in lim.basis


@pytest.mark.parametrize("table, plan, cls, field, words", [
    (None, {}, "1", "lab.plan.limits", "class '1'"),                      # MID has no class 1
    (LAB_TABLE.replace('source = "values invented for a test (not a standard)"', ""), {}, "B",
     "source", "missing"),
    (LAB_TABLE.replace('classes = ["1", "B"]', 'classes = ["1"]'), {}, "1",
     "row[0].mpe_pct.B", "class not listed"),
    (LAB_TABLE.replace('pf = ["1"]', 'pf = ["0.9"]'), {}, "B", "row[0].pf", "bad power factors"),
    (LAB_TABLE.replace('from = "Itr"', 'from = "Iref"'), {}, "B", "lab.plan.limits",
     "'0.1 Iref PF 0.5 ind'"),                           # nothing covers Itr..Iref
    (None, {"temperature_c": 35.0}, "B", "lab.plan.limits", "no MPE for class B"),
    (LAB_TABLE, {"limit": "in_service", "country": "DK"}, "B", "lab.plan.country", "DK"),
    # a source must cite something wherever it stands (the verdict's basis quotes it)
    (LAB_TABLE.replace('source = "an invented rule"', 'source = ""'), {}, "B",
     "in_service.XX.source", "empty"),
    (LAB_TABLE.replace('source = "an invented rule"', 'source = "  "'), {}, "B",
     "in_service.XX.source", "empty"),
    (LAB_TABLE.replace('source = "an invented rule"', ''), {}, "B",
     "in_service.XX.source", "missing"),
    (LAB_TABLE.replace('source = "row 2"', 'source = " "'), {}, "B", "row[1].source", "empty"),
    (LAB_TABLE.replace('source = "values invented for a test (not a standard)"', 'source = ""'),
     {}, "B", "source", "empty"),
])
def test_limits_errors_name_file_and_field(tmp_path, table, plan, cls, field, words):
    with pytest.raises(UserError) as exc:
        parse_bench(_bench(tmp_path, table, cls=cls, **plan), source=str(tmp_path / "lab.toml"))
    assert exc.value.field == field, exc.value.format()
    assert words in exc.value.format()


def test_a_missing_source_points_at_the_limits_file_docs_not_the_bench_file(tmp_path):
    table = LAB_TABLE.replace('source = "values invented for a test (not a standard)"', "")
    with pytest.raises(UserError) as exc:
        parse_bench(_bench(tmp_path, table), source=str(tmp_path / "lab.toml"))
    assert 'docs/accuracy.md, "Limits files"' in exc.value.format()
    assert "bench-file.md" not in exc.value.format()


def test_a_row_without_its_own_source_cites_the_file_without_an_empty_part(tmp_path):
    cfg = parse_bench(_bench(tmp_path, LAB_TABLE.replace('source = "row 2"', "")),
                      source=str(tmp_path / "lab.toml"))
    lim = cfg.lab.plan.limit(type("M", (), {"rating": cfg.meters[0].rating})(), 5.0)
    assert "values invented for a test (not a standard); any temperature" in lim.basis
    assert ": ;" not in lim.basis and "; )" not in lim.basis


def test_a_missing_limits_file_is_a_user_error(tmp_path):
    data = _bench(tmp_path, None)
    data["lab"]["plan"]["limits"] = "nowhere.toml"
    with pytest.raises(UserError, match="limits file not found"):
        parse_bench(data, source=str(tmp_path / "lab.toml"))


def test_a_field_bench_keeps_mid_classes(tmp_path):
    text = resources.files("meterbench").joinpath("benches", "sim.toml").read_text("utf-8")
    data = load_toml(Path("sim.toml"), text)
    data["meter"][0]["class"] = "1"
    with pytest.raises(UserError) as exc:
        parse_bench(data, source="sim.toml")
    assert exc.value.field == "meter[0].class"


def test_the_builtin_table_file_loads_as_a_lab_file_would(tmp_path):
    text = resources.files("meterbench.accuracy").joinpath("mid_limits.toml").read_text("utf-8")
    (tmp_path / "copy.toml").write_text(text, encoding="utf-8")
    assert load_limit_table(tmp_path / "copy.toml").rows == mid_table().rows
