"""Every scripted fault reaches the driver as a typed error or a flagged reading, only inside
its time window on the simulator's clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from simkit import T0, VirtualClock, distinct_meter, run

from meterbench.instruments.errors import (
    FaultSpecError,
    ModbusConnectionError,
    ModbusExceptionError,
    ModbusFrameError,
    ModbusTimeoutError,
)
from meterbench.instruments.modbus import (
    ModbusMeter,
    RtuOverTcpTransport,
    SerialTransport,
    TcpTransport,
)
from meterbench.instruments.registers import load_register_map
from meterbench.instruments.sim.faults import FaultSchedule, fault_from_dict
from meterbench.instruments.sim.rtu_line import RtuLine
from meterbench.instruments.sim.served import ServedMeter
from meterbench.instruments.sim.tcp_gateway import ModbusTcpGateway

HOUR = 3_600_000
ENERGY = ["energy.import", "energy.export"]


async def _poll(model, faults, clock, steps, *, transport="tcp", retries=0, timeout_s=0.15,
                channels=ENERGY):
    """Serve one faulty meter; at each clock step read ``channels``; return results or errors."""
    sim = distinct_meter()
    regmap = load_register_map(model)
    served = ServedMeter(sim, regmap, FaultSchedule(faults))
    if transport == "rtu":
        server = RtuLine({1: served}, baud=115200, time_ms=clock)
    else:
        server = ModbusTcpGateway({1: served}, time_ms=clock,
                                  framing="socket" if transport == "tcp" else "rtu")
    out = []
    async with server:
        if transport == "rtu":
            t = SerialTransport(server.device_path, 115200)
        elif transport == "tcp":
            t = TcpTransport("127.0.0.1", server.port)
        else:
            t = RtuOverTcpTransport("127.0.0.1", server.port)
        meter = ModbusMeter(regmap, t, 1, timeout_s=timeout_s, retries=retries, backoff_s=0.01,
                            time_ms=clock)
        async with meter:
            for step in steps:
                clock.now_ms = step
                t0 = time.perf_counter()
                try:
                    out.append(await meter.read(channels))
                except Exception as exc:  # noqa: BLE001 - the test inspects what came back
                    exc.elapsed_s = time.perf_counter() - t0
                    out.append(exc)
                truth = sim.read_channels(channels, step)
                out[-1].truth = truth
    return out, server


def test_exception_busy_surfaces_by_name_only_inside_its_window(clock):
    fault = {"kind": "exception", "code": "busy", "start": T0 + HOUR, "end": T0 + 2 * HOUR}
    res, _ = run(_poll("eastron_sdm630", [fault], clock, [T0 + HOUR - 1, T0 + HOUR, T0 + 2 * HOUR]))
    before, inside, after = res
    assert before.values["energy.import"] == pytest.approx(before.truth["energy.import"], rel=1e-7)
    assert isinstance(inside, ModbusExceptionError)
    assert inside.name == "SLAVE_DEVICE_BUSY" and inside.code == 6 and inside.unit_id == 1
    assert after.values["energy.import"] == pytest.approx(after.truth["energy.import"], rel=1e-7)


def test_transient_busy_is_retried_with_backoff(clock):
    fault = {"kind": "exception", "code": "busy", "count": 2}
    res, server = run(_poll("abb_b23", [fault], clock, [T0 + HOUR], retries=2))
    assert not isinstance(res[0], Exception)
    assert res[0].retries == 2 and server.requests == 3
    assert res[0].values["energy.import"] == pytest.approx(res[0].truth["energy.import"], abs=0.005)


def test_illegal_address_is_not_retried(clock):
    fault = {"kind": "exception", "code": "illegal_address"}
    res, server = run(_poll("carlo_gavazzi_em340", [fault], clock, [T0], retries=3))
    assert isinstance(res[0], ModbusExceptionError) and res[0].name == "ILLEGAL_DATA_ADDRESS"
    assert server.requests == 1


@pytest.mark.parametrize("transport", ["tcp", "rtu", "rtu_over_tcp"])
def test_no_answer_is_a_timeout(clock, transport):
    res, _ = run(_poll("eastron_sdm630", [{"kind": "no_answer"}], clock, [T0], transport=transport))
    assert isinstance(res[0], ModbusTimeoutError)
    assert 0.1 < res[0].elapsed_s < 1.0


@pytest.mark.parametrize("transport", ["rtu", "rtu_over_tcp", "tcp"])
def test_corrupt_frame_is_a_frame_error_not_a_timeout(clock, transport):
    res, _ = run(_poll("eastron_sdm630", [{"kind": "corrupt", "end": T0 + 1}], clock, [T0, T0 + 1],
                       transport=transport))
    assert isinstance(res[0], ModbusFrameError), res[0]
    # the next poll after the window is clean again (no stale bytes left on the link)
    assert res[1].values["energy.import"] == pytest.approx(res[1].truth["energy.import"], rel=1e-7)


def test_dropped_connection_is_reported_fast_then_reconnected(clock):
    res, _ = run(_poll("eastron_sdm630", [{"kind": "drop", "end": T0 + 1}], clock, [T0, T0 + 1],
                       timeout_s=2.0))
    assert isinstance(res[0], ModbusConnectionError)
    assert res[0].elapsed_s < 1.0  # not by waiting for the 2 s timeout
    assert res[1].values["energy.import"] == pytest.approx(res[1].truth["energy.import"], rel=1e-7)


def test_dropped_connection_recovers_within_retries(clock):
    res, _ = run(_poll("eastron_sdm630", [{"kind": "drop", "count": 1}], clock, [T0], retries=1))
    assert not isinstance(res[0], Exception) and res[0].retries == 1


def test_frozen_counter_holds_the_value_at_its_start_then_resumes(clock):
    start, end = T0 + HOUR, T0 + 3 * HOUR
    res, _ = run(_poll("eastron_sdm630", [{"kind": "frozen", "start": start, "end": end}], clock,
                       [T0 + HOUR // 2, start + 1000, start + HOUR, end]))
    half, first, later, after = res
    meter = distinct_meter()
    at_start = meter.read_channels(ENERGY, start)
    assert first.values["energy.import"] == pytest.approx(at_start["energy.import"], rel=1e-7)
    assert later.values == first.values  # frozen while the true counter moved on
    assert later.truth["energy.import"] > first.values["energy.import"] + 1.0
    assert after.values["energy.import"] == pytest.approx(after.truth["energy.import"], rel=1e-7)
    assert half.values["energy.import"] < first.values["energy.import"]


def test_counter_reset_restarts_from_zero(clock):
    at = T0 + HOUR
    res, _ = run(_poll("carlo_gavazzi_em340", [{"kind": "reset", "start": at}], clock,
                       [at - 1000, at + HOUR]))
    before, after = res
    at_reset = distinct_meter().read_channels(ENERGY, at)
    assert before.values["energy.import"] == pytest.approx(before.truth["energy.import"], abs=0.05)
    expected = after.truth["energy.import"] - at_reset["energy.import"]
    assert after.values["energy.import"] == pytest.approx(expected, abs=0.05 + 1e-9)
    assert 0 < after.values["energy.import"] < 10


def test_not_available_sentinel_is_flagged(clock):
    fault = {"kind": "not_available", "channels": ["power.total"]}
    res, _ = run(_poll("abb_b24", [fault], clock, [T0], channels=["power.total", "energy.import"]))
    r = res[0]
    assert r.values["power.total"] is None and r.flags == {"power.total": "not_available"}
    assert r.values["energy.import"] == pytest.approx(r.truth["energy.import"], abs=0.005)


def test_nan_is_flagged(clock):
    res, _ = run(_poll("orno_we517", [{"kind": "nan", "channels": ["energy.export"]}], clock, [T0]))
    assert res[0].values["energy.export"] is None and res[0].flags == {"energy.export": "nan"}
    assert res[0].values["energy.import"] is not None


def test_impossible_value_faults_are_refused_with_field():
    with pytest.raises(FaultSpecError, match="no 'not available' value") as err:
        ServedMeter(distinct_meter(), load_register_map("eastron_sdm630"),
                    FaultSchedule([{"kind": "not_available"}]))
    assert err.value.field == "faults[0].channels"
    with pytest.raises(FaultSpecError, match="cannot hold NaN"):
        ServedMeter(distinct_meter(), load_register_map("carlo_gavazzi_em340"),
                    FaultSchedule([{"kind": "nan", "channels": ["energy.import"]}]))
    with pytest.raises(FaultSpecError, match="no channel"):
        ServedMeter(distinct_meter(), load_register_map("eastron_sdm72"),
                    FaultSchedule([{"kind": "frozen", "channels": ["voltage.l1"]}]))


def test_fault_from_dict_accepts_iso_and_toml_datetimes():
    iso = fault_from_dict({"kind": "exception", "code": "busy", "start": "2026-03-29T01:00:00Z",
                           "end": "2026-03-29T04:00:00+02:00"})
    assert iso.start_ms == 1_774_746_000_000 and iso.end_ms == iso.start_ms + 3_600_000
    # TOML gives aware datetimes for unquoted times
    dt = fault_from_dict({"kind": "bad_crc", "start": datetime(2026, 3, 29, 1, tzinfo=UTC)})
    assert dt.kind == "corrupt" and dt.start_ms == 1_774_746_000_000 and dt.end_ms is None
    assert fault_from_dict({"kind": "exception", "code": 6}).code == 6


@pytest.mark.parametrize("data, field, match", [
    ({"kind": "explode"}, "fault.kind", "unknown fault kind"),
    ({"kind": "exception", "code": "bussy"}, "fault.code", "bad exception code"),
    ({"kind": "exception"}, "fault.code", "bad exception code"),
    ({"kind": "no_answer", "code": "busy"}, "fault.code", "only an 'exception'"),
    ({"kind": "drop", "start": 10, "end": 10}, "fault.end", "not after start"),
    ({"kind": "reset"}, "fault.start", "needs the time"),
    ({"kind": "reset", "start": 1, "end": 2}, "fault.end", "permanent"),
    ({"kind": "drop", "channels": ["energy.import"]}, "fault.channels", "whole requests"),
    ({"kind": "frozen", "count": 1}, "fault.count", "only wire faults"),
    ({"kind": "nan", "channels": "energy.import"}, "fault.channels", "bad channel list"),
    ({"kind": "drop", "start": "yesterday"}, "fault.start", "not an ISO 8601"),
    ({"kind": "drop", "start": "2026-03-29T01:00:00"}, "fault.start", "no UTC offset"),
    ({"kind": "drop", "stat": 1}, "fault.stat", "unknown key"),
])
def test_bad_fault_dicts_name_the_field(data, field, match):
    with pytest.raises(FaultSpecError, match=match) as err:
        fault_from_dict(data, source="bench.toml")
    assert err.value.field == field and err.value.source == "bench.toml"
    assert err.value.expected


def test_schedule_names_the_list_index():
    with pytest.raises(FaultSpecError) as err:
        FaultSchedule([{"kind": "drop"}, {"kind": "nope"}], source="b.toml")
    assert err.value.field == "faults[1].kind"


def test_virtual_clock_helper_is_independent():
    c = VirtualClock(5)
    c.advance(3)
    assert c() == 8


def test_link_recovers_after_a_run_of_timeouts(clock):
    """pymodbus closes a TCP link after several timeouts in a row; the next poll reconnects."""
    steps = [T0] * 5 + [T0 + 1]
    res, _ = run(_poll("eastron_sdm630", [{"kind": "no_answer", "end": T0 + 1}], clock, steps,
                       timeout_s=0.08))
    assert all(isinstance(r, ModbusTimeoutError) for r in res[:5]), res[:5]
    assert res[5].values["energy.import"] == pytest.approx(res[5].truth["energy.import"], rel=1e-7)


def test_unknown_channel_is_a_config_error():
    from meterbench.instruments.errors import RegisterMapError
    meter = ModbusMeter(load_register_map("eastron_sdm72"), TcpTransport("127.0.0.1", 1), 1)
    with pytest.raises(RegisterMapError, match="no channel 'voltage.l1'"):
        meter.plan(["voltage.l1"])
