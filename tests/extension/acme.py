"""A third party's meterbench extension, written to a folder as an installed distribution would be:
its own package with a register map and an instrument driver (with its simulator), and a
``dist-info`` whose ``entry_points.txt`` registers both. Nothing of it lives in meterbench."""

from __future__ import annotations

from pathlib import Path

PACKAGE = '''
"""ACME's meterbench extension: the EM1 meter model and the ACME RS1 reference standard."""

from meterbench.instruments.kinds import InstrumentKind, OptionSpec
from meterbench.instruments.scpi.base import ScpiInstrument


class AcmeRS1(ScpiInstrument):
    """ACME RS1 reference standard: an energy counter started and stopped by command."""

    ERROR_QUERY = "SYST:ERR?"

    def __init__(self, transport, *, accuracy_pct=None, check_errors=True):
        super().__init__(transport, check_errors=check_errors)
        self.accuracy_pct = accuracy_pct

    def start_integration(self):
        self.write("ENER:CLEAR;ENER:RUN")

    def stop_integration(self):
        self.write("ENER:HOLD")
        return self.energy_wh()

    def energy_wh(self, element="SIGMA"):
        return float(self.query("ENER:WH?"))


def _open(resource, options):
    return AcmeRS1.open(resource, accuracy_pct=options["accuracy_pct"])


def _simulate(context, sim, options):
    from acme_meterbench.simulator import SimRS1

    return SimRS1(context.circuit, context.time_ms, error_pct=sim["error_pct"])


INSTRUMENT = InstrumentKind(
    name="acme_rs1", title="ACME RS1 reference standard", roles=("reference",),
    open=_open, simulate=_simulate, manual="ACME RS1 programming manual (fictitious, for tests)",
    options={"accuracy_pct": OptionSpec(float, ..., "declared accuracy, %")},
    sim_options={"error_pct": OptionSpec(float, 0.0, "true error, %")})
'''

SIMULATOR = '''
from meterbench.instruments.sim.meter import true_energy
from meterbench.instruments.sim.scpi_server import ScpiDevice


class SimRS1(ScpiDevice):
    IDN = "ACME,RS1,42,1.0"

    def __init__(self, circuit, now, *, error_pct=0.0):
        super().__init__()
        self.circuit, self.now, self.gain = circuit, now, 1.0 + error_pct / 100.0
        self.since, self.held = None, 0.0
        self.register("ENERgy:CLEar", False, lambda s, a: self._clear())
        self.register("ENERgy:RUN", False, lambda s, a: setattr(self, "since", self.now()))
        self.register("ENERgy:HOLD", False, lambda s, a: self._hold())
        self.register("ENERgy:WH", True, lambda s, a: repr(self._wh()))

    def _clear(self):
        self.since, self.held = None, 0.0

    def _wh(self):
        running = 0.0
        if self.since is not None:
            running = true_energy(self.circuit, self.since, self.now())[0] * 1000.0
        return (self.held + running) * self.gain

    def _hold(self):
        self.held = self._wh() / self.gain
        self.since = None
'''

# The EM1 keeps its energy in integer watt-hours (scale 0.001 kWh), unlike any shipped model.
REGISTER_MAP = '''
model = "acme_em1"
name = "ACME EM1"

[defaults]
function = "holding"
word_order = "big"

[channels]
"energy.import" = { address = 100, type = "uint32", scale = 0.001, unit = "kWh" }
"energy.export" = { address = 102, type = "uint32", scale = 0.001, unit = "kWh" }
"power.total" = { address = 200, type = "int32", scale = 0.1, unit = "W" }
'''

ENTRY_POINTS = '''
[meterbench.meter_models]
acme_em1 = acme_meterbench.maps

[meterbench.instruments]
acme_rs1 = acme_meterbench:INSTRUMENT
'''


def install(site: Path) -> Path:
    """Write the distribution into ``site`` (a folder to put on ``sys.path``); returns ``site``."""
    pkg = site / "acme_meterbench"
    (pkg / "maps").mkdir(parents=True)
    (pkg / "__init__.py").write_text(PACKAGE)
    (pkg / "simulator.py").write_text(SIMULATOR)
    (pkg / "maps" / "__init__.py").write_text("")
    (pkg / "maps" / "acme_em1.toml").write_text(REGISTER_MAP)
    info = site / "acme_meterbench-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-meterbench\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    (info / "RECORD").write_text("")
    return site
