"""Local workers keep the memory a block frees for the next block (glibc's allocator).

A block allocates and frees the same large arrays (a few to 30 MB each) again and again. By
default glibc gives each such array pages of its own and returns them to the system when it is
freed, so the next array faults in fresh zeroed pages: on the machine the benchmark ran on, a
fifth of a worker's CPU time went to page faults. Served from the heap and kept there when
freed, the memory is reused; what a worker holds is still what one block needs at its peak
(the benchmark prints it), only it is not handed back between blocks.

Only the workers of the local cluster the screen starts get this (:func:`keep_freed_memory`
through :class:`KeepFreedMemory`, also on a worker that replaces a dead one): the workers of
an existing cluster are configured by whoever runs it, e.g. ``dask worker ... --preload
meterbench.fleet.memory`` (:func:`dask_setup`; docs/fleet.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util

from distributed import WorkerPlugin

#: glibc's ``mallopt`` parameters (``malloc.h``).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Arrays up to this size come from the heap, and up to this much freed memory is kept; glibc
#: versions that cap the threshold lower get the cap (32 MiB, its historical maximum).
KEEP_BYTES = (1 << 30, 32 << 20)


def keep_freed_memory() -> bool:
    """Make this process serve large arrays from the heap and keep freed memory.

    Returns whether the allocator took the settings (False where it is not glibc's).
    """
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError, TypeError):
        return False
    for size in KEEP_BYTES:
        if mallopt(_M_MMAP_THRESHOLD, ctypes.c_int(size)) == 1:
            return mallopt(_M_TRIM_THRESHOLD, ctypes.c_int(KEEP_BYTES[0])) == 1
    return False


class KeepFreedMemory(WorkerPlugin):
    """Applies :func:`keep_freed_memory` on every worker of the local cluster as it starts."""

    name = "meterbench-keep-freed-memory"

    def setup(self, worker: object) -> None:
        keep_freed_memory()


def dask_setup(worker: object) -> None:
    """``dask worker --preload meterbench.fleet.memory``: the same for a worker started by hand."""
    keep_freed_memory()
