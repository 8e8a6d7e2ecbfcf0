"""Simulated Fluke 6100B/6105A three-phase power standard driving a :class:`SourceCircuit`.

Speaks the command subset of :mod:`meterbench.instruments.scpi.fluke6105a` (same manual), with the real
unit's limits: out-of-range amplitudes or frequency queue ``-222,"Data out of range"``, a phase
number other than 1..3 queues ``-114,"Header suffix out of range"``, an unknown header ``-113``.
Only the fundamental (harmonic 1) is simulated; harmonic 0 (DC) is accepted when it is zero, any
other harmonic queues ``-221,"Settings conflict;harmonics not simulated"``.
"""

from __future__ import annotations

from meterbench.instruments.scpi.fluke6105a import (
    FREQUENCY_RANGE_HZ,
    MAX_CURRENT_A,
    MAX_VOLTAGE_V,
    current_angle_to_lag,
    lag_to_current_angle,
)
from meterbench.instruments.sim.scpi_server import (
    MISSING_PARAMETER,
    PARAMETER_NOT_ALLOWED,
    SETTINGS_CONFLICT,
    SUFFIX_OUT_OF_RANGE,
    ScpiDevice,
    ScpiFault,
    check_range,
    format_number,
    parse_boolean,
    parse_number,
)
from meterbench.instruments.sim.source_circuit import SourceCircuit, SourceState, with_phase


def _phase_index(suffixes: tuple[int | None, ...]) -> int:
    phase = suffixes[0] if suffixes[0] is not None else 1
    if phase not in (1, 2, 3):
        raise ScpiFault(SUFFIX_OUT_OF_RANGE, f"PHASe{phase}")
    return phase - 1


def _args(args: list[str], n: int) -> list[str]:
    if len(args) < n:
        raise ScpiFault(MISSING_PARAMETER)
    if len(args) > n:
        raise ScpiFault(PARAMETER_NOT_ALLOWED)
    return args


class SimPowerStandard(ScpiDevice):
    """Fluke 6105A command set over a :class:`SourceCircuit`."""

    def __init__(self, circuit: SourceCircuit, *, serial: str = "SIM0001") -> None:
        super().__init__()
        self.circuit = circuit
        self.IDN = f"FLUKE,6105A,{serial},SIM"
        self._voltage_angle = [0.0, -120.0, 120.0]
        self._current_angle = [0.0, 0.0, 0.0]
        r = self.register
        r("OUTPut[:STATe]", False, self._set_output)
        r("OUTPut[:STATe]", True, lambda s, a: "1" if self.circuit.state.output_on else "0")
        r("[SOURce]:FREQuency[:CW]", False, self._set_frequency)
        r("[SOURce]:FREQuency[:CW]", True, lambda s, a: format_number(self.circuit.state.frequency_hz))
        r("[SOURce]:PHASe#:FITTed", True, lambda s, a: (_phase_index(s), "1")[1])
        r("[SOURce]:PHASe#:VOLTage:STATe", False, lambda s, a: self._set_enable(s, a, "voltage_on"))
        r("[SOURce]:PHASe#:VOLTage:STATe", True, lambda s, a: self._get_enable(s, "voltage_on"))
        r("[SOURce]:PHASe#:CURRent:STATe", False, lambda s, a: self._set_enable(s, a, "current_on"))
        r("[SOURce]:PHASe#:CURRent:STATe", True, lambda s, a: self._get_enable(s, "current_on"))
        r("[SOURce]:PHASe#:VOLTage:MHARmonics:HARMonic#", False, self._set_voltage)
        r("[SOURce]:PHASe#:VOLTage:MHARmonics:HARMonic#", True, self._get_voltage)
        r("[SOURce]:PHASe#:CURRent:MHARmonics:HARMonic#", False, self._set_current)
        r("[SOURce]:PHASe#:CURRent:MHARmonics:HARMonic#", True, self._get_current)
        r("[SOURce]:PHASe#:POWer:WATT", True, self._get_power)

    def reset(self) -> None:
        self._voltage_angle = [0.0, -120.0, 120.0]
        self._current_angle = [0.0, 0.0, 0.0]
        self.circuit.update(**vars(SourceState()))

    def _set_output(self, s: tuple[int | None, ...], a: list[str]) -> None:
        self.circuit.update(output_on=parse_boolean(_args(a, 1)[0]))

    def _set_frequency(self, s: tuple[int | None, ...], a: list[str]) -> None:
        f = check_range(parse_number(_args(a, 1)[0], name="frequency"), *FREQUENCY_RANGE_HZ)
        self.circuit.update(frequency_hz=f)

    def _set_enable(self, s: tuple[int | None, ...], a: list[str], field: str) -> None:
        k = _phase_index(s)
        flags = list(getattr(self.circuit.state, field))
        flags[k] = parse_boolean(_args(a, 1)[0])
        self.circuit.update(**{field: tuple(flags)})

    def _get_enable(self, s: tuple[int | None, ...], field: str) -> str:
        return "1" if getattr(self.circuit.state, field)[_phase_index(s)] else "0"

    @staticmethod
    def _harmonic(s: tuple[int | None, ...], amplitude: float | None = None) -> int:
        h = s[1] if s[1] is not None else 1
        if h == 0 and (amplitude is None or amplitude == 0.0):
            return 0
        if h != 1:
            raise ScpiFault(SETTINGS_CONFLICT, "harmonics not simulated")
        return 1

    def _amplitude_angle(self, a: list[str], limit: float) -> tuple[float, float]:
        amp_text, angle_text = _args(a, 2)
        amplitude = check_range(parse_number(amp_text, name="amplitude"), 0.0, limit)
        angle = check_range(parse_number(angle_text, name="angle"), -360.0, 360.0)
        return amplitude, angle

    def _set_voltage(self, s: tuple[int | None, ...], a: list[str]) -> None:
        k = _phase_index(s)
        amplitude, angle = self._amplitude_angle(a, MAX_VOLTAGE_V)
        if self._harmonic(s, amplitude) == 0:
            return
        self._voltage_angle[k] = angle
        self.circuit.update(voltage_v=with_phase(self.circuit.state.voltage_v, k, amplitude))

    def _set_current(self, s: tuple[int | None, ...], a: list[str]) -> None:
        k = _phase_index(s)
        amplitude, angle = self._amplitude_angle(a, MAX_CURRENT_A)
        if self._harmonic(s, amplitude) == 0:
            return
        self._current_angle[k] = angle
        state = self.circuit.state
        self.circuit.update(current_a=with_phase(state.current_a, k, amplitude),
                            phi_deg=with_phase(state.phi_deg, k, current_angle_to_lag(angle)))

    def _get_voltage(self, s: tuple[int | None, ...], a: list[str]) -> str:
        k = _phase_index(s)
        if self._harmonic(s) == 0:
            return f"{format_number(0.0)},{format_number(0.0)}"
        return (f"{format_number(self.circuit.state.voltage_v[k])},"
                f"{format_number(self._voltage_angle[k])}")

    def _get_current(self, s: tuple[int | None, ...], a: list[str]) -> str:
        k = _phase_index(s)
        if self._harmonic(s) == 0:
            return f"{format_number(0.0)},{format_number(0.0)}"
        angle = lag_to_current_angle(self.circuit.state.phi_deg[k])
        return f"{format_number(self.circuit.state.current_a[k])},{format_number(angle)}"

    def _get_power(self, s: tuple[int | None, ...], a: list[str]) -> str:
        k = _phase_index(s)
        seg = self.circuit.at(self.circuit.now())
        return format_number(float(seg.power_w[k]))
