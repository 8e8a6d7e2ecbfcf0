"""Every option of every sampling subcommand is documented in docs/sampling.md."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import meterbench.cli as cli

DOC = Path(__file__).resolve().parents[2].joinpath("docs/sampling.md")


def _subcommands(monkeypatch) -> dict[str, argparse.ArgumentParser]:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("meterbench.cli.sampling",))
    parser = cli.build_parser()
    top = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sampling = top.choices["sampling"]
    sub = next(a for a in sampling._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_option_of_every_subcommand_is_in_the_options_table(monkeypatch):
    text = DOC.read_text("utf-8")
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^\| (`--.*?) \| ([a-z, ]+) \| ", line)
        if m:
            for opt in re.findall(r"`(--[a-z-]+)", m.group(1)):
                rows[opt] = {c.strip() for c in m.group(2).split(",")}
    missing = [f"{name} {opt}" for name, q in _subcommands(monkeypatch).items()
               for a in q._actions for opt in a.option_strings[:1]
               if opt.startswith("--") and opt != "--help" and name not in rows.get(opt, ())]
    assert missing == []
