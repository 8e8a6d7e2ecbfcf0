"""A malformed dataset is one line naming file and field, exit code 2, and no run folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from meterbench.core.errors import UserError
from meterbench.fleet import layout as L
from meterbench.fleet.screen import ScreenSettings, screen_block

from .tables import assert_same_table


def _screen(dataset: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meterbench", "fleet", "screen", str(dataset),
                           "--out", str(out), "--workers", "1", "--no-report"],
                          capture_output=True, text=True, env=env, timeout=300)


def _one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    errors = [x for x in lines if x.startswith("meterbench: error:")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in errors[0], errors[0]


@pytest.fixture
def copy(small_fleet: Path, tmp_path: Path) -> Path:
    out = tmp_path / "ds"
    shutil.copytree(small_fleet, out)
    return out


def _rewrite_block(dataset: Path, block: int, change) -> Path:
    path = L.block_path(dataset, block)
    pq.write_table(change(pq.read_table(path)), path)
    return path


def test_missing_column(copy: Path, tmp_path: Path, cli_env: dict[str, str]) -> None:
    path = _rewrite_block(copy, 2, lambda t: t.drop_columns(["export_quality"]))
    proc = _screen(copy, tmp_path / "run", cli_env)
    _one_line_error(proc, str(path), "missing column(s) export_quality")
    assert not (tmp_path / "run").exists()


def test_a_partition_with_mixed_units(copy: Path, tmp_path: Path,
                                      cli_env: dict[str, str]) -> None:
    def mixed(t: pa.Table) -> pa.Table:
        units = ["kWh"] * t.num_rows
        units[7] = "Wh"
        k = t.column_names.index("unit")
        return t.set_column(k, "unit", pa.array(units).dictionary_encode())

    path = _rewrite_block(copy, 3, mixed)
    proc = _screen(copy, tmp_path / "run", cli_env)
    _one_line_error(proc, str(path), "unit", "mixed units Wh, kWh in one partition")
    assert not (tmp_path / "run").exists()


def test_a_metering_point_the_topology_does_not_know(copy: Path, tmp_path: Path,
                                                     cli_env: dict[str, str]) -> None:
    def stranger(t: pa.Table) -> pa.Table:
        g = t.column("gsrn").to_pylist()
        g[3] = "571313999999999990"
        k = t.column_names.index("gsrn")
        return t.set_column(k, "gsrn", pa.array(g).dictionary_encode())

    path = _rewrite_block(copy, 1, stranger)
    with pytest.raises(UserError) as info:  # what a worker raises; the CLI prints it (above)
        screen_block(str(copy), 1, ScreenSettings())
    assert str(path) in info.value.format() and "gsrn" in info.value.format()
    assert "metering point 571313999999999990 is not in block 1" in info.value.format()


def test_a_day_with_the_wrong_number_of_values(copy: Path, tmp_path: Path,
                                                cli_env: dict[str, str]) -> None:
    def short(t: pa.Table) -> pa.Table:
        v = t.column("import").to_pylist()
        v[0] = v[0][:-1]
        k = t.column_names.index("import")
        return t.set_column(k, "import", pa.array(v, pa.list_(pa.float64())))

    path = _rewrite_block(copy, 0, short)
    with pytest.raises(UserError) as info:
        screen_block(str(copy), 0, ScreenSettings())
    assert f"{path}: import: row 1:" in info.value.format()
    assert "import values for" in info.value.format()


def test_an_infinite_value_is_refused_but_not_where_it_is_marked_missing(
        copy: Path, tmp_path: Path) -> None:
    def export_value(t: pa.Table, value: float, quality: int) -> pa.Table:
        v, q = t.column("export").to_pylist(), t.column("export_quality").to_pylist()
        v[4][5], q[4][5] = value, quality
        t = t.set_column(t.column_names.index("export"), "export",
                         pa.array(v, pa.list_(pa.float64())))
        return t.set_column(t.column_names.index("export_quality"), "export_quality",
                            pa.array(q, pa.list_(pa.uint8())))

    original = pq.read_table(L.block_path(copy, 1))
    _rewrite_block(copy, 1, lambda t: export_value(original, float("nan"), 0))
    missing = screen_block(str(copy), 1, ScreenSettings())
    # marked missing, an infinity is as missing as NaN: it has no number either way
    _rewrite_block(copy, 1, lambda t: export_value(original, float("-inf"), 0))
    marked = screen_block(str(copy), 1, ScreenSettings())
    assert_same_table(marked.findings, missing.findings)
    assert_same_table(marked.errors, missing.errors)
    path = _rewrite_block(copy, 1, lambda t: export_value(original, float("-inf"), 1))
    with pytest.raises(UserError) as info:
        screen_block(str(copy), 1, ScreenSettings())
    assert f"{path}: export: row 5: an infinite export value for" in info.value.format()


def test_unknown_dataset_version_and_not_a_dataset(copy: Path, tmp_path: Path,
                                                   cli_env: dict[str, str]) -> None:
    doc = json.loads((copy / L.MANIFEST).read_text())
    doc["format"] = "meterbench.fleet/99"
    (copy / L.MANIFEST).write_text(json.dumps(doc))
    _one_line_error(_screen(copy, tmp_path / "run", cli_env), "fleet.json", "format",
                    "meterbench.fleet/1")
    _one_line_error(_screen(tmp_path, tmp_path / "run", cli_env), "no fleet.json")


def test_topology_without_a_main_meter(copy: Path, tmp_path: Path,
                                       cli_env: dict[str, str]) -> None:
    t = pq.read_table(copy / L.TOPOLOGY)
    roles = t.column("role").to_pylist()
    roles[0] = "serial"
    pq.write_table(t.set_column(t.column_names.index("role"), "role", pa.array(roles)),
                   copy / L.TOPOLOGY)
    _one_line_error(_screen(copy, tmp_path / "run", cli_env), "topology.parquet",
                    "does not have exactly one main meter")


def test_an_existing_output_folder_is_never_overwritten(small_fleet: Path, tmp_path: Path,
                                                         cli_env: dict[str, str]) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("mine")
    _one_line_error(_screen(small_fleet, tmp_path / "run", cli_env), "already exists")
    assert (tmp_path / "run" / "keep.txt").read_text() == "mine"


def _fleet(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meterbench", "fleet", *argv],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize(("argv", "needle"), [
    (["synth", "--sites", "5", "--days", "2", "--start", "2026-03-01", "--seed", "-1"], "--seed"),
    (["synth", "--sites", "5", "--days", "2", "--start", "2026-03-01", "--sites-per-block", "0"],
     "--sites-per-block"),
    (["ingest", "x.json", "--topology", "t.csv", "--zone", "Mars/Olympus"], "--zone"),
    (["ingest", "x.json", "--topology", "t.csv", "--country", "SE"], "--country"),
    (["screen", "DATASET", "--memory-limit", "lots"], "--memory-limit"),
    (["screen", "DATASET", "--memory-limit", "1MB"], "--memory-limit"),
    (["screen", "DATASET", "--scheduler", "nonsense"], "not a scheduler address"),
])
def test_bad_options_are_one_line_errors(small_fleet: Path, tmp_path: Path,
                                         cli_env: dict[str, str], argv: list[str],
                                         needle: str) -> None:
    argv = [str(small_fleet) if a == "DATASET" else a for a in argv]
    proc = _fleet(*argv, "--out", str(tmp_path / "out"), env=cli_env)
    _one_line_error(proc, needle)
    assert not (tmp_path / "out").exists()


def _serve(reply: bytes | None) -> tuple[int, object]:
    """A TCP service on 127.0.0.1 that is not a Dask scheduler: it answers ``reply`` (or stays
    silent when None) to every connection."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            if reply is None:
                held.append(conn)  # accepted, never answered
            else:
                conn.sendall(reply * 64)
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1], server


