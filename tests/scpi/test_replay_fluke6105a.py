"""Exact bytes the Fluke 6105A driver sends and parses (6100B/6105A Users Manual, ch. 5).

Error entries use SCPI-99 standard codes; their detail texts are illustrative: the driver must
pass whatever the instrument queues through unchanged.
"""

from __future__ import annotations

import pytest

from meterbench.instruments.scpi.errors import InstrumentError, ScpiTimeout, SettingRangeError
from meterbench.instruments.scpi.fluke6105a import Fluke6105A

from .replay import NO_ERROR, ReplayMismatch, expected_protocol


def test_identify_parses_the_four_idn_fields() -> None:
    with expected_protocol(Fluke6105A, [(b"*IDN?\n", b"FLUKE,6105A,1234567,V2.1\n")]) as src:
        ident = src.identify()
    assert (ident.manufacturer, ident.model, ident.serial, ident.firmware) == (
        "FLUKE", "6105A", "1234567", "V2.1")


def test_reset_waits_for_operation_complete() -> None:
    with expected_protocol(Fluke6105A, [(b"*RST\n", None), NO_ERROR,
                                        (b"*OPC?\n", b"1\n")]) as src:
        src.reset()


def test_one_phase_setting_sends_voltage_and_lagging_current_with_error_checks() -> None:
    pairs = [(b"SOUR:PHAS2:VOLT:MHAR:HARM1 230,-120\n", None), NO_ERROR,
             (b"SOUR:PHAS2:CURR:MHAR:HARM1 5,-60\n", None), NO_ERROR]
    with expected_protocol(Fluke6105A, pairs) as src:
        src.set_phase(2, voltage_v=230, current_a=5, phi_deg=60)


def test_capacitive_current_is_sent_leading() -> None:
    pairs = [(b"SOUR:PHAS3:VOLT:MHAR:HARM1 57.7,120\n", None), NO_ERROR,
             (b"SOUR:PHAS3:CURR:MHAR:HARM1 0.25,36.87\n", None), NO_ERROR]
    with expected_protocol(Fluke6105A, pairs) as src:
        src.set_phase(3, voltage_v=57.7, current_a=0.25, phi_deg=-36.87)


def test_output_and_frequency_round_trip() -> None:
    pairs = [(b"SOUR:FREQ 50\n", None), NO_ERROR,
             (b"SOUR:FREQ?\n", b"5.0000E+01\n"),
             (b"OUTP:STAT ON\n", None), NO_ERROR, (b"*OPC?\n", b"1\n"),
             (b"OUTP:STAT?\n", b"1\n"),
             (b"OUTP:STAT OFF\n", None), NO_ERROR, (b"*OPC?\n", b"1\n")]
    with expected_protocol(Fluke6105A, pairs) as src:
        src.frequency_hz = 50
        assert src.frequency_hz == 50.0
        src.output_on()
        assert src.output_enabled is True
        src.output_off()


def test_phase_queries_parse_amplitude_angle_and_power() -> None:
    pairs = [(b"SOUR:PHAS1:CURR:MHAR:HARM1?\n", b"5.000000E+00,-6.000000E+01\n"),
             (b"SOUR:PHAS1:FITT?\n", b"1\n"),
             (b"SOUR:PHAS1:POW:WATT?\n", b"5.75E2\n")]
    with expected_protocol(Fluke6105A, pairs) as src:
        assert src.phase[1].current == (5.0, -60.0)
        assert src.phase[1].fitted is True
        assert src.phase[1].power_w == 575.0


def test_rejected_command_raises_with_the_instruments_own_message() -> None:
    pairs = [(b"SOUR:FREQ 400\n", None),
             (b"SYST:ERR?\n", b'-221,"Settings conflict;Frequency vs harmonics"\n'),
             NO_ERROR]
    with expected_protocol(Fluke6105A, pairs) as src, pytest.raises(InstrumentError) as info:
        src.frequency_hz = 400
    assert info.value.code == -221
    assert info.value.instrument_message == "Settings conflict;Frequency vs harmonics"
    assert info.value.command == "SOUR:FREQ 400"


def test_all_queued_errors_are_drained_and_reported_in_order() -> None:
    pairs = [(b"OUTP:STAT ON\n", None),
             (b"SYST:ERR?\n", b'-200,"Execution error;interlock open"\n'),
             (b"SYST:ERR?\n", b'-350,"Queue overflow"\n'),
             NO_ERROR]
    with expected_protocol(Fluke6105A, pairs) as src, pytest.raises(InstrumentError) as info:
        src.output_on()
    assert [e.code for e in info.value.errors] == [-200, -350]


def test_out_of_range_value_is_refused_before_anything_is_sent() -> None:
    with expected_protocol(Fluke6105A, []) as src:
        with pytest.raises(SettingRangeError) as info:
            src.phase[1].current = (25.0, 0.0)  # above the 21 A of the standard terminals
        assert info.value.parameter == "amplitude"
        with pytest.raises(SettingRangeError):
            src.frequency_hz = 5.0
        with pytest.raises(SettingRangeError):
            src.phase[1].voltage = (float("nan"), 0.0)


def test_unanswered_query_reads_the_queue_and_raises_the_instruments_reason() -> None:
    pairs = [(b"SOUR:PHAS1:POW:WATT?\n", None),
             (b"SYST:ERR?\n", b'-241,"Hardware missing"\n'), NO_ERROR]
    with expected_protocol(Fluke6105A, pairs) as src, pytest.raises(InstrumentError) as info:
        _ = src.phase[1].power_w
    assert info.value.instrument_message == "Hardware missing"


def test_unanswered_query_with_empty_queue_is_a_timeout() -> None:
    pairs = [(b"OUTP:STAT?\n", None), NO_ERROR]
    with expected_protocol(Fluke6105A, pairs) as src, pytest.raises(ScpiTimeout):
        _ = src.output_enabled


def test_replay_catches_a_driver_sending_other_bytes() -> None:
    with pytest.raises(ReplayMismatch):
        with expected_protocol(Fluke6105A, [(b"SOUR:FREQ 60\n", None), NO_ERROR]) as src:
            src.frequency_hz = 50
