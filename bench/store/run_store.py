"""The run store: an append-only SQLite database (WAL) in the run folder.

Why SQLite: durable across a killed process (WAL + synchronous=NORMAL: a committed transaction is
in the WAL file in the OS's cache, so only an OS crash or power cut can lose the last commits, and
nothing ever corrupts), one file a lab can archive, readable by any tool. Readings are buffered and
committed in batches at most ``commit_interval_s`` apart, so about one second of readings is ever
at risk while a million readings an hour stay cheap.

Schema version 2 (``PRAGMA user_version``):
``meta(key, value)``, ``meters(id, name)``, ``channels(id, name)``,
``readings(meter, channel, request_ms, response_ms, value, flag, tick_ms)`` with at most one row
per ``(tick_ms, meter, channel)`` (the scheduled poll time; NULL for readings migrated from v1),
``events(t_ms, meter, kind, detail, tick_ms)``, ``progress(meter, tick_ms)`` (latest stored tick).

A fresh store is created as version 1 and migrated step by step, so a new file and a migrated old
file always have the same schema.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from meterbench.core.errors import environment_failure

SCHEMA_VERSION = 2

#: Schema version 1, as the foundation shipped it (kept verbatim: migrations start from it).
SCHEMA_V1 = """
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

#: Entry i upgrades a store from version i + 1 to i + 2 (one transaction each).
MIGRATIONS: tuple[str, ...] = (
    # v1 -> v2: the scheduled poll time, so a resumed run can neither duplicate nor skip a poll.
    # The uniqueness index leads with the tick, so inserts append at its end (ticks only grow)
    # instead of touching one B-tree page per meter and channel; the per-series index that
    # analysis needs is built when a series is first read (Store.series), not on every insert.
    # ``progress`` holds each meter's latest stored tick, where a resumed run continues.
    """
    ALTER TABLE readings ADD COLUMN tick_ms INTEGER;
    ALTER TABLE events ADD COLUMN tick_ms INTEGER;
    DROP INDEX IF EXISTS readings_by_series;
    CREATE UNIQUE INDEX readings_once ON readings(tick_ms, meter, channel);
    CREATE TABLE progress (meter INTEGER PRIMARY KEY REFERENCES meters(id),
                           tick_ms INTEGER NOT NULL);
    """,
)
assert len(MIGRATIONS) == SCHEMA_VERSION - 1

ReadingRow = tuple[int, int, int, int, float | None, str | None, int | None]
CommitHook = Callable[[int, int], None]


class StoreError(Exception):
    """The store file is not a meterbench store, or is newer than this software."""


@dataclass(frozen=True)
class Series:
    """One meter channel's readings, as arrays (sample time = midpoint of request and response)."""

    times_ms: np.ndarray
    values: np.ndarray
    rtt_ms: np.ndarray


