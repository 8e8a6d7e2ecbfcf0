"""Fixed-value cases on pyvisa-sim devices (sim_devices.yaml), over every resource kind.

pyvisa-sim answers fixed values only (its YAML device format), which is enough for identity, parsing, the
transport's terminations per resource kind, and an instrument-side rejection: the YAML 6105A only
accepts 45..65 Hz, so a frequency the driver allows (16..850 Hz) is refused by the instrument and
must come back as :class:`InstrumentError` with the YAML error queue's text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from meterbench.instruments.scpi.errors import InstrumentError
from meterbench.instruments.scpi.fluke6105a import Fluke6105A
from meterbench.instruments.scpi.transport import ConnectionSettings
from meterbench.instruments.scpi.yokogawa_wt1800 import IntegrationState, YokogawaWT1800

YAML = Path(__file__).with_name("sim_devices.yaml")
SIM = ConnectionSettings(backend=f"{YAML}@sim", timeout_ms=200)

SOURCE_RESOURCES = ["ASRL1::INSTR", "GPIB0::17::INSTR", "TCPIP0::192.168.0.17::inst0::INSTR",
                    "USB0::0x0F7E::0x6105::1234567::0::INSTR"]


@pytest.mark.parametrize("resource", SOURCE_RESOURCES)
def test_source_driver_over_each_resource_kind(resource: str) -> None:
    with Fluke6105A.open(resource, SIM) as src:
        assert src.identify().serial == "1234567"
        assert src.phase[1].fitted is True
        assert src.phase[3].fitted is False
        assert src.phase[1].power_w == 1150.0
        src.frequency_hz = 60
        assert src.frequency_hz == 60.0
        src.output_on()
        assert src.output_enabled is True


@pytest.mark.parametrize("resource", SOURCE_RESOURCES[:2])
def test_instrument_side_rejection_carries_the_devices_queue_text(resource: str) -> None:
    with Fluke6105A.open(resource, SIM) as src:
        src.frequency_hz = 55
        with pytest.raises(InstrumentError) as info:
            src.frequency_hz = 70  # the driver allows it, this instrument does not
        assert (info.value.code, info.value.instrument_message) == (-100, "Command error")
        assert src.frequency_hz == 55.0  # unchanged


@pytest.mark.parametrize("resource", ["GPIB0::1::INSTR", "TCPIP0::192.168.0.18::inst0::INSTR"])
def test_reference_driver_reads_numeric_and_state(resource: str) -> None:
    with YokogawaWT1800.open(resource, SIM) as ref:
        assert ref.identify().model == "WT1806"
        ref.header = False
        assert ref.total_power_w() == 1725.0
        assert ref.integration_state is IntegrationState.START


def test_unknown_command_uses_the_wt_error_query() -> None:
    with YokogawaWT1800.open("GPIB0::1::INSTR", SIM) as ref, pytest.raises(InstrumentError) as info:
        ref.integration_mode = "continuous"  # not in this YAML device's dialogues
    assert (info.value.code, info.value.instrument_message) == (113, "Undefined header")
