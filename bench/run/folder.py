"""Writing a run folder: ``results.json`` (built by :mod:`meterbench.run.results`) and series CSVs.

The folder is the whole truth of a run: ``reports`` renders it without the bench, and
``meterbench report RUN`` re-renders it at any time. The schema is documented in
``docs/results-schema.md``; fields are only ever added within a major version.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import re
import subprocess
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from meterbench import __version__
from meterbench.core.errors import UserError

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(text: str) -> str:
    """A file-name-safe form of a user-given name (no separators, no leading dots)."""
    cleaned = _SAFE.sub("_", text).strip("._") or "run"
    return cleaned[:80]


def default_run_dir(bench_name: str, base: Path = Path("runs")) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return base / f"{stamp}-{safe_name(bench_name)}"


def prepare_run_dir(path: Path) -> Path:
    """Create the run folder; refuse to overwrite another run's results."""
    path = Path(path)
    if (path / "results.json").exists():
        raise UserError("run folder already holds a finished run", source=str(path),
                        expected="a new or empty folder (nothing stored is ever overwritten)")
    try:
        (path / "series").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create run folder: {exc.strerror}", source=str(path)) from None
    return path


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
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    os.replace(tmp, path)


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
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(json_safe(data), indent=1, allow_nan=False), encoding="utf-8")
    os.replace(tmp, path)
