"""Runs bad-input cases through ``meterbench.cli.main`` in this one process, under a 1 GiB
address-space limit, and writes what each did as JSON (see ``test_bad_input_catalogue.py``).

Usage: ``python catalogue_child.py CASES.json RESULTS.json``. The limit is set before numpy,
scipy, pymodbus or pytest are imported, so every allocation of every case counts against it: a
case that tried to take more memory fails with MemoryError, recorded as its traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import sys
import traceback

ADDRESS_SPACE = 1 << 30


def _listing(root: str) -> list[str]:
    out = []
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            out.append(os.path.relpath(os.path.join(base, name), root))
    return sorted(out)


def main() -> int:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    from meterbench.cli import main as cli_main

    cases = json.loads(open(sys.argv[1], encoding="utf-8").read())
    results = {}
    home = os.getcwd()
    for case in cases:
        os.chdir(case["cwd"])
        before = _listing(case["cwd"])
        err, out = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
                code: object = cli_main(case["argv"])
        except SystemExit as exc:
            code = exc.code
        except BaseException:  # noqa: BLE001 - recorded: the test fails on it
            code = "exception"
            err.write(traceback.format_exc())
        finally:
            os.chdir(home)
        results[case["id"]] = dict(code=code, stderr=err.getvalue(),
                                   created=sorted(set(_listing(case["cwd"])) - set(before)))
    with open("/proc/self/status", encoding="utf-8") as fh:
        peak = next(int(ln.split()[1]) * 1024 for ln in fh if ln.startswith("VmPeak:"))
    results["__peak__"] = dict(code=0, stderr="", created=[], vm_peak=peak)
    with open(sys.argv[2], "w", encoding="utf-8") as fh:
        json.dump(results, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
