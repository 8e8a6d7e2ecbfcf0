"""Control and bidirectional-override characters shown as what they are, never acted on.

A meter name, bench name or event text comes from someone else's file. Escaping stops markup, but
not characters that change how the page reads: U+202E (RIGHT-TO-LEFT OVERRIDE) turns
``evil\\u202Etxt.exe`` into "evilexe.txt" on screen, NUL and other C0/C1 controls vanish or
break copy-paste, and the Unicode bidi controls can reorder a verdict line ("Trojan Source",
CVE-2021-42574). Every value a report template prints passes through :func:`visible` (the Jinja
environments' ``finalize``), which replaces each such character with a visible ``⟨U+202E⟩``.
Ordinary text, including right-to-left scripts, is untouched; tab and newline stay as they are.
"""

from __future__ import annotations

import re
from typing import Any

#: C0 controls except tab, newline and carriage return; DEL and the C1 controls; the bidi
#: embeddings, overrides and isolates (U+202A-E, U+2066-9) and marks (U+200E/F, U+061C);
#: zero-width and invisible format characters that can hide text (U+200B-D, U+2060, U+FEFF).
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e"
                        "\u2060\u2066-\u2069\ufeff]")


def visible(value: Any) -> Any:
    """``value`` with every invisible or reordering character written as ``⟨U+XXXX⟩``."""
    if isinstance(value, str) and _INVISIBLE.search(value):
        return _INVISIBLE.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", value)
    return value
