"""The run report: rendered from the folder alone, hostile text stays text, PDF edition."""

import json
from pathlib import Path

import pytest
from reliability.helpers import make_run

from meterbench.config.bench_file import load_bench
from meterbench.reports.html import render_html
from meterbench.reports.pdf import render_pdf
from meterbench.reports.run_reader import RunFolderError, load_results, safe_member
from meterbench.verdicts.checks import calibration_record

TINY = Path(__file__).resolve().parents[1] / "plugin" / "tiny.toml"
HOSTILE = '<script>alert("x")</script> & "quotes" \'single\''


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    text = TINY.read_text().replace('name = "tiny"', f"name = {json.dumps(HOSTILE)}")
    text = text.replace('id = "ev_ref"', f'id = "ev_ref"\nname = {json.dumps(HOSTILE)}')
    path = tmp_path_factory.mktemp("b") / "hostile.toml"
    path.write_text(text)
    out = make_run(path, tmp_path_factory.mktemp("r") / "run")
    render_html(out)
    return out


def test_hostile_names_render_as_text(hostile_run):
    html = (hostile_run / "report.html").read_text()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;quotes&#34; &#39;single&#39;" in html
    assert load_results(hostile_run)["devices"][-1]["name"] == HOSTILE  # stored as given


def test_hourly_series_file_sums_the_quarters(hostile_run):
    import csv
    rows15 = list(csv.DictReader(open(hostile_run / "series" / "intervals.csv")))
    rows60 = list(csv.DictReader(open(hostile_run / "series" / "intervals-PT1H.csv")))
    for meter in ("main", "ev"):
        q = sum(float(r["quantity"]) for r in rows15 if r["meter"] == meter and r["channel"] == "energy.import")
        h = sum(float(r["quantity"]) for r in rows60 if r["meter"] == meter and r["channel"] == "energy.import")
        assert abs(q - h) < 1e-5 and len([r for r in rows60 if r["meter"] == meter]) == 48


def test_pdf_edition(hostile_run):
    pdf = render_pdf(hostile_run)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page") >= 3  # summary + figures


def test_series_paths_cannot_leave_the_run_folder(hostile_run):
    assert safe_member(hostile_run, "series/intervals.csv").is_file()
    with pytest.raises(RunFolderError, match="outside the run folder"):
        safe_member(hostile_run, "../../etc/passwd")


def test_results_document_without_schema_is_refused(tmp_path):
    (tmp_path / "results.json").write_text('{"verdict": "pass"}')
    with pytest.raises(RunFolderError, match="schema"):
        load_results(tmp_path)


def test_overdue_reference_calibration_fails():
    from dataclasses import replace
    from datetime import date

    ref = load_bench("sim").meter("ev_ref")
    assert calibration_record(ref, date(2026, 6, 1)).verdict == "pass"
    assert calibration_record(ref, date(2027, 4, 1)).verdict == "fail"
    assert calibration_record(replace(ref, calibration_due=None), date(2026, 6, 1)).verdict == "info"


def test_a_run_that_checked_nothing_is_incomplete_not_a_pass(hostile_run):
    """The folder was acquired and written, but no record was made and no test ran: nothing
    could have failed, so it is not a pass, and every page says why."""
    doc = load_results(hostile_run)
    assert doc["verdict"] == "incomplete"
    assert doc["summary"]["incomplete"] == ("nothing was checked: no record other than info and "
                                            "no test passed")
    html = (hostile_run / "report.html").read_text()
    assert ">INCOMPLETE<" in html and "nothing was checked" in html
    assert "No record failed and no test failed or errored." not in html


def test_an_interrupted_run_is_incomplete_even_when_every_record_passed(tmp_path):
    from meterbench.config.bench_file import load_bench
    from meterbench.run.session import BenchRun

    run = BenchRun(load_bench(str(TINY)), tmp_path / "run")
    try:
        run.start()
        run.acquire()
        ref = load_bench("sim").meter("ev_ref")  # calibrated, due after the day
        run.add_record(calibration_record(ref, run.config.run.local_date))
        run.add_test("suite::test_a", "passed", 0.1)
        run.interrupted = "interrupted after 1 of 9 tests"
        run.write()
    finally:
        run.close()
    doc = load_results(tmp_path / "run")
    assert [r["verdict"] for r in doc["records"]] == ["pass"]
    assert doc["verdict"] == "incomplete"
    assert doc["summary"]["incomplete"] == "interrupted after 1 of 9 tests"
    html = render_html(tmp_path / "run").read_text()
    assert "1 test run before the interrupt: 1 passed" in html  # not "1 test in the suite"
