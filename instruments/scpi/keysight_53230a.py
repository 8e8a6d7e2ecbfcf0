"""Keysight 53230A universal counter as an error calculator: meter pulses against reference pulses.

Follows the public manuals: Keysight, *53220A/53230A 350 MHz Universal Frequency Counter/Timer
User's Guide* ("Frequency ratio", "Triggering and Gating": gate stop hold-off) and *Programmer's
Reference* (``CONFigure:FREQuency:RATio``, ``INPut{1|2}:LEVel``, ``[SENSe:]FREQuency:GATE:SOURce
ADVanced``, ``[SENSe:]GATE:STARt:SOURce``, ``[SENSe:]GATE:STOP:HOLDoff:SOURce EVENts``,
``[SENSe:]GATE:STOP:HOLDoff:EVENts``, ``[SENSe:]GATE:STOP:SOURce``, ``INITiate``, ``FETCh?``,
``SYSTem:ERRor?``).

The pulse method of an accredited meter lab, on a general-purpose counter: channel 1 takes the
reference standard's energy pulses (``reference_constant`` imp/kWh), channel 2 the meter's test
output (LED scanning head or S0). A frequency ratio ch1/ch2 with advanced gating whose stop is
held off for N events (counted on the denominator channel, ch2) spans exactly N meter pulses from
a meter edge to a meter edge, so

    E_meter = N / C_meter,   E_ref = ratio · N / C_ref,   error = E_meter / E_ref − 1.

A measurement of N pulses takes minutes: :meth:`start` arms ``*OPC`` after ``INITiate`` and
:meth:`done` polls ``*ESR?`` between the caller's own waits (IEEE 488.2 §12.5.2), which works in
real time and on a virtual clock alike; :meth:`result` confirms with ``*OPC?`` and fetches.

Fixed input thresholds (``input_level_v``) are set on both channels: the manual warns that the
auto-level ``CONFigure`` enables does not suit low-frequency inputs such as meter pulses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meterbench.instruments.kinds import SIM_SERIAL_HELP, InstrumentKind, OptionSpec, SimContext
from meterbench.instruments.scpi.base import ScpiInstrument
from meterbench.instruments.scpi.errors import ResponseError
from meterbench.instruments.scpi.properties import (
    Action,
    InRange,
    IntRange,
    Measurement,
    OneOf,
    Param,
    Setting,
    parse_float,
)
from meterbench.instruments.scpi.transport import ConnectionSettings, Transport

#: ``expected`` ratio range for Ch1/Ch2 (User's Guide, "Frequency ratio").
EXPECTED_RATIO_RANGE = (2.8e-10, 3.5e9)
#: Hold-off events: a whole count; the upper bound is the driver's (2**31 − 1), not the manual's.
MAX_EVENTS = 2**31 - 1


@dataclass(frozen=True)
class PulseComparison:
    """One error-calculator reading: N meter pulses and the reference pulses in the same span."""

    meter_pulses: int
    reference_pulses: int
    ratio: float


class Keysight53230A(ScpiInstrument):
    """Error calculator: reference pulses (ch1) over N meter pulses (ch2)."""

    ERROR_QUERY = "SYST:ERR?"
    CONNECTION = ConnectionSettings(timeout_ms=10_000)

    gate_source = Setting("FREQ:GATE:SOUR", Param("source", "", OneOf(
        {"time": "TIME", "external": "EXT", "advanced": "ADV"})), doc="frequency gate source")
    gate_start = Setting("GATE:STAR:SOUR", Param("source", "", OneOf(
        {"immediate": "IMM", "external": "EXT"})), doc="advanced gate: what opens the gate")
    gate_stop = Setting("GATE:STOP:SOUR", Param("source", "", OneOf(
        {"immediate": "IMM", "external": "EXT"})), doc="advanced gate: what closes it after the hold-off")
    holdoff_source = Setting("GATE:STOP:HOLD:SOUR", Param("source", "", OneOf(
        {"immediate": "IMM", "time": "TIME", "events": "EVEN"})), doc="gate stop hold-off kind")
    holdoff_events = Setting("GATE:STOP:HOLD:EVEN", Param("count", "", IntRange(1, MAX_EVENTS)),
                             query="GATE:STOP:HOLD:EVEN?", parse=lambda t: int(float(t)),
                             doc="denominator (meter) events the gate stays open for")
    # the level's range is the instrument's to check (it queues an error the driver raises)
    input1_level = Setting("INP1:LEV", Param("volts", "V", InRange(-math.inf, math.inf)),
                           doc="channel 1 (reference pulses) threshold")
    input2_level = Setting("INP2:LEV", Param("volts", "V", InRange(-math.inf, math.inf)),
                           doc="channel 2 (meter pulses) threshold")
    initiate = Action("INIT", doc="start a measurement")
    abort = Action("ABOR", doc="stop a measurement")
    reading = Measurement("FETC?", "", parse=parse_float, doc="the completed ratio ch1/ch2")

    def __init__(self, transport: Transport, *, check_errors: bool = True,
                 reference_constant: float, input_level_v: float) -> None:
        super().__init__(transport, check_errors=check_errors)
        if not reference_constant > 0:
            raise ValueError("reference_constant must be positive (imp/kWh)")
        #: The reference standard's pulse constant on channel 1 (imp/kWh), from its manual.
        self.reference_constant_imp_per_kwh = float(reference_constant)
        self.input_level_v = float(input_level_v)
        self._configured_for: float | None = None
        self._pulses = 0

    def configure(self, meter_constant: float) -> None:
        """Frequency ratio ch1/ch2 with advanced gating stopped by meter events."""
        expected = self.reference_constant_imp_per_kwh / meter_constant
        lo, hi = EXPECTED_RATIO_RANGE
        if not lo <= expected <= hi:
            raise ValueError(f"reference/meter constant ratio {expected:g} is outside the "
                             f"counter's range {lo:g}..{hi:g}")
        self.write(f"CONF:FREQ:RAT {expected:.7g},DEF,(@1),(@2)")
        self.input1_level = self.input_level_v
        self.input2_level = self.input_level_v
        self.gate_source = "advanced"
        self.gate_start = "immediate"
        self.holdoff_source = "events"
        self.gate_stop = "immediate"
        self._configured_for = meter_constant

    def start(self, meter_pulses: int, meter_constant: float) -> None:
        """Count the reference pulses over the next ``meter_pulses`` meter pulses."""
        if self._configured_for != meter_constant:
            self.configure(meter_constant)
        self.abort()  # a measurement left running (one that never completed) would refuse INIT
        self.holdoff_events = int(meter_pulses)
        self._pulses = int(meter_pulses)
        self.initiate()
        self.arm_operation_complete()

    def done(self) -> bool:
        """Whether the measurement started by :meth:`start` has completed (``*ESR?`` bit 0)."""
        return self.operation_complete()

    def result(self) -> PulseComparison:
        self.wait_complete()
        ratio = self.reading
        n_ref = round(ratio * self._pulses)
        if abs(ratio * self._pulses - n_ref) > 1e-6 * max(1.0, n_ref):
            raise ResponseError(command="FETC?", response=repr(ratio),
                                expected=f"whole reference pulses over {self._pulses} meter pulses")
        return PulseComparison(self._pulses, n_ref, ratio)


def _open(resource: str, options: Mapping[str, Any]) -> Keysight53230A:
    inst = Keysight53230A.open(resource, reference_constant=options["reference_constant"],
                               input_level_v=options["input_level_v"])
    inst.clear_status()
    return inst


def _simulate(context: SimContext, sim: Mapping[str, Any], options: Mapping[str, Any]) -> Any:
    from meterbench.instruments.sim.sim_counter import SimCounter

    return SimCounter(context.pulses.get(context.meter or ""), context.pulses["reference"],
                      context.time_ms, reference_constant=options["reference_constant"],
                      serial=context.serial_for(sim))


#: The registry entry (entry-point group ``meterbench.instruments``, name ``keysight_53230a``).
INSTRUMENT = InstrumentKind(
    name="keysight_53230a", title="Keysight 53230A Universal Counter (error calculator)",
    roles=("error_calculator",), open=_open, simulate=_simulate,
    idn=(("Keysight Technologies", "53230A"),), error_query=Keysight53230A.ERROR_QUERY,
    manual="Keysight, 53220A/53230A Universal Frequency Counter/Timer User's Guide (Frequency "
           "ratio; Triggering and Gating) and Programmer's Reference",
    options={"reference_constant": OptionSpec(float, ..., "pulse constant (imp/kWh) of the "
                                              "reference standard's energy pulses on channel 1, "
                                              "from its manual or certificate",
                                              positive=True),
             "input_level_v": OptionSpec(float, ..., "trigger threshold (V) of both inputs, "
                                         "from the pulse outputs' levels")},
    sim_options={"serial": OptionSpec(str, None, SIM_SERIAL_HELP)})
