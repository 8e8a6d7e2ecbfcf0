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

from meterbench.reports.results_shape import shape_problem

RESULTS_FILE = "results.json"
RESULTS_SCHEMA_PREFIX = "meterbench.results/"


class RunFolderError(Exception):
    """The folder is not a readable meterbench run."""


#: The largest results document a renderer reads (design limit): a year of a large bench is far
#: below it, and a device or runaway file stops here instead of filling memory.
MAX_RESULTS_BYTES = 256 * 1024 * 1024


def load_results(run_dir: Path) -> dict[str, Any]:
    """The run's results document, checked to have the shape the renderers read
    (:mod:`meterbench.reports.results_shape`): a malformed file is one :class:`RunFolderError`."""
    path = Path(run_dir) / RESULTS_FILE
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_RESULTS_BYTES + 1)
        if len(raw) > MAX_RESULTS_BYTES:
            raise RunFolderError(f"{path}: larger than {MAX_RESULTS_BYTES >> 20} MiB")
        data = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise RunFolderError(f"{path}: not found (is {run_dir} a run folder?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise RunFolderError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict) or not str(data.get("schema", "")).startswith(
            RESULTS_SCHEMA_PREFIX):
        raise RunFolderError(f"{path}: field schema: not a meterbench results document")
    problem = shape_problem(data)
    if problem is not None:
        raise RunFolderError(f"{path}: {problem} (expected a results document as "
                             "docs/results-schema.md describes)")
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
