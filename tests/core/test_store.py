import sqlite3

import numpy as np
import pytest

from meterbench.store.run_store import SCHEMA_VERSION, Store, StoreError


def test_readings_and_events_survive_reopen(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as s:
        s.set_meta("bench", {"name": "x"})
        for i in range(10):
            s.add_reading("ev", "energy.import", i * 60_000, i * 60_000 + 40, 100.0 + i)
        s.add_reading("ev", "energy.import", 700_000, 700_040, None, "not_available")
        s.add_event(5, "ev", "poll_failed", "timeout")
    s = Store(path)
    ser = s.series("ev", "energy.import")
    assert len(ser.values) == 10  # the flagged reading is kept in the store but not a value
    assert s.reading_count() == 11
    np.testing.assert_array_equal(ser.times_ms, np.arange(10) * 60_000 + 20)  # midpoint
    assert s.events()[0]["kind"] == "poll_failed"
    assert s.meta()["bench"] == {"name": "x"}
    s.close()


def test_uncommitted_readings_are_bounded_by_commit_interval(tmp_path):
    s = Store(tmp_path / "s.sqlite", commit_interval_s=0.0)  # commit on every add
    s.add_reading("m", "energy.import", 1, 2, 1.0)
    other = sqlite3.connect(tmp_path / "s.sqlite")
    assert other.execute("SELECT count(*) FROM readings").fetchone()[0] == 1
    s.close()


def test_refuses_foreign_or_newer_files(tmp_path):
    foreign = tmp_path / "f.sqlite"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE x (a)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="not a meterbench store"):
        Store(foreign)
    newer = tmp_path / "n.sqlite"
    Store(newer).close()
    db = sqlite3.connect(newer)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer"):
        Store(newer)
