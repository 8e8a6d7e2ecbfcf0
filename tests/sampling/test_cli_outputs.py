"""What the sampling commands write: never over their own inputs, never over an existing record
without ``--overwrite``, all outputs or none, and a refused write is exit 3."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

LOT = "EASTRON-SDM630-MID-0-5-10-100-A-B-2017"


@pytest.fixture
def round_files(run_cli, tmp_path: Path) -> dict[str, Path]:
    """An inventory, a selection and simulated results, as docs/sampling.md makes them."""
    f = {n: tmp_path / n for n in ("inv.csv", "sel.json", "res.csv")}
    assert run_cli("sampling", "example", str(f["inv.csv"]))[0] == 0
    assert run_cli("sampling", "select", str(f["inv.csv"]), "--lot", LOT, "--aql", "1.0",
                   "--seed", "s", "--out", str(f["sel.json"]))[0] == 0
    assert run_cli("sampling", "simulate", str(f["sel.json"]), "--inventory", str(f["inv.csv"]),
                   "--out", str(f["res.csv"]))[0] == 0
    return f


def _evaluate(f: dict[str, Path], *extra: str) -> tuple[str, ...]:
    return ("sampling", "evaluate", str(f["sel.json"]), "--results", str(f["res.csv"]),
            "--inventory", str(f["inv.csv"]), "--on", "2026-12-01", *extra)


def test_select_refuses_to_redraw_over_a_stored_selection(run_cli, round_files):
    sel = round_files["sel.json"]
    before = sel.read_bytes()
    code, _, err = run_cli("sampling", "select", str(round_files["inv.csv"]), "--lot", LOT,
                           "--aql", "1.0", "--out", str(sel))
    assert code == 2 and err.count("\n") == 1 and "already exists" in err and "--overwrite" in err
    assert sel.read_bytes() == before
    code, _, _ = run_cli("sampling", "select", str(round_files["inv.csv"]), "--lot", LOT,
                         "--aql", "1.0", "--seed", "t", "--out", str(sel), "--overwrite")
    assert code == 0 and json.loads(sel.read_text())["selection"]["seed"] == "t"


@pytest.mark.parametrize("which", ["sel.json", "res.csv", "inv.csv"])
def test_evaluate_never_writes_over_its_inputs_even_with_overwrite(run_cli, round_files, which):
    target = round_files[which]
    before = target.read_bytes()
    for option in ("--out", "--report", "--state-out"):
        code, _, err = run_cli(*_evaluate(round_files, option, str(target), "--overwrite"))
        assert code == 2 and "is also this command's input" in err, (option, err)
        assert target.read_bytes() == before


def test_simulate_and_select_never_write_over_the_inventory(run_cli, round_files):
    inv = round_files["inv.csv"]
    before = inv.read_bytes()
    code, _, err = run_cli("sampling", "simulate", str(round_files["sel.json"]), "--inventory",
                           str(inv), "--out", str(inv), "--overwrite")
    assert code == 2 and "is also this command's input" in err
    code, _, err = run_cli("sampling", "select", str(inv), "--lot", LOT, "--aql", "1.0",
                           "--out", str(inv), "--overwrite")
    assert code == 2 and "is also this command's input" in err
    assert inv.read_bytes() == before


def test_every_output_is_checked_before_any_is_written(run_cli, round_files, tmp_path):
    ev, st = tmp_path / "ev.json", tmp_path / "st.json"
    code, _, err = run_cli(*_evaluate(round_files, "--out", str(ev), "--state-out", str(st),
                                      "--report", str(tmp_path / "nowhere" / "r.html")))
    assert code == 2 and "does not exist" in err
    assert not ev.exists() and not st.exists()
    code, _, err = run_cli(*_evaluate(round_files, "--out", str(ev), "--report", str(ev)))
    assert code == 2 and "is also where the evaluation goes" in err and not ev.exists()


def test_existing_outputs_need_overwrite_except_the_state_updated_in_place(run_cli, round_files,
                                                                          tmp_path):
    ev, st = tmp_path / "ev.json", tmp_path / "st.json"
    assert run_cli(*_evaluate(round_files, "--out", str(ev), "--state-out", str(st)))[0] == 0
    code, _, err = run_cli(*_evaluate(round_files, "--out", str(ev)))
    assert code == 2 and "already exists" in err
    assert run_cli(*_evaluate(round_files, "--out", str(ev), "--overwrite"))[0] == 0
    code, _, err = run_cli("sampling", "example", str(round_files["inv.csv"]))
    assert code == 2 and "already exists" in err
    code, _, err = run_cli("sampling", "report", str(ev), "--out", str(ev), "--overwrite")
    assert code == 2 and "is also this command's input" in err


def test_a_refused_write_is_an_environment_failure_leaving_nothing(run_cli, round_files,
                                                                   tmp_path, monkeypatch):
    import meterbench.core.outfiles as outfiles

    def denied(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))

    monkeypatch.setattr(outfiles.os, "replace", denied)
    out = tmp_path / "ro" / "sel.json"
    out.parent.mkdir()
    code, _, err = run_cli("sampling", "select", str(round_files["inv.csv"]), "--lot", LOT,
                           "--aql", "1.0", "--out", str(out))
    assert code == 3, err
    assert err.startswith("meterbench: environment error:") and "Permission denied" in err
    assert err.count("\n") == 1 and str(out) in err
    assert list(out.parent.iterdir()) == []


def test_state_updated_in_place_counts_the_lot_once(run_cli, round_files, tmp_path):
    st = tmp_path / "st.json"
    assert run_cli(*_evaluate(round_files, "--state-out", str(st)))[0] == 0
    before = st.read_bytes()
    code, _, err = run_cli(*_evaluate(round_files, "--state", str(st), "--state-out", str(st)))
    assert code == 2 and err.count("\n") == 1 and "already counted" in err and str(st) in err
    assert st.read_bytes() == before
    assert json.loads(before)["switching_score"] == 3


def test_evaluate_says_which_spares_replaced_whom_and_what_was_not_counted(run_cli, round_files,
                                                                          tmp_path):
    sel = json.loads(round_files["sel.json"].read_text())["selection"]
    res = tmp_path / "res2.csv"
    assert run_cli("sampling", "simulate", str(round_files["sel.json"]), "--inventory",
                   str(round_files["inv.csv"]), "--unreachable", "2", "--out", str(res))[0] == 0
    code, out, _ = run_cli("sampling", "evaluate", str(round_files["sel.json"]), "--results",
                           str(res), "--inventory", str(round_files["inv.csv"]), "--on",
                           "2026-12-01")
    assert code == 0
    s, p = sel["sample"], sel["spares"]
    assert (f"not reached, replaced by spares: {s[0]} -> {p[0]}, {s[1]} -> {p[1]}\n") in out
    assert (f"results of {len(p) - 2} meters not counted (unused spares): "
            + " ".join(p[2:])) in out


INVENTORY_HEADER = ("meter_id,model,class,rating,production_year,installation_date,"
                    "last_verification,location\n")


def test_a_lot_of_one_meter_is_refused_naming_inventory_lot_and_what_to_do(run_cli, tmp_path):
    """Due marked it DUE, select said only 'lot-size: lot size 1 too small'."""
    inv = tmp_path / "one.csv"
    inv.write_text(INVENTORY_HEADER + "M1,Lone,B,5(80)A,2017,2018-01-01,,site\n")
    code, out, _ = run_cli("sampling", "due", str(inv), "--on", "2026-11-27")
    assert code == 0 and "1 meter in 1 lot;" in out and "test individually" in out
    code, _, err = run_cli("sampling", "select", str(inv), "--lot", "LONE-5-80-A-B-2017",
                           "--aql", "1.0", "--out", str(tmp_path / "s.json"))
    assert code == 2 and err.count("\n") == 1
    assert f"{inv}: lot: lot LONE-5-80-A-B-2017 has 1 meter" in err
    assert "test this meter individually" in err and not (tmp_path / "s.json").exists()


def test_an_inventory_that_does_not_match_the_selection_is_blamed(run_cli, round_files,
                                                                   tmp_path):
    """The mismatch was reported as the results file's meter_id error."""
    doc = json.loads(round_files["sel.json"].read_text())
    assert len(doc["inventory_sha256"]) == 64
    inv = round_files["inv.csv"].read_text()
    two = tmp_path / "two.csv"
    two.write_text("\n".join(line for line in inv.splitlines()
                             if not line.startswith("EA")) + "\n")
    for argv in (_evaluate({**round_files, "inv.csv": two}),
                 ("sampling", "simulate", str(round_files["sel.json"]), "--inventory", str(two),
                  "--out", str(tmp_path / "r.csv"))):
        code, _, err = run_cli(*argv)
        assert code == 2 and err.count("\n") == 1, err
        assert f"{two}: meter_id: does not match the selection {round_files['sel.json']}" in err
        assert "res.csv" not in err and doc["inventory_sha256"][:16] in err
    other = tmp_path / "other.csv"
    other.write_text(inv.replace("Eastron SDM630-MID", "Other"))
    code, _, err = run_cli(*_evaluate({**round_files, "inv.csv": other}))
    assert code == 2 and "is Other 0.5-10(100)A class B there" in err
