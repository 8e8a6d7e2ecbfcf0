"""``meterbench export``: a run's readings as CSV or Parquet (columns in docs/acquisition.md).

The CSV is a readings file ``meterbench intervals`` reads as it is, covering the bench period.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from meterbench.store.export import FORMATS, export_run


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a run's readings as CSV or Parquet", description=__doc__)
    p.add_argument("run", metavar="RUN", help="run folder (holds store.sqlite)")
    p.add_argument("--format", choices=FORMATS, default="csv", help="output format (default csv; "
                   "parquet needs the 'export' extra: pyarrow)")
    p.add_argument("--out", metavar="FILE", help="file to write (default RUN/readings.<format>); "
                   "never one of the run folder's own files")
    p.add_argument("--all", action="store_true", dest="everything",
                   help="every stored reading, pre-roll and margins included (default: the "
                        "bench period, with the readings that bracket its boundaries)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path, n, note = export_run(Path(args.run), args.format,
                               Path(args.out) if args.out else None, everything=args.everything)
    print(f"meterbench: exported {n} rows to {path}", file=sys.stderr)
    if note:
        print(f"note: {note}", file=sys.stderr)
    print(path)
    return 0
