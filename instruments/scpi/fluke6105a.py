"""Fluke 6100B / 6105A Electrical Power Standard, three-phase (master + two 6101B/6106A units).

Follows the public manual: Fluke Calibration, *6100B/6105A Electrical Power Standards, Users
Manual*, chapter 5 "Remote Operation", section "SCPI Commands and Syntax": per-phase commands
``SOURce:PHASe<x>:...`` (``FITTed?``, ``VOLTage:STATe``, ``CURRent:STATe``,
``VOLTage:MHARmonics:HARMonic<y> <amplitude>,<phase angle>``,
``CURRent:MHARmonics:HARMonic<y> <amplitude>,<phase angle>``, ``POWer:WATT?``), plus
``SOURce:FREQuency``, ``OUTPut:STATe`` and ``SYSTem:ERRor?``.

The 6105A is a *phantom load*: voltage and current are generated independently, which is what a
meter test needs (the meter's current circuit sees the set current whatever the voltage).

Phase-angle convention (an assumption to confirm on a real unit, see docs/instruments-scpi.md):
voltage fundamentals are placed at 0°, −120°, +120° for L1, L2, L3; the current fundamental's angle
is relative to its own phase's voltage with *leading positive*, so a current lagging by φ (the
bench's ``phi_deg``, +60° = PF 0.5 inductive) is sent as angle −φ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from meterbench.instruments.kinds import SIM_SERIAL_HELP, InstrumentKind, OptionSpec, SimContext
from meterbench.instruments.scpi.base import ScpiInstrument
from meterbench.instruments.scpi.properties import (
    ON_OFF,
    Channel,
    InRange,
    Measurement,
    Param,
    Setting,
    parse_bool,
)
from meterbench.instruments.scpi.transport import ConnectionSettings, Transport

# Limits. 21 A: the manual's "[SOURce]:TERMinal:ROUTe" ("up-to-21A signal" on the standard
# terminals; the 52120A transconductance amplifier option is not driven here). 1008 V (highest
# voltage range) and 16..850 Hz (fundamental) are the figures of the 6100B/6105A Extended
# Specifications as recalled, NOT checked against the datasheet text: confirm before relying on
# them (a value outside the real limits is still rejected by the instrument, as InstrumentError).
MAX_VOLTAGE_V = 1008.0
MAX_CURRENT_A = 21.0
FREQUENCY_RANGE_HZ = (16.0, 850.0)
ANGLE = InRange(-360.0, 360.0)

#: Where each phase's voltage fundamental is placed (L1 reference, L2 lags 120°, L3 leads 120°).
VOLTAGE_ANGLE_DEG: dict[int, float] = {1: 0.0, 2: -120.0, 3: 120.0}
PHASES = (1, 2, 3)


def lag_to_current_angle(phi_deg: float) -> float:
    """The instrument's current angle (leading positive) for a current lagging by ``phi_deg``."""
    return 0.0 - float(phi_deg)


def current_angle_to_lag(angle_deg: float) -> float:
    return 0.0 - float(angle_deg)


class PowerStandardPhase(Channel):
    """One phase of the standard (``SOURce:PHASe<x>``)."""

    fitted = Measurement("SOUR:PHAS{ch}:FITT?", "", parse=parse_bool,
                         doc="whether this phase unit is present")
    voltage_enabled = Setting("SOUR:PHAS{ch}:VOLT:STAT", Param("state", "", ON_OFF),
                              query="SOUR:PHAS{ch}:VOLT:STAT?", parse=parse_bool,
                              doc="voltage channel on/off")
    current_enabled = Setting("SOUR:PHAS{ch}:CURR:STAT", Param("state", "", ON_OFF),
                              query="SOUR:PHAS{ch}:CURR:STAT?", parse=parse_bool,
                              doc="current channel on/off")
    voltage = Setting("SOUR:PHAS{ch}:VOLT:MHAR:HARM1",
                      Param("amplitude", "V", InRange(0.0, MAX_VOLTAGE_V)),
                      Param("angle", "deg", ANGLE),
                      query="SOUR:PHAS{ch}:VOLT:MHAR:HARM1?",
                      doc="voltage fundamental: RMS amplitude and phase angle")
    current = Setting("SOUR:PHAS{ch}:CURR:MHAR:HARM1",
                      Param("amplitude", "A", InRange(0.0, MAX_CURRENT_A)),
                      Param("angle", "deg", ANGLE),
                      query="SOUR:PHAS{ch}:CURR:MHAR:HARM1?",
                      doc="current fundamental: RMS amplitude and angle to its voltage (lead +)")
    power_w = Measurement("SOUR:PHAS{ch}:POW:WATT?", "W", doc="active power of this phase")


