"""Scheme presets: due dates and the next due date after a pass."""

from __future__ import annotations

from datetime import date

import pytest

from meterbench.core.errors import UserError
from meterbench.sampling.inventory import Meter
from meterbench.sampling.lots import Lot
from meterbench.sampling.schemes import (
    SCHEMES,
    add_years,
    due_status,
    get_scheme,
    next_due_after_pass,
)


def lot(installed=date(2018, 3, 10), year=2017, verified=None, mid=True, tech="electronic"):
    m = Meter("M1", "Acme", "B", "5(80)A", year, installed, "s", last_verification=verified,
              mid=mid, technology=tech)
    m2 = Meter("M2", "Acme", "B", "5(80)A", year, date(2019, 1, 1), "s",
               last_verification=verified, mid=mid, technology=tech)
    return Lot("L", (m, m2), "test")


def test_presets_exist():
    assert {"dk-7y", "dk-vej9464", "de", "se", "no", "at", "fr", "nl", "custom"} <= set(SCHEMES)


@pytest.mark.parametrize("scheme,kw,due", [
    ("dk-7y", {}, date(2025, 3, 10)),                        # 7 years after installation
    ("dk-vej9464", {}, date(2024, 3, 10)),                   # MID 6 years
    ("dk-vej9464", {"mid": False}, date(2028, 3, 10)),       # non-MID 10 years
    ("de", {}, date(2026, 3, 10)),                           # 8 years, no verification: install
    ("de", {"tech": "electromechanical"}, date(2034, 3, 10)),  # 16 years
    ("se", {}, date(2021, 3, 10)),                           # 3 years after commissioning
    ("no", {}, date(2020, 1, 1)),                            # within 3 years of production
    ("fr", {}, date(2028, 3, 10)),                           # every 10 years
])
def test_first_due_dates(scheme, kw, due):
    s = due_status(get_scheme(scheme), lot(**kw), date(2026, 1, 1))
    assert s.due_date == due
    assert s.due == (due <= date(2026, 1, 1))


def test_after_a_pass_dk_needs_the_interval_and_others_have_it():
    passed = lot(verified=date(2025, 6, 1))
    s = due_status(get_scheme("dk-7y"), passed, date(2026, 1, 1))
    assert s.due_date is None and "--interval-years" in s.reason
    s = due_status(get_scheme("dk-7y", interval_years=4), passed, date(2026, 1, 1))
    assert s.due_date == date(2029, 6, 1) and not s.due
    assert due_status(get_scheme("se"), passed, date(2026, 1, 1)).due_date == date(2031, 6, 1)
    assert due_status(get_scheme("de"), passed, date(2026, 1, 1)).due_date == date(2033, 6, 1)
    assert next_due_after_pass(get_scheme("de"), date(2026, 2, 1)) == date(2031, 2, 1)
    assert next_due_after_pass(get_scheme("no"), date(2026, 2, 1)) == date(2034, 2, 1)
    assert next_due_after_pass(get_scheme("no"), date(2026, 2, 1),
                               passes_so_far=2) == date(2036, 2, 1)
    assert next_due_after_pass(get_scheme("dk-vej9464"), date(2026, 2, 1), mid=False) == \
        date(2030, 2, 1)
    assert next_due_after_pass(get_scheme("dk-7y"), date(2026, 2, 1)) is None


def test_custom_needs_numbers_and_validates_them():
    s = due_status(get_scheme("custom"), lot(), date(2026, 1, 1))
    assert s.due_date is None and "--first-years" in s.reason
    assert due_status(get_scheme("custom", first_years=5), lot(), date(2026, 1, 1)).due
    with pytest.raises(UserError):
        get_scheme("custom", first_years=0)
    with pytest.raises(UserError, match="scheme"):
        get_scheme("xx")


def test_leap_day():
    assert add_years(date(2020, 2, 29), 7) == date(2027, 2, 28)
    assert add_years(date(2020, 2, 29), 4) == date(2024, 2, 29)


def test_the_lot_rule_text_states_the_year_window_actually_used():
    """With --max-year-span 1 the text said "same production year (span 0)" while
    a 2019-2020 lot was formed."""
    from meterbench.sampling.schemes import lot_rule_text
    default = lot_rule_text(get_scheme("dk-7y"))
    assert "one production year (the bench's default)" in default and "span 0" not in default
    wider = lot_rule_text(get_scheme("dk-7y", max_year_span=1))
    assert "production years at most 1 year apart (--max-year-span 1" in wider
    assert "lots formed here: one production year" not in wider
    assert lot_rule_text(get_scheme("se")).endswith("production years at most 2 years apart")


def test_due_and_the_report_agree_with_the_lots_they_list(run_cli):
    from meterbench.sampling.example import example_inventory
    from meterbench.sampling.report_document import report_document
    code, out, _ = run_cli("sampling", "due", "example", "--on", "2026-11-27", "--all",
                           "--max-year-span", "1")
    assert code == 0 and "2019-2020" in out and "span 0" not in out
    assert "at most 1 year apart" in out.splitlines()[1]
    ev = {"scheme": get_scheme("dk-7y", max_year_span=1).to_dict(), "tested_on": "2026-12-01",
          "lot": {"lot_id": "x"}, "plan": {}, "selection": {}, "tested": [], "not_reached": [],
          "meters": [], "decision": {}, "decision_rule": {}, "limit_rule": "",
          "consequence": {}}
    doc = report_document(ev, example_inventory())
    assert "at most 1 year apart" in doc["population"]["lot_rule"]
    assert all("at most 1 year apart" in lot["formed_by"] for lot in doc["lots"]
               if lot["formed_by"] != "explicit lot_id")
