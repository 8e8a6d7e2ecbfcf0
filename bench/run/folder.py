"""Writing a run folder: ``results.json`` (built by :mod:`meterbench.run.results`) and series CSVs.

The folder is the whole truth of a run: ``reports`` renders it without the bench, and
``meterbench report RUN`` re-renders it at any time. The schema is documented in
``docs/results-schema.md``; fields are only ever added within a major version.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import platform
import subprocess
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from meterbench import __version__
from meterbench.core.errors import EnvironmentFailure, UserError, environment_failure
from meterbench.core.names import safe_component
from meterbench.core.outfiles import atomic_output, spreadsheet_cell
from meterbench.run.lock import RunLock, lock_run_dir


def default_run_dir(bench_name: str, base: Path = Path("runs")) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return base / f"{stamp}-{safe_component(bench_name, 'run')}"


def daily_run_dir(bench_name: str, day: str, base: Path = Path("runs")) -> Path:
    """Where ``meterbench daily`` acquires a simulated bench's day."""
    return base / f"daily-{safe_component(bench_name, 'run')}-{safe_component(day)}"


#: What made a run folder: ``run`` (``meterbench run``, the pytest plugin, ``daily`` on a
#: simulated bench: one virtual-clock run, written once) or ``acquire`` (``meterbench acquire``:
#: a wall-clock acquisition, resumable).
KINDS = ("run", "acquire")
_KIND_WORDS = {"run": "a run made by 'meterbench run'",
               "acquire": "an acquisition made by 'meterbench acquire'"}


def store_meta(path: Path) -> dict[str, Any] | None:
    """The run folder's store metadata (bench, period, clock, ...), read without writing; None
    when the folder holds no store (a store that cannot be read raises ``StoreError``)."""
    store = Path(path) / "store.sqlite"
    if not store.is_file():
        return None
    from meterbench.store.run_store import Store

    s = Store(store, read_only=True)
    try:
        return s.meta()
    finally:
        s.close()


def folder_kind(path: Path) -> str | None:
    """Which kind of run the folder holds, from its files (None: empty or not a run folder)."""
    path = Path(path)
    if (path / "results.json").exists():
        return "run"
    if (path / "acquisition.json").exists():
        return "acquire"
    from meterbench.store.run_store import StoreError

    try:
        meta = store_meta(path)
    except StoreError:
        return None
    if meta is None:
        return None
    if "acquire_clock" in meta:
        return "acquire"
    return "run" if "bench" in meta else None


def period_meta(config: Any) -> dict[str, int]:
    """The bench period a run folder's store records (``meterbench export`` covers it)."""
    return {"start_ms": int(config.run.start_ms), "end_ms": int(config.run.end_ms)}


def check_run_dir(path: Path, kind: str) -> Path:
    """Refuse a folder this command must not write: one holding a finished run, or another kind
    of run, or (for ``run``, which writes a folder once) an earlier run's readings."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError("is a file, not a run folder", source=str(path),
                        expected="a new or empty folder")
    if (path / "results.json").exists():
        raise UserError("run folder already holds a finished run", source=str(path),
                        expected="a new or empty folder (nothing stored is ever overwritten)")
    found = folder_kind(path)
    if found is not None and found != kind:
        raise UserError(f"run folder holds {_KIND_WORDS[found]}", source=str(path),
                        expected=f"a new or empty folder for {_KIND_WORDS[kind].split(' made')[0]}"
                        + (", or the same command to resume it" if found == "acquire" else ""))
    if found == "run" and kind == "run":
        what = ("the readings of a day 'meterbench daily' acquired" if (path / "outbox").is_dir()
                else "the readings of an earlier run that did not finish")
        raise UserError(f"run folder holds {what}", source=str(path),
                        expected="a new or empty folder (a run is written once)")
    return path


#: The run folder's subfolder of interval series (``run`` creates it with the folder).
SERIES_DIR = "series"


def _create_run_dir(path: Path, inside: str | None = None) -> None:
    """``path`` (and ``path/inside``) with missing parents; the machine refusing is an
    environment failure. Errors name the run folder the user gave, not a subfolder of it."""
    try:
        (path / inside if inside else path).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        failure = environment_failure(exc, str(path))
        if failure is not None and exc.errno != errno.EEXIST:
            raise EnvironmentFailure(f"cannot create run folder: {failure.message}",
                                     source=str(path)) from None
        raise UserError(f"cannot create run folder: {exc.strerror}", source=str(path)) from None


def probe_run_dir(path: Path) -> None:
    """Create the run folder (and missing parents) and remove them again: a folder the machine
    will not let the run create is refused before anything starts, leaving nothing behind."""
    path = Path(path)
    missing: list[Path] = []
    at = path / SERIES_DIR  # what the run creates first: inside an existing (empty) folder too
    while not at.exists() and at != at.parent:
        missing.append(at)
        at = at.parent
    try:
        _create_run_dir(path, SERIES_DIR)
    finally:
        for made in missing:  # the deepest first
            with contextlib.suppress(OSError):
                made.rmdir()


def claim_run_dir(path: Path, kind: str) -> RunLock:
    """Create the run folder and lock it for this command, refusing what :func:`check_run_dir`
    refuses (checked again under the lock, so two commands cannot both pass the check)."""
    path = check_run_dir(Path(path), kind)
    _create_run_dir(path, SERIES_DIR if kind == "run" else None)
    lock = lock_run_dir(path)
    try:
        check_run_dir(path, kind)
    except BaseException:
        lock.release()
        raise
    return lock


def git_revision() -> str | None:
    here = Path(__file__).resolve().parent.parent
    if not (here / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    rev = out.stdout.strip()
    if rev and subprocess.run(["git", "-C", str(here), "diff", "--quiet"], timeout=5,
                              check=False).returncode:
        rev += "+dirty"
    return rev or None


def software_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"meterbench": __version__, "python": platform.python_version()}
    for dist in ("pymodbus", "pyvisa", "numpy", "scipy"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    rev = git_revision()
    if rev:
        out["git"] = rev
    return out


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Atomically, every text cell safe to open in a spreadsheet."""
    with atomic_output(path, what="series file") as tmp, \
            open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows([spreadsheet_cell(c) for c in row] for row in rows)


def json_safe(obj: Any) -> Any:
    """JSON has no NaN: unknown numbers become null; numpy scalars become Python numbers."""
    import math

    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically (a reader never sees half a results document), with unknown numbers as null."""
    text = json.dumps(json_safe(data), indent=1, allow_nan=False)
    with atomic_output(path, what="results file") as tmp:
        tmp.write_text(text, encoding="utf-8")
