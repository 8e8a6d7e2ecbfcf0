"""Acquisition: polling a bench's meters on schedule into the run store, long runs, status."""
