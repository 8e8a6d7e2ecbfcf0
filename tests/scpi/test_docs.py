"""docs/instruments-scpi.md lists every command each driver sends."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from meterbench.instruments.scpi.fluke6105a import Fluke6105A, PowerStandardPhase
from meterbench.instruments.scpi.keysight_53230a import Keysight53230A
from meterbench.instruments.scpi.properties import Action, Measurement, Setting, declared
from meterbench.instruments.scpi.yokogawa_wt1800 import NumericItem, YokogawaWT1800

DOC = Path(__file__).resolve().parents[2] / "docs" / "instruments-scpi.md"


def _commands(cls: type) -> set[str]:
    out = set()
    for _, d in declared(cls):
        if isinstance(d, Setting):
            out.add(d.command)
            if d.query_command:
                out.add(d.query_command)
        elif isinstance(d, Measurement):
            out.add(d.query_command)
        elif isinstance(d, Action):
            out.add(d.command)
    return {c.replace("{ch}", "<x>") for c in out}


@pytest.mark.parametrize("cls", [Fluke6105A, PowerStandardPhase, YokogawaWT1800, Keysight53230A])
def test_every_declared_command_is_documented(cls: type) -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [c for c in sorted(_commands(cls)) if c not in text]
    assert not missing, f"{cls.__name__} commands missing from {DOC.name}: {missing}"


def test_numeric_item_command_is_documented() -> None:
    assert ":NUMeric:NORMal:ITEM<n>" in DOC.read_text(encoding="utf-8")
    assert _commands(NumericItem) == {":NUMeric:NORMal:ITEM<x>"}


def test_each_driver_names_its_manual() -> None:
    import meterbench.instruments.scpi.fluke6105a as fluke
    import meterbench.instruments.scpi.keysight_53230a as counter
    import meterbench.instruments.scpi.yokogawa_wt1800 as wt
    assert re.search(r"6100B/6105A Electrical Power Standards, Users\s+Manual", fluke.__doc__)
    assert "IM WT1801-17EN" in wt.__doc__
    assert "53220A/53230A 350 MHz Universal Frequency Counter/Timer" in counter.__doc__
