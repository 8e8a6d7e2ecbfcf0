"""``meterbench intervals`` on CSV files, through the real ``meterbench.cli.main``."""

from __future__ import annotations

import csv
import io

import pytest

import meterbench.cli


@pytest.fixture
def cli(monkeypatch):
    # only this area's commands: other areas' modules may not exist in this worktree
    monkeypatch.setattr(meterbench.cli, "COMMAND_MODULES", ("meterbench.cli.intervals", "meterbench.cli.align"))
    return meterbench.cli.main


def _write(path, rows, header="meter,time,channel,value"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _readings(meter="op1", minutes=range(0, 61), kw=2.0, start_kwh=10.0, channel="energy.import"):
    return [f"{meter},2026-03-29T00:{m:02d}:00Z,{channel},{start_kwh + kw * m / 60:.6f}"
            if m < 60 else f"{meter},2026-03-29T01:00:00Z,{channel},{start_kwh + kw:.6f}"
            for m in minutes]


def _parse(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_quarters_and_hour(tmp_path, cli, capsys):
    src = _write(tmp_path / "r.csv", _readings() + _readings("op2", kw=1.0)
                 + ["op1,2026-03-29T00:30:00Z,power.total,2000"])
    assert cli(["intervals", str(src), "--resolution", "PT15M"]) == 0
    out = capsys.readouterr()
    rows = _parse(out.out)
    assert list(rows[0]) == ["meter", "channel", "start", "resolution", "quantity", "quality"]
    op1 = [r for r in rows if r["meter"] == "op1"]
    assert [r["start"] for r in op1] == ["2026-03-29T00:00Z", "2026-03-29T00:15Z",
                                        "2026-03-29T00:30Z", "2026-03-29T00:45Z"]
    assert {r["quantity"] for r in op1} == {"0.500"}
    assert {r["quality"] for r in op1} == {"measured"}
    assert {r["quantity"] for r in rows if r["meter"] == "op2"} == {"0.250"}
    assert "ignored non-energy channel(s): power.total" in out.err

    out_file = tmp_path / "h.csv"
    assert cli(["intervals", str(src), "--resolution", "PT1H", "--out", str(out_file)]) == 0
    hours = _parse(out_file.read_text())
    assert [(r["meter"], r["quantity"], r["resolution"]) for r in hours] == [
        ("op1", "2.000", "PT1H"), ("op2", "1.000", "PT1H")]


def test_gap_reset_and_missing_in_csv(tmp_path, cli, capsys):
    minutes = [m for m in range(0, 61) if not 20 <= m < 40]  # 20-min hole
    rows = _readings(minutes=minutes)
    src = _write(tmp_path / "r.csv", rows)
    assert cli(["intervals", str(src), "--max-gap", "5min"]) == 0
    out = capsys.readouterr()
    got = [(r["start"][-6:], r["quantity"], r["quality"]) for r in _parse(out.out)]
    assert got == [("00:00Z", "0.500", "measured"), ("00:15Z", "0.500", "estimated"),
                   ("00:30Z", "0.500", "estimated"), ("00:45Z", "0.500", "measured")]
    assert "no readings for 21.0 min" in out.err

    assert cli(["intervals", str(src), "--max-gap", "5min", "--estimate-limit", "10min"]) == 0
    got = [(r["quantity"], r["quality"]) for r in _parse(capsys.readouterr().out)]
    assert got[1] == ("", "missing") and got[2] == ("", "missing")


def test_rounding_with_carry_in_output(tmp_path, cli, capsys):
    # 1/3 kWh per quarter: rounded values carry so the four sum to 1.333 (not 1.332)
    rows = [f"m,2026-01-01T00:{m:02d}:00Z,energy.import,{m / 45:.12f}" for m in range(0, 60)]
    rows.append(f"m,2026-01-01T01:00:00Z,energy.import,{60 / 45:.12f}")
    src = _write(tmp_path / "r.csv", rows)
    assert cli(["intervals", str(src)]) == 0
    q = [r["quantity"] for r in _parse(capsys.readouterr().out)]
    assert q == ["0.333", "0.334", "0.333", "0.333"]


@pytest.mark.parametrize(("row", "field"), [
    ("m,2026-01-01 00:00,energy.import,1.0", "time"),
    ("m,2026-01-01T00:00:00Z,energy.import,abc", "value"),
    ("m,2026-01-01T00:00:00Z,energy.import,nan", "value"),
    (",2026-01-01T00:00:00Z,energy.import,1.0", "meter"),
])
def test_bad_row_is_a_user_error_naming_row_and_field(tmp_path, cli, capsys, row, field):
    src = _write(tmp_path / "bad.csv", ["m,2026-01-01T00:00:00Z,energy.import,0.5", row])
    assert cli(["intervals", str(src)]) == 2
    err = capsys.readouterr().err
    assert f"bad.csv: row 3: {field}" in err
    assert "Traceback" not in err


def test_bad_header_and_options(tmp_path, cli, capsys):
    src = _write(tmp_path / "h.csv", ["m,2026-01-01T00:00:00Z,1.0"], header="meter,time,value")
    assert cli(["intervals", str(src)]) == 2
    assert "missing column(s) channel" in capsys.readouterr().err
    ok = _write(tmp_path / "ok.csv", _readings())
    assert cli(["intervals", str(ok), "--max-gap", "soon"]) == 2
    assert "--max-gap: not a duration" in capsys.readouterr().err
    assert cli(["intervals", str(ok), "--start", "2026-03-29T00:07:00Z"]) == 2
    assert "not on the interval grid" in capsys.readouterr().err
    assert cli(["intervals", str(tmp_path / "nope.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_rollover_and_jump_options(tmp_path, cli, capsys):
    rows = []
    for m in range(0, 61):
        kwh = (99_999.5 + 3.0 * m / 60) % 100_000.0  # 3 kW through the 100 000 kWh wrap
        if m >= 50:
            kwh += 40.0  # +40 kWh within one minute: 2.4 MW
        t = f"2026-01-01T{m // 60:02d}:{m % 60:02d}:00Z"
        rows.append(f"m,{t},energy.import,{kwh:.6f}")
    src = _write(tmp_path / "r.csv", rows)
    assert cli(["intervals", str(src), "--rollover-kwh", "100000", "--max-power-w", "50000"]) == 0
    out = capsys.readouterr()
    got = [(r["quantity"], r["quality"]) for r in _parse(out.out)]
    assert got == [("0.750", "measured"), ("0.750", "measured"), ("0.750", "measured"),
                   ("", "missing")]
    assert "m energy.import: rollover: register rolled over at its modulus 100000 kWh" in out.err
    assert "m energy.import: jump: implausible jump" in out.err
    # without the modulus the wrap is a reset: the first quarter is missing, never negative
    assert cli(["intervals", str(src)]) == 0
    got = [(r["quantity"], r["quality"]) for r in _parse(capsys.readouterr().out)]
    assert got[0] == ("", "missing")
    assert cli(["intervals", str(src), "--rollover-kwh", "-5"]) == 2
    assert "--rollover-kwh: must be positive" in capsys.readouterr().err


def test_hour_from_register_or_from_quarters(tmp_path, cli, capsys):
    # readings start at 00:05: the first quarter is missing; from the register the hour is
    # missing too, from quarters (DataHub's rule) it is the estimated sum of three quarters
    src = _write(tmp_path / "r.csv", _readings(minutes=range(5, 61)))
    assert cli(["intervals", str(src), "--resolution", "PT1H", "--start",
                "2026-03-29T00:00:00Z", "--quiet"]) == 0
    (row,) = _parse(capsys.readouterr().out)
    assert (row["quantity"], row["quality"]) == ("", "missing")
    assert cli(["intervals", str(src), "--resolution", "PT1H", "--start",
                "2026-03-29T00:00:00Z", "--hour-from", "quarters", "--quiet"]) == 0
    (row,) = _parse(capsys.readouterr().out)
    assert (row["quantity"], row["quality"]) == ("1.500", "estimated")
