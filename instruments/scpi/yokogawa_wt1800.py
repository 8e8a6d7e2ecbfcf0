"""Yokogawa WT1800 series Precision Power Analyzer as the bench's reference standard.

Follows the public manual: Yokogawa, *WT1801/WT1802/WT1803/WT1804/WT1805/WT1806 Precision Power
Analyzer, Communication Interface User's Manual*, IM WT1801-17EN, command groups COMMunicate
(``:COMMunicate:HEADer``, ``:COMMunicate:VERBose``), INTEGrate (``:INTEGrate:MODE``,
``:INTEGrate:TIMer``, ``:INTEGrate:STARt``, ``:INTEGrate:STOP``, ``:INTEGrate:RESet``,
``:INTEGrate:STATe?``), NUMeric (``:NUMeric:NORMal:NUMBer``, ``:NUMeric:NORMal:ITEM<x>
<function>,<element>``, ``:NUMeric:NORMal:VALue?``) and STATus (``:STATus:ERRor?``, which this
family uses instead of ``SYSTem:ERRor?``).

Energy is read as numeric function ``WP`` (watt-hours, net: positive minus negative) of an input
element (1..6) or of the wiring unit ``SIGMA`` (ΣA, the three-phase total). Headers are switched
off at :meth:`configure` so answers are bare numbers.

The analyzer's accuracy is not a constant of the driver: it comes from the unit's calibration
certificate and is passed as ``accuracy_pct`` (used for the uncertainty of a test point).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from meterbench.instruments.kinds import SIM_SERIAL_HELP, InstrumentKind, OptionSpec, SimContext
from meterbench.instruments.scpi.base import ScpiInstrument
from meterbench.instruments.scpi.errors import ResponseError
from meterbench.instruments.scpi.properties import (
    ON_OFF,
    Action,
    Channel,
    IntRange,
    Measurement,
    OneOf,
    Param,
    Setting,
    parse_bool,
    parse_floats,
)
from meterbench.instruments.scpi.transport import ConnectionSettings, Transport

#: Numeric functions this driver reads (IM WT1801-17EN, NUMeric group, function symbols).
FUNCTIONS = ("U", "I", "P", "S", "Q", "LAMBDA", "PHI", "FU", "WP", "WPP", "WPM")
#: Input elements 1..6 and the wiring-unit totals ΣA, ΣB, ΣC.
ELEMENTS = ("1", "2", "3", "4", "5", "6", "SIGMA", "SIGMB", "SIGMC")
#: Items of the normal numeric list (``:NUMeric:NORMal:NUMBer`` 1..255).
MAX_ITEMS = 255


class IntegrationState(Enum):
    """Answers of ``:INTEGrate:STATe?`` (short or long form, VERBose off or on)."""

    RESET = "RESET"
    READY = "READY"
    START = "START"
    STOP = "STOP"
    ERROR = "ERROR"
    TIMEUP = "TIMEUP"

    @classmethod
    def parse(cls, text: str) -> IntegrationState:
        t = text.strip().upper()
        for state in cls:  # long form (START) or short form (STAR), never a bare 1-2 letters
            if state.value == t or (len(t) >= 3 and state.value.startswith(t)):
                return state
        raise ValueError(f"not an integration state: {text!r}")


class NumericItem(Channel):
    """One entry of the normal numeric list, ``:NUMeric:NORMal:ITEM<x>``."""

    item = Setting(":NUMeric:NORMal:ITEM{ch}",
                   Param("function", "", OneOf({f: f for f in FUNCTIONS})),
                   Param("element", "", OneOf({e: e for e in ELEMENTS})),
                   doc="what the item reports: function and element")


class YokogawaWT1800(ScpiInstrument):
    """Reference standard: per-element and total power, energy integration."""

    ERROR_QUERY = ":STATus:ERRor?"
    CONNECTION = ConnectionSettings(timeout_ms=5000)

    header = Setting(":COMMunicate:HEADer", Param("state", "", ON_OFF),
                     query=":COMMunicate:HEADer?", parse=parse_bool,
                     doc="prefix answers with their header")
    verbose = Setting(":COMMunicate:VERBose", Param("state", "", ON_OFF),
                      query=":COMMunicate:VERBose?", parse=parse_bool,
                      doc="long-form answers")
    integration_mode = Setting(":INTEGrate:MODE",
                               Param("mode", "", OneOf({"normal": "NORMal",
                                                        "continuous": "CONTinuous"})),
                               doc="normal (start/stop or timer) or continuous (repeating)")
    integration_timer = Setting(":INTEGrate:TIMer",
                                Param("hours", "h", IntRange(0, 10000)),
                                Param("minutes", "min", IntRange(0, 59)),
                                Param("seconds", "s", IntRange(0, 59)),
                                doc="integration timer; 0,0,0 = run until stopped (manual)")
    integration_start = Action(":INTEGrate:STARt", doc="start (or resume) integration")
    integration_stop = Action(":INTEGrate:STOP", doc="stop integration, values held")
    integration_reset = Action(":INTEGrate:RESet", doc="zero the integrated values")
    integration_state = Measurement(":INTEGrate:STATe?", "", parse=IntegrationState.parse,
                                    doc="RESET, READY, START, STOP, ERROR or TIMEUP")
    numeric_count = Setting(":NUMeric:NORMal:NUMBer", Param("count", "", IntRange(1, MAX_ITEMS)),
                            doc="how many items :NUMeric:NORMal:VALue? returns")
    numeric_values = Measurement(":NUMeric:NORMal:VALue?", "", parse=parse_floats,
                                 doc="the values of items 1..NUMBer, comma-separated")

    def __init__(self, transport: Transport, *, check_errors: bool = True,
                 accuracy_pct: float | None = None) -> None:
        super().__init__(transport, check_errors=check_errors)
        #: Expanded accuracy of energy readings in % of reading, from the calibration certificate.
        self.accuracy_pct = accuracy_pct
        self._items: tuple[tuple[str, str], ...] = ()

    def configure(self) -> None:
        """Answers without headers, manual integration (runs from start until stop)."""
        self.header = False
        self.integration_mode = "normal"
        self.integration_timer = (0, 0, 0)

    def read(self, items: Sequence[tuple[str, str | int]]) -> list[float]:
        """Values of ``(function, element)`` items, e.g. ``[("P", 1), ("WP", "SIGMA")]``."""
        wanted = tuple((f.upper(), str(e).upper()) for f, e in items)
        if not 1 <= len(wanted) <= MAX_ITEMS:
            raise ValueError(f"between 1 and {MAX_ITEMS} items, got {len(wanted)}")
        if wanted != self._items:
            for n, item in enumerate(wanted, start=1):
                NumericItem(self, n).item = item
            self.numeric_count = len(wanted)
            self._items = wanted
        values = self.numeric_values
        if len(values) != len(wanted):
            raise ResponseError(command=":NUMeric:NORMal:VALue?", response=repr(values),
                                expected=f"{len(wanted)} values")
        return values

    def power_w(self, element: int | str) -> float:
        return self.read([("P", element)])[0]

    def total_power_w(self) -> float:
        return self.read([("P", "SIGMA")])[0]

    def energy_wh(self, element: int | str = "SIGMA") -> float:
        """Integrated net active energy (``WP``) in Wh."""
        return self.read([("WP", element)])[0]

    def start_integration(self) -> None:
        """Reset then start, then ``*OPC?``: a gate from when this returns."""
        self.integration_reset()
        self.integration_start()
        self.wait_complete()

    def stop_integration(self) -> float:
        """Stop, ``*OPC?``, and return the total integrated energy (ΣA ``WP``) in Wh."""
        self.integration_stop()
        self.wait_complete()
        return self.energy_wh("SIGMA")


def _open(resource: str, options: Mapping[str, Any]) -> YokogawaWT1800:
    inst = YokogawaWT1800.open(resource, accuracy_pct=options["accuracy_pct"])
    inst.configure()
    return inst


def _simulate(context: SimContext, sim: Mapping[str, Any], options: Mapping[str, Any]) -> Any:
    from meterbench.instruments.sim.sim_power_analyzer import SimPowerAnalyzer

    error = float(sim.get("error_pct", 0.0))
    if abs(error) > options["accuracy_pct"]:
        raise ValueError(f"sim.error_pct {error} % exceeds the declared accuracy_pct "
                         f"{options['accuracy_pct']} %: the simulated certificate would lie")
    return SimPowerAnalyzer(context.circuit, context.time_ms, error_pct=error,
                            serial=context.serial_for(sim))


#: The registry entry (entry-point group ``meterbench.instruments``, name ``yokogawa_wt1800``).
INSTRUMENT = InstrumentKind(
    name="yokogawa_wt1800", title="Yokogawa WT1800 series Precision Power Analyzer",
    roles=("reference",), open=_open, simulate=_simulate,
    idn=(("YOKOGAWA", "WT18"),), error_query=YokogawaWT1800.ERROR_QUERY,
    manual="Yokogawa, WT1801/WT1802/WT1803/WT1804/WT1805/WT1806 Precision Power Analyzer, "
           "Communication Interface User's Manual, IM WT1801-17EN",
    options={"accuracy_pct": OptionSpec(float, ..., "expanded accuracy of energy readings, % of "
                                                    "reading, from the calibration certificate")},
    sim_options={"error_pct": OptionSpec(float, 0.0, "the simulated analyzer's true error, % "
                                                     "(within accuracy_pct)"),
                 "serial": OptionSpec(str, None, SIM_SERIAL_HELP)})
