"""Every CSV time of an export has milliseconds, as docs/acquisition.md promises."""

from __future__ import annotations

import csv
import re

import pandas as pd

from meterbench.store.export import export_run
from meterbench.store.run_store import Store

T = 1_780_271_880_000  # 2026-05-31T23:58:00Z, a whole second
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_csv_times_on_a_whole_second_keep_their_milliseconds(tmp_path):
    """A time on a whole second was written as 2026-05-31T23:58:00Z, beside ones with
    milliseconds: a fixed-format parse of the column (pandas, a spreadsheet) failed."""
    run = tmp_path / "run"
    run.mkdir()
    with Store(run / "store.sqlite") as store:
        store.add_poll("m", T, T - 10, T + 10, {"energy.import": 1.0}, {})       # sample T
        store.add_poll("m", T + 60_000, T + 60_000, T + 60_023, {"energy.import": 1.1}, {})
        store.add_event(T + 120_000, "m", "poll_failed", "no answer", tick_ms=T + 120_000)
        store.commit()
    exported = export_run(run, "csv", tmp_path / "r.csv", everything=True)
    rows = list(csv.DictReader(exported.path.open(encoding="utf-8")))
    assert len(rows) == 3 and rows[0]["time"] == "2026-05-31T23:58:00.000Z"
    for row in rows:
        for col in ("time", "tick_utc", "request_utc", "response_utc"):
            assert row[col] == "" or TIME.fullmatch(row[col]), (col, row[col])
    frame = pd.read_csv(exported.path)
    parsed = pd.to_datetime(frame["time"], format="%Y-%m-%dT%H:%M:%S.%fZ", utc=True)
    assert parsed.iloc[0] == pd.Timestamp(T, unit="ms", tz="UTC")
