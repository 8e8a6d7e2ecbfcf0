"""The run store: an append-only SQLite database (WAL) in the run folder.

Why SQLite: durable across a killed process (WAL + synchronous=NORMAL loses at most the last
un-checkpointed commit, never corrupts), one file a lab can archive, readable by any tool.
Readings are buffered and committed in batches at most ``commit_interval_s`` apart, so about one
second of readings is ever at risk while a million readings an hour stay cheap.

Schema version 1 (``PRAGMA user_version``):
``meta(key, value)``, ``meters(id, name)``, ``channels(id, name)``,
``readings(meter, channel, request_ms, response_ms, value, flag)``,
``events(t_ms, meter, kind, detail)``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meters (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS channels (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS readings (
    meter INTEGER NOT NULL REFERENCES meters(id),
    channel INTEGER NOT NULL REFERENCES channels(id),
    request_ms INTEGER NOT NULL,
    response_ms INTEGER NOT NULL,
    value REAL,
    flag TEXT
);
CREATE INDEX IF NOT EXISTS readings_by_series ON readings(meter, channel, response_ms);
CREATE TABLE IF NOT EXISTS events (
    t_ms INTEGER NOT NULL,
    meter TEXT,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""

# Each entry upgrades a store from version i to i + 1.
_MIGRATIONS: list[str] = []


class StoreError(Exception):
    """The store file is not a meterbench store, or is newer than this software."""


@dataclass(frozen=True)
class Series:
    """One meter channel's readings, as arrays (sample time = midpoint of request and response)."""

    times_ms: np.ndarray
    values: np.ndarray
    rtt_ms: np.ndarray


class Store:
    def __init__(self, path: Path, *, commit_interval_s: float = 1.0) -> None:
        self.path = Path(path)
        self.commit_interval_s = commit_interval_s
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()
        self._meter_ids: dict[str, int] = dict(
            (n, i) for i, n in self._db.execute("SELECT id, name FROM meters"))
        self._channel_ids: dict[str, int] = dict(
            (n, i) for i, n in self._db.execute("SELECT id, name FROM channels"))
        self._pending: list[tuple[int, int, int, int, float | None, str | None]] = []
        self._pending_events: list[tuple[int, str | None, str, str]] = []
        self._last_commit = time.monotonic()

    def _migrate(self) -> None:
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a SQLite store ({exc})") from None
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: store schema {version} is newer than this "
                             f"software's {SCHEMA_VERSION}")
        if version == 0:
            tables = self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise StoreError(f"{self.path}: a SQLite file that is not a meterbench store")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            return
        for step in _MIGRATIONS[version - 1:]:
            self._db.executescript(step)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    # ---- metadata -------------------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                         (key, json.dumps(value)))

    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self._db.execute("SELECT key, value FROM meta")}

    def _id(self, table: str, cache: dict[str, int], name: str) -> int:
        if name not in cache:
            cur = self._db.execute(f"INSERT OR IGNORE INTO {table}(name) VALUES (?)", (name,))
            del cur
            cache[name] = self._db.execute(f"SELECT id FROM {table} WHERE name=?",
                                           (name,)).fetchone()[0]
        return cache[name]

    # ---- writing --------------------------------------------------------------------------
    def add_reading(self, meter: str, channel: str, request_ms: int, response_ms: int,
                    value: float | None, flag: str | None = None) -> None:
        m = self._id("meters", self._meter_ids, meter)
        c = self._id("channels", self._channel_ids, channel)
        self._pending.append((m, c, request_ms, response_ms, value, flag))
        self._maybe_commit()

    def add_event(self, t_ms: int, meter: str | None, kind: str, detail: str) -> None:
        self._pending_events.append((t_ms, meter, kind, detail))
        self._maybe_commit()

    def _maybe_commit(self) -> None:
        if time.monotonic() - self._last_commit >= self.commit_interval_s:
            self.commit()

    def commit(self) -> None:
        if self._pending or self._pending_events:
            with self._db:  # one transaction
                self._db.execute("BEGIN")
                self._db.executemany("INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?)", self._pending)
                self._db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", self._pending_events)
            self._pending.clear()
            self._pending_events.clear()
        self._last_commit = time.monotonic()

    def close(self) -> None:
        self.commit()
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- reading --------------------------------------------------------------------------
    def meters(self) -> list[str]:
        return [n for (n,) in self._db.execute("SELECT name FROM meters ORDER BY id")]

    def series(self, meter: str, channel: str, *, start_ms: int | None = None,
               end_ms: int | None = None) -> Series:
        """Valid readings (value present, no flag) of one channel, in time order."""
        sql = ("SELECT request_ms, response_ms, value FROM readings r "
               "JOIN meters m ON m.id = r.meter JOIN channels c ON c.id = r.channel "
               "WHERE m.name = ? AND c.name = ? AND r.value IS NOT NULL AND r.flag IS NULL")
        args: list[Any] = [meter, channel]
        if start_ms is not None:
            sql += " AND r.response_ms >= ?"
            args.append(start_ms)
        if end_ms is not None:
            sql += " AND r.response_ms < ?"
            args.append(end_ms)
        rows = np.array(self._db.execute(sql + " ORDER BY r.response_ms", args).fetchall(),
                        dtype=float).reshape(-1, 3)
        req, resp = rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64)
        return Series((req + resp) // 2, rows[:, 2], resp - req)

    def events(self) -> list[dict[str, Any]]:
        return [dict(t_ms=t, meter=m, kind=k, detail=d) for t, m, k, d in
                self._db.execute("SELECT t_ms, meter, kind, detail FROM events ORDER BY t_ms, rowid")]

    def reading_count(self) -> int:
        return self._db.execute("SELECT count(*) FROM readings").fetchone()[0]

    def iter_readings(self) -> Iterable[tuple[str, str, int, int, float | None, str | None]]:
        yield from self._db.execute(
            "SELECT m.name, c.name, request_ms, response_ms, value, flag FROM readings r "
            "JOIN meters m ON m.id = r.meter JOIN channels c ON c.id = r.channel "
            "ORDER BY r.rowid")