class Store:
    """Append-only run store. ``on_commit(rows_committed, total_committed)`` is called after every
    commit that wrote readings (a side channel for operators and the crash test)."""

    def __init__(self, path: Path, *, commit_interval_s: float = 1.0,
                 on_commit: CommitHook | None = None, read_only: bool = False) -> None:
        self.path = Path(path)
        self.commit_interval_s = commit_interval_s
        self.on_commit = on_commit
        self.read_only = read_only
        if read_only:
            self._db = _open_read_only(self.path)
            self.migrated_from = None
            if self.schema_version != SCHEMA_VERSION:
                self._db.close()
                raise StoreError(f"{self.path}: store schema {self.schema_version} needs migrating "
                                 "to be read (open it once with write access)")
        else:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
            except sqlite3.DatabaseError as exc:
                failure = environment_failure(exc, str(self.path))
                if failure is not None:
                    raise failure from None
                raise StoreError(f"{self.path}: not a SQLite store ({exc})") from None
            self._db.execute("PRAGMA synchronous=NORMAL")
            self.migrated_from = self._migrate()
        self._meter_ids: dict[str, int] = dict(
            (n, i) for i, n in self._db.execute("SELECT id, name FROM meters"))
        self._channel_ids: dict[str, int] = dict(
            (n, i) for i, n in self._db.execute("SELECT id, name FROM channels"))
        self._pending: list[ReadingRow] = []
        self._pending_events: list[tuple[int, str | None, str, str, int | None]] = []
        self._last_commit = time.monotonic()
        self.committed_readings = 0  # by this process
        self._series_index = False

    def _migrate(self) -> int | None:
        """Bring the file to :data:`SCHEMA_VERSION`; returns the version it had if it changed."""
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a SQLite store ({exc})") from None
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: store schema {version} is newer than this "
                             f"software's {SCHEMA_VERSION}")
        if version == SCHEMA_VERSION:
            return None
        if version == 0:
            tables = self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise StoreError(f"{self.path}: a SQLite file that is not a meterbench store")
            self._db.executescript("BEGIN;" + SCHEMA_V1 + "PRAGMA user_version=1; COMMIT;")
            start = 1
        else:
            start = version
        for step, sql in enumerate(MIGRATIONS[start - 1:], start=start + 1):
            self._db.executescript(f"BEGIN; {sql} PRAGMA user_version={step}; COMMIT;")
        return version or None

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    # ---- metadata -------------------------------------------------------------------------
    def _execute(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """A write outside :meth:`commit`, with a full disk reported as an environment failure."""
        try:
            return self._db.execute(sql, args)
        except sqlite3.Error as exc:
            failure = environment_failure(exc, str(self.path))
            if failure is None:
                raise
            raise failure from exc

    def set_meta(self, key: str, value: Any) -> None:
        self._execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                      (key, json.dumps(value)))

    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self._db.execute("SELECT key, value FROM meta")}

    def _id(self, table: str, cache: dict[str, int], name: str) -> int:
        if name not in cache:
            self._execute(f"INSERT OR IGNORE INTO {table}(name) VALUES (?)", (name,))
            cache[name] = self._db.execute(f"SELECT id FROM {table} WHERE name=?",
                                           (name,)).fetchone()[0]
        return cache[name]

    # ---- writing --------------------------------------------------------------------------
    def add_reading(self, meter: str, channel: str, request_ms: int, response_ms: int,
                    value: float | None, flag: str | None = None, *,
                    tick_ms: int | None = None) -> None:
        m = self._id("meters", self._meter_ids, meter)
        c = self._id("channels", self._channel_ids, channel)
        self._pending.append((m, c, request_ms, response_ms, value, flag, tick_ms))
        self._maybe_commit()

    def add_poll(self, meter: str, tick_ms: int, request_ms: int, response_ms: int,
                 values: Mapping[str, float | None], flags: Mapping[str, str]) -> None:
        """Every channel of one successful poll (the acquisition's fast path)."""
        m = self._id("meters", self._meter_ids, meter)
        ids = self._channel_ids
        for ch, value in values.items():
            c = ids[ch] if ch in ids else self._id("channels", ids, ch)
            self._pending.append((m, c, request_ms, response_ms, value, flags.get(ch), tick_ms))
        self._maybe_commit()

    def add_event(self, t_ms: int, meter: str | None, kind: str, detail: str, *,
                  tick_ms: int | None = None) -> None:
        self._pending_events.append((t_ms, meter, kind, detail, tick_ms))
        self._maybe_commit()

    def _maybe_commit(self) -> None:
        if time.monotonic() - self._last_commit >= self.commit_interval_s:
            self.commit()

    @property
    def pending(self) -> int:
        return len(self._pending) + len(self._pending_events)

    def commit(self) -> None:
        """Write everything buffered in one transaction. A reading whose (meter, channel, tick)
        is already stored is ignored: a resumed or retried poll can never duplicate one.

        A full disk or a read-only medium raises :class:`EnvironmentFailure`; the buffer is kept
        (the transaction was rolled back), so the caller can record why it stops and say how much
        could not be stored (:meth:`discard_pending`)."""
        n = len(self._pending)
        if self._pending or self._pending_events:
            try:
                self._write_pending()
            except sqlite3.Error as exc:
                failure = environment_failure(exc, str(self.path))
                if failure is None:
                    raise
                raise failure from exc
            self._pending.clear()
            self._pending_events.clear()
            self.committed_readings += n
            if n and self.on_commit is not None:
                self.on_commit(n, self.committed_readings)
        self._last_commit = time.monotonic()

    def discard_pending(self) -> int:
        """Drop what is buffered and could not be written; returns how many readings that was."""
        n = len(self._pending)
        self._pending.clear()
        self._pending_events.clear()
        return n

    def _write_pending(self) -> None:
        """One transaction: the buffered readings, events and each meter's latest tick."""
        latest: dict[int, int] = {}
        for row in self._pending:
            tick = row[6]
            if tick is not None and tick > latest.get(row[0], -1):
                latest[row[0]] = tick
        with self._db:  # one transaction
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR IGNORE INTO readings VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 self._pending)
            self._db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)",
                                 self._pending_events)
            self._db.executemany(
                "INSERT INTO progress VALUES (?, ?) ON CONFLICT(meter) "
                "DO UPDATE SET tick_ms = max(tick_ms, excluded.tick_ms)", latest.items())

    def close(self) -> None:
        try:
            if not self.read_only:
                self.commit()
                self._leave_wal()
        finally:
            self._db.close()

    def _leave_wal(self) -> None:
        """Fold the write-ahead log into the store and go back to one file on closing.

        WAL lets readers (``export``, a report) read while an acquisition writes; once the writer
        is gone it only costs two side files, and a read-only reader of a WAL store leaves
        ``-wal``/``-shm`` behind that it cannot remove. Another open connection makes this
        fail (SQLITE_BUSY); the store then stays in WAL mode, complete as it is, until the next
        writer closes. The next writer switches WAL on again when it opens.
        """
        try:
            self._db.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.OperationalError:
            pass

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
        if not self._series_index:
            # Built on first read, not kept up on every insert (see MIGRATIONS). A read-only
            # store without it is scanned instead (slower, same answer).
            try:
                self._db.execute("CREATE INDEX IF NOT EXISTS readings_by_series "
                                 "ON readings(meter, channel, response_ms)")
            except sqlite3.OperationalError:
                if not self.read_only:
                    raise
            self._series_index = True
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

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT t_ms, meter, kind, detail, tick_ms FROM events"
        args: tuple[Any, ...] = ()
        if kind is not None:
            sql, args = sql + " WHERE kind = ?", (kind,)
        return [dict(t_ms=t, meter=m, kind=k, detail=d, tick_ms=tk) for t, m, k, d, tk in
                self._db.execute(sql + " ORDER BY t_ms, rowid", args)]

    def reading_count(self) -> int:
        return self._db.execute("SELECT count(*) FROM readings").fetchone()[0]

    def last_ticks(self) -> dict[str, int]:
        """Per meter, the latest scheduled poll with a stored reading or a recorded failure
        (where a resumed acquisition continues)."""
        out: dict[str, int] = {}
        for name, tick in self._db.execute(
                "SELECT m.name, p.tick_ms FROM progress p JOIN meters m ON m.id = p.meter"):
            out[name] = int(tick)
        for name, tick in self._db.execute(
                "SELECT meter, max(tick_ms) FROM events WHERE kind = 'poll_failed' "
                "AND tick_ms IS NOT NULL GROUP BY meter"):
            out[name] = max(out.get(name, tick), int(tick))
        return out

    def iter_readings(self, *, batch: int = 50_000
                      ) -> Iterator[list[tuple[str, str, int | None, int, int, float | None, str | None]]]:
        """All readings in insertion order, in lists of up to ``batch`` rows:
        ``(meter, channel, tick_ms, request_ms, response_ms, value, flag)``."""
        cur = self._db.execute(
            "SELECT m.name, c.name, tick_ms, request_ms, response_ms, value, flag FROM readings r "
            "JOIN meters m ON m.id = r.meter JOIN channels c ON c.id = r.channel "
            "ORDER BY r.rowid")
        while rows := cur.fetchmany(batch):
            yield rows

    def outage_times(self, meter: str, channel: str) -> np.ndarray:
        """When the meter's ``channel`` was due but no valid value came: failed polls, the first
        poll of every recorded acquisition gap, and flagged readings (NaN, "not available"),
        sorted, epoch ms. The pipeline lowers the quality of the intervals these touch."""
        rows = self._db.execute(
            "SELECT coalesce(tick_ms, t_ms) FROM events WHERE meter = ? AND kind IN "
            "('poll_failed', 'gap') UNION ALL "
            "SELECT (request_ms + response_ms) / 2 FROM readings r JOIN meters m ON m.id = r.meter "
            "JOIN channels c ON c.id = r.channel WHERE m.name = ? AND c.name = ? "
            "AND (r.value IS NULL OR r.flag IS NOT NULL)", (meter, meter, channel)).fetchall()
        return np.sort(np.array([r[0] for r in rows], dtype=np.int64))

    def integrity_ok(self) -> bool:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that never writes: ``mode=ro``, and ``immutable=1`` when even that fails (a
    run folder on read-only media, where SQLite cannot create the WAL's shared-memory file)."""
    if not path.is_file():
        raise StoreError(f"{path}: no such store")
    uri = "file:" + urllib.parse.quote(str(path.resolve()))
    last: sqlite3.DatabaseError | None = None
    for mode in ("mode=ro", "mode=ro&immutable=1"):
        try:
            db = sqlite3.connect(f"{uri}?{mode}", uri=True, isolation_level=None,
                                 check_same_thread=False)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.DatabaseError as exc:
            last = exc
    assert last is not None
    failure = environment_failure(last, str(path))
    if failure is not None and "not a database" not in str(last):
        raise failure
    raise StoreError(f"{path}: not a SQLite store ({last})")


def iter_rows(store: Store) -> Iterable[tuple[str, str, int | None, int, int, float | None, str | None]]:
    for chunk in store.iter_readings():
        yield from chunk
