"""Inventory CSV reading (errors name row and field), the example inventory, lot formation."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterbench.core.errors import UserError
from meterbench.sampling.example import example_inventory, generate_example_inventory
from meterbench.sampling.inventory import Meter, read_inventory, read_inventory_text
from meterbench.sampling.lots import find_lot, form_lots

HEADER = ("meter_id,model,class,rating,production_year,installation_date,last_verification,"
          "location,lot_id\n")


def inv(*rows: str) -> str:
    return HEADER + "".join(r + "\n" for r in rows)


GOOD = "M1,Acme X1,B,5(80)A,2018,2018-05-01,,Site 1,"


def test_reads_a_good_row():
    (m,) = read_inventory_text(inv(GOOD))
    assert (m.meter_id, m.model, m.accuracy_class, m.production_year) == ("M1", "Acme X1", "B",
                                                                          2018)
    assert m.installation_date == date(2018, 5, 1) and m.last_verification is None
    assert m.mid and m.technology == "electronic" and m.lot_id is None


@pytest.mark.parametrize("row,field,row_no", [
    ("M1,Acme X1,D,5(80)A,2018,2018-05-01,,Site 1,", "class", 2),
    ("M1,Acme X1,B,5(80)A,18,2018-05-01,,Site 1,", "production_year", 2),
    ("M1,Acme X1,B,5(80)A,2018,01/05/2018,,Site 1,", "installation_date", 2),
    ("M1,Acme X1,B,5(80)A,2018,2018-05-01,2019-13-01,Site 1,", "last_verification", 2),
    ("M1,,B,5(80)A,2018,2018-05-01,,Site 1,", "model", 2),
    ("M1,Acme X1,B,5(80)A,2019,2018-05-01,,Site 1,", "installation_date", 2),
])
def test_bad_rows_name_row_and_field(row, field, row_no):
    with pytest.raises(UserError) as e:
        read_inventory_text(inv(row), source="inv.csv")
    text = e.value.format()
    assert text.startswith(f"inv.csv: {field}: row {row_no}")


def test_duplicate_ids_extra_fields_and_missing_columns():
    with pytest.raises(UserError, match="row 3: meter id 'M1' already in row 2"):
        read_inventory_text(inv(GOOD, GOOD))
    with pytest.raises(UserError, match="row 2: more fields"):
        read_inventory_text(inv(GOOD + ",extra"))
    with pytest.raises(UserError, match="missing column"):
        read_inventory_text("meter_id,model\nM1,X\n")
    with pytest.raises(UserError, match="no meters"):
        read_inventory_text(HEADER)


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot read"):
        read_inventory(tmp_path / "nope.csv")


def test_shipped_example_is_the_generated_one_and_has_thousands_of_meters():
    shipped = example_inventory()
    assert shipped == generate_example_inventory()
    assert len(shipped) >= 2000
    lots = form_lots(shipped)
    assert len(lots) >= 4
    assert sum(lot.size for lot in lots) == len(shipped)


def test_rule_formed_lots_respect_uniformity_and_the_year_span():
    rows = [f"A{i},Acme X1,B,5(80)A,{2015 + i % 5},2020-01-0{1 + i % 5},,s," for i in range(20)]
    rows += [f"B{i},Acme X2,B,5(80)A,2016,2020-02-01,,s," for i in range(5)]
    meters = read_inventory_text(inv(*rows))
    strict = form_lots(meters, max_year_span=0)
    assert len([lot for lot in strict if lot.model == "Acme X1"]) == 5
    wide = form_lots(meters, max_year_span=2)
    x1 = [lot for lot in wide if lot.model == "Acme X1"]
    assert [lot.production_years for lot in x1] == [(2015, 2017), (2018, 2019)]
    for lot in wide:
        assert len({(m.model, m.rating, m.accuracy_class) for m in lot.meters}) == 1
        y0, y1 = lot.production_years
        assert y1 - y0 <= 2


def test_explicit_lots_are_used_and_must_be_uniform():
    rows = [f"A{i},Acme X1,B,5(80)A,2018,2018-05-01,,s,LOT-7" for i in range(3)]
    lots = form_lots(read_inventory_text(inv(*rows)))
    assert [lot.lot_id for lot in lots] == ["LOT-7"] and lots[0].formed_by == "explicit lot_id"
    assert find_lot(lots, "LOT-7").size == 3
    with pytest.raises(UserError, match="no lot 'LOT-8'"):
        find_lot(lots, "LOT-8")
    mixed = rows + ["Z1,Acme X2,B,5(80)A,2018,2018-05-01,,s,LOT-7"]
    with pytest.raises(UserError, match="not uniform"):
        form_lots(read_inventory_text(inv(*mixed)))


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["X1", "X2"]), st.sampled_from(["A", "B"]),
                               st.integers(2010, 2022)), min_size=1, max_size=60),
       span=st.integers(0, 4))
def test_lots_partition_the_inventory_into_uniform_lots_within_the_span(rows, span):
    meters = [Meter(f"M{i}", model, cls, "5(80)A", year, date(year + 1, 1, 1), "s")
              for i, (model, cls, year) in enumerate(rows)]
    lots = form_lots(meters, max_year_span=span)
    ids = [m.meter_id for lot in lots for m in lot.meters]
    assert sorted(ids) == sorted(m.meter_id for m in meters)       # each meter exactly once
    for lot in lots:
        assert len({(m.model, m.accuracy_class) for m in lot.meters}) == 1
        y0, y1 = lot.production_years
        assert y1 - y0 <= span


def test_implausible_verification_and_test_dates_are_refused(run_cli, tmp_path):
    """A verification before production or after --on, and an evaluation dated
    before the tested meters were installed, were accepted."""
    header = ("meter_id,model,class,rating,production_year,installation_date,last_verification,"
              "location\n")
    early = tmp_path / "early.csv"
    early.write_text(header + "M1,X,B,5(80)A,2017,2018-01-01,2016-05-01,s\n")
    code, _, err = run_cli("sampling", "due", str(early), "--on", "2026-01-01")
    assert code == 2 and err.count("\n") == 1
    assert f"{early}: last_verification: row 2: verified 2016-05-01 before production" in err
    future = tmp_path / "future.csv"
    future.write_text(header + "M1,X,B,5(80)A,2017,2018-01-01,,s\n"
                      "M2,X,B,5(80)A,2017,2018-01-01,2027-01-01,s\n")
    code, _, err = run_cli("sampling", "due", str(future), "--on", "2026-01-01")
    assert code == 2 and err.count("\n") == 1
    assert (f"{future}: last_verification: row 3: meter M2 verified 2027-01-01, after --on "
            "2026-01-01") in err


def test_evaluate_before_the_installation_of_a_tested_meter_is_refused(run_cli, tmp_path):
    sel, res = tmp_path / "s.json", tmp_path / "r.csv"
    lot = "EASTRON-SDM630-MID-0-5-10-100-A-B-2017"
    assert run_cli("sampling", "select", "example", "--lot", lot, "--aql", "1.0", "--seed", "x",
                   "--out", str(sel))[0] == 0
    assert run_cli("sampling", "simulate", str(sel), "--inventory", "example", "--out",
                   str(res))[0] == 0
    code, _, err = run_cli("sampling", "evaluate", str(sel), "--results", str(res),
                           "--inventory", "example", "--on", "2017-06-01")
    assert code == 2 and err.count("\n") == 1
    assert "--on: test date 2017-06-01 is before the installation of tested meter" in err
    assert "example inventory row" in err


def test_messages_read_as_english(run_cli, tmp_path):
    """"1 meters in 1 lots", "not a inventory", "at most 0 apart", a real-looking
    date that does not exist, and a Latin-1 byte without its line."""
    header = ("meter_id,model,class,rating,production_year,installation_date,last_verification,"
              "location\n")
    code, _, err = run_cli("sampling", "due", "example", "--on", "2026-02-30")
    assert code == 2 and "--on: 2026-02-30: no such day (February 2026 has 28 days)" in err
    code, _, err = run_cli("sampling", "due", "example", "--on", "2026-13-01")
    assert code == 2 and "no month 13" in err
    code, _, err = run_cli("sampling", "due", str(tmp_path), "--on", "2026-01-01")
    assert code == 2 and "is a directory, not an inventory" in err
    latin = tmp_path / "latin.csv"
    latin.write_bytes((header + "M1,X,B,5(80)A,2017,2018-01-01,,site\n"
                       "M2,X,B,5(80)A,2017,2018-01-01,,Kø\n").encode("latin-1"))
    code, _, err = run_cli("sampling", "due", str(latin), "--on", "2026-01-01")
    assert code == 2 and f"{latin}: line 3: not UTF-8 text (byte" in err
    feb = tmp_path / "feb.csv"
    feb.write_text(header + "M1,X,B,5(80)A,2017,2019-02-29,,s\n")
    code, _, err = run_cli("sampling", "due", str(feb), "--on", "2026-01-01")
    assert code == 2 and "installation_date: row 2: 2019-02-29: no such day" in err
    one = tmp_path / "one.csv"
    one.write_text(header + "M1,X,B,5(80)A,2017,2018-01-01,,s\n")
    code, out, _ = run_cli("sampling", "due", str(one), "--on", "2026-01-01", "--all")
    assert "1 meter in 1 lot;" in out and "at most 0" not in out


def test_too_few_results_counts_in_english():
    from meterbench.sampling.evaluation import PointResult
    from meterbench.sampling.lots import Lot
    from meterbench.sampling.schemes import get_scheme
    from meterbench.sampling.workflow import evaluate_round, make_plan, make_selection
    ms = tuple(Meter(f"M{i}", "Acme", "B", "5(80)A", 2018, date(2018, 6, 1), "s")
               for i in range(5))
    lot = Lot("L", ms, "test")
    scheme = get_scheme("dk-7y")
    doc = make_selection(scheme=scheme, lot=lot, plan=make_plan(scheme, 5, aql="10"), seed="e",
                         spares=0)
    first = doc["selection"]["sample"][0]
    rows = [PointResult(first, tp, 0.1, 0.1, k) for k, tp in enumerate(doc["test_points"])]
    with pytest.raises(UserError, match=r"results for 1 meter, the plan needs"):
        evaluate_round(doc, rows, {m.meter_id: m for m in ms}, scheme=scheme,
                       tested_on=date(2026, 1, 1))
