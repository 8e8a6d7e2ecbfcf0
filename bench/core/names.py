"""Names from data made safe to use as one path component.

Bench names, GSRNs and meter ids come from files other people wrote. Every command that names a
file or folder after one passes it through :func:`safe_component`, the one place that decides what
a path component may contain, so no name can climb out of its folder (``../``), hide (a leading
dot), or become empty.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_COMPONENT = 80


def safe_component(text: str, fallback: str = "x") -> str:
    """``text`` with every run of characters other than ``A–Z a–z 0–9 . _ -`` replaced by ``_``,
    leading and trailing dots and underscores removed, at most 80 characters; ``fallback`` when
    nothing is left. Never empty, never ``.`` or ``..``, never holds a separator."""
    cleaned = _UNSAFE.sub("_", str(text)).strip("._")[:MAX_COMPONENT].strip("._")
    return cleaned or fallback