@pytest.mark.parametrize(("reply", "needle"), [
    (None, "sent nothing"),
    (b"HTTP/1.1 400 Bad Request\r\n\r\n", "not as a Dask scheduler"),
])
def test_a_service_that_is_not_a_scheduler_is_refused_not_waited_for(
        small_fleet: Path, tmp_path: Path, cli_env: dict[str, str], monkeypatch,
        reply: bytes | None, needle: str) -> None:
    from meterbench.fleet import engine

    port, server = _serve(reply)
    monkeypatch.setattr(engine, "GREETING_S", 1.0)
    try:
        with pytest.raises(UserError, match=needle):
            with engine.dask_client(f"tcp://127.0.0.1:{port}"):
                pass
    finally:
        server.close()


def test_topology_site_without_a_serial_meter(copy: Path, tmp_path: Path,
                                              cli_env: dict[str, str]) -> None:
    t = pq.read_table(copy / L.TOPOLOGY)
    site = t.column("site")[0].as_py()
    keep = [not (s == site and r == "serial")
            for s, r in zip(t.column("site").to_pylist(), t.column("role").to_pylist(),
                            strict=True)]
    pq.write_table(t.filter(pa.array(keep)), copy / L.TOPOLOGY)
    _one_line_error(_screen(copy, tmp_path / "run", cli_env), "topology.parquet",
                    f"site {site} has no serial meter")


def test_a_run_folder_inside_the_dataset_is_refused(copy: Path, cli_env: dict[str, str]) -> None:
    before = sorted(p.relative_to(copy) for p in copy.rglob("*"))
    _one_line_error(_screen(copy, copy / "screen", cli_env), "--out", "inside the dataset")
    assert sorted(p.relative_to(copy) for p in copy.rglob("*")) == before
