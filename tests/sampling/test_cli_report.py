"""``meterbench sampling`` end to end, and the HTML report."""

from __future__ import annotations

import base64
import json
from datetime import date

from meterbench.reports.sampling import render_sampling_html
from meterbench.sampling.example import example_inventory
from meterbench.sampling.lots import form_lots

LOT = "EASTRON-SDM630-MID-0-5-10-100-A-B-2017"


def test_plan_json_keys_single_and_double(run_cli):
    code, out, _ = run_cli("sampling", "plan", "--lot-size", "1200", "--aql", "1.0", "--json")
    assert code == 0
    doc = json.loads(out)
    assert {k: doc[k] for k in ("code", "n", "ac", "re")} == {"code": "J", "n": 80, "ac": 2,
                                                              "re": 3}
    code, out, _ = run_cli("sampling", "plan", "--lot-size", "1200", "--aql", "1.0", "--double",
                           "--inspection", "tightened", "--level", "III", "--json")
    doc = json.loads(out)
    assert doc["code"] == "K" and doc["inspection"] == "tightened"
    assert all(k in doc for k in ("n1", "ac1", "re1", "n2", "ac2", "re2"))


def test_plan_text_and_user_errors(run_cli):
    code, out, _ = run_cli("sampling", "plan", "--lot-size", "500", "--aql", "2.5")
    assert code == 0 and "n=50 Ac=3 Re=4" in out and "OC:" in out
    code, out, err = run_cli("sampling", "plan", "--lot-size", "500", "--aql", "3")
    assert code == 2 and err.count("\n") == 1 and "aql" in err and "Traceback" not in err
    code, _, err = run_cli("sampling", "plan", "--lot-size", "500")
    assert code == 2 and "states no AQL" in err


def test_due_on_the_example(run_cli):
    code, out, _ = run_cli("sampling", "due", "example", "--on", "2026-11-27", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["meters"] == 3500
    due = {lot["lot_id"] for lot in doc["lots"] if lot["due"]}
    assert LOT in due and "GARO-GNM3D-0-25-5-80-A-C-2021" not in due
    code, _, err = run_cli("sampling", "due", "example", "--on", "27.11.2026")
    assert code == 2 and "YYYY-MM-DD" in err


def test_a_full_round_accept_then_reject(run_cli, tmp_path):
    sel, res, ev, html, state = (str(tmp_path / n) for n in
                                 ("sel.json", "res.csv", "ev.json", "r.html", "state.json"))
    code, out, _ = run_cli("sampling", "select", "example", "--lot", LOT, "--aql", "1.0",
                           "--seed", "demo", "--out", sel)
    assert code == 0 and "seed demo" in out
    doc = json.loads(open(sel).read())
    assert len(doc["selection"]["sample"]) == 80 and doc["selection"]["seed"] == "demo"
    # same seed, same selection
    run_cli("sampling", "select", "example", "--lot", LOT, "--aql", "1.0", "--seed", "demo",
            "--out", str(tmp_path / "again.json"))
    assert json.loads(open(tmp_path / "again.json").read())["selection"] == doc["selection"]

    assert run_cli("sampling", "simulate", sel, "--inventory", "example", "--unreachable", "1",
                   "--out", res)[0] == 0
    code, out, _ = run_cli("sampling", "evaluate", sel, "--results", res, "--inventory",
                           "example", "--on", "2026-12-01", "--interval-years", "5", "--out", ev,
                           "--report", html, "--state-out", state)
    assert code == 0, out
    assert "ACCEPTED" in out and "next sampling due 2031-12-01" in out
    assert "not reached" in out
    page = open(html).read()
    assert "data:image/png;base64," in page and "Lot ACCEPTED" in page
    assert json.loads(open(state).read())["inspection"] == "normal"

    bad = str(tmp_path / "bad.csv")
    assert run_cli("sampling", "simulate", sel, "--inventory", "example", "--bad-share", "0.2",
                   "--out", bad)[0] == 0
    code, out, _ = run_cli("sampling", "evaluate", sel, "--results", bad, "--inventory",
                           "example", "--on", "2026-12-01")
    assert code == 1 and "REJECTED" in out and "replace the lot" in out

    code, out, _ = run_cli("sampling", "report", ev, "--inventory", "example", "--out",
                           str(tmp_path / "again.html"))
    assert code == 0
    page = open(tmp_path / "again.html").read()
    assert "3500 meters" in page and LOT in page


def test_evaluate_rejects_bad_files(run_cli, tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{not json")
    code, _, err = run_cli("sampling", "evaluate", str(p), "--results", str(p), "--inventory",
                           "example")
    assert code == 2 and "not JSON" in err


def test_report_escapes_text_and_embeds_a_real_png():
    meters = example_inventory()
    lot = form_lots(meters)[0]
    doc = {
        "title": "<script>alert(1)</script>", "software": "t", "tested_on": "2026-01-01",
        "scheme": {"name": "dk-7y", "title": "t", "source": "s"},
        "lot": {**lot.summary(), "model": "<b>evil</b>"},
        "plan": {"kind": "attributes", "standard": "ISO 2859-1", "table": "II-A",
                 "inspection": "normal", "level": "II", "aql": "1.0", "code": "J",
                 "plan_code": "J", "n": 80, "ac": 2, "re": 3, "double": False,
                 "hundred_percent": False,
                 "oc": {"percent_nonconforming": [0, 5, 10], "p_accept": [1, 0.3, 0.01],
                        "p95_percent": 1.0, "p10_percent": 6.5, "model": "type B"}},
        "selection": {"seed": "s", "method": "m", "sample": ["A"], "second_sample": [],
                      "spares": []},
        "tested": ["A"], "not_reached": [], "meters": [], "population": None, "lots": [],
        "decision": {"verdict": "accepted", "accepted": True, "nonconforming": 0,
                     "statement": "ok"},
        "decision_rule": {"text": "simple"}, "limit_rule": "2 x MPE",
        "consequence": {"action": "stays", "next_due": None},
        "severity_state": None, "switching": None,
    }
    page = render_sampling_html(doc)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "<b>evil</b>" not in page
    b64 = page.split("data:image/png;base64,")[1].split('"')[0]
    assert base64.b64decode(b64).startswith(b"\x89PNG")
    assert date.fromisoformat(doc["tested_on"])
