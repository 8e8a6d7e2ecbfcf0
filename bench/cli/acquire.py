"""``meterbench acquire``: a long acquisition into a run folder, resumable after a stop or crash.

Runs until ``--duration``, SIGINT/SIGTERM (Ctrl-C), or, on a simulated bench, the end of the
bench's period. Started again with the same ``--out`` it resumes. See docs/acquisition.md.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from meterbench.acquisition.longrun import check_scale, run_acquisition
from meterbench.acquisition.status import StatusDisplay, summary_line
from meterbench.clocks.anchored import wall_ms
from meterbench.config.bench_file import load_bench
from meterbench.core.errors import UserError
from meterbench.core.timeutil import parse_wall_duration_s
from meterbench.run.field_devices import field_devices
from meterbench.run.folder import default_run_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("acquire", help="acquire a bench's meters for hours or weeks (resumable)",
                       description=__doc__)
    p.add_argument("bench", help="bench file or built-in name")
    p.add_argument("--out", metavar="RUN", help="run folder; an existing one is resumed "
                   "(default runs/<UTC time>-<bench>)")
    p.add_argument("--duration", metavar="D", help="stop after this wall-clock time, e.g. 90s, "
                   "30min, 12h, 7d, PT1H (default: until a signal or the bench's end)")
    p.add_argument("--sim", action="store_true",
                   help="simulate the bench's devices even if it names real ones")
    p.add_argument("--scale", type=float, metavar="X",
                   help="simulated benches: simulated seconds per wall second (default: the "
                   "bench file's [run] scale; 1 when its clock is 'real')")
    p.add_argument("--status-interval", type=float, default=None, metavar="S",
                   help="seconds between status updates (default 1 on a terminal, 60 in a log)")
    p.add_argument("--log-commits", action="store_true",
                   help="one stderr line per store commit (readings now safe on disk)")
    p.add_argument("--no-preflight", action="store_true",
                   help="start even if a real device cannot be reached yet (polls fail and are "
                        "recorded until it answers); by default a fresh acquisition refuses to start")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_bench(args.bench, force_simulate=args.sim)
    check_scale(config, args.scale)  # NaN, inf, a stopped clock: refused before any folder exists
    duration_s = (None if args.duration is None
                  else parse_wall_duration_s(args.duration, field="--duration"))
    tty = sys.stderr.isatty()
    interval = args.status_interval if args.status_interval is not None else (1.0 if tty else 60.0)
    if not math.isfinite(interval) or interval <= 0:  # NaN compares false to everything
        raise UserError(f"{interval:g} is out of range", field="--status-interval",
                        expected="a positive number of seconds, e.g. 1 or 60")
    out = Path(args.out) if args.out else default_run_dir(config.name)
    if not args.no_preflight and not (out / "store.sqlite").exists():
        field_devices(config).check_reachable()  # a typo'd port or an unplugged adapter: first
    # Each status starts with the host's UTC time to the second (when it was shown: a log's
    # lines must say when).
    display = StatusDisplay(sys.stderr, tty=tty, log_interval_s=interval,
                            now_ms=lambda: wall_ms() // 1000 * 1000)

    def commit_line(rows: int, total: int) -> None:
        print(f"commit: +{rows} readings, {total} this session", file=sys.stderr, flush=True)

    def started(resumed: bool) -> None:  # said once nothing can be refused any more
        verb = "resuming" if resumed else "acquiring"
        print(f"meterbench: {verb} bench {config.name!r} ({config.source}) into {out}",
              file=sys.stderr, flush=True)

    result = run_acquisition(config, out, duration_s=duration_s, scale=args.scale,
                             status=display, status_interval_s=min(interval, 1.0),
                             on_commit=commit_line if args.log_commits else None,
                             on_start=started)
    verb = "resumed and stopped" if result.resumed else "stopped"
    print(f"meterbench: {verb} ({result.reason}): {summary_line(result.stats)}; "
          f"{result.readings_total} readings stored, {result.gaps} gap events", file=sys.stderr)
    print(f"run: {out}")
    return 0
