"""Bad bench files: each is refused at load with one line naming the file and the field, exit 2,
before any device is started or anything is written, and a finished run folder is never touched.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

import meterbench.cli
from meterbench.instruments.errors import ConfigError
from meterbench.instruments.sim.serve import SimServers

from .helpers import TINY_BENCH, assert_one_line_error, edit, run_cli, tiny_bench_text

MAIN_METER = 'id = "main"\nrole = "main"\nmodel = "eastron_sdm630"\nclass = "B"\n'


def _closed_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _real_main(transport: str) -> str:
    """The tiny bench made real (not simulated), its main meter on ``transport``."""
    text = tiny_bench_text(**{"simulate = true": "simulate = false"})
    return edit(text, MAIN_METER, MAIN_METER + f"transport = {transport}\n")


CASES: dict[str, tuple[str | bytes, tuple[str, ...]]] = {
    "toml_syntax": ("[bench\nname = 'x'\n", ("TOML syntax error", "line 1")),
    "unknown_key": (tiny_bench_text(**{"seed = 7": 'seed = 7\ncolour = "red"'}),
                    ("bench.colour", "unknown field")),
    "wrong_type": (tiny_bench_text(**{"seed = 7": 'seed = "seven"'}),
                   ("bench.seed", "wrong type str", "an integer")),
    "unknown_model": (edit(tiny_bench_text(), 'model = "eastron_sdm630"', 'model = "acme_9000"'),
                      ("meter[0].model", "unknown meter model 'acme_9000'", "eastron_sdm630")),
    "duplicate_meter_id": (tiny_bench_text(**{'id = "ev_ref"': 'id = "ev"'}),
                           ("meter[2].id", "duplicate meter id 'ev'")),
    "duplicate_load_id": (tiny_bench_text(**{'id = "house"': 'id = "ev"'}),
                          ("load[1].id", "duplicate load id 'ev'")),
    "load_not_a_string": (edit(tiny_bench_text(), 'loads = ["ev"]', "loads = [[1]]"),
                          ("meter[1].loads[0]", "wrong type list")),
    "unknown_load": (edit(tiny_bench_text(), 'loads = ["ev"]', 'loads = ["sauna"]'),
                     ("meter[1].loads", "unknown load 'sauna'")),
    "bad_date": (tiny_bench_text(**{'date = "2026-06-01"': 'date = "2026-02-30"'}),
                 ("run.date", "not a date")),
    "poll_out_of_range": (tiny_bench_text(**{'poll_period = "5min"': 'poll_period = "2h"'}),
                          ("run.poll_period", "out of range")),
    "unknown_timezone": (tiny_bench_text(**{"seed = 7": 'seed = 7\ntimezone = "Mars/Olympus"'}),
                         ("bench.timezone", "unknown time zone")),
    "bad_gsrn": (tiny_bench_text(**{"571313100000000201": "571313100000000202"}),
                 ("meter[1].gsrn", "not a valid GSRN")),
    "unknown_fault_kind": (tiny_bench_text(**{"sim = { error_pct = 0.5 }":
                                              'sim = { faults = [{ kind = "gremlins" }] }'}),
                           ("meter[1].sim.faults[0].kind", "unknown fault kind 'gremlins'")),
    "fault_on_missing_channel": (
        tiny_bench_text(**{"sim = { error_pct = 0.5 }":
                           'sim = { faults = [{ kind = "frozen", channels = ["energy.imp"] }] }'}),
        ("meter[1].sim.faults[0].channels", "has no channel 'energy.imp'")),
    "fault_end_before_start": (
        tiny_bench_text(**{"sim = { error_pct = 0.5 }": 'sim = { faults = [{ kind = "drop", '
                           'start = "2026-06-01T10:00:00Z", end = "2026-06-01T09:00:00Z" }] }'}),
        ("meter[1].sim.faults[0].end", "end is not after start")),
    "port_out_of_range": (_real_main('{ kind = "tcp", host = "127.0.0.1", port = 70000 }'),
                          ("meter[0].transport.port", "not a TCP port")),
    "rtu_without_device": (_real_main('{ kind = "rtu" }'),
                           ("meter[0].transport.device", "needs a serial device")),
    "missing_serial_device": (_real_main('{ kind = "rtu", device = "/dev/ttyMETERBENCH-NONE" }'),
                              ("meter[0].transport.device", "/dev/ttyMETERBENCH-NONE",
                               "does not exist")),
    "duplicate_unit_on_gateway": (
        tiny_bench_text(**{'class = "B"\n': 'class = "B"\ntransport = { kind = "tcp", port = 1502 }\n'}),
        ("meter[1].transport.unit", "meters 'main' and 'ev' are both unit 1 on tcp:127.0.0.1:1502")),
    "duplicate_unit_on_serial_line": (
        tiny_bench_text(**{'class = "C"\n': 'class = "C"\ntransport = { kind = "rtu", '
                           'device = "/dev/ttyUSB0", unit = 3 }\n',
                           'class = "B"\ngsrn': 'class = "B"\ntransport = { kind = "rtu", '
                           'device = "/dev/ttyUSB0", unit = 3 }\ngsrn'}),
        ("meter[2].transport.unit", "both unit 3 on rtu:/dev/ttyUSB0")),
    "not_utf8": (b"[bench]\nname = \"\xff\xfe\"\n", ("cannot read bench file",)),
    "not_a_table": ("bench = 3\n", ("bench", "wrong type int", "a table")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_bench_file_is_one_line_exit_2(case: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    content, needles = CASES[case]
    path = tmp_path / f"{case}.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / "run"
    assert meterbench.cli.main(["run", str(path), "--out", str(out)]) == 2
    assert_one_line_error(capsys.readouterr().err, str(path), *needles)
    assert not out.exists(), "a refused bench file must not create its run folder"


def test_unreachable_tcp_endpoint_of_a_real_bench(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    port = _closed_port()
    path = tmp_path / "real.toml"
    path.write_text(_real_main(f'{{ kind = "tcp", host = "127.0.0.1", port = {port}, '
                               'timeout = 0.5 }'))
    assert meterbench.cli.main(["run", str(path), "--out", str(tmp_path / "run")]) == 2
    assert_one_line_error(capsys.readouterr().err, str(path), "meter[0].transport.port",
                          f"127.0.0.1:{port}", "meter 'main'")
    assert not (tmp_path / "run").exists()


def test_missing_bench_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.toml"
    assert meterbench.cli.main(["run", str(missing)]) == 2
    assert_one_line_error(capsys.readouterr().err, str(missing), "bench file not found")


def test_finished_run_folder_is_never_overwritten(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A second run into a finished run's folder is refused and leaves every byte in place."""
    out = tmp_path / "run"
    (out / "series").mkdir(parents=True)
    files = {out / "results.json": b'{"schema": "meterbench.results/1"}',
             out / "store.sqlite": b"SQLite format 3\x00 stand-in for stored readings",
             out / "series" / "intervals.csv": b"meter,channel\n"}
    for p, data in files.items():
        p.write_bytes(data)
    assert meterbench.cli.main(["run", str(TINY_BENCH), "--out", str(out)]) == 2
    assert_one_line_error(capsys.readouterr().err, str(out), "already holds a finished run")
    assert {p: p.read_bytes() for p in files} == files
    assert sorted(p.name for p in out.rglob("*")) == ["intervals.csv", "results.json", "series",
                                                      "store.sqlite"]


