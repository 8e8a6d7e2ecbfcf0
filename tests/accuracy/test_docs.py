"""docs/accuracy.md names every option of ``meterbench accuracy`` and every [lab] key."""

from __future__ import annotations

import argparse
from pathlib import Path

from meterbench.cli import build_parser

DOC = (Path(__file__).resolve().parents[2] / "docs" / "accuracy.md").read_text(encoding="utf-8")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_accuracy_option_is_documented():
    acc = _subparsers(build_parser())["accuracy"]
    for name, sub in _subparsers(acc).items():
        assert f"meterbench accuracy {name}" in DOC, name
        for action in sub._actions:
            for opt in action.option_strings:
                if opt.startswith("--") and opt != "--help":
                    assert opt in DOC, f"{name} {opt}"


def test_every_lab_plan_key_of_the_builtin_bench_is_documented():
    import tomllib
    from importlib import resources

    data = tomllib.loads(resources.files("meterbench").joinpath("benches", "sim-lab.toml")
                         .read_text("utf-8"))
    keys = set(data["lab"]["plan"]) | set(data["lab"]["sim"][0]) | set(data["meter"][0]["rating"])
    for key in sorted(keys):
        assert f"{key} " in DOC or f"`{key}`" in DOC, key
