"""Simulated Keysight 53230A universal counter as the error calculator of one meter position.

Speaks the command subset of :mod:`meterbench.instruments.scpi.keysight_53230a` (same manual):
a frequency ratio of channel 1 (the reference standard's energy pulses) over channel 2 (the
meter's test output) with advanced gating: the gate opens immediately, the measurement starts on
the first channel-2 edge, and the gate stop is held off for N channel-2 events (for a frequency
ratio the hold-off events are counted on the denominator channel). The answer is then exactly
``reference pulses / N`` over N meter pulses, which is what an error calculator compares.

Wiring (fixed): channel 1 counts :class:`~meterbench.instruments.sim.pulses.ReferenceEnergy` at
the ``reference_constant`` the bench declares, channel 2 the meter's
:class:`~meterbench.instruments.sim.pulses.MeterPulses`. A measurement runs in the lab's time:
``INITiate`` starts it, it is pending until the N-th meter edge has happened (so ``*OPC`` sets
ESR bit 0 then, and ``*OPC?`` holds its answer until then), ``FETCh?`` returns it.

Simplifications, stated: whole reference edges are counted (the real counter interpolates its
time base, so its count resolution is finer: the budget's ±1-count term is conservative); input
levels are stored, not simulated; only channels 1 and 2 exist (no channel 3 option).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from meterbench.instruments.sim.pulses import MeterPulses, ReferenceEnergy
from meterbench.instruments.sim.scpi_server import (
    DATA_OUT_OF_RANGE,
    EXECUTION_ERROR,
    ILLEGAL_PARAMETER,
    MISSING_PARAMETER,
    SETTINGS_CONFLICT,
    ScpiDevice,
    ScpiFault,
    check_range,
    parse_number,
)

#: Frequency ratio ``expected`` range for Ch1/Ch2 and Ch2/Ch1 (53220A/53230A User's Guide,
#: "Frequency ratio").
EXPECTED_RATIO_RANGE = (2.8e-10, 3.5e9)
#: SCPI-99 Vol. 2 §21.8.9: the data asked for does not exist (yet).
DATA_STALE = (-230, "Data corrupt or stale")


@dataclass
class _Measurement:
    started_ms: int
    first: int | None = None          # index of the first meter pulse (gate start)
    result: float | None = None


def _word(text: str, choices: tuple[str, ...]) -> str:
    """A mnemonic parameter in short or long form (``EVENts`` accepts EVEN and EVENTS)."""
    t = text.strip().upper()
    for c in choices:
        if t in (c.upper(), "".join(ch for ch in c if ch.isupper() or ch.isdigit())):
            return c
    raise ScpiFault(ILLEGAL_PARAMETER, f"{text!r} is not one of {'|'.join(choices)}")


class SimCounter(ScpiDevice):
    """A 53230A counting one meter's test output against the reference standard's pulses."""

    def __init__(self, meter: MeterPulses | None, reference: ReferenceEnergy,
                 now: Callable[[], int], *, reference_constant: float, serial: str = "SIM0003"
                 ) -> None:
        super().__init__()
        self.meter = meter
        self.reference = reference
        self.reference_constant = float(reference_constant)
        self.now = now
        self.IDN = f"Keysight Technologies,53230A,{serial},SIM"
        self.reset()
        r = self.register
        r("CONFigure:FREQuency:RATio", False, self._configure_ratio)
        r("CONFigure", True, lambda s, a: f'"{self.function}"')
        r("INPut#:LEVel#[:ABSolute]", False, self._set_level)
        r("INPut#:LEVel#[:ABSolute]", True, lambda s, a: f"{self.levels.get(s[0] or 1, 0.0):+.6E}")
        r("[SENSe]:FREQuency:GATE:SOURce", False, lambda s, a: self._set("gate_source", a,
                                                                          ("TIME", "EXTernal", "INPut1", "INPut2", "ADVanced")))
        r("[SENSe]:FREQuency:GATE:SOURce", True, lambda s, a: self._short(self.gate_source))
        r("[SENSe]:GATE:STARt:SOURce", False, lambda s, a: self._set("start_source", a,
                                                                      ("IMMediate", "EXTernal")))
        r("[SENSe]:GATE:STOP:SOURce", False, lambda s, a: self._set("stop_source", a,
                                                                     ("IMMediate", "EXTernal")))
        r("[SENSe]:GATE:STOP:HOLDoff:SOURce", False, lambda s, a: self._set(
            "holdoff_source", a, ("IMMediate", "TIME", "EVENts")))
        r("[SENSe]:GATE:STOP:HOLDoff:SOURce", True, lambda s, a: self._short(self.holdoff_source))
        r("[SENSe]:GATE:STOP:HOLDoff:EVENts", False, self._set_events)
        r("[SENSe]:GATE:STOP:HOLDoff:EVENts", True, lambda s, a: str(self.holdoff_events))
        r("INITiate[:IMMediate]", False, self._initiate)
        r("ABORt", False, lambda s, a: self.abort())
        r("FETCh", True, self._fetch)

    # -- state ------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.function = "FREQ"
        self.pair = (1, 2)
        self.levels: dict[int, float] = {}
        self.gate_source = "TIME"
        self.start_source = "IMMediate"
        self.stop_source = "IMMediate"
        self.holdoff_source = "IMMediate"
        self.holdoff_events = 1
        self.measurement: _Measurement | None = None
        self.last: float | None = None

    def abort(self) -> None:
        self.measurement = None

    @staticmethod
    def _short(word: str) -> str:
        return "".join(c for c in word if c.isupper() or c.isdigit())

    def _set(self, attr: str, a: list[str], choices: tuple[str, ...]) -> None:
        if len(a) != 1:
            raise ScpiFault(MISSING_PARAMETER)
        setattr(self, attr, _word(a[0], choices))

    # -- configuration ------------------------------------------------------------------------------
    def _configure_ratio(self, s: tuple[int | None, ...], a: list[str]) -> None:
        channels = [p for p in a if p.startswith("(@")]
        numbers = [p for p in a if not p.startswith("(@")]
        if len(numbers) > 2 or len(channels) not in (0, 2):
            raise ScpiFault(ILLEGAL_PARAMETER, "expected[,resolution][,(@a),(@b)]")
        if numbers and numbers[0].upper() not in ("DEF", "DEFAULT", "MIN", "MINIMUM", "MAX",
                                                  "MAXIMUM"):
            check_range(parse_number(numbers[0], name="expected"), *EXPECTED_RATIO_RANGE)
        if channels:
            pair = tuple(int(c.strip("(@)")) for c in channels)
            if sorted(pair) != [1, 2]:
                raise ScpiFault(SETTINGS_CONFLICT, "only channels 1 and 2 are simulated")
            self.pair = pair  # type: ignore[assignment]
        self.abort()
        self.function = "FREQ:RAT"
        self.gate_source = "TIME"  # CONFigure sets the gate source to TIME (Programmer's Reference)

    def _set_level(self, s: tuple[int | None, ...], a: list[str]) -> None:
        channel = s[0] if s[0] is not None else 1
        if channel not in (1, 2):
            raise ScpiFault(SETTINGS_CONFLICT, f"INPut{channel} not simulated")
        if len(a) != 1:
            raise ScpiFault(MISSING_PARAMETER)
        value = parse_number(a[0], name="level")
        if not math.isfinite(value):
            raise ScpiFault(DATA_OUT_OF_RANGE, "level")
        self.levels[channel] = value

    def _set_events(self, s: tuple[int | None, ...], a: list[str]) -> None:
        if len(a) != 1:
            raise ScpiFault(MISSING_PARAMETER)
        n = parse_number(a[0], name="events")
        if not n.is_integer() or n < 1:
            raise ScpiFault(DATA_OUT_OF_RANGE, f"{a[0]} events")
        self.holdoff_events = int(n)

    # -- measurement --------------------------------------------------------------------------------
    def _initiate(self, s: tuple[int | None, ...], a: list[str]) -> None:
        if self.measurement is not None and self.measurement.result is None:
            raise ScpiFault(EXECUTION_ERROR, "measurement in progress")
        if self.function != "FREQ:RAT" or self.gate_source != "ADVanced" or \
                self.holdoff_source != "EVENts" or self.stop_source != "IMMediate":
            raise ScpiFault(SETTINGS_CONFLICT, "simulated: frequency ratio with advanced gating, "
                            "stop held off by EVENts, stop source IMMediate")
        if self.meter is None:
            raise ScpiFault(SETTINGS_CONFLICT, "no test output wired to channel 2")
        self.measurement = _Measurement(started_ms=self.now())

    def _progress(self) -> None:
        """Complete the running measurement if its N-th meter edge has happened by now."""
        m = self.measurement
        if m is None or m.result is not None or self.meter is None:
            return
        if m.first is None:
            m.first = self.meter.first_after(float(m.started_ms))
        t_first = self.meter.edge_ms(m.first)
        t_last = self.meter.edge_ms(m.first + self.holdoff_events)
        if t_first is None or t_last is None:
            return
        n_ref = self.reference.pulses_between(self.reference_constant, t_first, t_last)
        ratio = n_ref / self.holdoff_events
        m.result = ratio if self.pair == (1, 2) else (1.0 / ratio if ratio else math.inf)
        self.last = m.result

    def pending(self) -> bool:
        self._progress()
        return self.measurement is not None and self.measurement.result is None

    def _fetch(self, s: tuple[int | None, ...], a: list[str]) -> str:
        self._progress()
        if self.pending() or self.last is None:
            raise ScpiFault(DATA_STALE, "no completed measurement")
        return f"{self.last:+.15E}"
