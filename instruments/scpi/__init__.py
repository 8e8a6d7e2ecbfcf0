"""Lab instruments over SCPI (PyVISA): an IEEE 488.2 base, declared settings, and drivers.

* :mod:`meterbench.instruments.scpi.base` - :class:`ScpiInstrument` (``*IDN?``, ``*RST``, ``*OPC?``, ``*CLS``,
  error queue read after every command and raised as :class:`InstrumentError`).
* :mod:`meterbench.instruments.scpi.properties` - settings and measurements declared as data.
* :mod:`meterbench.instruments.scpi.transport` - the PyVISA transport (terminations, timeouts).
* :mod:`meterbench.instruments.scpi.resource` - resource strings of every kind PyVISA takes.
* :mod:`meterbench.instruments.scpi.fluke6105a` - Fluke 6100B/6105A three-phase electrical power standard.
* :mod:`meterbench.instruments.scpi.yokogawa_wt1800` - Yokogawa WT1800 precision power analyzer (reference).
"""

from __future__ import annotations

from meterbench.instruments.scpi.base import Identity, ScpiInstrument
from meterbench.instruments.scpi.errors import (
    InstrumentError,
    ResourceStringError,
    ScpiError,
    ScpiTimeout,
    SettingRangeError,
)

__all__ = ["Identity", "InstrumentError", "ResourceStringError", "ScpiError", "ScpiInstrument",
           "ScpiTimeout", "SettingRangeError"]
