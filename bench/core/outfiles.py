"""Writing output files: atomically, never half-written, and safe to open in a spreadsheet.

Every file a command writes goes through :func:`atomic_output`: it is written to a temporary
file beside the target and renamed into place only when complete, so a reader never sees half a
file, and on any failure (a full disk, a read-only medium, an interrupt) the temporary file is
removed and nothing is left behind. A target that is a directory or lies in a folder that does not
exist is the user's mistake (exit 2); the machine refusing the write is an environment failure
(exit 3).

CSV cells meant for spreadsheets pass through :func:`spreadsheet_cell`: a text cell beginning with
``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) would be run as a formula by Excel,
LibreOffice or Google Sheets ("CSV injection", OWASP), so it is written with a leading ``'``,
which spreadsheets show as text and :func:`unspreadsheet_cell` removes again when meterbench reads
its own files back. Numbers, negative ones included, are written as they are.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from meterbench.core.errors import EnvironmentFailure, UserError, environment_failure

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file (links and ``..`` included); for paths that do not all
    exist yet, whether they resolve to the same place."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def check_output_path(path: Path, *, what: str = "output file", inputs: tuple[Path, ...] = (),
                      overwrite: bool = True) -> Path:
    """``path`` if a file can be written there; a user error when it names a directory or a
    folder that does not exist, one of the command's ``inputs`` (writing would destroy what is
    being read), or (``overwrite=False``) a file that already exists."""
    path = Path(path)
    if path.is_dir():
        raise UserError("is a directory", source=str(path), expected=f"a path for the {what}")
    for given in inputs:
        if path.exists() and Path(given).exists() and same_file(path, given):
            raise UserError(f"is also this command's input {given}: writing the {what} there "
                            "would destroy it", source=str(path),
                            expected=f"another path for the {what}")
    if not overwrite and path.exists():
        raise UserError("already exists; nothing was written", source=str(path),
                        expected=f"a new path for the {what}, or --overwrite to replace it")
    parent = path.parent
    if not parent.is_dir():
        raise UserError(f"folder {parent} does not exist", source=str(path),
                        expected=f"a path for the {what} in an existing folder")
    return path


@contextlib.contextmanager
def atomic_output(path: Path, *, what: str = "output file", inputs: tuple[Path, ...] = (),
                  overwrite: bool = True) -> Iterator[Path]:
    """A temporary path to write; renamed to ``path`` on success, removed on any failure.
    ``inputs`` and ``overwrite``: see :func:`check_output_path`."""
    path = check_output_path(path, what=what, inputs=inputs, overwrite=overwrite)
    tmp = path.with_name(path.name + ".tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        failure = None if isinstance(exc, EnvironmentFailure) else environment_failure(
            exc, str(path))
        if failure is not None:
            raise EnvironmentFailure(f"cannot write the {what}: {failure.message}",
                                     source=str(path)) from exc
        raise


def spreadsheet_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will show as text, never evaluate (see the module docstring)."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value  # a number such as -1.5


def unspreadsheet_cell(text: str) -> str:
    """The text :func:`spreadsheet_cell` protected, as it was."""
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r":
        return text[1:]
    return text
