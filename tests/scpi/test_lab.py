"""The simulated lab over real sockets: the bench recovers each meter's true error.

Source (simulated Fluke 6105A) and reference (simulated WT1800) are asyncio servers on 127.0.0.1
reached through pyvisa-py as ``TCPIP::127.0.0.1::<port>::SOCKET``; the meters under test are
SimMeters on the source's circuit. A virtual clock makes each 60 s point instant.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterbench.accuracy.labpoint import LabPoint, PointResult, point_uncertainty_pct, run_point
from meterbench.instruments.scpi.errors import InstrumentError, ScpiError, ScpiTimeout
from meterbench.instruments.scpi.fluke6105a import Fluke6105A
from meterbench.instruments.scpi.transport import ConnectionSettings
from meterbench.instruments.scpi.yokogawa_wt1800 import IntegrationState, YokogawaWT1800
from meterbench.instruments.sim.lab import (
    LabSpec,
    LabSpecError,
    MeterSpec,
    SimInstrument,
    lab_spec_from_dict,
    reference_standard,
    start_lab,
)
from meterbench.instruments.sim.meter import ErrorCurve

from .mut import read_mut_energy
from .vclock import VirtualClock

IREF_A = 5.0
# The built-in initial-verification plan includes Iref and 0.1 Iref at PF 1 and Iref at PF 0.5 ind.
POINTS = (
    LabPoint("Iref PF1", current_a=IREF_A, phi_deg=0.0),
    LabPoint("0.1 Iref PF1", current_a=0.1 * IREF_A, phi_deg=0.0),
    LabPoint("Iref PF0.5 ind", current_a=IREF_A, phi_deg=60.0),
)
CURVE = ErrorCurve(currents_a=(0.5, 5.0, 60.0), errors_pct=(0.8, 0.2, 0.1), pf_slope_pct=0.4)
REFERENCE = reference_standard(error_pct=0.015, accuracy_pct=0.02)


def _run(clock: VirtualClock, curve: ErrorCurve, reference: SimInstrument
         ) -> list[tuple[LabPoint, PointResult, float]]:
    spec = LabSpec(meters=(MeterSpec("mut", error=curve),)).with_reference(reference)
    out = []
    with start_lab(spec, clock) as lab:
        meter = lab.meters["mut"]
        with Fluke6105A.open(lab.source_resource) as source, YokogawaWT1800.open(
                lab.reference_resource, accuracy_pct=lab.reference_accuracy_pct) as ref:
            assert source.identify().model == "6105A"
            ref.configure()
            for point in POINTS:
                result = run_point(point, source=source, reference=ref,
                                   read_mut_energy=lambda: read_mut_energy(meter, clock),
                                   wait=clock.advance)
                true_error = curve.error_pct(point.current_a, math.cos(math.radians(point.phi_deg)))
                out.append((point, result, true_error))
    return out


def test_three_points_recover_the_meters_true_error_within_the_stated_uncertainty(
        clock: VirtualClock) -> None:
    results = _run(clock, CURVE, REFERENCE)
    for point, result, true_error in results:
        # U (k=2) from the reference's declared 0.02 % accuracy; registers read as float64 here.
        assert result.uncertainty_pct == pytest.approx(point_uncertainty_pct(
            result.reference_kwh, 0.02, 0.0))
        assert abs(result.error_pct - true_error) <= result.uncertainty_pct, point.name
        # the energy compared is the energy the point should deliver (3 phases, 60 s)
        expected_kwh = 3 * 230.0 * point.current_a * math.cos(math.radians(point.phi_deg)) / 60 / 1000
        assert result.reference_kwh == pytest.approx(expected_kwh * (1 + REFERENCE.sim["error_pct"] / 100))
    recovered = [r.error_pct for _, r, _ in results]
    # the three points differ as the curve says (0.8 %, 0.2 %, 0.2 + 0.4·0.5 = 0.4 %)
    assert recovered[1] > recovered[2] > recovered[0]


def test_a_perfect_reference_recovers_the_error_to_float_precision(clock: VirtualClock) -> None:
    for point, result, true_error in _run(clock, CURVE, reference_standard(0.0, 0.0)):
        assert result.error_pct == pytest.approx(true_error, abs=1e-9), point.name


def test_output_off_stops_energy_for_meter_and_reference(clock: VirtualClock) -> None:
    spec = LabSpec(meters=(MeterSpec("mut", error=ErrorCurve.constant(0.5)),))
    with start_lab(spec, clock) as lab, Fluke6105A.open(lab.source_resource) as source, \
            YokogawaWT1800.open(lab.reference_resource) as ref:
        ref.configure()
        source.apply(voltage_v=(230,) * 3, current_a=(10,) * 3, phi_deg=(0,) * 3)
        ref.start_integration()
        clock.advance(30_000)
        source.output_on()
        clock.advance(60_000)
        source.output_off()
        clock.advance(30_000)
        wh = ref.stop_integration()
        assert ref.integration_state is IntegrationState.STOP
        assert wh == pytest.approx(3 * 230 * 10 / 60)  # only the 60 s with output on
        kwh = read_mut_energy(lab.meters["mut"], clock)
        assert kwh == pytest.approx(3 * 230 * 10 / 60 / 1000 * 1.005)
        assert source.phase[1].power_w == 0.0


def test_rejected_commands_over_the_socket_carry_the_simulated_instruments_message(
        clock: VirtualClock) -> None:
    with start_lab(LabSpec(), clock) as lab, Fluke6105A.open(lab.source_resource) as source, \
            YokogawaWT1800.open(lab.reference_resource) as ref:
        with pytest.raises(InstrumentError) as info:
            source.write("SOUR:PHAS1:CURR:MHAR:HARM1 30,0")  # past the 21 A the driver guards
        assert info.value.code == -222
        assert info.value.instrument_message.startswith("Data out of range")
        with pytest.raises(InstrumentError) as info:
            source.write("SOUR:PHAS4:VOLT:MHAR:HARM1 230,0")
        assert info.value.code == -114
        with pytest.raises(InstrumentError) as info:
            ref.integration_stop()  # not running
        assert info.value.instrument_message == "Execution error;integration not running"
        source.frequency_hz = 50  # and the session still works after errors
        assert source.frequency_hz == 50.0


def test_lab_reports_socket_resource_strings(empty_lab) -> None:
    resources = empty_lab.resources()
    assert set(resources) == {"source", "reference"}
    for text in resources.values():
        assert text.startswith("TCPIP::127.0.0.1::") and text.endswith("::SOCKET")
    assert resources["source"] != resources["reference"]


def test_lab_spec_from_plain_data() -> None:
    spec = lab_spec_from_dict({
        "reference": {"error_pct": 0.005, "accuracy_pct": 0.02},
        "meters": [{"name": "a", "error_pct": 0.3},
                   {"name": "b", "currents_a": [0.5, 5], "errors_pct": [0.8, 0.2],
                    "pf_slope_pct": 0.4, "starting_current_a": 0.02}]})
    assert spec.instruments["reference"].sim["error_pct"] == 0.005
    assert spec.instruments["reference"].options["accuracy_pct"] == 0.02
    assert spec.meters[0].error.error_pct(1.0, 1.0) == 0.3
    assert spec.meters[1].error.error_pct(0.5, 0.5) == pytest.approx(1.0)
    assert spec.meters[1].starting_current_a == 0.02


@pytest.mark.parametrize(("data", "field"), [
    ({"reference": {"error_pct": 0.05, "accuracy_pct": 0.02}}, "reference.error_pct"),
    ({"reference": {"error_pct": "x"}}, "reference.error_pct"),
    ({"meters": [{"error_pct": 1}]}, "meters[0].name"),
    ({"meters": [{"name": "a", "currents_a": [5, 0.5], "errors_pct": [1, 2]}]},
     "meters[0].currents_a"),
])
def test_bad_lab_spec_names_the_field(data: dict, field: str) -> None:
    with pytest.raises(LabSpecError) as info:
        lab_spec_from_dict(data)
    assert info.value.field == field


def test_rejected_query_over_pyvisa_times_out_then_reports_the_instruments_reason(
        clock: VirtualClock) -> None:
    with start_lab(LabSpec(), clock) as lab, Fluke6105A.open(
            lab.source_resource, ConnectionSettings(timeout_ms=150)) as source:
        with pytest.raises(InstrumentError) as info:
            source.query("SOUR:PHAS7:POW:WATT?")
        assert info.value.code == -114
        with pytest.raises(ScpiTimeout):
            source.query("*OPC")  # a command, not a query: nothing queued, nothing answered
        assert source.identify().model == "6105A"


def test_closing_the_lab_with_a_client_connected_does_not_hang(clock: VirtualClock) -> None:
    lab = start_lab(LabSpec(), clock)
    source = Fluke6105A.open(lab.source_resource, ConnectionSettings(timeout_ms=300))
    assert source.identify().model == "6105A"
    lab.close()
    with pytest.raises(ScpiError):
        source.identify()
    source.close()


def _float32_register(meter_kwh: float) -> float:
    """What a float32 energy register (e.g. Eastron, IEEE 754 binary32) shows for ``meter_kwh``."""
    return float(np.float32(meter_kwh))


@settings(max_examples=8, deadline=None)
@given(meter_error=st.floats(-3.0, 3.0), reference_error=st.floats(-0.05, 0.05))
def test_recovery_holds_for_any_meter_and_reference_error(meter_error: float,
                                                          reference_error: float) -> None:
    clock = VirtualClock()
    spec = LabSpec(meters=(MeterSpec("mut", error=ErrorCurve.constant(meter_error)),)).with_reference(
        reference_standard(reference_error, 0.05))
    with start_lab(spec, clock) as lab, Fluke6105A.open(lab.source_resource) as source, \
            YokogawaWT1800.open(lab.reference_resource, accuracy_pct=0.05) as ref:
        ref.configure()
        result = run_point(POINTS[0], source=source, reference=ref, wait=clock.advance,
                           read_mut_energy=lambda: read_mut_energy(lab.meters["mut"], clock))
    assert abs(result.error_pct - meter_error) <= result.uncertainty_pct


def test_a_float32_register_needs_a_longer_point_at_low_current(clock: VirtualClock) -> None:
    # IEEE 754 binary32: a float32 register near 1,234 kWh steps by 1.2e-4 kWh; the test uncertainty
    # should be <= 1/3 of the MPE (French arrêté of 1 August 2013) (class B at Itr <= I: 2 %, +5..+30 °C).
    step_kwh = float(np.spacing(np.float32(1234.0)))
    limit_pct = 2.0 / 3
    spec = LabSpec(meters=(MeterSpec("mut", error=CURVE, import_kwh=1234.0),)).with_reference(REFERENCE)
    with start_lab(spec, clock) as lab, Fluke6105A.open(lab.source_resource) as source, \
            YokogawaWT1800.open(lab.reference_resource, accuracy_pct=0.02) as ref:
        ref.configure()
        meter = lab.meters["mut"]

        def read() -> float:
            return _float32_register(read_mut_energy(meter, clock))

        low = LabPoint("0.1 Iref PF1", current_a=0.5)
        short = run_point(low, source=source, reference=ref, wait=clock.advance,
                          read_mut_energy=read, register_step_kwh=step_kwh)
        long_ = run_point(LabPoint("0.1 Iref PF1 20 min", current_a=0.5, duration_ms=1_200_000),
                          source=source, reference=ref, wait=clock.advance,
                          read_mut_energy=read, register_step_kwh=step_kwh)
    true_error = CURVE.error_pct(0.5, 1.0)
    assert short.uncertainty_pct > limit_pct  # 60 s is too short to decide
    assert long_.uncertainty_pct <= limit_pct
    for result in (short, long_):
        assert abs(result.error_pct - true_error) <= result.uncertainty_pct
