"""Exact bytes the Yokogawa WT1800 driver sends and parses (IM WT1801-17EN)."""

from __future__ import annotations

import math

import pytest

from meterbench.instruments.scpi.errors import InstrumentError, ResponseError, SettingRangeError
from meterbench.instruments.scpi.yokogawa_wt1800 import IntegrationState, YokogawaWT1800

from .replay import WT_NO_ERROR, expected_protocol


def test_configure_switches_headers_off_and_selects_manual_integration() -> None:
    pairs = [(b":COMMunicate:HEADer OFF\n", None), WT_NO_ERROR,
             (b":INTEGrate:MODE NORMal\n", None), WT_NO_ERROR,
             (b":INTEGrate:TIMer 0,0,0\n", None), WT_NO_ERROR]
    with expected_protocol(YokogawaWT1800, pairs) as ref:
        ref.configure()


def test_gate_resets_starts_stops_and_reads_sigma_energy() -> None:
    pairs = [(b":INTEGrate:RESet\n", None), WT_NO_ERROR,
             (b":INTEGrate:STARt\n", None), WT_NO_ERROR, (b"*OPC?\n", b"1\n"),
             (b":INTEGrate:STATe?\n", b"STAR\n"),
             (b":INTEGrate:STOP\n", None), WT_NO_ERROR, (b"*OPC?\n", b"1\n"),
             (b":NUMeric:NORMal:ITEM1 WP,SIGMA\n", None), WT_NO_ERROR,
             (b":NUMeric:NORMal:NUMBer 1\n", None), WT_NO_ERROR,
             (b":NUMeric:NORMal:VALue?\n", b"2.875000E+01\n")]
    with expected_protocol(YokogawaWT1800, pairs, accuracy_pct=0.02) as ref:
        ref.start_integration()
        assert ref.integration_state is IntegrationState.START
        assert ref.stop_integration() == pytest.approx(28.75)


def test_item_list_is_configured_once_and_reused() -> None:
    pairs = [(b":NUMeric:NORMal:ITEM1 P,1\n", None), WT_NO_ERROR,
             (b":NUMeric:NORMal:ITEM2 P,SIGMA\n", None), WT_NO_ERROR,
             (b":NUMeric:NORMal:NUMBer 2\n", None), WT_NO_ERROR,
             (b":NUMeric:NORMal:VALue?\n", b"5.75E+02,1.725E+03\n"),
             (b":NUMeric:NORMal:VALue?\n", b"5.76E+02,1.726E+03\n")]
    with expected_protocol(YokogawaWT1800, pairs) as ref:
        assert ref.read([("P", 1), ("P", "SIGMA")]) == [575.0, 1725.0]
        assert ref.read([("p", 1), ("P", "sigma")]) == [576.0, 1726.0]


def test_scpi_not_a_number_is_nan_not_a_huge_reading() -> None:
    pairs = [(b":NUMeric:NORMal:ITEM1 P,4\n", None), WT_NO_ERROR,
             (b":NUMeric:NORMal:NUMBer 1\n", None), WT_NO_ERROR,
             (b":NUMeric:NORMal:VALue?\n", b"9.91E+37\n")]
    with expected_protocol(YokogawaWT1800, pairs) as ref:
        assert math.isnan(ref.power_w(4))


def test_long_and_short_integration_states_parse() -> None:
    pairs = [(b":INTEGrate:STATe?\n", b"RESET\n"), (b":INTEGrate:STATe?\n", b"TIM\n"),
             (b":INTEGrate:STATe?\n", b"BUSY\n")]
    with expected_protocol(YokogawaWT1800, pairs) as ref:
        assert ref.integration_state is IntegrationState.RESET
        assert ref.integration_state is IntegrationState.TIMEUP
        with pytest.raises(ResponseError):
            _ = ref.integration_state


def test_start_while_running_surfaces_the_instruments_error_from_status_error_queue() -> None:
    # The entry is illustrative, not a documented WT1800 error number: the driver must pass the
    # instrument's code and text through unchanged, whatever they are.
    pairs = [(b":INTEGrate:STARt\n", None),
             (b":STATus:ERRor?\n", b'844,"Integration is in progress"\n'), WT_NO_ERROR]
    with expected_protocol(YokogawaWT1800, pairs) as ref, pytest.raises(InstrumentError) as info:
        ref.integration_start()
    assert (info.value.code, info.value.instrument_message) == (844, "Integration is in progress")


def test_unknown_function_or_element_is_refused_locally() -> None:
    with expected_protocol(YokogawaWT1800, []) as ref:
        with pytest.raises(SettingRangeError):
            ref.read([("XYZ", 1)])
        with pytest.raises(SettingRangeError):
            ref.read([("P", 7)])