class Fluke6105A(ScpiInstrument):
    """Three-phase electrical power standard used as the bench's power source."""

    ERROR_QUERY = "SYST:ERR?"
    CONNECTION = ConnectionSettings(timeout_ms=10_000)

    frequency_hz = Setting("SOUR:FREQ", Param("frequency", "Hz", InRange(*FREQUENCY_RANGE_HZ)),
                           query="SOUR:FREQ?", doc="fundamental frequency of all channels")
    output_enabled = Setting("OUTP:STAT", Param("state", "", ON_OFF), query="OUTP:STAT?",
                             parse=parse_bool, doc="output on (operate) / off (standby)")

    def __init__(self, transport: Transport, *, check_errors: bool = True) -> None:
        super().__init__(transport, check_errors=check_errors)
        self.phase = {p: PowerStandardPhase(self, p) for p in PHASES}

    def set_phase(self, phase: int, *, voltage_v: float, current_a: float, phi_deg: float) -> None:
        """One phase's voltage and current, the current lagging its voltage by ``phi_deg``."""
        ch = self.phase[phase]
        ch.voltage = (voltage_v, VOLTAGE_ANGLE_DEG[phase])
        ch.current = (current_a, lag_to_current_angle(phi_deg))

    def apply(self, *, voltage_v: Sequence[float], current_a: Sequence[float],
              phi_deg: Sequence[float], frequency_hz: float | None = None) -> None:
        """A whole test point, L1..L3, with every channel enabled, then ``*OPC?``: returns once
        the standard has taken every setting. Output state is unchanged."""
        if not (len(voltage_v) == len(current_a) == len(phi_deg) == len(PHASES)):
            raise ValueError("voltage_v, current_a and phi_deg need one value per phase (3)")
        if frequency_hz is not None:
            self.frequency_hz = frequency_hz
        for k, p in enumerate(PHASES):
            self.set_phase(p, voltage_v=voltage_v[k], current_a=current_a[k], phi_deg=phi_deg[k])
            self.phase[p].voltage_enabled = True
            self.phase[p].current_enabled = True
        self.wait_complete()

    def output_on(self) -> None:
        """Operate, then ``*OPC?`` (the output is on when this returns)."""
        self.output_enabled = True
        self.wait_complete()

    def output_off(self) -> None:
        self.output_enabled = False
        self.wait_complete()

    def total_power_w(self) -> float:
        return sum(self.phase[p].power_w for p in PHASES)


def _open(resource: str, options: object) -> Fluke6105A:
    return Fluke6105A.open(resource)


def _simulate(context: SimContext, sim: Mapping[str, Any], options: Mapping[str, Any]) -> Any:
    from meterbench.instruments.sim.sim_power_standard import SimPowerStandard

    return SimPowerStandard(context.circuit, serial=context.serial_for(sim))


#: The registry entry (entry-point group ``meterbench.instruments``, name ``fluke6105a``).
INSTRUMENT = InstrumentKind(
    name="fluke6105a", title="Fluke 6100B/6105A Electrical Power Standard", roles=("source",),
    open=_open, simulate=_simulate,
    idn=(("FLUKE", "6105A"), ("FLUKE", "6100B")), error_query=Fluke6105A.ERROR_QUERY,
    manual="Fluke Calibration, 6100B/6105A Electrical Power Standards, Users Manual, chapter 5 "
           "\"Remote Operation\"",
    sim_options={"serial": OptionSpec(str, None, SIM_SERIAL_HELP)},
    limits={"max_current_a": MAX_CURRENT_A, "max_voltage_v": MAX_VOLTAGE_V,
            "min_frequency_hz": FREQUENCY_RANGE_HZ[0], "max_frequency_hz": FREQUENCY_RANGE_HZ[1]})
