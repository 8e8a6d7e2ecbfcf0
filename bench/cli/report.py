"""``meterbench report RUN``: render (or re-render) a run folder's report from its files alone."""

from __future__ import annotations

import argparse
from pathlib import Path

from meterbench.core.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="re-render a run folder's report.html", description=__doc__)
    p.add_argument("run", help="run folder (holds results.json)")
    p.add_argument("--pdf", action="store_true", help="also write report.pdf (matplotlib, no extra packages)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from meterbench.reports.html import render_html
    from meterbench.reports.run_reader import RunFolderError

    try:
        path = render_html(Path(args.run))
        pdf = None
        if args.pdf:
            from meterbench.reports.pdf import render_pdf

            pdf = render_pdf(Path(args.run))
    except RunFolderError as exc:
        raise UserError(str(exc)) from None
    print(f"report: {path}")
    if pdf:
        print(f"pdf: {pdf}")
    return 0