def test_simulated_server_on_a_port_in_use_is_a_config_error() -> None:
    """A simulated endpoint asked for a fixed port someone else holds: a typed error naming it."""
    async def start_on(port: int) -> None:
        servers = SimServers([{"name": "m", "model": "eastron_sdm630", "port": port}],
                             source="bench.toml")
        try:
            await servers.start()
        finally:
            await servers.stop()

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(ConfigError) as info:
            asyncio.run(start_on(port))
    text = info.value.format()
    assert "bench.toml" in text and "endpoints[0].port" in text and str(port) in text


def test_bad_bench_file_through_the_real_command(tmp_path: Path) -> None:
    """The same contract in a child process: exit status 2, stderr one line, no traceback."""
    path = tmp_path / "bench.toml"
    path.write_text(edit(tiny_bench_text(), 'model = "eastron_sdm630"', 'model = "acme_9000"'))
    proc = run_cli("run", str(path), "--out", str(tmp_path / "run"), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert_one_line_error(proc.stderr, str(path), "meter[0].model", "acme_9000")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_run_whose_devices_never_started_still_writes_its_results(tmp_path: Path) -> None:
    """If the simulated devices fail to start (after the bench file was accepted), the session end
    still writes results.json, saying so, instead of failing on the missing endpoints."""
    import json
    import warnings

    from meterbench.config.bench_file import load_bench
    from meterbench.run.session import BenchRun

    run = BenchRun(load_bench(str(TINY_BENCH)), tmp_path / "run")
    try:
        with warnings.catch_warnings():  # numpy: "All-NaN slice" of a sum check without data
            warnings.simplefilter("ignore", RuntimeWarning)
            path = run.write()
    finally:
        run.close()
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert {d["transport"] for d in doc["devices"]} == {"simulated, not started"}
    assert doc["acquisition"]["readings"] == 0
    assert all(m["measured"] == 0 for m in doc["intervals"]["meters"])



def _real_lab(instrument_port: int, meter_port: int) -> str:
    """The built-in lab bench made real: every instrument on a raw socket at 127.0.0.1:port,
    every meter on Modbus TCP at 127.0.0.1:meter_port."""
    from meterbench.config.bench_file import resolve

    text = resolve("sim-lab")[1].replace("simulate = true", "simulate = false")
    text = text.replace("[[instrument]]\n", "[[instrument]]\nresource = "
                        f'"TCPIP0::127.0.0.1::{instrument_port}::SOCKET"\n')
    meter = f'transport = {{ kind = "tcp", host = "127.0.0.1", port = {meter_port}, timeout = 0.5'
    text = text.replace('role = "mut"\n', f'role = "mut"\n{meter} }}\n', 1)
    return text.replace("transport = { unit = 2 }", f"{meter}, unit = 2 }}")


def test_unreachable_instrument_of_a_real_lab_bench(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    port = _closed_port()
    path = tmp_path / "real-lab.toml"
    path.write_text(_real_lab(port, _closed_port()))
    assert meterbench.cli.main(["run", str(path), "--out", str(tmp_path / "run")]) == 2
    assert_one_line_error(capsys.readouterr().err, str(path), "instrument[0].resource",
                          f"127.0.0.1:{port}", "source")
    assert not (tmp_path / "run").exists()


def test_unreachable_meter_of_a_real_lab_bench(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    meter_port = _closed_port()
    with socket.socket() as listening:  # something answers where the instruments are
        listening.bind(("127.0.0.1", 0))
        listening.listen(8)
        path = tmp_path / "real-lab.toml"
        path.write_text(_real_lab(listening.getsockname()[1], meter_port))
        assert meterbench.cli.main(["run", str(path), "--out", str(tmp_path / "run")]) == 2
    assert_one_line_error(capsys.readouterr().err, str(path), "meter[0].transport.port",
                          f"127.0.0.1:{meter_port}", "meter 'mut_good'")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("resource", "where"), [
    ("TCPIP0::10.0.0.5::5025::SOCKET", ("10.0.0.5", 5025)),
    ("TCPIP::lab-counter.local::inst0::INSTR", ("lab-counter.local", 111)),
    ("TCPIP0::10.0.0.5::INSTR", ("10.0.0.5", 111)),
    ("TCPIP0::10.0.0.5::hislip0::INSTR", ("10.0.0.5", 4880)),
    ("ASRL/dev/ttyUSB3::INSTR", Path("/dev/ttyUSB3")),
    ("ASRL1::INSTR", None),
    ("GPIB0::22::INSTR", None),
    ("USB0::0x2A8D::0x1601::MY1234::INSTR", None),
])
def test_where_a_visa_resource_points(resource: str, where: object) -> None:
    from meterbench.acquisition.preflight import visa_endpoint

    assert visa_endpoint(resource) == where
