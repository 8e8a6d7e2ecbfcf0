"""A process that keeps freed memory reuses it: the next block's arrays cost no new pages."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys

import pytest

PROBE = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from meterbench.fleet.memory import keep_freed_memory
    assert keep_freed_memory()

def block():  # arrays of a few MB allocated and freed, as a block's checks do
    arrays = [np.ones(375_000) for _ in range(32)]
    del arrays

block()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    block()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True, timeout=60)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux") or ctypes.util.find_library("c") is None,
                    reason="the setting is glibc's (Linux)")
def test_freed_memory_is_kept_for_the_next_array() -> None:
    default = _faults("default")
    if default < 1_000:  # this C library keeps them anyway: nothing to tell apart
        pytest.skip(f"300 MB of arrays cost only {default} page faults even by default here")
    kept = _faults("keep")
    assert kept < default / 10, (default, kept)
