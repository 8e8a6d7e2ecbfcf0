"""Start simulated Modbus endpoints from plain specs and describe them.

A spec is plain data (a dict from a bench file or JSON)::

    {"name": "ev", "model": "eastron_sdm630", "transport": "tcp", "unit_id": 1,
     "gateway": "gw1", "port": 0,                       # tcp / rtu_over_tcp
     "baud": 9600, "parity": "N", "stopbits": 1,          # rtu (a pty line)
     "faults": [{"kind": "exception", "code": "busy", "start": "...", "end": "..."}],
     "circuit": {"voltage_v": [230, 230, 230], "current_a": [10, 10, 10], "phi_deg": [0, 0, 0]},
     "meter": {"error_pct": 0.0, "import_kwh": 0.0, "export_kwh": 0.0, "summation": true,
               "rollover_kwh": null}}

Specs sharing a ``gateway`` name share one server (one TCP port or one pty line, several unit
ids), like meters on one RS485 bus behind a gateway. :class:`SimServers` runs inside the caller's
event loop (the bench passes its virtual clock and its own :class:`SimMeter` s);
:class:`ServerProcess` runs the same in a separate process (benchmarks, ``meterbench sim``) with
meters on a constant circuit built from ``circuit``/``meter``.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from meterbench.instruments.errors import ConfigError
from meterbench.instruments.registers import load_register_map
from meterbench.instruments.sim.constant import ConstantCircuit
from meterbench.instruments.sim.faults import FaultSchedule
from meterbench.instruments.sim.meter import ErrorCurve, SimMeter
from meterbench.instruments.sim.rtu_line import RtuLine
from meterbench.instruments.sim.served import ServedMeter
from meterbench.instruments.sim.tcp_gateway import ModbusTcpGateway, wall_clock_ms

TRANSPORTS = ("tcp", "rtu_over_tcp", "rtu")
_KEYS = {"name", "model", "transport", "unit_id", "gateway", "host", "port", "baud", "parity",
         "stopbits", "line_time", "faults", "circuit", "meter"}
_CIRCUIT_KEYS = {"voltage_v", "current_a", "phi_deg", "frequency_hz"}
_METER_KEYS = {"error_pct", "import_kwh", "export_kwh", "summation", "rollover_kwh"}


@dataclass(frozen=True)
class EndpointSpec:
    """One simulated meter to serve (see the module docstring for the dict form)."""

    model: str
    unit_id: int = 1
    transport: str = "tcp"
    name: str = ""
    gateway: str = ""
    host: str = "127.0.0.1"
    port: int = 0
    baud: int = 9600
    parity: str = "N"
    stopbits: int = 1
    line_time: bool = True
    faults: tuple[Mapping[str, Any], ...] = ()
    circuit: Mapping[str, Any] = field(default_factory=dict)
    meter: Mapping[str, Any] = field(default_factory=dict)

    @property
    def server_key(self) -> tuple:
        """Specs with equal keys share one server."""
        group = self.gateway or f"{self.name or self.model}#{self.unit_id}#{id(self)}"
        return (group, self.transport)


@dataclass(frozen=True)
class EndpointInfo:
    """Where a served meter can be reached: give this to any Modbus tool."""

    name: str
    model: str
    transport: str
    unit_id: int
    host: str = ""
    port: int = 0
    device: str = ""
    baud: int = 0
    parity: str = ""
    stopbits: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def spec_from_dict(data: Mapping[str, Any], *, source: str | None = None,
                   field_name: str = "endpoint") -> EndpointSpec:
    """Validate one plain-data spec; errors name ``source``, the field and what was expected."""
    def fail(key: str, message: str, expected: str) -> ConfigError:
        return ConfigError(message, source=source, field=f"{field_name}.{key}", expected=expected)

    if not isinstance(data, Mapping):
        raise ConfigError(f"not a table: {data!r}", source=source, field=field_name,
                          expected="a table with at least model")
    unknown = set(data) - _KEYS
    if unknown:
        raise fail(sorted(unknown)[0], "unknown key", "one of " + ", ".join(sorted(_KEYS)))
    if not isinstance(data.get("model"), str):
        raise fail("model", "missing or not a string", "a model name like eastron_sdm630")
    transport = data.get("transport", "tcp")
    if transport not in TRANSPORTS:
        raise fail("transport", f"unknown transport {transport!r}", "one of " + ", ".join(TRANSPORTS))
    unit = data.get("unit_id", 1)
    if isinstance(unit, bool) or not isinstance(unit, int) or not 1 <= unit <= 247:
        raise fail("unit_id", f"bad unit id {unit!r}", "an integer 1..247")
    port = data.get("port", 0)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise fail("port", f"bad port {port!r}", "0 (the OS chooses) or 1..65535")
    baud = data.get("baud", 9600)
    if isinstance(baud, bool) or not isinstance(baud, int) or baud <= 0:
        raise fail("baud", f"bad baud rate {baud!r}", "a positive integer like 9600")
    parity = data.get("parity", "N")
    if parity not in ("N", "E", "O"):
        raise fail("parity", f"bad parity {parity!r}", "N, E or O")
    stopbits = data.get("stopbits", 1)
    if stopbits not in (1, 2) or isinstance(stopbits, bool):
        raise fail("stopbits", f"bad stop bits {stopbits!r}", "1 or 2")
    for key, allowed in (("circuit", _CIRCUIT_KEYS), ("meter", _METER_KEYS)):
        sub = data.get(key, {})
        if not isinstance(sub, Mapping):
            raise fail(key, "not a table", "keys " + ", ".join(sorted(allowed)))
        bad = set(sub) - allowed
        if bad:
            raise fail(f"{key}.{sorted(bad)[0]}", "unknown key", "one of " + ", ".join(sorted(allowed)))
    faults = data.get("faults", [])
    if not isinstance(faults, list | tuple):
        raise fail("faults", "not a list", "a list of fault tables")
    host = data.get("host", "127.0.0.1")
    if not isinstance(host, str):
        raise fail("host", f"bad host {host!r}", "an address like 127.0.0.1")
    return EndpointSpec(model=data["model"], unit_id=unit, transport=transport,
                        name=str(data.get("name", "")), gateway=str(data.get("gateway", "")),
                        host=host, port=port, baud=baud, parity=parity, stopbits=stopbits,
                        line_time=bool(data.get("line_time", True)), faults=tuple(faults),
                        circuit=dict(data.get("circuit", {})), meter=dict(data.get("meter", {})))


def constant_sim_meter(spec: EndpointSpec, start_ms: int) -> SimMeter:
    """A meter on a constant circuit, from the spec's ``circuit`` and ``meter`` tables."""
    c = spec.circuit
    circuit = ConstantCircuit(
        voltage_v=tuple(map(float, c.get("voltage_v", (230.0, 230.0, 230.0)))),  # type: ignore[arg-type]
        current_a=tuple(map(float, c.get("current_a", (10.0, 10.0, 10.0)))),  # type: ignore[arg-type]
        phi_deg=tuple(map(float, c.get("phi_deg", (0.0, 0.0, 0.0)))),  # type: ignore[arg-type]
        frequency_hz=float(c.get("frequency_hz", 50.0)))
    m = spec.meter
    rollover = m.get("rollover_kwh")
    return SimMeter(circuit, start_ms=start_ms,
                    error=ErrorCurve.constant(float(m.get("error_pct", 0.0))),
                    summation=bool(m.get("summation", True)),
                    import_kwh=float(m.get("import_kwh", 0.0)),
                    export_kwh=float(m.get("export_kwh", 0.0)),
                    rollover_kwh=float(rollover) if rollover else None)


