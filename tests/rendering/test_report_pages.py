"""Issue 15, "Figures and pages": what a lab engineer reads on the HTML pages of the run, lab and
sampling reports (checked on the rendered HTML, as a reader gets it)."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from meterbench.reports.html import render_html
from meterbench.reports.lab_sections import POINT_COLUMNS
from meterbench.reports.page import Cell, KeyValues, Table, table

from .htmlpage import NUMBER, SCIENTIFIC, read_page

REPORTS = ("field_report", "lab_report", "sampling_report")


@pytest.fixture(params=REPORTS)
def report(request):
    return request.getfixturevalue(request.param)


def test_numbers_are_right_aligned_under_right_aligned_headers(report):
    page = read_page(report.html.read_text("utf-8"))
    checked = 0
    for s in page.sections:
        for t in s.tables:
            if not t.header:
                continue
            for j, head in enumerate(t.header):
                column = [row[j] for row in t.body if j < len(row)]
                numeric = [c for c in column if NUMBER.match(c.text) and "code" not in c.classes]
                if numeric and len(numeric) == len([c for c in column if c.text not in ("—", "n/a")]):
                    checked += 1
                    assert "num" in head.classes, (s.id, head.text)
                    assert all("num" in c.classes for c in numeric), (s.id, head.text)
                if any("num" in c.classes for c in column):
                    assert "num" in head.classes, (s.id, head.text)
    assert checked >= 3  # the check saw numeric columns
    assert re.search(r"th\.num[^{]*\{[^}]*text-align:\s*right", page.style)


def test_no_number_in_scientific_notation_and_none_away_from_its_unit(report):
    """Values, limits and uncertainties have a fixed precision per unit: never ``6.104e-05``,
    and a value never sits in a cell with its unit (``3.074 %`` wrapped to ``3.074 / %``)."""
    page = read_page(report.html.read_text("utf-8"))
    numbers = [c for s in page.sections for t in s.tables for row in t.body for c in row
               if "num" in c.classes]
    assert len(numbers) > 20
    for c in numbers:
        assert not SCIENTIFIC.search(c.text), c.text
        assert not c.text.endswith(("%", "kWh", " s", " A")), c.text
    assert re.search(r"td\.num\s*\{[^}]*white-space:\s*nowrap", page.style)


def test_limits_print_with_their_units_precision(lab_report):
    """The creep limit in kWh with fixed decimals (the issue saw ``≤ 6.104e-05``): one pulse of
    the SDM630's test output, 1/400 kWh (one register step where a meter has no test output)."""
    page = read_page(lab_report.html.read_text("utf-8"))
    limits = [row[3].text for t in page.section("lab-accuracy").tables if t.header
              and [h.text for h in t.header][:4] == ["test", "value", "unit", "limit"]
              for row in t.body if row[0].text == "no-load (creep)"]
    assert limits == ["≤ 0.002500", "≤ 0.002500"]


def test_units_are_in_the_headers_of_tables_of_one_quantity(field_report, lab_report):
    lab = read_page(lab_report.html.read_text("utf-8"))
    heads = [h.text for h in lab.section("lab-accuracy").tables[0].header]
    assert {"I (A)", "error (%)", "U (%)", "limit (%)", "gate (s)"} <= set(heads)
    truth = read_page(field_report.html.read_text("utf-8")).section("truth").tables[0]
    assert {"true (kWh)", "recovered error (%)", "bound there (kWh)"} <= {h.text for h in truth.header}


def test_no_empty_field(report):
    """Every cell says something: a value, or why there is none (never ``class ,``)."""
    page = read_page(report.html.read_text("utf-8"))
    for s in page.sections:
        for t in s.tables:
            for row in t.body:
                for c in row:
                    assert c.text.strip(), (s.id, [x.text for x in row])
    assert "class ," not in report.html.read_text("utf-8")
    for s in report.page.sections:  # the model both editions render refuses empty fields
        for b in s.blocks:
            if isinstance(b, Table):
                assert all(c.text.strip() for row in b.rows for c in row)
            if isinstance(b, KeyValues):
                assert all(v.text.strip() for _, v in b.rows)
    with pytest.raises(ValueError, match="may not be empty"):
        Cell(" ")


