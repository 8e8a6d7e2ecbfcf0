"""What a lab instrument driver declares about itself, so a bench file can name it by role.

A driver package registers one :class:`InstrumentKind` per instrument under the entry-point group
``meterbench.instruments`` (see :mod:`meterbench.registry`). The kind says which lab roles the
instrument can fill (``source``, ``reference``, ``error_calculator``), how to open it on a VISA resource, what options a
bench file may give it, the limits a test plan must respect (from the instrument's manual, not
from meterbench), and how to build its simulator for a simulated lab.

The lab bench talks to a role through a small protocol (:mod:`meterbench.accuracy.executor`:
``Source``, ``Reference``, ``ErrorCalculator``), never to a named class, so a lab with another power source or reference
standard registers its own kind and names it in its bench file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Lab roles an instrument can fill, and what a driver filling it must provide.
ROLES: dict[str, str] = {
    "source": "a power source: apply(voltage_v, current_a, phi_deg), output_on(), output_off()",
    "reference": "a reference standard: start_integration(), stop_integration() -> Wh, "
                 "energy_wh(), accuracy_pct",
    "error_calculator": "an error calculator for one meter position, comparing the meter's test "
                        "output with the reference standard's pulses: "
                        "reference_constant_imp_per_kwh, start(meter_pulses, meter_constant), "
                        "done() -> bool, result() -> meter_pulses, reference_pulses",
}


@dataclass(frozen=True)
class OptionSpec:
    """One bench-file option of an instrument (``[[instrument]]`` key or ``[instrument.sim]`` key)."""

    kind: type | tuple[type, ...]
    default: Any = ...          # ... = required
    help: str = ""
    #: A number that must be > 0 (a pulse constant, an accuracy): the bench file is refused at
    #: load otherwise, rather than the plan failing mid-run on a division by it.
    positive: bool = False

    @property
    def required(self) -> bool:
        return self.default is ...


#: Help of the ``serial`` simulation option every shipped simulator takes.
SIM_SERIAL_HELP = ("serial number the simulator reports in *IDN? (default: SIM0001, SIM0002, ... "
                   "in the order of the bench file's instruments, so each is told apart)")


@dataclass(frozen=True)
class SimContext:
    """What a simulator is connected to in a simulated lab.

    ``circuit`` is the lab source's circuit (a :class:`~meterbench.instruments.sim.source_circuit.
    SourceCircuit`): a source simulator drives it, a reference simulator integrates its true
    energy. ``time_ms`` is the lab's time function. ``pulses`` are the lab's pulse lines
    (:mod:`meterbench.instruments.sim.pulses`): each meter under test's test output by its name and
    ``"reference"``, the reference standard's energy; ``meter`` is the meter under test an
    instrument is wired to (an error calculator's position), if any.
    """

    circuit: Any
    time_ms: Callable[[], int]
    serial: str = "SIM0001"
    pulses: Mapping[str, Any] = field(default_factory=dict)
    meter: str | None = None

    def serial_for(self, sim: Mapping[str, Any]) -> str:
        """The serial number a simulator reports: the bench file's ``sim.serial``, else the
        lab's (one per instrument, so two of one model are told apart)."""
        return str(sim.get("serial") or self.serial)


@dataclass(frozen=True)
class InstrumentKind:
    """A registered lab instrument: its driver, roles, options, limits and simulator."""

    name: str
    title: str
    roles: tuple[str, ...]
    #: ``open(resource, options) -> driver`` (options: the bench file's validated keys).
    open: Callable[[str, Mapping[str, Any]], Any]
    #: Where the command set comes from (the programming manual), shown in docs and reports.
    manual: str
    #: Bench-file keys of ``[[instrument]]`` beyond role/driver/resource/calibration.
    options: Mapping[str, OptionSpec] = field(default_factory=dict)
    #: Keys of ``[instrument.sim]``: how the simulated instrument deviates (its true error, ...).
    sim_options: Mapping[str, OptionSpec] = field(default_factory=dict)
    #: ``simulate(context, sim_options, options) -> ScpiDevice`` served on 127.0.0.1; None: no
    #: simulator (a simulated bench cannot use this instrument).
    simulate: Callable[[SimContext, Mapping[str, Any], Mapping[str, Any]], Any] | None = None
    #: Limits a plan must respect, e.g. ``{"max_current_a": 21.0, "max_voltage_v": 1008.0}``.
    limits: Mapping[str, float] = field(default_factory=dict)
    #: ``*IDN?`` answers this driver speaks to: (manufacturer, model prefix) pairs, compared
    #: without case (``meterbench scpi`` picks the driver's error query by them).
    idn: tuple[tuple[str, str], ...] = ()
    #: The query that pops one entry off the instrument's error queue (its manual's).
    error_query: str = "SYST:ERR?"

    def identifies(self, manufacturer: str, model: str) -> bool:
        """Whether an ``*IDN?`` answer's manufacturer and model are one this driver knows."""
        return any(manufacturer.strip().upper() == m.upper()
                   and model.strip().upper().startswith(prefix.upper()) for m, prefix in self.idn)

    def __post_init__(self) -> None:
        unknown = [r for r in self.roles if r not in ROLES]
        if not self.roles or unknown:
            raise ValueError(f"instrument kind {self.name!r}: roles {self.roles!r}; known roles: "
                             + ", ".join(ROLES))
