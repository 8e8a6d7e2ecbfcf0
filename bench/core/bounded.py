"""Reading input files with a size limit that holds whatever the file is.

``stat`` says 0 bytes for ``/dev/zero``, a FIFO or ``/proc`` files, so a limit that trusts it lets
an endless stream fill memory. Files are read here in chunks and refused as soon as they pass the
limit: the memory a reader can take is the limit, not the size the file claims.
"""

from __future__ import annotations

from pathlib import Path

from meterbench.core.errors import UserError

_CHUNK = 1 << 20
#: The largest CSV file a command reads (readings, intervals, inventories, results; design limit,
#: docs/pipeline.md "Limits"): about a month of one-minute readings of 30 meters and 3 channels;
#: what a command then holds in memory stays far below 1 GiB.
MAX_CSV_BYTES = 128 * 1024 * 1024
#: The largest JSON document a command reads (results.json, sampling documents).
MAX_JSON_BYTES = 256 * 1024 * 1024


def _size_words(n: int) -> str:
    return f"{n / (1 << 20):g} MiB" if n >= 1 << 20 else f"{n} bytes"


def read_bytes_bounded(path: Path, limit: int, *, what: str = "file",
                       error: type[UserError] = UserError) -> bytes:
    """The file's bytes; ``error`` (one line naming the file) when it cannot be read or is longer
    than ``limit`` bytes (read as a stream: a device or pipe is cut off at the limit)."""
    source = str(path)
    parts: list[bytes] = []
    total = 0
    try:
        with open(path, "rb") as fh:
            while True:
                chunk = fh.read(min(_CHUNK, limit + 1 - total))
                if not chunk:
                    break
                parts.append(chunk)
                total += len(chunk)
                if total > limit:
                    raise error(f"{what} is larger than {_size_words(limit)}", source=source,
                                expected=f"{_a(what)} of at most {_size_words(limit)} "
                                "(the documented limit)")
    except FileNotFoundError:
        raise error(f"cannot read {what}: no such file", source=source,
                    expected=f"the path of an existing {what}") from None
    except IsADirectoryError:
        raise error(f"is a directory, not {_a(what)}", source=source,
                    expected=f"the path of {_a(what)}, not a folder") from None
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror or exc}", source=source,
                    expected=f"{_a(what)} this user can read") from None
    return b"".join(parts)


def _a(noun: str) -> str:
    """``noun`` with its indefinite article: "an inventory", "a results file"."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def read_text_bounded(path: Path, limit: int, *, what: str = "file",
                      encoding: str = "utf-8") -> str:
    """As :func:`read_bytes_bounded`, decoded; not UTF-8 text is one line naming the byte."""
    data = read_bytes_bounded(path, limit, what=what)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UserError(f"cannot read {what}: not UTF-8 text (byte {exc.start})", source=str(path),
                        expected=f"a UTF-8 {what}") from None