def test_a_record_without_a_value_shows_why(field_report):
    """"clock within tolerance" rows showed only "s"; "delivered on time" only "days late"."""
    page = read_page(field_report.html.read_text("utf-8"))
    rows = {(r[0].text, r[1].text): [c.text for c in r]
            for t in page.section("records").tables for r in t.body}
    clock = rows[("clock within tolerance", "ev")]
    assert clock[2] == "not evaluated" and clock[3] == "—"
    assert clock[-1] == "model eastron_sdm630 has no clock register"
    late = rows[("delivered on time", "ev")]
    assert late[2] == "not evaluated" and "no deadline" in late[-1]


def test_lab_runs_have_no_period_and_instruments_show_their_declared_accuracy(lab_report):
    page = read_page(lab_report.html.read_text("utf-8"))
    trace = page.section("traceability")
    keys = [r[0].text for r in trace.tables[0].rows]
    assert "period" not in keys and "bench file SHA-256" in keys
    devices = {r[0].text.split(":")[0]: r[3].text for r in trace.tables[1].body}
    assert devices["reference"] == "±0.02 % (declared accuracy)"
    assert devices["source"] == "not declared in the bench file"
    assert devices["mut_good"] == "class B"


def test_verdict_and_failures_come_first_each_with_its_verdict_and_reason(lab_report):
    page = read_page(lab_report.html.read_text("utf-8"))
    assert page.titles[0] == "Verdict"
    summary = lab_report.results["summary"]
    failing = summary["records"]["failing"]
    assert failing  # the lab run fails: mut_outside is built outside class B
    first = page.section("summary").tables[0]
    by_id = {r["id"]: r for r in lab_report.results["records"]}
    records = [by_id[i] for i in failing]
    assert [(r[0].text, r[1].text) for r in first.body] == [(r["name"], r["subject"]) for r in records]
    heads = [h.text for h in first.header]
    for row, rec in zip(first.body, records, strict=True):
        assert row[heads.index("verdict")].text == rec["verdict"].replace("_", " ")
        assert row[heads.index("why")].text == " ".join(rec["detail"].split())
    text = page.section("summary").text
    for t in summary["tests"]["failing"]:
        assert t.split("::", 1)[1] in text


def test_skipped_tests_are_listed_with_their_reasons_under_the_verdict(field_report):
    page = read_page(field_report.html.read_text("utf-8"))
    summary = field_report.results["summary"]["tests"]
    text = page.section("summary").text
    assert f"Skipped tests: {len(summary['skipped'])}, by reason" in text
    for s in summary["skipped"]:
        assert s["reason"] in text and s["nodeid"].split("::", 1)[1] in text


def test_the_page_counts_come_from_summary_only(field_report, tmp_path):
    """A summary saying otherwise than the records is what the page shows: nothing recounts."""
    run = tmp_path / "run"
    shutil.copytree(field_report.html.parent, run)
    doc = json.loads((run / "results.json").read_text("utf-8"))
    doc["summary"]["records"]["by_verdict"] = {"pass": 7, "info": 5}
    doc["summary"]["records"]["total"] = 12
    doc["summary"]["tests"]["by_outcome"] = {"passed": 3, "skipped": 2}
    doc["summary"]["tests"]["total"] = 5
    (run / "results.json").write_text(json.dumps(doc), "utf-8")
    text = read_page(render_html(run).read_text("utf-8")).section("summary").text
    assert "7 pass" in text and "5 info" in text and "12 records" in text
    assert "5 tests in the suite: 3 passed, 2 skipped" in text


def test_sampling_lists_the_nonconforming_meter_first_with_a_verdict_per_meter(sampling_report):
    doc = sampling_report.results
    bad = [m["meter_id"] for m in doc["meters"] if not m["conforming"]]
    assert len(bad) == 1
    assert [m["meter_id"] for m in doc["meters"]].index(bad[0]) > 50  # deep in the tested order
    page = read_page(sampling_report.html.read_text("utf-8"))
    assert page.titles[:3] == ["Decision", "Nonconforming meters", "Results per meter"]
    nonconforming = page.section("nonconforming").tables[0]
    assert {r[0].text for r in nonconforming.body} == set(bad)
    assert [r[-1].text for r in nonconforming.body].count("fail") >= 1
    results = page.section("results").tables[0]
    heads = [h.text for h in results.header]
    verdicts = [r[heads.index("verdict")].text for r in results.body]
    assert results.body[0][0].text == bad[0] and verdicts[0] == "nonconforming"
    assert verdicts[1:] == ["conforming"] * (len(doc["meters"]) - 1)
    assert "outside" in results.body[0][heads.index("why")].text


