"""Store schema 2: migration from a v1 file, no duplicate per tick, resume points, batching."""

import sqlite3

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from meterbench.store.run_store import MIGRATIONS, SCHEMA_V1, SCHEMA_VERSION, Store


def make_v1(path):
    """A store exactly as the foundation's v1 code wrote it."""
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_V1)
    db.execute("INSERT INTO meters(name) VALUES ('ev')")
    db.execute("INSERT INTO channels(name) VALUES ('energy.import')")
    db.executemany("INSERT INTO readings VALUES (1, 1, ?, ?, ?, NULL)",
                   [(i * 60_000, i * 60_000 + 30, 10.0 + i) for i in range(5)])
    db.execute("INSERT INTO events VALUES (7, 'ev', 'poll_failed', 'timeout')")
    db.execute("INSERT INTO meta VALUES ('bench', '{\"name\": \"old\"}')")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()


def test_v1_file_migrates_keeping_everything(tmp_path):
    path = tmp_path / "old.sqlite"
    make_v1(path)
    s = Store(path)
    assert s.migrated_from == 1
    assert s.schema_version == SCHEMA_VERSION == 2
    ser = s.series("ev", "energy.import")
    np.testing.assert_array_equal(ser.values, 10.0 + np.arange(5))
    assert s.events()[0] == dict(t_ms=7, meter="ev", kind="poll_failed", detail="timeout", tick_ms=None)
    assert s.meta()["bench"] == {"name": "old"}
    # v2 features work on the migrated file
    s.add_poll("ev", 300_000, 300_010, 300_020, {"energy.import": 15.0}, {})
    s.add_poll("ev", 300_000, 300_050, 300_060, {"energy.import": 99.0}, {})  # same tick again
    s.commit()
    assert s.reading_count() == 6
    assert s.last_ticks() == {"ev": 300_000}
    assert s.integrity_ok()
    s.close()
    again = Store(path)
    assert again.migrated_from is None  # already current
    again.close()


def test_fresh_store_equals_migrated_store(tmp_path):
    """New files are made as v1 and migrated, so both paths give one schema."""
    Store(tmp_path / "new.sqlite").close()
    make_v1(tmp_path / "old.sqlite")
    Store(tmp_path / "old.sqlite").close()

    def schema(p):
        db = sqlite3.connect(p)
        rows = sorted(r for r in db.execute("SELECT type, name, sql FROM sqlite_master"))
        db.close()
        return rows

    assert schema(tmp_path / "new.sqlite") == schema(tmp_path / "old.sqlite")
    assert len(MIGRATIONS) == SCHEMA_VERSION - 1


def test_last_ticks_counts_failed_polls(tmp_path):
    with Store(tmp_path / "s.sqlite") as s:
        s.add_poll("a", 60_000, 60_001, 60_002, {"energy.import": 1.0}, {})
        s.add_event(200_000, "a", "poll_failed", "timeout", tick_ms=120_000)
        s.add_event(200_000, "b", "poll_failed", "timeout", tick_ms=180_000)
        s.commit()
        assert s.last_ticks() == {"a": 120_000, "b": 180_000}


def test_on_commit_reports_what_is_on_disk(tmp_path):
    seen = []
    path = tmp_path / "s.sqlite"
    s = Store(path, commit_interval_s=3600, on_commit=lambda n, total: seen.append((n, total)))
    for k in range(3):
        s.add_poll("m", k * 1000, k * 1000, k * 1000 + 1, {"energy.import": 1.0, "power.total": 2.0}, {})
    assert seen == []  # batched: nothing written yet
    other = sqlite3.connect(path)
    assert other.execute("SELECT count(*) FROM readings").fetchone()[0] == 0
    s.commit()
    assert seen == [(6, 6)]
    assert other.execute("SELECT count(*) FROM readings").fetchone()[0] == 6
    s.close()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 20)), max_size=60))
def test_each_tick_stored_once_whatever_the_replays(tmp_path_factory, polls):
    path = tmp_path_factory.mktemp("h") / "s.sqlite"
    with Store(path, commit_interval_s=0.0) as s:
        for meter, k in polls:
            s.add_poll(meter, k * 1000, k * 1000, k * 1000 + 5, {"energy.import": float(k)}, {})
        assert s.reading_count() == len(set(polls))
        expected = {}
        for meter, k in polls:
            expected[meter] = max(expected.get(meter, 0), k * 1000)
        assert s.last_ticks() == expected
