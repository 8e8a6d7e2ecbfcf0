"""Reading a finished run folder: ``results.json`` plus the series CSV files it names.

This is the only input of every renderer, so a run can be re-rendered years later from the folder
alone, by a version of the software that never saw the bench.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

RESULTS_FILE = "results.json"
RESULTS_SCHEMA_PREFIX = "meterbench.results/"


class RunFolderError(Exception):
    """The folder is not a readable meterbench run."""


def load_results(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / RESULTS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunFolderError(f"{path}: not found (is {run_dir} a run folder?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"{path}: unreadable ({exc})") from None
    if not str(data.get("schema", "")).startswith(RESULTS_SCHEMA_PREFIX):
        raise RunFolderError(f"{path}: field schema: not a meterbench results document")
    return data


def safe_member(run_dir: Path, relative: str) -> Path:
    """A path named inside results.json, refused if it would leave the run folder."""
    root = Path(run_dir).resolve()
    target = (root / relative).resolve()
    if root not in target.parents and target != root:
        raise RunFolderError(f"{relative!r} points outside the run folder")
    return target


def read_table(path: Path) -> dict[str, np.ndarray]:
    """A CSV as columns; numeric columns become float arrays (empty cells NaN)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return {}
    out: dict[str, np.ndarray] = {}
    for key in rows[0]:
        col = [r[key] for r in rows]
        try:
            out[key] = np.array([float(x) if x != "" else np.nan for x in col])
        except ValueError:
            out[key] = np.array(col, dtype=object)
    return out