def test_one_page_style_for_run_lab_and_sampling_reports(reports):
    pages = [read_page(r.html.read_text("utf-8")) for r in reports]
    assert len({p.style for p in pages}) == 1 and "section {" in pages[0].style
    for p in pages:
        assert p.header and p.sections and p.titles[0] in ("Verdict", "Decision")


def test_lab_point_columns_show_keys_other_parts_add_when_present():
    """Measuring method, pulses, meter constant, ν_eff and k: one Column line each, shown only
    when a point record carries the key (so branches adding them merge without touching this)."""
    base = {"name": "Iref PF 1", "value": 0.1, "uncertainty": 0.05, "low": -1.0, "high": 1.0,
            "verdict": "pass", "data": {"kind": "point", "current_a": 5.0, "pf": "1",
                                        "load": "balanced", "runs": {"rising": 0.1,
                                                                     "falling": 0.1},
                                        "gate_s": 300.0}}
    plain = table(POINT_COLUMNS, [base])
    assert not {"method", "pulses meter / reference", "meter constant (imp/kWh)", "ν_eff",
                "k"} & set(plain.headers)
    extra = json.loads(json.dumps(base))
    extra["data"].update(method="pulse", meter_pulses={"rising": 50, "falling": 50},
                         reference_pulses={"rising": 50312, "falling": 50309},
                         meter_constant=1000, dof_eff="inf", k=2.0)
    t = table(POINT_COLUMNS, [extra, base])
    heads = list(t.headers)
    for head, text in (("method", "pulse"), ("pulses meter / reference", "50 / 50312; 50 / 50309"),
                       ("meter constant (imp/kWh)", "1,000"), ("ν_eff", "∞"), ("k", "2.00")):
        assert t.rows[0][heads.index(head)].text == text
        assert t.rows[1][heads.index(head)].text in ("—", "n/a")  # a record without the key


def test_the_plan_names_its_temperature_band_by_its_range(lab_report):
    # the band's index (0) means nothing to a reader; its range from the limits table does
    text = lab_report.html.read_text("utf-8")
    assert "temperature band +5..+30 °C" in text
    assert "temperature band 0" not in text


@pytest.mark.parametrize(("dof", "text"), [
    (None, None), ("inf", "∞"), (float("inf"), "∞"), (float("nan"), "n/a"), (12.7, "12"),
    (9_999.9, "9,999"), (10_001, "> 10,000"), (216_281_915, "> 10,000"),
])
def test_effective_degrees_of_freedom_print_as_a_reader_wants_them(dof, text):
    # truncated, as GUM G.4.1 allows; beyond 10,000 k is 2.000 and the digits mean nothing
    from meterbench.reports import numbers

    assert numbers.dof(dof) == text


def test_the_netting_records_share_one_subject_the_virtual_point(field_report):
    """Conservation, negative residuals and the truth check are all about the virtual main
    point: one subject, its GSRN (the report groups records by subject)."""
    netting = [r for r in field_report.results["records"] if r["id"].startswith("netting.")]
    assert {r["check"] for r in netting} == {"netting.main_register", "netting.negative_residuals",
                                             "netting.virtual_vs_truth"}
    assert {r["subject"] for r in netting} == {"571313100000000010"}, netting


@pytest.mark.parametrize(("dof", "text"), [
    (None, None), ("inf", "ν_eff = ∞"), (12.7, "ν_eff = 12"), (216_281_915, "ν_eff > 10,000"),
])
def test_a_bound_on_the_degrees_of_freedom_reads_without_an_equals_sign(dof, text):
    from meterbench.reports import numbers

    assert numbers.dof_phrase(dof) == text  # not "ν_eff = > 10,000"


def test_counts_group_their_thousands_and_many_word_nouns_take_their_plural():
    from meterbench.reports import numbers
    from meterbench.reports.page import plural

    assert numbers.fixed(2330, 0) == "2,330" and numbers.fixed(999, 0) == "999"  # as in badges
    assert plural(453, "serial meter", "serial meters") == "453 serial meters"
    assert plural(1, "serial meter", "serial meters") == "1 serial meter"
    assert plural(3, "test in the suite") == "3 tests in the suite"