class SimServers:
    """Serve a set of :class:`EndpointSpec` in the running event loop.

    ``meters`` gives each spec its :class:`SimMeter` (by spec name, or a factory); by default a
    constant-circuit meter is built from the spec. ``search_paths`` are extra register-map folders.
    """

    def __init__(self, specs: Iterable[EndpointSpec | Mapping[str, Any]], *,
                 time_ms: Callable[[], int] | None = None,
                 meters: Mapping[str, SimMeter] | Callable[[EndpointSpec], SimMeter] | None = None,
                 search_paths: Sequence[str | Path] = (), source: str | None = None) -> None:
        self.specs = [s if isinstance(s, EndpointSpec)
                      else spec_from_dict(s, source=source, field_name=f"endpoints[{i}]")
                      for i, s in enumerate(specs)]
        self.time_ms = time_ms or wall_clock_ms
        self.meters = meters
        self.search_paths = tuple(search_paths)
        self.source = source
        self.servers: list[ModbusTcpGateway | RtuLine] = []
        self.endpoints: list[EndpointInfo] = []

    def _meter_for(self, spec: EndpointSpec) -> SimMeter:
        if callable(self.meters):
            return self.meters(spec)
        if self.meters is not None and spec.name in self.meters:
            return self.meters[spec.name]
        return constant_sim_meter(spec, self.time_ms())

    def _served(self, i: int, spec: EndpointSpec) -> ServedMeter:
        try:
            regmap = load_register_map(spec.model, search_paths=self.search_paths)
            faults = FaultSchedule(spec.faults, source=self.source)
            return ServedMeter(self._meter_for(spec), regmap, faults)
        except ConfigError as exc:
            where = f"endpoints[{i}]" + (f".{exc.field}" if exc.field else "")
            raise type(exc)(exc.message, source=exc.source or self.source, field=where,
                            expected=exc.expected) from None

    async def start(self) -> list[EndpointInfo]:
        groups: dict[tuple, list[tuple[int, EndpointSpec]]] = {}
        for i, spec in enumerate(self.specs):
            groups.setdefault(spec.server_key, []).append((i, spec))
        try:
            for members in groups.values():
                await self._start_group(members)
        except BaseException:
            await self.stop()
            raise
        return self.endpoints

    async def _start_group(self, members: list[tuple[int, EndpointSpec]]) -> None:
        first = members[0][1]
        units: dict[int, ServedMeter] = {}
        for i, spec in members:
            if spec.unit_id in units:
                raise ConfigError(f"unit id {spec.unit_id} used twice on gateway {first.gateway!r}",
                                  source=self.source, field=f"endpoints[{i}].unit_id",
                                  expected="unit ids unique per gateway")
            units[spec.unit_id] = self._served(i, spec)
        if first.transport == "rtu":
            line = RtuLine(units, baud=first.baud, parity=first.parity, stopbits=first.stopbits,
                           time_ms=self.time_ms, line_time=first.line_time)
            await line.start()
            self.servers.append(line)
            for _, spec in members:
                self.endpoints.append(EndpointInfo(spec.name, spec.model, "rtu", spec.unit_id,
                                                   device=line.device_path, baud=first.baud,
                                                   parity=first.parity, stopbits=first.stopbits))
            return
        framing = "socket" if first.transport == "tcp" else "rtu"
        gw = ModbusTcpGateway(units, time_ms=self.time_ms, host=first.host, port=first.port,
                              framing=framing)
        try:
            await gw.start()
        except OSError as exc:  # port in use, address not on this machine, no permission
            i = members[0][0]
            raise ConfigError(f"cannot listen on {first.host}:{first.port}: {exc.strerror or exc}",
                              source=self.source, field=f"endpoints[{i}].port",
                              expected="a free port, or 0 to let the OS choose") from None
        self.servers.append(gw)
        for _, spec in members:
            self.endpoints.append(EndpointInfo(spec.name, spec.model, first.transport,
                                               spec.unit_id, host=first.host, port=gw.port))

    async def stop(self) -> None:
        for server in reversed(self.servers):
            await server.stop()
        self.servers.clear()

    async def __aenter__(self) -> SimServers:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def serve_until_eof(specs: list[dict[str, Any]], search_paths: Sequence[str],
                          out: Any = sys.stdout, stdin_fd: int | None = None) -> int:
    """Serve ``specs``, print one JSON line (``{"endpoints": [...]}`` or ``{"error": ...}``),
    then run until stdin reaches EOF (the parent went away) or SIGTERM/SIGINT arrives."""
    servers = SimServers(specs, search_paths=search_paths)
    try:
        endpoints = await servers.start()
    except Exception as exc:  # noqa: BLE001 - report any start failure to the parent
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), file=out, flush=True)
        return 2
    print(json.dumps({"endpoints": [e.as_dict() for e in endpoints]}), file=out, flush=True)
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd

    def on_stdin() -> None:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            finish()

    loop.add_reader(fd, on_stdin)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, finish)
    try:
        await done
    finally:
        loop.remove_reader(fd)
        await servers.stop()
    return 0


