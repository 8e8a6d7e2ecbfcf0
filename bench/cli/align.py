"""``meterbench align`` (placeholder until the alignment module lands)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("align", help="clock offset, drift and labelling diagnosis")
    p.set_defaults(func=lambda args: 2)
