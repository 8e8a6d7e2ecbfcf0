"""Lab instruments over SCPI (PyVISA): an IEEE 488.2 base, declared settings, and drivers.

* :mod:`instruments.scpi.base` - :class:`ScpiInstrument` (``*IDN?``, ``*RST``, ``*OPC?``, ``*CLS``,
  error queue read after every command and raised as :class:`InstrumentError`).
* :mod:`instruments.scpi.properties` - settings and measurements declared as data.
* :mod:`instruments.scpi.transport` - the PyVISA transport (terminations, timeouts).
* :mod:`instruments.scpi.resource` - resource strings of every kind PyVISA takes.
* :mod:`instruments.scpi.fluke6105a` - Fluke 6100B/6105A three-phase electrical power standard.
* :mod:`instruments.scpi.yokogawa_wt1800` - Yokogawa WT1800 precision power analyzer (reference).
"""

from __future__ import annotations

from instruments.scpi.base import Identity, ScpiInstrument
from instruments.scpi.errors import (
    InstrumentError,
    ResourceStringError,
    ScpiError,
    ScpiTimeout,
    SettingRangeError,
)

__all__ = ["Identity", "InstrumentError", "ResourceStringError", "ScpiError", "ScpiInstrument",
           "ScpiTimeout", "SettingRangeError"]
