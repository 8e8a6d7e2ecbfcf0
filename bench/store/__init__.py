"""The run store (SQLite, append-only) and exporting its readings."""
