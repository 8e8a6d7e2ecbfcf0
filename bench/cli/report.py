"""``meterbench report RUN``: render (or re-render) a run folder's report from its files alone."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="re-render a run folder's report.html", description=__doc__)
    p.add_argument("run", help="run folder (holds results.json)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from reports.html import render_html
    from reports.runfolder import RunFolderError

    try:
        path = render_html(Path(args.run))
    except RunFolderError as exc:
        raise UserError(str(exc)) from None
    print(f"report: {path}")
    return 0
