"""Simulated Yokogawa WT1800 power analyzer: the reference standard of the simulated lab.

Speaks the command subset of :mod:`meterbench.instruments.scpi.yokogawa_wt1800` (same manual). Elements 1..3
are wired to L1..L3 of the circuit; ΣA is their three-phase total. Its energy integration uses the
truth of the circuit: ``WP`` of ΣA is :func:`meterbench.instruments.sim.meter.true_energy` (net, summation) of
the same circuit over the integration intervals, times ``1 + error_pct/100`` - the analyzer's own,
declared, small error. Elements without an input (4..6, ΣB, ΣC) answer NaN (9.91E+37).

Integration follows the manual's state machine: RESet -> STARt -> STOP (-> STARt resumes), RESet
only when not running. A start while running, a stop while not running or a reset while running
queue ``-200,"Execution error;..."``. Error codes here are SCPI-99's; a real WT1800 reports its
own numbers and texts (IM WT1801-17EN, "Error Messages").
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from meterbench.instruments.scpi.yokogawa_wt1800 import ELEMENTS, FUNCTIONS
from meterbench.instruments.sim.circuit import Circuit, Segment
from meterbench.instruments.sim.meter import true_energy
from meterbench.instruments.sim.scpi_server import (
    DATA_OUT_OF_RANGE,
    EXECUTION_ERROR,
    ILLEGAL_PARAMETER,
    MISSING_PARAMETER,
    ScpiDevice,
    ScpiFault,
    answer_header,
    check_range,
    format_number,
    parse_boolean,
    parse_number,
)
from meterbench.units import MS_PER_HOUR

NAN_TEXT = "9.91E+37"  # SCPI-99 Vol. 1 §7.2.1.5: not-a-number


class SimPowerAnalyzer(ScpiDevice):
    """WT1800 command set integrating the true energy of ``circuit``."""

    ERROR_QUERY_SPEC = "STATus:ERRor"

    def __init__(self, circuit: Circuit, now: Callable[[], int], *, error_pct: float = 0.0,
                 serial: str = "SIM0002") -> None:
        super().__init__()
        self.circuit = circuit
        self.now = now
        self.gain = 1.0 + error_pct / 100.0
        self.IDN = f"YOKOGAWA,WT1806,{serial},SIM"
        self.header_on = True
        self.verbose = False
        self.mode = "NORMal"
        self.timer = (0, 0, 0)
        self.items: list[tuple[str, str]] = [("U", "1"), ("I", "1"), ("P", "1")]
        self.count = 3
        self._closed: list[tuple[int, int]] = []
        self._running_since: int | None = None
        self._state = "RESet"
        r = self.register
        r("COMMunicate:HEADer", False, lambda s, a: setattr(self, "header_on", self._bool(a)))
        r("COMMunicate:HEADer", True, lambda s, a: "1" if self.header_on else "0")
        r("COMMunicate:VERBose", False, lambda s, a: setattr(self, "verbose", self._bool(a)))
        r("COMMunicate:VERBose", True, lambda s, a: "1" if self.verbose else "0")
        r("INTEGrate:MODE", False, self._set_mode)
        r("INTEGrate:MODE", True, lambda s, a: self._word(self.mode))
        r("INTEGrate:TIMer", False, self._set_timer)
        r("INTEGrate:STARt", False, self._start)
        r("INTEGrate:STOP", False, self._stop)
        r("INTEGrate:RESet", False, self._reset_integration)
        r("INTEGrate:STATe", True, lambda s, a: self._word(self._state))
        r("NUMeric[:NORMal]:NUMBer", False, self._set_count)
        r("NUMeric[:NORMal]:NUMBer", True, lambda s, a: str(self.count))
        r("NUMeric[:NORMal]:ITEM#", False, self._set_item)
        r("NUMeric[:NORMal]:ITEM#", True, self._get_item)
        r("NUMeric[:NORMal]:VALue", True, self._values)

    # -- protocol helpers -------------------------------------------------------------------------
    @staticmethod
    def _bool(a: list[str]) -> bool:
        if not a:
            raise ScpiFault(MISSING_PARAMETER)
        return parse_boolean(a[0])

    def _word(self, mnemonic: str) -> str:
        """Long form (VERBose ON) or short form (the capitals) of a mnemonic answer."""
        return mnemonic.upper() if self.verbose else "".join(c for c in mnemonic if c.isupper())

    def decorate_reply(self, spec: str, header: str, reply: str | None) -> str | None:
        """With HEADer ON an answer carries its header: in short form (the mnemonics' capitals)
        with VERBose OFF, in long form with VERBose ON, whatever form the query was sent in."""
        if reply is None or not self.header_on or spec.startswith("*") or spec == self.ERROR_QUERY_SPEC:
            return reply
        return f"{answer_header(spec, header, long=self.verbose)} {reply}"

    def reset(self) -> None:
        self.header_on, self.verbose, self.mode, self.timer = True, False, "NORMal", (0, 0, 0)
        self._closed, self._running_since, self._state = [], None, "RESet"

    # -- integration ------------------------------------------------------------------------------
    def _set_mode(self, s: tuple[int | None, ...], a: list[str]) -> None:
        if not a:
            raise ScpiFault(MISSING_PARAMETER)
        word = a[0].upper()
        for mode in ("NORMal", "CONTinuous"):
            if word in (mode.upper(), "".join(c for c in mode if c.isupper())):
                if self._running_since is not None:
                    raise ScpiFault(EXECUTION_ERROR, "integration running")
                self.mode = mode
                return
        raise ScpiFault(ILLEGAL_PARAMETER, f"{a[0]!r} is not NORMal|CONTinuous")

    def _set_timer(self, s: tuple[int | None, ...], a: list[str]) -> None:
        if len(a) != 3:
            raise ScpiFault(MISSING_PARAMETER, "hours,minutes,seconds")
        h = check_range(parse_number(a[0]), 0, 10000)
        m = check_range(parse_number(a[1]), 0, 59)
        sec = check_range(parse_number(a[2]), 0, 59)
        if (h, m, sec) != (0, 0, 0):
            raise ScpiFault(EXECUTION_ERROR, "timer integration not simulated")
        self.timer = (int(h), int(m), int(sec))

    def _start(self, s: tuple[int | None, ...], a: list[str]) -> None:
        if self._running_since is not None:
            raise ScpiFault(EXECUTION_ERROR, "integration already running")
        self._running_since = self.now()
        self._state = "STARt"

    def _stop(self, s: tuple[int | None, ...], a: list[str]) -> None:
        if self._running_since is None:
            raise ScpiFault(EXECUTION_ERROR, "integration not running")
        self._closed.append((self._running_since, self.now()))
        self._running_since = None
        self._state = "STOP"

    def _reset_integration(self, s: tuple[int | None, ...], a: list[str]) -> None:
        if self._running_since is not None:
            raise ScpiFault(EXECUTION_ERROR, "integration running, stop it first")
        self._closed = []
        self._state = "RESet"

    def _intervals(self, now: int) -> list[tuple[int, int]]:
        spans = list(self._closed)
        if self._running_since is not None:
            spans.append((self._running_since, now))
        return spans

    # -- numeric ----------------------------------------------------------------------------------
    def _set_count(self, s: tuple[int | None, ...], a: list[str]) -> None:
        if not a:
            raise ScpiFault(MISSING_PARAMETER)
        n = int(check_range(parse_number(a[0]), 1, 255))
        self.count = n

    def _set_item(self, s: tuple[int | None, ...], a: list[str]) -> None:
        n = s[0] if s[0] is not None else 1
        if not 1 <= n <= 255:
            raise ScpiFault(DATA_OUT_OF_RANGE, f"ITEM{n}")
        if len(a) != 2:
            raise ScpiFault(MISSING_PARAMETER, "function,element")
        function, element = a[0].upper(), a[1].upper()
        if function not in FUNCTIONS or element not in ELEMENTS:
            raise ScpiFault(ILLEGAL_PARAMETER, f"{a[0]},{a[1]}")
        while len(self.items) < n:
            self.items.append(("U", "1"))
        self.items[n - 1] = (function, element)

    def _get_item(self, s: tuple[int | None, ...], a: list[str]) -> str:
        n = s[0] if s[0] is not None else 1
        if not 1 <= n <= 255:
            raise ScpiFault(DATA_OUT_OF_RANGE, f"ITEM{n}")
        function, element = self.items[n - 1] if n <= len(self.items) else ("U", "1")
        return f"{function},{element}"

    def _values(self, s: tuple[int | None, ...], a: list[str]) -> str:
        now = self.now()
        seg = self.circuit.at(now)
        out = []
        for k in range(self.count):
            function, element = self.items[k] if k < len(self.items) else ("U", "1")
            value = self._value(function, element, seg, now)
            out.append(NAN_TEXT if math.isnan(value) else format_number(value))
        return ",".join(out)

    def _phases(self, element: str) -> list[int] | None:
        if element in ("1", "2", "3"):
            return [int(element) - 1]
        if element == "SIGMA":
            return [0, 1, 2]
        return None  # no input wired

    def _value(self, function: str, element: str, seg: Segment, now: int) -> float:
        phases = self._phases(element)
        if phases is None:
            return math.nan
        u = np.asarray(seg.voltage_v)[phases]
        i = np.asarray(seg.current_a)[phases]
        phi = np.radians(np.asarray(seg.phi_deg)[phases])
        p = float((u * i * np.cos(phi)).sum()) * self.gain
        q = float((u * i * np.sin(phi)).sum()) * self.gain
        s_va = float((u * i).sum()) * self.gain
        if function == "U":
            return float(u.mean())
        if function == "I":
            return float(i.mean())
        if function == "P":
            return p
        if function == "S":
            return s_va
        if function == "Q":
            return q
        if function == "LAMBDA":
            return p / s_va if s_va else math.nan
        if function == "PHI":
            return math.degrees(math.acos(max(-1.0, min(1.0, p / s_va)))) if s_va else math.nan
        if function == "FU":
            return seg.frequency_hz
        wpp, wpm = self._energy_wh(phases, now)
        return {"WP": wpp - wpm, "WPP": wpp, "WPM": -wpm}[function]

    def _energy_wh(self, phases: list[int], now: int) -> tuple[float, float]:
        """(positive, negative magnitude) Wh over the integration intervals, with the gain."""
        pos = neg = 0.0
        for start, end in self._intervals(now):
            if len(phases) == 3:
                imp, exp = true_energy(self.circuit, start, end, summation=True)
                pos += imp * 1000.0
                neg += exp * 1000.0
                continue
            for seg in self.circuit.segments(start, end):
                wh = float(seg.power_w[phases[0]]) * (seg.end_ms - seg.start_ms) / MS_PER_HOUR
                pos += max(wh, 0.0)
                neg += max(-wh, 0.0)
        return pos * self.gain, neg * self.gain