class ServerProcess:
    """The same servers in a separate process (servers and clients must not share a core).

    Runs ``python -m meterbench.instruments.sim.serve`` with the specs as JSON on stdin; the child answers
    with the endpoints on stdout and stops when its stdin closes, so it never outlives us.
    """

    def __init__(self, specs: Iterable[Mapping[str, Any]], *,
                 search_paths: Sequence[str | Path] = ()) -> None:
        self.specs = [dict(s) for s in specs]
        for i, s in enumerate(self.specs):
            spec_from_dict(s, field_name=f"endpoints[{i}]")  # fail early, in the parent
        self.search_paths = [str(p) for p in search_paths]
        self.endpoints: list[EndpointInfo] = []
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, timeout_s: float = 30.0) -> list[EndpointInfo]:
        root = str(Path(__file__).resolve().parents[2])  # the folder holding ``instruments``
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "meterbench.instruments.sim.serve", "--stdin-specs"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps({"specs": self.specs,
                                           "search_paths": self.search_paths}).encode() + b"\n")
        self._proc.stdin.flush()
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout_s)
        line = self._proc.stdout.readline() if ready else b""
        if not line:
            self.stop()
            raise RuntimeError("simulated servers did not start in time")
        answer = json.loads(line)
        if "error" in answer:
            self.stop()
            raise RuntimeError(f"simulated servers failed to start: {answer['error']}")
        self.endpoints = [EndpointInfo(**d) for d in answer["endpoints"]]
        return self.endpoints

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin:
            proc.stdin.close()  # EOF: the child stops its servers and exits
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout=5)
        if proc.stdout:
            proc.stdout.close()

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _child_main() -> int:
    """``python -m meterbench.instruments.sim.serve --stdin-specs``: the child side of ServerProcess."""
    if "--stdin-specs" not in sys.argv[1:]:
        print("usage: python -m meterbench.instruments.sim.serve --stdin-specs  (JSON on stdin)",
              file=sys.stderr)
        return 2
    first = b""
    while not first.endswith(b"\n"):
        chunk = os.read(sys.stdin.fileno(), 65536)
        if not chunk:
            return 2
        first += chunk
    request = json.loads(first)
    return asyncio.run(serve_until_eof(request["specs"], request.get("search_paths", [])))


if __name__ == "__main__":
    sys.exit(_child_main())
